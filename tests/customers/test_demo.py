"""Demo customers: `seed_demo` brings them (through leads' `demo_seeded` signal), with orders, refunds, churn and
survey answers whose totals and cohort rollup agree with the orders."""

import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db.models import Q

from customers import services
from customers.models import Account, CohortRevenue, Contact, Order, Survey
from leads.models import Lead, Stage

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 5, 4, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def seeded(db):
    with time_machine.travel(NOW, tick=False):
        call_command("seed_demo", "--leads", "400", "--seed", "7", "--demo-passwords", stdout=StringIO())


def test_seeding_leads_seeds_customers_from_most_won_leads_with_consistent_totals(seeded):
    converted = Contact.objects.filter(lead__isnull=False)
    won = Lead.objects.filter(stage=Stage.WON).count()
    assert 0 < converted.count() < won  # most, not all: some wait for a click on their page
    older = Account.objects.filter(lead__isnull=True)
    assert older.exists() and not older.filter(external_id__isnull=True).exists()
    assert Order.objects.filter(amount__lt=0).exists()  # refunds
    assert Account.objects.filter(status="churned").exists()
    assert Survey.objects.filter(answered_at__isnull=False).exists()
    assert Survey.objects.filter(answered_at__isnull=True).exists()
    # Totals and the cohort rollup agree with the orders.
    totals = {a.pk: (a.revenue, a.orders_count) for a in Account.objects.all()}
    rollup = set(CohortRevenue.objects.exclude(revenue=0).values_list("cohort_month", "age_months", "revenue"))
    services.account_totals_refresh()
    services.cohort_revenue_rebuild()
    assert {a.pk: (a.revenue, a.orders_count) for a in Account.objects.all()} == totals
    assert set(CohortRevenue.objects.exclude(revenue=0).values_list("cohort_month", "age_months", "revenue")) == rollup
    assert not Account.objects.filter(Q(status="churned", churned_on__gt=NOW.date())).exists()


def test_seed_demo_customers_refuses_a_production_database_and_leaves_one_with_customers_alone(seeded):
    with pytest.raises(CommandError, match="--throwaway-database"):
        call_command("seed_demo_customers", stdout=StringIO())
    before = Account.objects.count()
    out = StringIO()
    call_command("seed_demo_customers", "--throwaway-database", stdout=out)
    assert "nothing seeded" in out.getvalue() and Account.objects.count() == before
