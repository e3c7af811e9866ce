"""Customer figures (DOMAIN.md, "Customers"): lifetime value, acquisition cost, churn, cohorts, satisfaction.

Who counts is the report scope's rule applied to customers (their owner, team and channel: the won lead's). Every
table says the formula it used; churn follows the churn rule in force (`customers.models.ChurnRule`), named on the
page. Each rate shows its numerator and denominator, and an empty denominator shows "–".

- **Revenue** of a customer: the sum of its order lines, refunds (negative lines) included. An order is a
  positive line.
- **CLV from recorded revenue**, per group: average revenue per customer per year (Σ revenue ÷ Σ years each
  customer was observed: from becoming a customer to churning, or to today) × average customer lifetime (Σ years
  from becoming a customer to the last order, or to churning ÷ customers). Used when the group's customers were
  observed CLV_MIN_HISTORY_DAYS on average; otherwise **the simple formula**, labelled so: average order value
  (revenue ÷ orders) × REPORTS_CLV_PURCHASES_PER_YEAR × REPORTS_CLV_YEARS.
- **CAC** per channel = the channel's spend in the period ÷ its customers new in the period (customer since).
- **Churn rate** of a month = customers lost in it ÷ customers at its start.
- **CSAT** = satisfied answers (4–5 of 5) ÷ answers; **NPS** = % promoters (9–10) − % detractors (0–6).
"""

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db.models import Count, DateField, F, Func, IntegerField, Q, Sum, Value
from django.db.models.functions import TruncMonth

from crm import clock
from customers.figures import clv, value_sums
from customers.models import Account, CohortRevenue, Survey
from customers.selectors import churn_rule, with_churn
from leads.models import Channel
from reports import charts
from reports.periods import Period, months_between
from reports.scope import ReportScope
from reports.selectors.common import names_of
from reports.selectors.economics import spend_in_period
from reports.tables import DASH, Cell, Column, Headline, ReportResult, Table, count, money, money_per, rate, ratio, text

VALUE_GROUPINGS = {"channel": "By channel", "industry": "By industry", "region": "By region"}
_GROUP_FIELDS = {"channel": "channel", "industry": "lead__industry", "region": "lead__region"}


def _accounts(scope: ReportScope):
    return Account.objects.filter(scope.customers_q())


# --- Lifetime value and acquisition cost ------------------------------------------------------------------------


VALUE_FORMULAS = "\n".join(
    (
        "Revenue = the customer's orders minus refunds, all recorded to date.",
        "CLV (recorded) = revenue per customer per year (Σ revenue ÷ Σ years observed, from customer since to churn "
        "or today) × average lifetime (Σ years from customer since to the last order, or to churn ÷ customers).",
        "CLV (simple formula: the history is short, the customers were observed less than {days} days on average) = "
        "average order value × {purchases:g} purchases per year × {years:g} years (REPORTS_CLV_PURCHASES_PER_YEAR, "
        "REPORTS_CLV_YEARS).",
        "CAC = the channel's spend in the period ÷ its new customers in the period · CLV ÷ CAC above 1 pays back.",
    )
)


def _method_cell(method: str) -> Cell:
    label = {"recorded": "recorded", "simple": "simple formula"}.get(method, DASH)
    return Cell(value=method or None, text=label)


