"""After a merge, the reports' incremental refresh rebuilds every day the merge changed: the merged leads' days
(their rows are gone, so no changed lead points there) and the survivor's day before its arrival moved."""

import datetime as dt

import time_machine
from django.db.models import Sum

from leads.dedupe import services as dedupe
from reports.models import DailyLeadStats
from reports.services import stats_refresh
from tests.factories import LeadFactory

NOW = dt.datetime(2026, 4, 2, 12, 0, tzinfo=dt.UTC)


def _figures():
    return sorted(DailyLeadStats.objects.values_list("day", "owner", "leads", "won"))


def test_incremental_refresh_after_a_merge_equals_a_full_rebuild(settings, admin_user, rep, teammate):
    settings.TIME_ZONE = "UTC"
    with time_machine.travel(NOW, tick=False):
        keep = LeadFactory(owner=rep, email="x@example.com", created_at=dt.datetime(2026, 3, 20, 9, tzinfo=dt.UTC))
        twin = LeadFactory(owner=teammate, email="x@example.com", created_at=dt.datetime(2026, 3, 5, 9, tzinfo=dt.UTC))
        other = LeadFactory(owner=rep, email="x@example.com", created_at=dt.datetime(2026, 3, 7, 9, tzinfo=dt.UTC))
        stats_refresh(full=True)
        assert DailyLeadStats.objects.aggregate(n=Sum("leads"))["n"] == 3
    with time_machine.travel(NOW + dt.timedelta(minutes=5), tick=False):
        dedupe.leads_merge(user=admin_user, survivor_id=keep.pk, merged_ids=[twin.pk, other.pk])
        stats_refresh()
        incremental = _figures()
        stats_refresh(full=True)
        assert incremental == _figures()
    # One lead left, on the earliest arrival's day, owned by the survivor's owner.
    assert incremental == [(dt.date(2026, 3, 5), rep.pk, 1, 0)]
