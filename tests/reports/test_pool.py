"""Pool and recovery, computed by hand. The period is March 2026; "now" is 2 April 2026, 12:00 UTC.

Reclaims (rule, from whom, when; then what the lead did afterwards):

| lead | channel | region | reclaimed from | rule        | reclaimed at  | later                         | recovered? cycle |
|------|---------|--------|----------------|-------------|---------------|-------------------------------|------------------|
| R1   | Web     | EMEA   | rep            | Idle 7 days | 5 Mar 10:00   | qualified 7 Mar 10:00         | yes, 2 days      |
| R2   | Web     | EMEA   | rep            | Idle 7 days | 6 Mar 10:00   | won 10 Mar 10:00              | yes, 4 days      |
| R3   | Web     | APAC   | teammate       | Stuck       | 8 Mar 10:00   | contacted only                | no               |
| R4   | Fair    | APAC   | other_rep      | Idle 7 days | 9 Mar 10:00   | qualified 1 Mar (BEFORE)      | no               |
| R5   | Fair    | EMEA   | rep            | Stuck       | 20 Feb 10:00  | won 1 Mar (reclaim outside P) | — (not counted)  |

Admin, March: reclaimed 4 (R1–R4), recovered 2 → 50.0% (2 / 4); median cycle of (2 d, 4 d) = 3.0 d.
By rule: Idle 7 days 3 reclaimed, 2 recovered (66.7%); Stuck 1, 0 (0.0%).
By channel: Web 3 / 2 recovered (66.7%, median 3.0 d); Fair 1 / 0 (0.0%, "–").
By region: EMEA 2 / 2 (100.0%, 3.0 d); APAC 2 / 0 (0.0%, –).
Manager (team: rep, teammate): R1–R3 → 3 reclaimed, 2 recovered (66.7%).
Rep: R1, R2 → 2 / 2 = 100.0%.

Pool now (open, no owner): P1 created 1 Apr 12:00 (1 day old exactly → "1–7 days"), P2 created 2 Apr 06:00
("Under a day"), P3 created 15 Feb ("Over 30 days"), and a won lead without owner (not in the pool) → 3.
Claims in March: rep claimed C1 (10 Mar), teammate claimed C2 (12 Mar); rep's claim C3 on 28 Feb is outside.
"""

import csv
import datetime as dt
import io

import pytest
import time_machine

from leads.models import PoolClaim, ReclaimRecord, StageChange
from reports.periods import Period
from reports.registry import REPORTS
from reports.scope import ReportScope
from reports.services import stats_refresh
from tests.factories import ChannelFactory, LeadFactory
from tests.reports.conftest import by_group

pytestmark = pytest.mark.django_db
UTC = dt.UTC
NOW = dt.datetime(2026, 4, 2, 12, 0, tzinfo=UTC)
MARCH = Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31))


def at(day: str, hour: int = 10) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


@pytest.fixture
def recovery(settings, rep, teammate, other_rep, manager, admin_user):
    settings.TIME_ZONE = "UTC"
    web, fair = ChannelFactory(name="Web"), ChannelFactory(name="Fair")
    with time_machine.travel(NOW, tick=False):

        def reclaimed(name, channel, region, owner_before, rule, when, *later):
            lead = LeadFactory(name=name, channel=channel, region=region, owner=None, created_at=at("2026-02-01"))
            ReclaimRecord.objects.create(
                lead=lead, from_user=owner_before, rule_name=rule, reclaimed_at=at(when), warned=True
            )
            for stage, day in later:
                StageChange.objects.create(lead=lead, from_stage="new", to_stage=stage, changed_at=at(day))
            return lead

        reclaimed("R1", web, "EMEA", rep, "Idle 7 days", "2026-03-05", ("qualified", "2026-03-07"))
        reclaimed("R2", web, "EMEA", rep, "Idle 7 days", "2026-03-06", ("won", "2026-03-10"))
        reclaimed("R3", web, "APAC", teammate, "Stuck", "2026-03-08", ("contacted", "2026-03-09"))
        reclaimed("R4", fair, "APAC", other_rep, "Idle 7 days", "2026-03-09", ("qualified", "2026-03-01"))
        reclaimed("R5", fair, "EMEA", rep, "Stuck", "2026-02-20", ("won", "2026-03-01"))
        # R1–R5 have no owner and are open (the factory's stage): they are pool leads too, created 1 Feb.
        LeadFactory(name="P1", owner=None, created_at=at("2026-04-01", 12))
        LeadFactory(name="P2", owner=None, created_at=at("2026-04-02", 6))
        LeadFactory(name="P3", owner=None, created_at=at("2026-02-15"))
        LeadFactory(name="Closed", owner=None, stage="won", deal_value=10, won_at=at("2026-03-03"))
        for name, who, day in (("C1", rep, "2026-03-10"), ("C2", teammate, "2026-03-12"), ("C3", rep, "2026-02-28")):
            PoolClaim.objects.create(lead=LeadFactory(name=name, owner=who), user=who, claimed_at=at(day))
        yield


def run(user, **filters):
    with time_machine.travel(NOW, tick=False):
        return REPORTS["pool"].run(ReportScope.for_user(user, MARCH, **filters))


