"""The cohort revenue rollup, kept by every way an order is written, equals the rollup computed anew."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command

from customers import services
from customers.models import CohortRevenue

pytestmark = pytest.mark.django_db


def rollup() -> dict:
    return {
        (r.cohort_month, r.age_months, r.channel_id, r.owner_id, r.team_id): r.revenue
        for r in CohortRevenue.objects.exclude(revenue=0)
    }


def test_conversions_orders_deletions_and_imports_keep_the_rollup_exact(customer, other_customer, rep, tmp_path):
    since = customer.customer_since
    services.order_add(account=customer, user=rep, ordered_on=since + dt.timedelta(days=40), amount=Decimal(300))
    refund = services.order_add(account=customer, user=rep, ordered_on=since, amount=Decimal(-100))
    services.order_add(account=customer, user=rep, ordered_on=since - dt.timedelta(days=45), amount=Decimal(7))
    services.order_delete(order=refund, user=rep)
    path = tmp_path / "orders.csv"
    path.write_text(f"c,d,a\nUS Navy,{since},50\nBletchley,{since},-20\nNew Co,{since},10\n", encoding="utf-8")
    call_command("import_orders", str(path), "--map", "customer=c", "--map", "ordered_at=d", "--map", "amount=a")
    kept = rollup()
    month = since.replace(day=1)
    key = (month, 0, customer.channel_id, rep.pk, rep.team_id)
    # The won deal (1,000), the import's 50 and the order dated before the customer's month (7): month 0.
    assert kept[key] == Decimal(1057)
    services.cohort_revenue_rebuild()
    assert rollup() == kept
