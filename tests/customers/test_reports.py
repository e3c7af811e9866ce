"""The customer reports against a small world computed by hand (today is 2 April 2026, UTC).

Customers (owner → channel; orders; status under "no order for 180 days"):
- A1 rep → Ads, since 2025-01-01: 1,000 (01-01), 500 (2025-07-01), 500 (2026-01-01), refund −200 (2026-02-01).
  Revenue 1,800, 3 orders, last order 2026-01-01; active. Observed 456 days, lived 365 (to the last order).
- A2 rep → Ads, since 2025-03-01: 600; marked churned 2025-09-01. Observed and lived 184 days.
- A3 rep → Ads, since 2026-03-10: 400. Observed 23 days, lived 0.
- A4 other_rep → Referral, since 2026-03-20: 300 (03-20), 100 (03-25). Observed 13 days, lived 5.
- A5 other_rep → Referral, since 2025-06-01: 250; no order since: churned 2025-11-28 (180 days on). Observed and
  lived 180 days.
Spend in March 2026: Ads 3,000, Events 500 (no customers), Referral none.
"""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from customers import services
from customers.models import Account, ChurnRule, Contact, Order, Survey
from leads.models import ChannelSpend
from reports.periods import Period
from reports.registry import REPORTS
from reports.scope import ReportScope
from tests.factories import ChannelFactory
from tests.reports.conftest import by_group

pytestmark = pytest.mark.django_db
TODAY = dt.datetime(2026, 4, 2, 12, 0, tzinfo=dt.UTC)
MARCH = Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31))


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(TODAY, tick=False):
        yield


@pytest.fixture
def world(settings, rep, other_rep, manager, other_manager):
    settings.TIME_ZONE = "UTC"
    settings.CLV_MIN_HISTORY_DAYS = 200
    settings.REPORTS_CLV_PURCHASES_PER_YEAR = 2
    settings.REPORTS_CLV_YEARS = 3
    ads, referral, events = (ChannelFactory(name=n) for n in ("Ads", "Referral", "Events"))
    ChannelSpend.objects.create(channel=ads, period_start=d("2026-03-01"), period_end=d("2026-03-31"), amount=3000)
    ChannelSpend.objects.create(channel=events, period_start=d("2026-03-01"), period_end=d("2026-03-31"), amount=500)

    def customer(name, owner, channel, since, orders, **status):
        account = Account.objects.create(
            name=name, owner=owner, team=owner.team, channel=channel, customer_since=d(since), **status
        )
        for day, amount in orders:
            Order.objects.create(account=account, ordered_on=d(day), amount=Decimal(amount))
        Contact.objects.create(account=account, name=f"{name} buyer", email=f"{name}@x.example", is_primary=True)
        return account

    accounts = {
        "A1": customer(
            "A1",
            rep,
            ads,
            "2025-01-01",
            [("2025-01-01", 1000), ("2025-07-01", 500), ("2026-01-01", 500), ("2026-02-01", -200)],
        ),
        "A2": customer(
            "A2", rep, ads, "2025-03-01", [("2025-03-01", 600)], status="churned", churned_on=d("2025-09-01")
        ),
        "A3": customer("A3", rep, ads, "2026-03-10", [("2026-03-10", 400)]),
        "A4": customer("A4", other_rep, referral, "2026-03-20", [("2026-03-20", 300), ("2026-03-25", 100)]),
        "A5": customer("A5", other_rep, referral, "2025-06-01", [("2025-06-01", 250)]),
    }
    services.account_totals_refresh()
    services.cohort_revenue_rebuild()
    return accounts


def run(slug, user, period=MARCH, option="", **filters):
    return REPORTS[slug].run(ReportScope.for_user(user, period, **filters), option)


def test_customer_totals_count_refunds_against_revenue_and_not_as_orders(world):
    a1 = Account.objects.get(pk=world["A1"].pk)
    assert (a1.revenue, a1.orders_count, a1.first_order_on, a1.last_order_on) == (
        Decimal(1800),
        3,
        d("2025-01-01"),
        d("2026-01-01"),
    )


