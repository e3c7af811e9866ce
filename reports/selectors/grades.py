"""Scoring health: how the leads created in the period are graded, how each grade converts, and how well the
published model ranks the closed leads (ROC AUC, `reports.selectors.scoring_health`).

Conversion of closed leads = won ÷ (won + lost): the figure that says whether grades rank leads well, since open
leads have no outcome yet. Grades come from the lead's current grade (set by the scoring engine).
"""

import datetime as dt

from django.db.models import Sum
from django.db.models.functions import TruncMonth

from leads.models import Grade, Stage
from reports import charts
from reports.models import DailyAttributeStats
from reports.periods import months_between
from reports.scope import ReportScope
from reports.selectors.common import linker, stats_by, stats_total
from reports.selectors.scoring_health import auc_headlines, auc_table, published_model_auc
from reports.tables import Column, ReportResult, Table, count, rate, text

MEASURES = ("leads", "won", "lost")


def grades_report(scope: ReportScope) -> ReportResult:
    data = stats_by(scope, "value", dimension="grade", measures=MEASURES)
    total = stats_total(scope, measures=MEASURES)
    table = Table(
        key="grades",
        title="Grade distribution and conversion",
        columns=[
            Column("group", "Grade", "text"),
            Column("leads", "Leads"),
            Column("share_of_leads", "Of all leads", "rate"),
            Column("won", "Won"),
            Column("lost", "Lost"),
            Column("closed_conversion_rate", "Conversion of closed", "rate"),
            Column("conversion_rate", "Conversion of all", "rate"),
        ],
        note="Conversion of closed = won ÷ (won + lost).",
    )
    empty = dict.fromkeys(MEASURES, 0)
    groups = [(g.value, g.label, {"grade": g.value}) for g in Grade] + [("", "Not scored", None)]
    for key, label, filters in groups:
        row = data.get(key, empty)
        link = linker(scope, filters)
        table.rows.append(
            {
                "group": text(label),
                "leads": count(row["leads"], link()),
                "share_of_leads": rate(row["leads"], total["leads"]),
                "won": count(row["won"], link(stage=Stage.WON.value)),
                "lost": count(row["lost"], link(stage=Stage.LOST.value)),
                "closed_conversion_rate": rate(row["won"], row["won"] + row["lost"]),
                "conversion_rate": rate(row["won"], row["leads"]),
            }
        )
    table.total = {
        "group": text("All"),
        "leads": count(total["leads"], scope.leads_url()),
        "share_of_leads": rate(total["leads"], total["leads"]),
        "won": count(total["won"], scope.leads_url(stage=Stage.WON.value)),
        "lost": count(total["lost"], scope.leads_url(stage=Stage.LOST.value)),
        "closed_conversion_rate": rate(total["won"], total["won"] + total["lost"]),
        "conversion_rate": rate(total["won"], total["leads"]),
    }
    table.chart_title = "Conversion of closed leads by grade (%)"
    table.chart = charts.vertical_bars(
        table.chart_title,
        [r["group"].text for r in table.rows],
        [
            None if r["closed_conversion_rate"].value is None else 100 * r["closed_conversion_rate"].value
            for r in table.rows
        ],
        unit="%",
    )
    auc = published_model_auc(scope)
    return ReportResult(headlines=auc_headlines(auc), tables=[table, auc_table(auc), grades_by_month(scope)])


def _month_bounds(scope: ReportScope, month: dt.date) -> dict:
    next_month = (month + dt.timedelta(days=32)).replace(day=1)
    start, end = max(month, scope.period.start), min(next_month - dt.timedelta(days=1), scope.period.end)
    return {"created_after": start.isoformat(), "created_before": end.isoformat()}


def grades_by_month(scope: ReportScope) -> Table:
    """How the leads created each month are graded now (their current grade: grade history comes with scoring)."""
    rows = (
        DailyAttributeStats.objects.filter(scope.stats_q(), dimension="grade")
        .annotate(month=TruncMonth("day"))
        .values("month", "value")
        .annotate(leads=Sum("leads"))
        .order_by()
    )
    counts: dict[tuple, int] = {}
    for row in rows:
        month = row["month"].date() if isinstance(row["month"], dt.datetime) else row["month"]
        counts[(month, row["value"])] = row["leads"]
    grades = [(g.value, g.label) for g in Grade] + [("", "Not scored")]
    table = Table(
        key="by_month",
        title="Grades of the leads created each month",
        columns=[Column("group", "Month", "text")]
        + [Column(f"grade_{key or 'none'}", label) for key, label in grades]
        + [Column("leads", "Leads")],
        note="Each lead's current grade, by its month of creation.",
    )
    for month in months_between(scope.period):
        bounds = _month_bounds(scope, month)
        row = {"group": text(f"{month:%b %Y}")}
        for key, _ in grades:
            link = scope.leads_url(**bounds, grade=key) if key else None
            row[f"grade_{key or 'none'}"] = count(counts.get((month, key), 0), link)
        row["leads"] = count(sum(counts.get((month, key), 0) for key, _ in grades), scope.leads_url(**bounds))
        table.rows.append(row)
    return table
