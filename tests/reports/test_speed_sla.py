"""Speed to lead against the response targets: share within SLA and breaches by owner, computed by hand.

Ten leads, each with its response clock written out (due one hour after arrival unless said otherwise); the
period is March 2026 and "now" is 2 April 2026, 12:00 UTC.

| lead | owner    | arrived      | first response | clock                  | outcome                    |
|------|----------|--------------|----------------|------------------------|----------------------------|
| S1   | rep      | 10 Mar 10:00 | +30 min        | due +1 h               | within                     |
| S2   | rep      | 11 Mar 10:00 | +2 h           | due +1 h               | breached (late)            |
| S3   | rep      | 12 Mar 10:00 | none, open     | due +1 h               | breached (still waiting)   |
| S4   | teammate | 13 Mar 10:00 | +60 min        | due +1 h               | within (exactly on time)   |
| S5   | teammate | 14 Mar 10:00 | none, lost     | due +1 h               | neither (closed unanswered) |
| S6   | rep      | 15 Mar 10:00 | +5 min         | no clock (no target)   | not timed                  |
| S7   | other_rep| 16 Mar 10:00 | +10 min        | due +1 h               | within (another team)      |
| S8   | pool     | 17 Mar 10:00 | +3 h           | due +1 h               | breached (pool, no team)   |
| S9   | rep      | 20 Feb 10:00 | +2 h           | due +1 h               | breached, but in February  |
| S10  | teammate | 31 Mar 10:00 | none, open     | due 3 Apr 10:00        | neither (still running)    |

Admin: timed 8 (S1–S5, S7, S8, S10); within 3 (S1, S4, S7); breached 3 (S2, S3, S8) → 3 / 6 = 50.0%.
Manager (team: rep, teammate): timed 6; within 2 (S1, S4); breached 2 (S2, S3) → 2 / 4 = 50.0%.
Rep: timed 3; within 1; breached 2 → 1 / 3 = 33.3%.
"""

import csv
import datetime as dt
import io

import pytest
import time_machine

from leads.models import ResponseClock, ResponsePolicy
from reports.periods import Period
from reports.registry import REPORTS
from reports.scope import ReportScope
from reports.services import stats_refresh
from tests.factories import LeadFactory, UserFactory
from tests.reports.conftest import by_group

pytestmark = pytest.mark.django_db
UTC = dt.UTC
NOW = dt.datetime(2026, 4, 2, 12, 0, tzinfo=UTC)
MARCH = Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
MARCH_QUERY = {"period": "custom", "start": "2026-03-01", "end": "2026-03-31"}
HOUR = dt.timedelta(hours=1)


@pytest.fixture
def clocks(settings, rep, teammate, other_rep, manager, admin_user):
    settings.TIME_ZONE = "UTC"
    with time_machine.travel(NOW, tick=False):
        policy = ResponsePolicy.objects.create(name="Everyone", target_minutes=60)

        def lead(name, owner, day, response_minutes=None, due=HOUR, clock=True, **facts):
            arrived = dt.datetime.fromisoformat(day).replace(hour=10, tzinfo=UTC)
            answered = arrived + dt.timedelta(minutes=response_minutes) if response_minutes is not None else None
            made = LeadFactory(
                name=name,
                owner=owner,
                created_at=arrived,
                first_response_at=answered,
                response_seconds=response_minutes * 60 if response_minutes is not None else None,
                **facts,
            )
            if clock:
                ResponseClock.objects.create(lead=made, policy=policy, arrived_at=arrived, due_at=arrived + due)
            return made

        lead("S1", rep, "2026-03-10", 30)
        lead("S2", rep, "2026-03-11", 120)
        lead("S3", rep, "2026-03-12")
        lead("S4", teammate, "2026-03-13", 60)
        lead("S5", teammate, "2026-03-14", stage="lost", lost_reason="no_need")
        lead("S6", rep, "2026-03-15", 5, clock=False)
        lead("S7", other_rep, "2026-03-16", 10)
        lead("S8", None, "2026-03-17", 180)
        lead("S9", rep, "2026-02-20", 120)
        lead("S10", teammate, "2026-03-31", due=dt.timedelta(days=3))
        yield


def run(user, **filters):
    return REPORTS["speed"].run(ReportScope.for_user(user, MARCH, **filters))


def headline(result, label):
    return next(h.cell for h in result.headlines if h.label == label)


def detail(result, label):
    return next(h.detail for h in result.headlines if h.label == label)


def test_share_within_sla_over_the_clocks_whose_outcome_is_known(clocks, admin_user):
    result = run(admin_user)
    within = headline(result, "Within SLA")
    assert (within.text, within.sub) == ("50.0%", "3 / 6")
    assert headline(result, "SLA breaches").text == "3"