def test_clv_from_recorded_revenue_when_history_allows_and_the_simple_formula_otherwise(world, admin_user):
    table = run("clv", admin_user, option="channel").tables[0]
    # Ads: 3 customers observed 663 days (221 on average ≥ 200): recorded. Revenue 2,800; lived 549 days.
    # CLV = 2,800 ÷ (663 ÷ 365.25) × (549 ÷ 3 ÷ 365.25) = 2,800 × 549 ÷ (663 × 3) = 772.85.
    assert by_group(table, "customers") == {"Ads": "3", "Events": "0", "Referral": "2"}
    assert by_group(table, "revenue") == {"Ads": "2,800.00", "Events": "0.00", "Referral": "650.00"}
    assert by_group(table, "per_year")["Ads"] == "1,542.53"  # 2,800 × 365.25 ÷ 663
    assert by_group(table, "lifetime")["Ads"] == "0.50"  # 183 days
    assert by_group(table, "clv") == {"Ads": "772.85", "Events": "–", "Referral": "1,300.00"}
    # Referral: 193 days observed for 2 customers (96.5 < 200): average order 650 ÷ 3 × 2 a year × 3 years.
    assert by_group(table, "method") == {"Ads": "recorded", "Events": "–", "Referral": "simple formula"}
    # CAC: spend in March ÷ customers new in March. Events spent 500 and won none: no CAC. Referral spent nothing.
    assert by_group(table, "new") == {"Ads": "1", "Events": "0", "Referral": "1"}
    assert by_group(table, "cac") == {"Ads": "3,000.00", "Events": "–", "Referral": "0.00"}
    assert by_group(table, "clv_to_cac") == {"Ads": "0.26×", "Events": "–", "Referral": "–"}
    # All: 5 customers, 856 days observed (171 on average): simple, 3,450 ÷ 8 orders × 6 = 2,587.50; CAC 3,500 ÷ 2.
    total = {key: cell.text for key, cell in table.total.items()}
    assert (total["clv"], total["cac"], total["clv_to_cac"]) == ("2,587.50", "1,750.00", "1.48×")


def test_clv_by_segment_has_no_spend_columns(world, admin_user):
    table = run("clv", admin_user, option="industry").tables[0]
    assert by_group(table, "customers") == {"Unknown": "5"}
    assert "cac" not in {column.key for column in table.columns}


def test_a_managers_customer_value_covers_the_teams_customers(world, manager):
    table = run("clv", manager, option="channel").tables[0]
    assert by_group(table, "customers") == {"Ads": "3", "Events": "0"}


def test_no_customers_gives_dashes_not_errors(db, admin_user):
    result = run("clv", admin_user, option="channel")
    assert result.tables[0].total["clv"].text == "–" and result.tables[0].total["cac"].text == "–"
    for slug in ("churn", "cohorts", "satisfaction"):
        for table in run(slug, admin_user).tables:
            assert table.total is None or all(
                cell.text in ("–", "0", "0.00", "All channels", "Whole period", "All cohorts")
                for cell in table.total.values()
            )


AUTUMN = Period(d("2025-09-01"), d("2025-12-31"))


def test_churn_rate_per_month_under_the_inactivity_rule(world, admin_user):
    result = run("churn", admin_user, period=AUTUMN)
    months = result.tables[0]
    # Sep: A1, A2, A5 at the start, A2 lost (1 Sep). Oct: A1, A5. Nov: A5 lost (28 Nov). Dec: A1 alone.
    assert by_group(months, "at_start") == {"Sep 2025": "3", "Oct 2025": "2", "Nov 2025": "2", "Dec 2025": "1"}
    assert by_group(months, "lost") == {"Sep 2025": "1", "Oct 2025": "0", "Nov 2025": "1", "Dec 2025": "0"}
    assert by_group(months, "churn_rate") == {
        "Sep 2025": "33.3%",
        "Oct 2025": "0.0%",
        "Nov 2025": "50.0%",
        "Dec 2025": "0.0%",
    }
    assert (months.total["churn_rate"].text, months.total["churn_rate"].sub) == ("66.7%", "2 / 3")
    assert by_group(result.tables[1], "churn_rate") == {"Ads": "50.0%", "Referral": "100.0%"}
    monthly = next(h for h in result.headlines if h.label == "Monthly churn").cell
    assert (monthly.text, monthly.sub) == ("25.0%", "2 / 8")  # (1 + 0 + 1 + 0) ÷ (3 + 2 + 2 + 1)
    assert "no order for 180 days" in result.notes[0]