def headline(result, label):
    return next(h.cell for h in result.headlines if h.label == label)


def test_recovery_rate_and_cycle(recovery, admin_user):
    result = run(admin_user)
    assert headline(result, "Reclaimed in the period").text == "4"
    rate = headline(result, "Recovery rate")
    assert (rate.text, rate.sub) == ("50.0%", "2 / 4")
    assert headline(result, "Median recovery cycle").text == "3.0 d"
    assert headline(result, "Claimed in the period").text == "2"


def test_reclaims_by_rule_and_rep(recovery, admin_user, rep, teammate, other_rep):
    result = run(admin_user)
    rules = result.table("by_rule")
    assert by_group(rules, "reclaimed") == {"Idle 7 days": "3", "Stuck": "1"}
    assert by_group(rules, "recovery_rate") == {"Idle 7 days": "66.7%", "Stuck": "0.0%"}
    reps = result.table("by_rep")
    assert by_group(reps, "reclaimed") == {str(rep): "2", str(teammate): "1", str(other_rep): "1"}
    assert by_group(reps, "claimed") == {str(rep): "1", str(teammate): "1", str(other_rep): "0"}


def test_recovery_by_channel_and_region(recovery, admin_user):
    result = run(admin_user)
    channels = result.table("by_channel")
    assert by_group(channels, "reclaimed") == {"Web": "3", "Fair": "1"}
    assert by_group(channels, "recovery_rate") == {"Web": "66.7%", "Fair": "0.0%"}
    assert by_group(channels, "recovery_cycle") == {"Web": "3.0 d", "Fair": "–"}
    regions = result.table("by_region")
    assert by_group(regions, "recovery_rate") == {"EMEA": "100.0%", "APAC": "0.0%"}
    assert by_group(regions, "recovery_cycle") == {"EMEA": "3.0 d", "APAC": "–"}


def test_median_cycles_of_odd_and_even_groups(recovery, admin_user):
    """R6 (Fair, APAC, reclaimed 12 Mar, qualified 13 Mar: 1 day) joins R1 (2 d) and R2 (4 d): the overall median
    of (1, 2, 4) is the middle one, 2.0 d; Web keeps (2, 4) → 3.0 d; Fair and APAC have R6 alone → 1.0 d."""
    fair = ReclaimRecord.objects.get(lead__name="R4").lead.channel
    lead = LeadFactory(name="R6", channel=fair, region="APAC", owner=None, created_at=at("2026-02-01"))
    ReclaimRecord.objects.create(lead=lead, from_user=None, rule_name="Stuck", reclaimed_at=at("2026-03-12"))
    StageChange.objects.create(lead=lead, from_stage="new", to_stage="qualified", changed_at=at("2026-03-13"))
    result = run(admin_user)
    assert headline(result, "Median recovery cycle").text == "2.0 d"
    assert by_group(result.table("by_channel"), "recovery_cycle") == {"Web": "3.0 d", "Fair": "1.0 d"}
    assert by_group(result.table("by_region"), "recovery_cycle") == {"EMEA": "3.0 d", "APAC": "1.0 d"}


def test_pool_by_age(recovery, admin_user):
    table = run(admin_user).table("pool_age")
    # R1–R5 and P3 are over 30 days old, P1 is one day old, P2 a few hours.
    assert by_group(table, "leads") == {"Under a day": "1", "1–7 days": "1", "7–30 days": "0", "Over 30 days": "6"}
    assert table.total["leads"].text == "8"


def test_a_manager_sees_the_team_and_a_rep_their_own(recovery, manager, rep):
    rate = headline(run(manager), "Recovery rate")
    assert (rate.text, rate.sub) == ("66.7%", "2 / 3")
    rate = headline(run(rep), "Recovery rate")
    assert (rate.text, rate.sub) == ("100.0%", "2 / 2")
    assert set(by_group(run(rep).table("by_rep"), "reclaimed")) == {str(rep)}


def test_no_reclaims_gives_dashes(recovery, admin_user):
    with time_machine.travel(NOW, tick=False):
        empty = REPORTS["pool"].run(ReportScope.for_user(admin_user, Period(dt.date(2025, 1, 1), dt.date(2025, 1, 31))))
    assert headline(empty, "Recovery rate").text == "–"
    assert headline(empty, "Median recovery cycle").text == "–"
    assert empty.table("by_channel").rows == []


def test_page_and_csv(recovery, client, admin_user, django_assert_max_num_queries):
    client.force_login(admin_user)
    query = {"period": "custom", "start": "2026-03-01", "end": "2026-03-31"}
    with time_machine.travel(NOW, tick=False):
        stats_refresh()  # the page alone: a page finding the figures never computed computes them first
        with django_assert_max_num_queries(40):
            page = client.get("/reports/pool/", query)
        response = client.get("/reports/pool/", {**query, "format": "csv", "table": "by_rule"})
    assert page.status_code == 200
    assert "Pool and recovery" in page.content.decode()
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [row["group"] for row in rows] == ["Idle 7 days", "Stuck"]
    assert rows[0]["recovery_rate"] == "0.666667"