def customer_value_report(scope: ReportScope, option: str) -> ReportResult:
    today = clock.today()
    rule = churn_rule()
    by_channel = option == "channel"
    group = _GROUP_FIELDS[option]
    accounts = _accounts(scope)
    lifetime = value_sums(accounts, group, today=today)
    overall = value_sums(accounts, None, today=today)[None]
    period = scope.period
    new = _new_customers(accounts, period, group)
    columns = [
        Column("group", VALUE_GROUPINGS[option].removeprefix("By ").capitalize(), "text"),
        Column("customers", "Customers"),
        Column("revenue", "Revenue", "money"),
        Column("per_year", "Per customer-year", "money"),
        Column("lifetime", "Lifetime (years)", "ratio"),
        Column("clv", "CLV", "money"),
        Column("method", "CLV from", "text"),
        Column("new", "New in period"),
    ]
    spend, shares = {}, {}
    if by_channel:
        columns += [
            Column("spend", "Spend", "money"),
            Column("cac", "CAC", "money"),
            Column("clv_to_cac", "CLV ÷ CAC", "ratio"),
        ]
        spend = spend_in_period(period, [scope.channel.pk] if scope.channel else None)
        if not scope.is_everything:
            company = _new_customers(
                Account.objects.filter(ReportScope(user=scope.user, period=period).customers_q()), period, "channel"
            )
            shares = {key: (new.get(key, 0), company.get(key, 0)) for key in spend}
    table = Table(
        key="value",
        title=f"Customer lifetime value {VALUE_GROUPINGS[option].lower()}",
        columns=columns,
        note=VALUE_FORMULAS.format(
            days=settings.CLV_MIN_HISTORY_DAYS,
            purchases=settings.REPORTS_CLV_PURCHASES_PER_YEAR,
            years=settings.REPORTS_CLV_YEARS,
        )
        + "\n"
        + rule.describe(),
    )
    keys = list(lifetime)
    if by_channel:
        channels = Channel.objects.filter(Q(pk__in=[k for k in keys if k]) | Q(pk__in=list(spend)))
        if scope.channel:
            channels = channels.filter(pk=scope.channel.pk)
        labels = {c.pk: c.name for c in channels.order_by("name")}
        if None in lifetime and not scope.channel:
            labels[None] = "No channel"
    else:
        labels = {key: key or "Unknown" for key in sorted(keys, key=lambda k: (k or "~").lower())}
    total_spend = Decimal(0)
    for key, label in labels.items():
        channel_spend = None
        if by_channel:
            channel_spend = spend.get(key, Decimal(0))
            if shares and key in shares:
                in_view, everyone = shares[key]
                channel_spend = channel_spend * in_view / everyone if everyone else Decimal(0)
            total_spend += channel_spend
        table.rows.append(_value_row(label, lifetime.get(key), new.get(key, 0), channel_spend))
    total_new = sum(new.values())
    table.total = _value_row("All", overall, total_new, total_spend if by_channel else None)
    table.chart_title = f"CLV {VALUE_GROUPINGS[option].lower()}"
    table.chart = charts.horizontal_bars(
        table.chart_title, [r["group"].text for r in table.rows], [r["clv"].value for r in table.rows]
    )
    total_clv = table.total["clv"]
    headlines = [
        Headline("Customers", count(overall["customers"]), detail=f"{total_new:,} new in the period"),
        Headline("CLV", total_clv, detail=table.total["method"].text),
    ]
    if by_channel:
        headlines += [Headline("CAC", table.total["cac"]), Headline("CLV ÷ CAC", table.total["clv_to_cac"])]
    notes = []
    if by_channel and not scope.is_everything:
        notes.append("Spend is attributed to this view in proportion to its share of each channel's new customers.")
    return ReportResult(headlines=headlines, tables=[table], notes=notes)


