"""The customers CSV (`manage.py export_customers` and the list's download): one row per customer, so figures can be
checked against any spreadsheet. Text cells are formula-safe (`crm.csv`); numbers stay numbers."""

from collections.abc import Iterator
from io import StringIO

from django.conf import settings
from django.db.models import QuerySet

from crm.csv import csv_writer
from customers.selectors import with_churn

COLUMNS = (
    "customer",
    "external_id",
    "channel",
    "customer_since",
    "first_order_date",
    "last_order_date",
    "orders",
    "revenue",
    "status",
    "churned_date",
)


def customers_csv(*, accounts: QuerySet) -> Iterator[str]:
    """The CSV text, a chunk of rows at a time (streamed: a million customers never sit in memory)."""
    rows = (
        with_churn(accounts)
        .order_by("pk")
        .values_list(
            "name",
            "external_id",
            "channel__name",
            "customer_since",
            "first_order_on",
            "last_order_on",
            "orders_count",
            "revenue",
            "churn_on",
        )
    )
    out = StringIO()
    writer = csv_writer(out)
    writer.writerow(COLUMNS)
    for count, (name, external_id, channel, since, first, last, orders, revenue, churn_on) in enumerate(
        rows.iterator(chunk_size=settings.EXPORT_FETCH_SIZE), start=1
    ):
        writer.writerow(
            [
                name,
                external_id or "",
                channel or "",
                since.isoformat(),
                first.isoformat() if first else "",
                last.isoformat() if last else "",
                orders,
                revenue,
                "churned" if churn_on else "active",
                churn_on.isoformat() if churn_on else "",
            ]
        )
        if count % 1000 == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()
