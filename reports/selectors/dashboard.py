"""The manager dashboard: the period's headline figures and three small charts, each linking to its report."""

import datetime as dt
from dataclasses import dataclass, field

from leads.filters import RESPONSE_BUCKETS
from leads.models import FUNNEL, OPEN_STAGES, Stage
from reports import charts
from reports.periods import Period
from reports.scope import ReportScope
from reports.selectors.common import stats_by, stats_total
from reports.selectors.conversion import conversion_report
from reports.selectors.economics import spend_in_period
from reports.selectors.funnel import reached_counts
from reports.selectors.speed import response_percentiles
from reports.tables import Headline, change, count, money, money_per, points, rate, seconds


@dataclass
class Panel:
    title: str
    report: str  # slug of the report it summarises
    chart: str
    caption: str = ""
    rows: list[tuple[str, str]] = field(default_factory=list)  # the chart's numbers, as (label, value)


@dataclass
class Dashboard:
    headlines: list[Headline]
    panels: list[Panel]


def trend_period(period: Period) -> Period:
    """Six whole months up to the period's end, or the period itself when it is longer."""
    if period.days > 180:
        return period
    start = period.end.replace(day=1)
    for _ in range(5):
        start = (start - dt.timedelta(days=1)).replace(day=1)
    return Period(start, period.end, "custom")


def dashboard(scope: ReportScope) -> Dashboard:
    totals = stats_total(scope)
    before = stats_total(scope.previous(), measures=("leads", "won"))
    all_time = stats_total(scope, all_time=True, measures=tuple(f"open_{s}" for s in OPEN_STAGES))
    n_answered, quantiles = response_percentiles(scope)
    conversion = rate(totals["won"], totals["leads"])
    headlines = [
        Headline(
            "Leads",
            count(totals["leads"], scope.leads_url()),
            detail=f"{change(totals['leads'], before['leads']).text} vs {before['leads']:,} before",
            href="conversion",
        ),
        Headline("Won", count(totals["won"], scope.leads_url(stage=Stage.WON.value)), href="conversion"),
        Headline(
            "Conversion",
            conversion,
            detail=f"{points(conversion, rate(before['won'], before['leads'])).text} vs before",
            href="conversion",
        ),
        Headline("Won value", money(totals["won_value"], whole=True), href="conversion"),
        Headline("Median first response", seconds(quantiles[0.5]), detail=f"{n_answered:,} answered", href="speed"),
        Headline(
            "Open leads now",
            count(sum(all_time[f"open_{s}"] for s in OPEN_STAGES), scope.leads_url(all_time=True, open="on")),
            href="velocity",
        ),
    ]
    if not scope.own_leads_only:
        spend = sum(spend_in_period(scope.period).values())
        if scope.is_everything:
            headlines.append(
                Headline("CAC", money_per(spend, totals["won"]), detail=f"spend {spend:,.0f}", href="economics")
            )

    reached = reached_counts(totals)
    funnel = Panel(
        "Funnel",
        "funnel",
        charts.horizontal_bars(
            "Leads that reached each stage",
            [s.label for s in FUNNEL],
            [reached[s] for s in FUNNEL],
            width=400,
            titled=False,
        ),
        rows=[(s.label, f"{reached[s]:,}") for s in FUNNEL],
    )
    trend_scope = scope.with_period(trend_period(scope.period))
    months = conversion_report(trend_scope, "month").tables[0]
    trend = Panel(
        "Leads and won per month",
        "conversion",
        charts.lines(
            "Leads and won per month",
            [r["group"].text for r in months.rows],
            {"Leads": [r["leads"].value for r in months.rows], "Won": [r["won"].value for r in months.rows]},
            width=400,
            titled=False,
        ),
        rows=[(r["group"].text, f"{r['leads'].text} leads, {r['won'].text} won") for r in months.rows],
    )
    buckets = stats_by(scope, "value", dimension="response", measures=("leads", "won"))
    bucket_rows = [(label, buckets.get(key, {}).get("leads", 0)) for key, label, *_ in RESPONSE_BUCKETS]
    response = Panel(
        "Leads by first response time",
        "speed",
        charts.vertical_bars(
            "Leads by first response time",
            [label.split(" (")[0] for label, _ in bucket_rows],
            [n for _, n in bucket_rows],
            width=400,
            titled=False,
        ),
        rows=[(label, f"{n:,}") for label, n in bucket_rows],
    )
    return Dashboard(headlines=headlines, panels=[funnel, trend, response])
