"""How fresh the report figures are, and bringing them up to date when a page finds them stale.

The counts come from the pre-aggregated tables (`reports.services.stats_refresh`), which Celery beat refreshes
every REPORTS_REFRESH_MINUTES; percentiles and "now" figures are read live. A report page must be right from its
first view, also when nothing has refreshed the tables yet (a new database, beat not running) or not for a while:

- on small data the page refreshes them itself before it reads them, in its own request: a rebuild of a few
  thousand leads is a fraction of a second. It never waits for a refresh already running elsewhere (it shows
  the figures as they are and says so);
- on large data it asks a worker to (a queued task; a broker outage is logged, never an error for the page) and
  says the counts are being brought up to date.

Either way the page says when the counts were computed and how often they are.
"""

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from crm import clock
from crm.queue import enqueue
from leads.models import Lead
from reports.models import StatsRefresh
from reports.services import CHANGE_OVERLAP, stats_refresh

logger = logging.getLogger(__name__)

REFRESH_TASK = "reports.tasks.reports_refresh_stats"
# A page asks a worker for a refresh at most once in this long (the queued refresh takes a while on large data).
_ASK_AGAIN_SECONDS = 60
_ASKED_KEY = "reports:refresh-asked"


@dataclass(frozen=True)
class Freshness:
    refreshed_at: dt.datetime | None  # when the counts were computed; None: never
    every_minutes: int  # how often they are refreshed
    live_at: dt.datetime  # the live figures' moment (this request)
    catching_up: bool  # stale, and a refresh has been asked for


def _stale(state: StatsRefresh | None, now: dt.datetime) -> bool:
    if state is None or state.refreshed_at is None:
        return True
    # Two missed beats: beat or the worker is not running (or was not, overnight).
    return state.refreshed_at < now - dt.timedelta(minutes=2 * settings.REPORTS_REFRESH_MINUTES)


def _small_enough(state: StatsRefresh | None) -> bool:
    """Whether refreshing inside a request is cheap: few leads to rebuild (all of them the first time, the leads
    changed since the last refresh otherwise), counted no further than the limit."""
    limit = settings.REPORTS_INLINE_REFRESH_MAX_LEADS
    leads = Lead.objects.order_by()
    if state is not None and state.changes_seen_until is not None:
        leads = leads.filter(updated_at__gte=state.changes_seen_until - CHANGE_OVERLAP)
    return leads[: limit + 1].count() <= limit


def _refresh_here() -> bool:
    """Refresh now unless another refresh holds the row (then do not wait for it). True if this one ran."""
    StatsRefresh.objects.get_or_create(pk=1)
    with transaction.atomic():
        if not StatsRefresh.objects.select_for_update(skip_locked=True).filter(pk=1).exists():
            return False
        stats_refresh()
    return True


def _ask_a_worker() -> None:
    try:
        if not cache.add(_ASKED_KEY, 1, timeout=_ASK_AGAIN_SECONDS):
            return
    except Exception:
        logger.warning("Cache unavailable; asking for a report refresh anyway", exc_info=True)
    enqueue(REFRESH_TASK)


def report_freshness() -> Freshness:
    """The figures' freshness for a report page, refreshing them first (or asking for it) when they are stale."""
    now = clock.now()
    state = StatsRefresh.objects.filter(pk=1).first()
    catching_up = False
    if _stale(state, now):
        if _small_enough(state) and _refresh_here():
            state = StatsRefresh.objects.get(pk=1)
        else:
            _ask_a_worker()
            catching_up = True
    return Freshness(
        refreshed_at=state.refreshed_at if state else None,
        every_minutes=settings.REPORTS_REFRESH_MINUTES,
        live_at=now,
        catching_up=catching_up,
    )