def _new_customers(accounts, period: Period, group: str) -> dict:
    rows = (
        accounts.filter(customer_since__gte=period.start, customer_since__lte=period.end)
        .annotate(group_key=F(group))
        .values("group_key")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {row["group_key"]: row["n"] for row in rows}


def _value_row(label: str, sums: dict | None, new: int, spend: Decimal | None) -> dict:
    sums = sums or {"customers": 0, "revenue": 0, "orders": 0, "observed": 0, "lived": 0}
    value, method, per_year, lifetime = clv(sums)
    row = {
        "group": text(label),
        "customers": count(sums["customers"]),
        "revenue": money(sums["revenue"]),
        "per_year": money(per_year),
        "lifetime": Cell(value=None, text=DASH) if lifetime is None else _years(lifetime),
        "clv": money(value),
        "method": _method_cell(method),
        "new": count(new),
    }
    if spend is not None:
        cac = spend / new if new else None
        row.update(
            spend=money(spend),
            cac=money_per(spend, new),
            clv_to_cac=ratio(value, cac) if value is not None and cac else Cell(value=None, text=DASH),
        )
    return row


def _years(value: Decimal) -> Cell:
    return Cell(value=float(round(value, 2)), text=f"{value:.2f}")


# --- Churn ------------------------------------------------------------------------------------------------------


class _Window(Func):
    """Which of the windows a date falls in: 0 before the first, i in the i-th (from 1), n + 1 after the last;
    NULL for NULL. PostgreSQL's width_bucket over the windows' first days and the day after the last."""

    function = "width_bucket"
    output_field = IntegerField()


def _churn_figures(bucketed: list[dict], windows: int) -> tuple[list[dict], dict]:
    """Customers at the start, new and lost, per window (1 … n) and for the whole period, from counts of customers
    per (window of customer since, window of churn)."""
    months = [{"start": 0, "new": 0, "lost": 0} for _ in range(windows + 1)]
    whole = {"start": 0, "new": 0, "lost": 0}
    for row in bucketed:
        since, churn, n = row["since_window"], row["churn_window"], row["n"]
        for index in range(1, windows + 1):
            # At the start of window i: a customer before it, not churned before it.
            if since < index and (churn is None or churn >= index):
                months[index]["start"] += n
                if churn == index:
                    months[index]["lost"] += n
        if 1 <= since <= windows:
            months[since]["new"] += n
            whole["new"] += n
        if since == 0 and (churn is None or churn >= 1):
            whole["start"] += n
            if churn is not None and churn <= windows:
                whole["lost"] += n
    return months[1:], whole


def churn_report(scope: ReportScope) -> ReportResult:
    rule = churn_rule()
    period = scope.period
    starts = [max(month, period.start) for month in months_between(period)]
    edges = Value([*starts, period.end + dt.timedelta(days=1)], output_field=ArrayField(DateField()))
    # One pass over the customers: how many per channel, window of becoming a customer and window of churning.
    bucketed = list(
        with_churn(_accounts(scope), rule)
        .annotate(since_window=_Window("customer_since", edges), churn_window=_Window("churn_on", edges))
        .values("channel", "since_window", "churn_window")
        .annotate(n=Count("pk"))
        .order_by()
    )
    per_month, whole = _churn_figures(bucketed, len(starts))
    columns = [
        Column("group", "Month", "text"),
        Column("at_start", "Customers at start"),
        Column("new", "New"),
        Column("lost", "Lost"),
        Column("churn_rate", "Churn rate", "rate"),
    ]
    note = (
        f"{rule.describe()}\nChurn rate = customers lost in the month ÷ customers at its start (new customers of "
        "the month are not counted in either). The whole period: lost in it ÷ customers at its first day; monthly "
        "churn: the months' lost ÷ the months' customers at the start."
    )
    months = Table(key="months", title="Churn by month", columns=columns, note=note)
    for start, figures in zip(starts, per_month, strict=True):
        months.rows.append(_churn_row(f"{start:%b %Y}", figures))
    months.total = _churn_row("Whole period", whole)
    months.chart_title = "Churn rate by month"
    months.chart = charts.vertical_bars(
        months.chart_title,
        [r["group"].text for r in months.rows],
        [None if r["churn_rate"].value is None else 100 * r["churn_rate"].value for r in months.rows],
        unit="%",
    )
    by_channel = Table(
        key="channels",
        title="Churn by channel (whole period)",
        columns=[Column("group", "Channel", "text"), *columns[1:]],
        note=rule.describe(),
    )
    channel_rows: dict = {}
    for row in bucketed:
        channel_rows.setdefault(row["channel"], []).append(row)
    names = names_of(Channel, channel_rows)
    for channel_id in sorted(channel_rows, key=lambda pk: names.get(pk, "~")):
        figures = _churn_figures(channel_rows[channel_id], len(starts))[1]
        by_channel.rows.append(_churn_row(names.get(channel_id, "No channel"), figures))
    total = months.total
    monthly_lost, monthly_start = sum(m["lost"] for m in per_month), sum(m["start"] for m in per_month)
    headlines = [
        Headline("Churn rate", total["churn_rate"], detail="of the customers at the period's start"),
        Headline("Monthly churn", rate(monthly_lost, monthly_start), detail="Σ lost ÷ Σ at the start, over the months"),
        Headline("Lost", count(monthly_lost), detail="in the months"),
        Headline("New customers", total["new"]),
    ]
    return ReportResult(headlines=headlines, tables=[months, by_channel], notes=[rule.describe()])


def _churn_row(label: str, figures: dict) -> dict:
    return {
        "group": text(label),
        "at_start": count(figures["start"]),
        "new": count(figures["new"]),
        "lost": count(figures["lost"]),
        "churn_rate": rate(figures["lost"], figures["start"]),
    }


# --- Revenue by cohort month ------------------------------------------------------------------------------------

# Months since the cohort month, in columns: (key, label, first month, last month or None).
AGE_BUCKETS = (
    ("m0", "Month 0", 0, 0),
    ("m1", "Month 1", 1, 1),
    ("m2", "Month 2", 2, 2),
    ("m3_5", "Months 3–5", 3, 5),
    ("m6_11", "Months 6–11", 6, 11),
    ("m12", "Month 12 on", 12, None),
)


def cohorts_report(scope: ReportScope) -> ReportResult:
    period = scope.period
    months = months_between(period)
    first, last = months[0], (months[-1] + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    # Cohorts are whole months: every month the period touches.
    sizes = {
        row["cohort"]: row["n"]
        for row in _accounts(scope)
        .filter(customer_since__gte=first, customer_since__lte=last)
        .annotate(cohort=TruncMonth("customer_since"))
        .values("cohort")
        .annotate(n=Count("pk"))
        .order_by()
    }
    buckets = {
        key: Sum(
            "revenue", filter=Q(age_months__gte=low) if high is None else Q(age_months__gte=low, age_months__lte=high)
        )
        for key, _label, low, high in AGE_BUCKETS
    }
    revenue = {
        row.pop("cohort_month"): row
        for row in CohortRevenue.objects.filter(scope.customers_q(), cohort_month__gte=first, cohort_month__lte=last)
        .values("cohort_month")
        .annotate(**buckets, total=Sum("revenue"))
        .order_by()
    }
    columns = [
        Column("group", "Cohort (customer since)", "text"),
        Column("customers", "Customers"),
        *(Column(key, label, "money") for key, label, _first, _last in AGE_BUCKETS),
        Column("total", "Revenue to date", "money"),
        Column("per_customer", "Per customer", "money"),
    ]
    table = Table(
        key="cohorts",
        title="Revenue by cohort month",
        columns=columns,
        note="A cohort is the customers who became customers in a month (every month the period touches); month 0 is "
        "that month (and any line dated before it). Revenue is orders minus refunds, to date.",
    )
    totals = {key: Decimal(0) for key, *_ in AGE_BUCKETS} | {"total": Decimal(0)}
    for month in months:
        size = sizes.get(month, 0)
        sums = revenue.get(month, {})
        row = {"group": text(f"{month:%b %Y}"), "customers": count(size)}
        for key in totals:
            value = sums.get(key) or Decimal(0)
            totals[key] += value
            row[key] = money(value)
        row["per_customer"] = money_per(sums.get("total") or 0, size)
        table.rows.append(row)
    all_customers = sum(sizes.values())
    table.total = {"group": text("All cohorts"), "customers": count(all_customers)}
    table.total.update({key: money(value) for key, value in totals.items()})
    table.total["per_customer"] = money_per(totals["total"], all_customers)
    table.chart_title = "Revenue per customer by cohort"
    table.chart = charts.horizontal_bars(
        table.chart_title, [r["group"].text for r in table.rows], [r["per_customer"].value for r in table.rows]
    )
    headlines = [
        Headline("New customers", count(all_customers)),
        Headline("Their revenue to date", money(totals["total"], whole=True)),
        Headline("Per customer", table.total["per_customer"]),
    ]
    return ReportResult(headlines=headlines, tables=[table])


# --- Satisfaction -----------------------------------------------------------------------------------------------


def nps(promoters: int, detractors: int, answers: int) -> Cell:
    """% promoters − % detractors, in points from −100 to 100, with the counts; "–" without answers."""
    sub = f"{promoters:,} P − {detractors:,} D / {answers:,}"
    if not answers:
        return Cell(value=None, text=DASH, sub=sub)
    value = 100 * (promoters - detractors) / answers
    return Cell(value=round(value, 2), text=f"{value:+.0f}" if round(value) else "0", sub=sub)


_SATISFACTION = {
    "csat_answers": Count("pk", filter=Q(kind=Survey.Kind.CSAT)),
    "satisfied": Count("pk", filter=Q(kind=Survey.Kind.CSAT, score__gte=4)),
    "nps_answers": Count("pk", filter=Q(kind=Survey.Kind.NPS)),
    "promoters": Count("pk", filter=Q(kind=Survey.Kind.NPS, score__gte=9)),
    "detractors": Count("pk", filter=Q(kind=Survey.Kind.NPS, score__lte=6)),
}
SATISFACTION_NOTE = (
    "CSAT = satisfied answers (4 or 5 of 5) ÷ CSAT answers. NPS = % promoters (P: 9–10) − % detractors (D: 0–6) "
    "of NPS answers, from −100 to +100. Answers given in the period."
)


def _satisfaction_row(label: str, row: dict) -> dict:
    return {
        "group": text(label),
        "csat_answers": count(row["csat_answers"]),
        "csat": rate(row["satisfied"], row["csat_answers"]),
        "nps_answers": count(row["nps_answers"]),
        "nps": nps(row["promoters"], row["detractors"], row["nps_answers"]),
    }


def satisfaction_report(scope: ReportScope) -> ReportResult:
    period = scope.period
    answers = Survey.objects.filter(
        scope.customers_q("account__"), answered_at__gte=period.starts_at, answered_at__lt=period.ends_before
    )
    columns = [
        Column("csat_answers", "CSAT answers"),
        Column("csat", "CSAT", "rate"),
        Column("nps_answers", "NPS answers"),
        Column("nps", "NPS", "points"),
    ]
    by_channel = Table(
        key="channels",
        title="By channel",
        columns=[Column("group", "Channel", "text"), *columns],
        note=SATISFACTION_NOTE,
    )
    grouped = list(answers.values("account__channel").annotate(**_SATISFACTION).order_by())
    names = names_of(Channel, [row["account__channel"] for row in grouped])
    for row in sorted(grouped, key=lambda r: names.get(r["account__channel"], "~")):
        by_channel.rows.append(_satisfaction_row(names.get(row["account__channel"], "No channel"), row))
    total = answers.aggregate(**_SATISFACTION)
    by_channel.total = _satisfaction_row("All channels", total)
    months = answers.annotate(month=TruncMonth("answered_at", output_field=DateField()))
    monthly = {row.pop("month"): row for row in months.values("month").annotate(**_SATISFACTION).order_by()}
    by_month = Table(
        key="months", title="By month", columns=[Column("group", "Month", "text"), *columns], note=SATISFACTION_NOTE
    )
    empty = dict.fromkeys(_SATISFACTION, 0)
    for month in months_between(period):
        by_month.rows.append(_satisfaction_row(f"{month:%b %Y}", monthly.get(month, empty)))
    by_month.total = by_channel.total
    by_month.chart_title = "NPS by month"
    by_month.chart = charts.vertical_bars(
        by_month.chart_title, [r["group"].text for r in by_month.rows], [r["nps"].value for r in by_month.rows]
    )
    headlines = [
        Headline("CSAT", by_channel.total["csat"]),
        Headline("NPS", by_channel.total["nps"]),
        Headline("Answers", count(total["csat_answers"] + total["nps_answers"])),
    ]
    return ReportResult(headlines=headlines, tables=[by_channel, by_month])
