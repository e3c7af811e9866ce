from celery import shared_task
from django.db import OperationalError

from reports import services


# Retried when the database is briefly unavailable; a rerun is harmless.
@shared_task(acks_late=True, ignore_result=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def reports_refresh_stats(full: bool = False) -> int:
    """Bring the pre-aggregated report figures up to date (the changed days, or everything when `full`)."""
    return services.stats_refresh(full=full)
