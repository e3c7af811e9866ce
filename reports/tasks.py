from celery import shared_task

from crm.queue import TASK_OPTIONS
from reports import services


# A rerun is harmless: the refresh recomputes the changed days.
@shared_task(**TASK_OPTIONS)
def reports_refresh_stats(full: bool = False) -> int:
    """Bring the pre-aggregated report figures up to date (the changed days, or everything when `full`)."""
    return services.stats_refresh(full=full)
