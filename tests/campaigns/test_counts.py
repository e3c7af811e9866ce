"""The Campaigns report's rollup gives the figures the live count gives, for every view, and says how old it is."""

import pytest
import time_machine

from campaigns.counts import COUNTS_LOCK_CLASS, counts_refresh, counts_refresh_campaign
from campaigns.models import Campaign, EmailCounts, MemberCounts, Send
from crm import clock
from reports.selectors.campaigns import campaigns_report
from tests.campaigns.test_figures import _scope, world  # noqa: F401 (the hand-counted fixture)
from tests.threads import together

pytestmark = pytest.mark.django_db


def _figures(result):
    return {table.key: [{k: c.text for k, c in row.items()} for row in table.rows] for table in result.tables} | {
        "headlines": [h.cell.text for h in result.headlines]
    }


@pytest.mark.parametrize("who", ["admin_user", "manager", "other_manager", "rep"])
def test_the_rollup_gives_the_live_figures_for_every_view(world, request, who):  # noqa: F811
    scope = _scope(request.getfixturevalue(who))
    live = campaigns_report(scope)
    assert counts_refresh() == Campaign.objects.count()
    assert not Campaign.objects.filter(counts_at__isnull=True).exists()
    rolled = campaigns_report(scope)
    assert _figures(rolled) == _figures(live)
    if who == "admin_user":
        assert rolled.table("email").rows and rolled.table("returns").rows and rolled.table("events").rows
    assert any("as of" in note for note in rolled.notes)
    assert not any("as of" in note for note in live.notes)


def test_the_rollup_is_as_of_its_refresh_until_the_next(world, admin_user):  # noqa: F811
    counts_refresh()
    before = _figures(campaigns_report(_scope(admin_user)))
    Send.objects.filter(state="sent", opened_at__isnull=True, bounced_at__isnull=True).update(opened_at=clock.now())
    assert _figures(campaigns_report(_scope(admin_user))) == before  # the rollup, until it is counted again
    counts_refresh()
    assert _figures(campaigns_report(_scope(admin_user))) != before


@pytest.mark.django_db(transaction=True)
def test_two_refreshes_at_once_leave_one_set_of_rows(world):  # noqa: F811
    campaign = Campaign.objects.get(name="Newsletter")
    counts_refresh_campaign(campaign.pk)
    rows = (
        EmailCounts.objects.filter(campaign=campaign).count(),
        MemberCounts.objects.filter(campaign=campaign).count(),
    )
    _, errors = together(lambda: counts_refresh_campaign(campaign.pk), lambda: counts_refresh_campaign(campaign.pk))
    assert errors == [None, None]
    assert (
        EmailCounts.objects.filter(campaign=campaign).count(),
        MemberCounts.objects.filter(campaign=campaign).count(),
    ) == rows


def test_the_counts_are_as_of_the_refresh_moment(world):  # noqa: F811
    with time_machine.travel("2026-03-02 10:00:00+00:00", tick=False):
        counts_refresh()
    campaign = Campaign.objects.get(name="Newsletter")
    assert campaign.counts_at.isoformat() == "2026-03-02T10:00:00+00:00"


@pytest.mark.django_db(transaction=True)
def test_a_refresh_of_everything_while_another_runs_does_nothing(world):  # noqa: F811
    from django.db import connections

    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, 0)", [COUNTS_LOCK_CLASS])
        assert counts_refresh() is None
        assert not Campaign.objects.filter(counts_at__isnull=False).exists()
    finally:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, 0)", [COUNTS_LOCK_CLASS])
        other.close()
    assert counts_refresh() == Campaign.objects.count()


def test_the_report_page_says_how_old_the_figures_are(world, client, admin_user):  # noqa: F811
    counts_refresh()
    client.force_login(admin_user)
    page = client.get("/reports/campaigns/").content.decode()
    assert "as of" in page and "Newsletter" in page
