"""The one clock of the CRM.

SLA timers, reclaim rules, score decay and "today" all read `now()`, so tests move time with
`time_machine` and nothing else needs patching.
"""

import datetime as dt

from django.utils import timezone


def now() -> dt.datetime:
    return timezone.now()


def today() -> dt.date:
    """Today's date in the configured time zone."""
    return timezone.localdate(now())


def end_of_today() -> dt.datetime:
    """The first instant of tomorrow, in the configured time zone."""
    tomorrow = today() + dt.timedelta(days=1)
    return timezone.make_aware(dt.datetime.combine(tomorrow, dt.time.min))
