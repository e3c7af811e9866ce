"""Keeping the pre-aggregated figures exact: incremental refresh, full rebuild, the Celery task and its schedule."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from leads import services as lead_services
from reports.models import DailyLeadStats, StatsRefresh
from reports.periods import Period
from reports.registry import REPORTS
from reports.scope import ReportScope
from reports.services import stats_refresh
from reports.tasks import reports_refresh_stats
from tests.factories import LeadFactory
from tests.reports.conftest import NOW, by_group
from tests.workers import own_queue, wait_for, worker_on

pytestmark = pytest.mark.django_db
MARCH = Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31))


def conversion(user):
    return REPORTS["conversion"].run(ReportScope.for_user(user, MARCH), "channel").tables[0]


def test_a_refresh_picks_up_a_lead_won_since_the_last_one(month, admin_user, rep):
    assert by_group(conversion(admin_user), "won")["Trade show"] == "0"
    later = NOW + dt.timedelta(minutes=3)
    with time_machine.travel(later, tick=False):
        lead_services.lead_change_stage(lead=month["L4"], user=admin_user, stage="won", deal_value=Decimal("70"))
        # Until the refresh, the figures are those of the last one.
        assert by_group(conversion(admin_user), "won")["Trade show"] == "0"
        stats_refresh()
    table = conversion(admin_user)
    assert by_group(table, "won")["Trade show"] == "1"
    assert by_group(table, "won_value")["Trade show"] == "70.00"
    assert StatsRefresh.objects.get().refreshed_at == later


def test_an_incremental_refresh_rebuilds_only_the_changed_days(month, admin_user):
    with time_machine.travel(NOW + dt.timedelta(hours=1), tick=False):
        stats_refresh()  # the fixture's leads were all saved just before the first refresh: looked at again
    untouched = set(DailyLeadStats.objects.exclude(day=dt.date(2026, 3, 10)).values_list("pk", flat=True))
    with time_machine.travel(NOW + dt.timedelta(hours=2), tick=False):
        lead_services.lead_change_stage(lead=month["L4"], user=admin_user, stage="lost", lost_reason="no_need")
        stats_refresh()
    assert set(DailyLeadStats.objects.exclude(day=dt.date(2026, 3, 10)).values_list("pk", flat=True)) == untouched
    funnel = REPORTS["funnel"].run(ReportScope.for_user(admin_user, MARCH))
    assert by_group(funnel.table("lost_reasons"), "lost")["No need"] == "1"


def test_a_deleted_lead_leaves_the_figures_at_the_nightly_full_rebuild(month, admin_user):
    month["L2"].delete()
    stats_refresh(full=True)
    assert by_group(conversion(admin_user), "leads")["Google Ads"] == "3"


def test_the_refresh_command_rebuilds_everything(month, admin_user):
    DailyLeadStats.objects.all().delete()
    call_command("reports_refresh", "--full")
    assert by_group(conversion(admin_user), "leads")["Google Ads"] == "4"


def test_celery_beat_runs_the_refresh_every_5_minutes_and_a_full_rebuild_nightly(beat):
    incremental = PeriodicTask.objects.get(name="reports: refresh changed days")
    assert incremental.task == "reports.tasks.reports_refresh_stats"
    assert incremental.interval.schedule.run_every == dt.timedelta(minutes=5)
    nightly = PeriodicTask.objects.get(name="reports: nightly full rebuild")
    assert (nightly.crontab.hour, nightly.crontab.minute) == ("3", "15")
    assert nightly.kwargs == '{"full": true}'


@pytest.mark.django_db(transaction=True)
def test_the_refresh_task_runs_on_a_real_worker(berlin, rep, admin_user):
    LeadFactory(owner=rep, created_at=dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC))
    with own_queue("reports-refresh"), worker_on("reports-refresh"):
        reports_refresh_stats.delay(full=True)
        wait_for(StatsRefresh.objects.filter(refreshed_at__isnull=False).exists, what="the worker's refresh")
    assert DailyLeadStats.objects.filter(day=dt.date(2026, 3, 2)).get().leads == 1
