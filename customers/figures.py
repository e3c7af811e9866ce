"""Customer lifetime value of a set of customers (DOMAIN.md, "Customers"): the sums it needs, in one query, and the
figure from them, recorded or by the simple formula when history is short. Read by the customer value report and
by channel economics."""

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, DateField, F, Sum, Value
from django.db.models.functions import Coalesce, Greatest

from customers.selectors import DaysBetween, with_churn

DAYS_PER_YEAR = Decimal("365.25")


def value_sums(accounts, group: str | None, *, today: dt.date) -> dict:
    """Per value of `group` (None: all as one): customers, revenue, orders, and the days observed and lived."""
    rows = with_churn(accounts, today=today).annotate(
        observed_days=Greatest(
            DaysBetween(Coalesce("churn_on", Value(today, output_field=DateField())), "customer_since"), Value(0)
        ),
        lifetime_days=Greatest(
            DaysBetween(Coalesce("churn_on", "last_order_on", "customer_since"), "customer_since"), Value(0)
        ),
    )
    sums = {
        "customers": Count("pk"),
        "revenue": Sum("revenue"),
        "orders": Sum("orders_count"),
        "observed": Sum("observed_days"),
        "lived": Sum("lifetime_days"),
    }
    if group is None:
        return {None: _zeroes(rows.aggregate(**sums))}
    grouped = rows.annotate(group_key=F(group)).values("group_key").annotate(**sums).order_by()
    return {row.pop("group_key"): _zeroes(row) for row in grouped}


def _zeroes(row: dict) -> dict:
    return {key: value or 0 for key, value in row.items()}


def clv(sums: dict) -> tuple[Decimal | None, str, Decimal | None, Decimal | None]:
    """(CLV, method, revenue per customer-year, average lifetime in years) of a group's sums; method is
    "recorded" or "simple" (history too short), CLV None when nothing was ordered."""
    customers, revenue = sums["customers"], Decimal(sums["revenue"])
    if not customers:
        return None, "", None, None
    if sums["observed"] and Decimal(sums["observed"]) / customers >= settings.CLV_MIN_HISTORY_DAYS:
        per_year = revenue / (Decimal(sums["observed"]) / DAYS_PER_YEAR)
        lifetime = Decimal(sums["lived"]) / customers / DAYS_PER_YEAR
        return per_year * lifetime, "recorded", per_year, lifetime
    if not sums["orders"]:
        return None, "simple", None, None
    factor = Decimal(str(settings.REPORTS_CLV_PURCHASES_PER_YEAR)) * Decimal(str(settings.REPORTS_CLV_YEARS))
    return revenue / sums["orders"] * factor, "simple", None, None
