from celery import shared_task

from reports import services


@shared_task(acks_late=True, ignore_result=True)
def reports_refresh_stats(full: bool = False) -> int:
    """Bring the pre-aggregated report figures up to date (the changed days, or everything when `full`)."""
    return services.stats_refresh(full=full)