def test_churn_under_the_explicit_rule_counts_only_marked_customers(world, admin_user):
    services.churn_rule_save(user=admin_user, kind=ChurnRule.Kind.EXPLICIT, inactivity_days=180)
    result = run("churn", admin_user, period=AUTUMN)
    assert by_group(result.tables[0], "lost") == {"Sep 2025": "1", "Oct 2025": "0", "Nov 2025": "0", "Dec 2025": "0"}
    assert result.tables[0].total["churn_rate"].text == "33.3%"
    assert "explicit churn only" in result.notes[0]


def test_churn_before_any_customer_shows_dashes(world, admin_user):
    result = run("churn", admin_user, period=Period(d("2024-12-01"), d("2024-12-31")))
    assert by_group(result.tables[0], "churn_rate") == {"Dec 2024": "–"}


def test_revenue_by_cohort_month_and_months_since(world, admin_user):
    table = run("cohorts", admin_user, period=Period(d("2025-01-01"), d("2025-06-30"))).tables[0]
    assert by_group(table, "customers") == {
        "Jan 2025": "1",
        "Feb 2025": "0",
        "Mar 2025": "1",
        "Apr 2025": "0",
        "May 2025": "0",
        "Jun 2025": "1",
    }
    # A1: 1,000 in month 0, 500 in month 6, 500 − 200 in months 12 and 13.
    jan = {key: cell.text for key, cell in table.rows[0].items()}
    assert (jan["m0"], jan["m1"], jan["m6_11"], jan["m12"], jan["total"]) == (
        "1,000.00",
        "0.00",
        "500.00",
        "300.00",
        "1,800.00",
    )
    assert by_group(table, "per_customer")["Feb 2025"] == "–"
    assert (table.total["total"].text, table.total["per_customer"].text) == ("2,650.00", "883.33")


def test_cohorts_of_march(world, admin_user):
    table = run("cohorts", admin_user, period=MARCH).tables[0]
    assert by_group(table, "m0") == {"Mar 2026": "800.00"}
    assert by_group(table, "per_customer") == {"Mar 2026": "400.00"}


@pytest.fixture
def answers(world):
    a1, a4 = world["A1"], world["A4"]

    def answer(account, kind, score, when="2026-03-15"):
        Survey.objects.create(
            account=account,
            contact=account.contacts.get(),
            kind=kind,
            score=score,
            answered_at=dt.datetime.fromisoformat(when).replace(tzinfo=dt.UTC),
        )

    for kind, score in (("csat", 5), ("csat", 3), ("nps", 10), ("nps", 9), ("nps", 7), ("nps", 2)):
        answer(a1, kind, score)
    answer(a4, "csat", 4)
    answer(a1, "nps", 0, when="2026-02-20")  # before March
    Survey.objects.create(account=a1, contact=a1.contacts.get(), kind="nps")  # not answered


def test_csat_and_nps_per_channel_and_month(answers, admin_user):
    by_channel, by_month = run("satisfaction", admin_user).tables
    assert by_group(by_channel, "csat") == {"Ads": "50.0%", "Referral": "100.0%"}
    # Ads NPS: 2 promoters, 1 detractor, 1 passive of 4: (2 − 1) ÷ 4 = +25.
    assert by_group(by_channel, "nps") == {"Ads": "+25", "Referral": "–"}
    assert by_channel.total["csat"].text == "66.7%" and by_channel.total["csat"].sub == "2 / 3"
    assert by_channel.total["nps"].sub == "2 P − 1 D / 4"
    assert by_group(by_month, "nps") == {"Mar 2026": "+25"}


def test_a_rep_sees_satisfaction_of_own_customers_only(answers, other_rep):
    by_channel, _ = run("satisfaction", other_rep).tables
    assert by_group(by_channel, "csat") == {"Referral": "100.0%"}


def test_customer_reports_have_pages_and_csv(world, admin_client, client, rep):
    for slug in ("clv", "churn", "cohorts", "satisfaction"):
        page = admin_client.get(f"/reports/{slug}/?period=12m")
        assert page.status_code == 200, slug
        csv = admin_client.get(f"/reports/{slug}/?period=12m&format=csv")
        assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
        assert "Figures as of now" in page.content.decode()  # live, not the leads' refreshed rollups
    client.force_login(rep)
    assert client.get("/reports/clv/").status_code == 403
    assert client.get("/reports/churn/").status_code == 200