def test_breaches_by_owner_with_numerator_and_denominator(clocks, admin_user, rep, teammate, other_rep, manager):
    table = run(admin_user).table("sla_by_owner")
    timed, breached = by_group(table, "timed"), by_group(table, "breached")
    within_rate = {row["group"].text: (row["within_sla_rate"].text, row["within_sla_rate"].sub) for row in table.rows}
    breach_rate = {row["group"].text: (row["breach_rate"].text, row["breach_rate"].sub) for row in table.rows}
    assert (timed[str(rep)], breached[str(rep)]) == ("3", "2")
    assert within_rate[str(rep)] == ("33.3%", "1 / 3")
    assert breach_rate[str(rep)] == ("66.7%", "2 / 3")
    # S5 (closed unanswered) and S10 (running) are timed but decided neither way.
    assert (timed[str(teammate)], breached[str(teammate)]) == ("3", "0")
    assert within_rate[str(teammate)] == ("100.0%", "1 / 1")
    assert within_rate[str(other_rep)] == ("100.0%", "1 / 1")
    # The pool is a group of its own; a person without timed leads shows dashes, not an error.
    assert within_rate["Pool (no owner)"] == ("0.0%", "0 / 1")
    assert within_rate[str(manager)] == ("–", "0 / 0")
    assert breach_rate[str(manager)] == ("–", "0 / 0")
    assert (table.total["within_sla_rate"].text, table.total["within_sla_rate"].sub) == ("50.0%", "3 / 6")
    assert table.total["timed"].text == "8"


def test_a_manager_sees_the_team_only(clocks, manager, rep, teammate):
    result = run(manager)
    assert headline(result, "Within SLA").sub == "2 / 4"
    table = result.table("sla_by_owner")
    assert set(by_group(table, "timed")) == {str(rep), str(teammate)}


def test_a_rep_sees_own_figures(clocks, rep):
    result = run(rep)
    assert (headline(result, "Within SLA").text, headline(result, "Within SLA").sub) == ("33.3%", "1 / 3")
    assert list(by_group(result.table("sla_by_owner"), "timed")) == [str(rep)]


def test_no_timed_leads_gives_dashes(clocks, admin_user):
    empty = REPORTS["speed"].run(ReportScope.for_user(admin_user, Period(dt.date(2025, 1, 1), dt.date(2025, 1, 31))))
    assert headline(empty, "Within SLA").text == "–"
    assert empty.table("sla_by_owner").total["within_sla_rate"].text == "–"


def test_csv_of_breaches_by_owner(clocks, client, admin_user, rep, manager):
    client.force_login(admin_user)
    with time_machine.travel(NOW, tick=False):
        response = client.get("/reports/speed/", {**MARCH_QUERY, "format": "csv", "table": "sla_by_owner"})
    assert response.status_code == 200
    rows = {row["group"]: row for row in csv.DictReader(io.StringIO(response.content.decode()))}
    assert list(next(iter(rows.values()))) == ["group", "timed", "within", "breached", "within_sla_rate", "breach_rate"]
    assert rows[str(rep)]["breached"] == "2" and rows[str(rep)]["breach_rate"] == "0.666667"
    assert rows[str(manager)]["within_sla_rate"] == ""  # zero denominator
    assert rows["All"]["within_sla_rate"] == "0.5"


def test_the_answered_count_beside_the_sla_figures(clocks, admin_user, manager, rep):
    """The SLA query also counts the answered leads for the median's "over N answered leads", clocks or not:
    admin S1, S2, S4, S6 (no clock), S7, S8 → 6; manager S1, S2, S4, S6 → 4; rep S1, S2, S6 → 3."""
    for user, answered in ((admin_user, 6), (manager, 4), (rep, 3)):
        assert detail(run(user), "Median first response") == f"over {answered:,} answered leads"


def test_owners_without_timed_leads_get_no_row(clocks, admin_user):
    """A former rep (inactive, so not listed as a person in scope) whose leads had no response target shows no
    row of zeros; the leads still count as answered."""
    with time_machine.travel(NOW, tick=False):
        former = UserFactory(username="former", is_active=False)
        arrived = dt.datetime(2026, 3, 18, 10, tzinfo=UTC)
        LeadFactory(owner=former, created_at=arrived, first_response_at=arrived + HOUR, response_seconds=3600)
    result = run(admin_user)
    assert str(former) not in by_group(result.table("sla_by_owner"), "timed")
    assert detail(result, "Median first response") == "over 7 answered leads"
    assert headline(result, "Within SLA").sub == "3 / 6"


def test_speed_page_shows_the_sla_figures(clocks, client, manager, django_assert_max_num_queries):
    client.force_login(manager)
    with time_machine.travel(NOW, tick=False):
        stats_refresh()  # the page alone: a page finding the figures never computed computes them first
        with django_assert_max_num_queries(20):
            response = client.get("/reports/speed/", MARCH_QUERY)
    html = response.content.decode()
    assert "Within SLA" in html and "Response targets by owner" in html and "2 / 4" in html


def test_within_sla_is_not_a_rate_when_few_answered_leads_had_a_target(clocks, admin_user, rep):
    """Demo data and targets set up late: many answered leads without a clock. The share would describe the few
    timed leads while the median beside it describes them all, so it reads "n/a" with the counts."""
    for day in range(1, 20):
        arrived = dt.datetime(2026, 3, day, 9, 0, tzinfo=UTC)
        LeadFactory(
            owner=rep, created_at=arrived, first_response_at=arrived + dt.timedelta(minutes=44), response_seconds=2640
        )
    result = REPORTS["speed"].run(ReportScope.for_user(admin_user, Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31))))
    assert headline(result, "Within SLA").text == "n/a"
    assert "answered leads had a response target" in detail(result, "Within SLA")
