"""Customers: 1,000,000 order lines imported, and the customer reports at 100,000 customers, beside hand-written SQL.

What it measures, on its own database (`crm_bench_customers`, made empty and migrated on the first run), emptied of
customers first:

1. **`import_orders`' service** (`customers.imports.orders_import`) over a generated file of 1,000,000 order lines
   (`BENCH_CUSTOMER_ORDERS`) of 100,000 customers (`BENCH_CUSTOMERS`), 2.5% of them refunds: every row checked,
   customers created, orders written, totals and the cohort rollup kept. Target: ≤ 60 s. Beside it, **the floor**:
   the same order rows written back by one plain COPY into the order table (its indexes and foreign key included),
   nothing checked: what storing them costs at all.
2. **The customer reports** (Customer value by channel, Churn, Revenue by cohort, Satisfaction over 300,000 survey
   answers) as an admin, for this month, the last 12 months and five years: the median of a few runs each. Target:
   ≤ 1 s. Beside the cohort report, the hand-written SQL it replaces (every order joined to its customer, grouped by
   cohort month and months since), which the rollup saves.

    python -m bench customers        (with the other benchmarks: make bench)

The machine's load average is printed with the figures: on a shared machine every figure moves with it.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import statistics
import time

from bench._harness import (
    Context,
    Verdict,
    django_child,
    log,
    measure_main,
    migrated_database,
    print_verdicts,
    run_django_json,
    table,
)

ORDERS = int(os.environ.get("BENCH_CUSTOMER_ORDERS", 1_000_000))
CUSTOMERS = int(os.environ.get("BENCH_CUSTOMERS", 100_000))
IMPORT_TARGET_SECONDS = 60.0
REPORT_TARGET_SECONDS = 1.0
RUNS = 3
MAPPING = {"customer": "Customer", "ordered_at": "Order date", "amount": "Net amount", "description": "Item"}


def generate_csv(lines: int, customers: int, *, seed: int = 7) -> str:
    """Five years of orders: each line a customer, a date, an amount (2.5% refunds) and an item."""
    rnd = random.Random(seed)
    start = dt.date(2021, 1, 1)
    out = ["Customer,Order date,Net amount,Item"]
    for _ in range(lines):
        amount = rnd.randrange(100, 200_000) / 100
        if rnd.random() < 0.025:
            amount = -amount / 4
        day = start + dt.timedelta(days=rnd.randrange(1800))
        out.append(f"Customer {rnd.randrange(customers):06d},{day.isoformat()},{amount:.2f},Item {rnd.randrange(50)}")
    return "\n".join(out) + "\n"


def verdicts(f: dict) -> list[Verdict]:
    steps = ", ".join(f"{step} {seconds:.1f} s" for step, seconds in f["import_steps"].items())
    result = [
        Verdict(
            f"import_orders of {f['lines']:,} lines within {IMPORT_TARGET_SECONDS:.0f} s",
            f["import_seconds"] <= IMPORT_TARGET_SECONDS,
            f"{f['import_seconds']:.1f} s ({f['lines'] / f['import_seconds']:,.0f} lines/s), {f['created']:,} customers "
            f"created; {steps}; load average {f['load_before']:.1f} before, {f['load_after']:.1f} after",
        ),
        Verdict(
            "import_orders vs the floor (the same order rows by one plain COPY, nothing checked)",
            True,
            f"{f['import_seconds']:.1f} s vs {f['floor_seconds']:.1f} s = "
            f"{f['import_seconds'] / f['floor_seconds']:.1f}× (informative)",
        ),
    ]
    slowest = max(f["reports"], key=lambda r: r["seconds"])
    result.append(
        Verdict(
            f"Every customer report within {REPORT_TARGET_SECONDS:.0f} s at {f['customers']:,} customers and "
            f"{f['orders']:,} orders",
            slowest["seconds"] <= REPORT_TARGET_SECONDS,
            f"slowest: {slowest['report']} over {slowest['period']} in {slowest['seconds'] * 1000:.0f} ms",
        )
    )
    result.append(
        Verdict(
            "Revenue by cohort (rollup) vs the hand-written SQL over every order, five years",
            True,
            f"{f['cohort_report_seconds'] * 1000:.0f} ms vs {f['cohort_sql_seconds'] * 1000:.0f} ms (informative)",
        )
    )
    return result


def run(ctx: Context | None = None) -> list[Verdict]:
    """Entry point for `make bench` (`python -m bench customers`)."""
    ctx = ctx or Context.from_env()
    figures = run_django_json(ctx, migrated_database(ctx, "customers"), "bench.customers", "--measure")
    print(
        table(
            f"Customer reports at {figures['customers']:,} customers and {figures['orders']:,} orders (median of {RUNS})",
            ["report", "period", "ms"],
            [(r["report"], r["period"], f"{r['seconds'] * 1000:.0f}") for r in figures["reports"]],
        )
    )
    result = verdicts(figures)
    return print_verdicts(result)


def _child() -> dict:
    django_child()
    from django.db import connection

    from crm.models import User
    from crm.roles import Role
    from crm.services import user_set_role
    from customers import imports, services
    from customers.models import Account, Order
    from leads.models import Channel
    from reports.periods import Period, period_for_preset
    from reports.registry import REPORTS
    from reports.scope import ReportScope

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE customers_account, customers_cohortrevenue RESTART IDENTITY CASCADE")
    text = generate_csv(ORDERS, CUSTOMERS)

    log(f"customers: import_orders over {ORDERS:,} lines")
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    result = imports.orders_import(text=text, mapping=MAPPING)
    import_seconds = time.perf_counter() - started
    load_after = os.getloadavg()[0]

    log("customers: the floor, one COPY of the same order rows")
    columns = "account_id, ordered_on, amount, description, quantity, unit_price, created_at"
    with connection.cursor() as cursor:
        buffer = []
        with cursor.cursor.copy(f"COPY customers_order ({columns}) TO STDOUT") as copy:
            buffer = [bytes(block) for block in copy]
        cursor.execute("TRUNCATE customers_order")
        started = time.perf_counter()
        with cursor.cursor.copy(f"COPY customers_order ({columns}) FROM STDIN") as copy:
            for block in buffer:
                copy.write(block)
        floor_seconds = time.perf_counter() - started

    log("customers: channels, owners, contacts and survey answers for the reports")
    channels = [Channel.objects.get_or_create(name=f"Bench channel {n}")[0].pk for n in range(8)]
    admin = User.objects.filter(username="bench-admin").first() or User.objects.create_user("bench-admin")
    user_set_role(user=admin, role=Role.ADMIN)
    admin = User.objects.get(pk=admin.pk)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE customers_account SET channel_id = (%s::bigint[])[1 + id %% %s]", [channels, len(channels)]
        )
        cursor.execute(
            "INSERT INTO customers_contact (account_id, name, email, phone, job_title, is_primary, created_at) "
            "SELECT id, name, 'buyer' || id || '@example.com', '', '', true, now() FROM customers_account"
        )
        cursor.execute(
            """
            INSERT INTO customers_survey (account_id, contact_id, kind, created_at, emailed_at, answered_at, score,
                                          comment)
            SELECT c.account_id, c.id, k.kind, t.at, t.at, t.at,
                   CASE k.kind WHEN 'csat' THEN 1 + (c.id + k.n) % 5 ELSE (c.id + k.n) % 11 END, ''
              FROM customers_contact c
              CROSS JOIN (VALUES ('csat', 1), ('nps', 2), ('nps', 3)) AS k(kind, n)
              CROSS JOIN LATERAL (SELECT now() - ((c.id * 7 + k.n * 13) % 1800) * interval '1 day' AS at) AS t
            """
        )
        cursor.execute("ANALYZE")
    services.account_totals_refresh()
    services.cohort_revenue_rebuild()

    periods = {
        "this month": period_for_preset("month"),
        "12 months": period_for_preset("12m"),
        "5 years": Period(dt.date(2021, 1, 1), dt.date(2025, 12, 31)),
    }
    reports = []
    for slug, option in (("clv", "channel"), ("churn", ""), ("cohorts", ""), ("satisfaction", "")):
        for label, period in periods.items():
            scope = ReportScope.for_user(admin, period)
            times = []
            for _ in range(RUNS):
                started = time.perf_counter()
                REPORTS[slug].run(scope, option)
                times.append(time.perf_counter() - started)
            reports.append({"report": REPORTS[slug].title, "period": label, "seconds": statistics.median(times)})
    cohort_report = next(r for r in reports if r["report"] == "Revenue by cohort" and r["period"] == "5 years")

    log("customers: the cohort figures by hand-written SQL over every order")
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT date_trunc('month', a.customer_since)::date,
                       greatest(0, (extract(year from o.ordered_on)::int * 12 + extract(month from o.ordered_on)::int)
                                 - (extract(year from a.customer_since)::int * 12
                                    + extract(month from a.customer_since)::int)),
                       sum(o.amount)
                  FROM customers_order o JOIN customers_account a ON a.id = o.account_id
                 WHERE a.customer_since BETWEEN '2021-01-01' AND '2025-12-31'
                 GROUP BY 1, 2
                """
            )
            cursor.fetchall()
        times.append(time.perf_counter() - started)
    return {
        "lines": ORDERS,
        "customers": Account.objects.count(),
        "orders": Order.objects.count(),
        "created": result.customers_created,
        "import_seconds": import_seconds,
        "import_steps": result.seconds,
        "floor_seconds": floor_seconds,
        "reports": reports,
        "cohort_report_seconds": cohort_report["seconds"],
        "cohort_sql_seconds": statistics.median(times),
        "load_before": load_before,
        "load_after": load_after,
    }


if __name__ == "__main__":
    measure_main("python -m bench.customers", _child, run)
