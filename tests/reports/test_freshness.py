"""Item 4 of issue 15: report pages are right from the first view, and say how fresh their figures are."""

import datetime as dt

import pytest
import time_machine
from django.db import connections

from reports.models import StatsRefresh
from reports.services import stats_refresh
from tests.crm.test_queue import broker_down  # noqa: F401 (a fixture)
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 4, 2, 10, 42, tzinfo=dt.UTC)


@pytest.fixture
def three_leads(rep):
    with time_machine.travel(NOW - dt.timedelta(hours=2), tick=False):
        return [LeadFactory(owner=rep) for _ in range(3)]


def _dashboard(client, manager) -> str:
    client.force_login(manager)
    response = client.get("/reports/", {"period": "month"})
    assert response.status_code == 200
    return response.content.decode()


def test_the_first_view_computes_the_counts_it_shows(client, manager, three_leads):
    assert not StatsRefresh.objects.exists()  # nothing refreshed them: make run's first page, beat not yet run
    with time_machine.travel(NOW, tick=False):
        html = _dashboard(client, manager)
    assert StatsRefresh.objects.get().refreshed_at == NOW
    assert "Counts as of 10:42, refreshed every 5 min" in html
    assert "live, as of 10:42" in html
    assert "manage.py" not in html  # no command to run


def test_counts_older_than_two_refreshes_are_brought_up_to_date(client, manager, three_leads):
    with time_machine.travel(NOW - dt.timedelta(minutes=30), tick=False):
        stats_refresh()
    with time_machine.travel(NOW, tick=False):
        html = _dashboard(client, manager)
    assert StatsRefresh.objects.get().refreshed_at == NOW
    assert "Counts as of 10:42" in html


def test_recent_counts_are_shown_as_they_are_with_their_time(client, manager, three_leads):
    with time_machine.travel(NOW - dt.timedelta(minutes=4), tick=False):
        stats_refresh()
    with time_machine.travel(NOW, tick=False):
        html = _dashboard(client, manager)
    assert StatsRefresh.objects.get().refreshed_at == NOW - dt.timedelta(minutes=4)
    assert "Counts as of 10:38, refreshed every 5 min" in html


def test_on_large_data_the_page_asks_a_worker_and_says_so_even_with_the_broker_down(
    client,
    manager,
    three_leads,
    settings,
    broker_down,  # noqa: F811
):
    settings.REPORTS_INLINE_REFRESH_MAX_LEADS = 2  # three leads are "large" here
    with time_machine.travel(NOW, tick=False):
        html = _dashboard(client, manager)
    assert not StatsRefresh.objects.filter(refreshed_at__isnull=False).exists()
    assert "Counts are being computed for the first time" in html
    assert "Newer counts are on their way" in html


def test_an_empty_period_shows_an_empty_state_not_an_axis(client, manager):
    with time_machine.travel(NOW, tick=False):
        html = _dashboard(client, manager)
    assert "Nothing to chart yet" in html
    assert '<figure class="chart"' not in html


@pytest.mark.django_db(transaction=True)
def test_a_refresh_running_elsewhere_is_not_waited_for(client, manager, rep):
    """The page takes the refresh row with SKIP LOCKED: while a worker's refresh holds it, the page answers with the
    figures as they are instead of queueing behind it."""
    LeadFactory(owner=rep)
    StatsRefresh.objects.create(pk=1)
    worker = connections.create_connection("default")
    try:
        worker.set_autocommit(False)
        with worker.cursor() as cursor:
            cursor.execute("SELECT 1 FROM reports_statsrefresh WHERE id = 1 FOR UPDATE")
        with time_machine.travel(NOW, tick=False):
            html = _dashboard(client, manager)
        assert "Counts are being computed" in html
    finally:
        worker.rollback()
        worker.close()
    assert StatsRefresh.objects.get().refreshed_at is None
