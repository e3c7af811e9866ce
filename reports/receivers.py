"""What reports do when `leads` says something happened (connected in `ReportsConfig.ready`)."""

from django.dispatch import receiver

from leads.signals import import_finished
from reports.services import stats_refresh_days


@receiver(import_finished, dispatch_uid="reports.import_finished")
def rebuild_days_of_an_import(sender, *, days, **kwargs) -> None:
    """An import's days, rebuilt before it says it is done: its leads show in the reports at once, not at the next
    periodic refresh."""
    stats_refresh_days(days=days)
