"""Each report's figures against the hand-computed month in conftest.py (admin's view unless said otherwise)."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from crm.models import User
from crm.roles import Role
from customers import services as customers
from reports.periods import Period
from reports.registry import REPORTS
from reports.scope import ReportScope
from tests.reports.conftest import NOW, by_group, cells

pytestmark = pytest.mark.django_db
MARCH = Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31))


def run(slug, user, option="", **filters):
    return REPORTS[slug].run(ReportScope.for_user(user, MARCH, **filters), option)


def test_funnel_counts_leads_that_reached_each_stage_or_a_later_one(month, admin_user):
    result = run("funnel", admin_user)
    stages = result.table("stages")
    # Reached: all 6 (L1–L6); Contacted: L1, L2, L5 and L3, which skipped to Qualified; Qualified: L1, L3, L5;
    # Proposal: L1, L5 (won without passing it is still past it); Won: L1, L5.
    assert cells(stages, "reached") == ["6", "4", "3", "2", "2"]
    assert cells(stages, "stage_conversion") == ["100.0%", "66.7%", "75.0%", "66.7%", "100.0%"]
    assert [row["stage_conversion"].sub for row in stages.rows][1] == "4 / 6"
    assert cells(stages, "drop_off") == ["0", "2", "1", "1", "0"]
    # Now: New L4, L6; Contacted none; Qualified L3; Proposal none; Won L1, L5.
    assert cells(stages, "now_in_stage") == ["2", "0", "1", "0", "2"]
    lost = result.table("lost_reasons")
    assert by_group(lost, "lost")["No budget"] == "1"
    assert by_group(lost, "share")["No budget"] == "100.0%"
    assert by_group(lost, "share")["Chose a competitor"] == "0.0%"


def test_funnel_reached_link_lists_exactly_the_leads_counted(month, admin_client):
    admin_user = User.objects.get(username="admin")
    result = run("funnel", admin_user)
    url = result.table("stages").rows[1]["reached"].href
    response = admin_client.get(url)
    names = {lead.name for lead in response.context["page"].rows}
    assert names == {month[k].name for k in ("L1", "L2", "L3", "L5")}
    assert admin_user.role == Role.ADMIN


def test_conversion_by_channel_compares_with_the_period_before_and_keeps_empty_groups(month, admin_user):
    table = run("conversion", admin_user, "channel").tables[0]
    assert by_group(table, "leads") == {"Google Ads": "4", "Referral": "0", "Trade show": "2"}
    assert by_group(table, "won") == {"Google Ads": "2", "Referral": "0", "Trade show": "0"}
    assert by_group(table, "conversion_rate") == {"Google Ads": "50.0%", "Referral": "–", "Trade show": "0.0%"}
    # Before (29 Jan – 28 Feb): Google Ads had P1 (won) and P2 (lost).
    assert by_group(table, "previous_conversion_rate") == {"Google Ads": "50.0%", "Referral": "–", "Trade show": "–"}
    assert by_group(table, "conversion_change") == {"Google Ads": "+0.0 pp", "Referral": "–", "Trade show": "–"}
    assert by_group(table, "leads_change") == {"Google Ads": "+100.0%", "Referral": "–", "Trade show": "–"}
    assert table.total["conversion_rate"].text == "33.3%"
    assert table.total["conversion_rate"].sub == "2 / 6"
    assert table.total["won_value"].text == "1,500.00"


@pytest.mark.parametrize(
    "option,expected",
    [
        ("industry", {"Software": ("2", "50.0%"), "(blank)": ("4", "25.0%")}),
        ("region", {"EMEA": ("2", "50.0%"), "(blank)": ("4", "25.0%")}),
        ("size", {"11–50": ("1", "100.0%"), "Unknown": ("5", "20.0%"), "1–10": ("0", "–")}),
        ("grade", {"A (hot)": ("2", "50.0%"), "B": ("1", "0.0%"), "C": ("0", "–"), "Not scored": ("3", "33.3%")}),
        ("month", {"Mar 2026": ("6", "33.3%")}),
        ("team", {"Inside Sales": ("5", "20.0%"), "Field Sales": ("1", "100.0%")}),
    ],
)
def test_conversion_by_other_groupings(month, admin_user, option, expected):
    table = run("conversion", admin_user, option).tables[0]
    leads, rates = by_group(table, "leads"), by_group(table, "conversion_rate")
    for group, (n, rate) in expected.items():
        assert (leads[group], rates[group]) == (n, rate), group


def test_conversion_by_owner_for_a_manager_shows_only_the_team(month, manager, rep, teammate):
    table = run("conversion", manager, "owner").tables[0]
    assert by_group(table, "leads") == {str(rep): "3", str(teammate): "2"}
    assert table.total["leads"].text == "5"


def test_velocity_days_to_won_and_time_in_stage(month, admin_user):
    result = run("velocity", admin_user)
    speed = result.table("days_to_won")
    # Won: L1 after 10 days, L5 after 4: average 7, median 7, p90 = 4 + 0.9 × 6 = 9.4.
    assert cells(speed, "days") == ["7.0 d", "7.0 d", "9.4 d"]
    stages = result.table("time_in_stage")
    # New: L1 1, L2 1, L3 2, L5 1 → 5/4; Contacted: L1 2, L2 1, L5 3 → 6/3; Qualified: L1 3; Proposal: L1 4.
    assert cells(stages, "average_days") == ["1.2 d", "2.0 d", "3.0 d", "4.0 d"]
    assert [row["average_days"].value for row in stages.rows] == [1.25, 2.0, 3.0, 4.0]
    assert cells(stages, "spells") == ["4", "3", "1", "1"]
    ageing = result.table("ageing")
    # Now 2 April 12:00 UTC. L6 new since 28 Feb 23:30 (32 days), L4 new since 10 March (23 days),
    # L3 qualified since 7 March (26 days).
    assert by_group(ageing, "8_30d") == {"New": "1", "Contacted": "0", "Qualified": "1", "Proposal": "0"}
    assert by_group(ageing, "31_90d") == {"New": "1", "Contacted": "0", "Qualified": "0", "Proposal": "0"}
    assert by_group(ageing, "open") == {"New": "2", "Contacted": "0", "Qualified": "1", "Proposal": "0"}


def test_velocity_without_won_leads_shows_dashes(month, manager, other_manager):
    result = run("velocity", other_manager, channel=month["L3"].channel)
    assert cells(result.table("days_to_won"), "days") == ["–", "–", "–"]


def test_speed_to_lead_percentiles_and_buckets(month, admin_user):
    result = run("speed", admin_user)
    headlines = {h.label: h.cell for h in result.headlines}
    # Answered: 120, 600, 4000, 7200 s. Median (600 + 4000) / 2 = 2300 s; p90 at 2.7 → 4000 + 0.7 × 3200 = 6240 s.
    assert headlines["Median first response"].value == 2300
    assert headlines["90th percentile"].value == 6240
    assert headlines["Average"].value == 2980
    assert headlines["Never answered"].sub == "2 / 6"
    buckets = result.table("buckets")
    assert cells(buckets, "leads") == ["1", "1", "0", "2", "0", "2"]
    assert cells(buckets, "conversion_rate") == ["100.0%", "0.0%", "–", "50.0%", "–", "0.0%"]


def test_speed_by_owner(month, manager, rep, teammate):
    table = run("speed", manager).table("by_owner")
    assert by_group(table, "responded") == {str(rep): "2", str(teammate): "1"}
    assert by_group(table, "average_response") == {str(rep): "6 min", str(teammate): "2 h"}
    assert by_group(table, "within_5_minutes") == {str(rep): "50.0%", str(teammate): "0.0%"}


def test_channel_economics_prorates_spend_by_days(month, admin_user):
    with time_machine.travel(NOW, tick=False):
        for name in ("L1", "L5", "P1"):  # the won leads become customers, their deals their first orders
            customers.lead_convert(lead=month[name], user=None)
        table = run("economics", admin_user).tables[0]
    # Google Ads: 3,100 for March + 300 × 16/30 days of a 15 Feb – 16 Mar record = 3,260.
    # Trade show: 3,650 for the year × 31/365 = 310.
    assert by_group(table, "spend") == {"Google Ads": "3,260.00", "Referral": "0.00", "Trade show": "310.00"}
    assert by_group(table, "cost_per_lead") == {"Google Ads": "815.00", "Referral": "–", "Trade show": "155.00"}
    assert by_group(table, "cac") == {"Google Ads": "1,630.00", "Referral": "–", "Trade show": "–"}
    assert by_group(table, "return_on_spend") == {"Google Ads": "0.46×", "Referral": "–", "Trade show": "0.00×"}
    # CLV: Google Ads customers ever (a month of history: the simple formula): orders of 1,000, 500, 200 → average
    # order value 566.67 × 1 purchase a year × 1 year; ÷ CAC 1,630 = 0.35.
    assert by_group(table, "clv") == {"Google Ads": "566.67", "Referral": "–", "Trade show": "–"}
    assert by_group(table, "clv_to_cac") == {"Google Ads": "0.35×", "Referral": "–", "Trade show": "–"}
    assert table.total["spend"].text == "3,570.00"
    assert table.total["cac"].text == "1,785.00"


def test_channel_economics_clv_comes_from_recorded_orders_not_the_deal_value(month, admin_user, rep):
    with time_machine.travel(NOW, tick=False):
        accounts = [customers.lead_convert(lead=month[name], user=None).account for name in ("L1", "L5", "P1")]
        # A repeat order: 1,000 + 500 + 200 + 700 over 4 orders → CLV 600 (simple formula), while the won deals,
        # and so return on spend, stay as they were: CLV ÷ CAC is no longer return on spend.
        customers.order_add(account=accounts[0], user=None, ordered_on=NOW.date(), amount=Decimal(700))
        table = run("economics", admin_user).tables[0]
    assert by_group(table, "clv")["Google Ads"] == "600.00"
    assert by_group(table, "clv_to_cac")["Google Ads"] == "0.37×"  # 600 ÷ 1,630
    assert by_group(table, "return_on_spend")["Google Ads"] == "0.46×"


def test_channel_economics_attributes_spend_to_a_managers_team_by_lead_share(month, manager):
    table = run("economics", manager).tables[0]
    # The team has 3 of Google Ads' 4 leads and both Trade show leads.
    assert by_group(table, "spend")["Google Ads"] == "2,445.00"
    assert by_group(table, "cost_per_lead")["Google Ads"] == "815.00"
    assert by_group(table, "cac")["Google Ads"] == "2,445.00"
    assert by_group(table, "spend")["Trade show"] == "310.00"


def test_team_leaderboard(month, manager, rep, teammate):
    table = run("team", manager).tables[0]
    assert table.rows[0]["group"].text == str(rep)  # most won value first
    # Open now, any creation date: rep has L6 and L7 (April); teammate L3 and L4.
    assert by_group(table, "open_leads") == {str(rep): "2", str(teammate): "2"}
    assert by_group(table, "overdue_tasks") == {str(rep): "1", str(teammate): "0"}
    assert by_group(table, "conversion_rate") == {str(rep): "33.3%", str(teammate): "0.0%"}
    assert by_group(table, "won_value") == {str(rep): "1,000.00", str(teammate): "0.00"}


def test_data_completeness(month, admin_user):
    table = run("completeness", admin_user).tables[0]
    assert by_group(table, "filled") == {
        "Email": "6",
        "Phone": "1",
        "Company": "6",
        "Job title": "0",
        "Industry": "2",
        "Company size": "1",
        "Region": "2",
    }
    assert by_group(table, "filled_rate")["Industry"] == "33.3%"
    assert by_group(table, "missing")["Phone"] == "5"


def test_grades_conversion_of_closed_leads(month, admin_user):
    table = run("grades", admin_user).tables[0]
    assert by_group(table, "leads") == {"A (hot)": "2", "B": "1", "C": "0", "D": "0", "Not scored": "3"}
    assert by_group(table, "closed_conversion_rate") == {
        "A (hot)": "50.0%",
        "B": "–",
        "C": "–",
        "D": "–",
        "Not scored": "100.0%",
    }


def test_a_rep_sees_only_own_figures(month, rep):
    table = run("conversion", rep, "channel").tables[0]
    assert by_group(table, "leads") == {"Google Ads": "3", "Referral": "0", "Trade show": "0"}


def test_empty_period_gives_dashes_not_errors(month, admin_user):
    empty = Period(dt.date(2025, 1, 1), dt.date(2025, 1, 31))
    for slug, report in REPORTS.items():
        result = report.run(ReportScope.for_user(admin_user, empty), report.default_option)
        assert result.tables, slug
    conversion = REPORTS["conversion"].run(ReportScope.for_user(admin_user, empty), "channel").tables[0]
    assert conversion.total["conversion_rate"].text == "–"


def test_grades_by_month_of_creation(month, admin_user):
    table = run("grades", admin_user).table("by_month")
    assert cells(table, "group") == ["Mar 2026"]
    row = table.rows[0]
    assert [row[k].text for k in ("grade_A", "grade_B", "grade_C", "grade_D", "grade_none", "leads")] == [
        "2",
        "1",
        "0",
        "0",
        "3",
        "6",
    ]
