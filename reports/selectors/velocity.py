"""Velocity: how long leads take from created to won, how long they stay in each stage, and which open leads age.

- Days to won: for the won leads created in the period, won_at − created_at; average, median and 90th
  percentile (exact, percentile_cont definition).
- Time in stage: completed spells only (entered the stage, then moved on); average length per stage.
- Ageing: open leads created in the period, by how long they have been in their current stage (live).
"""

from django.db.models import Case, Count, DurationField, ExpressionWrapper, F, Value, When
from django.utils import timezone

from crm import clock
from leads.filters import STAGE_AGES, stage_age_condition
from leads.models import OPEN_STAGES, Lead, Stage
from reports import charts
from reports.scope import ReportScope
from reports.selectors.common import percentiles, stats_total
from reports.tables import Column, Headline, ReportResult, Table, count, days, text


def days_to_won(scope: ReportScope) -> tuple[int, dict[float, float | None]]:
    won = (
        Lead.objects.filter(scope.leads_q(), stage=Stage.WON)
        .annotate(time_to_won=ExpressionWrapper(F("won_at") - F("created_at"), output_field=DurationField()))
        .order_by()
    )
    return percentiles(won, "time_to_won", (0.5, 0.9))


def ageing_counts(scope: ReportScope) -> dict[tuple[str, str], int]:
    """Open leads per (stage, age bucket): one GROUP BY over the open leads' covering index."""
    now = clock.now()
    bucket = Case(*(When(stage_age_condition(key, now), then=Value(key)) for key, *_ in STAGE_AGES), default=None)
    rows = (
        Lead.objects.filter(scope.leads_q(), stage__in=OPEN_STAGES)
        .annotate(bucket=bucket)
        .values("stage", "bucket")
        .annotate(n=Count("created_at"))
        .order_by()
    )
    counts = {(stage, key): 0 for stage in OPEN_STAGES for key, *_ in STAGE_AGES}
    for row in rows:
        if row["bucket"] is not None:  # a stage change dated in the future (clock skew) belongs to no bucket
            counts[(row["stage"], row["bucket"])] = row["n"]
    return counts


def velocity_report(scope: ReportScope) -> ReportResult:
    totals = stats_total(scope)
    n_won, quantiles = days_to_won(scope)
    average = totals["won_seconds"] / totals["won"] if totals["won"] else None
    won_url = scope.leads_url(stage=Stage.WON.value)
    speed = Table(
        key="days_to_won",
        title="Days from created to won",
        columns=[Column("group", "Figure", "text"), Column("days", "Days", "days"), Column("won", "Won leads")],
        note="Median and 90th percentile are exact, interpolated between the two nearest leads (percentile_cont).",
    )
    for label, value in (("Average", average), ("Median", quantiles[0.5]), ("90th percentile", quantiles[0.9])):
        speed.rows.append({"group": text(label), "days": days(value), "won": count(n_won, won_url)})

    stages = Table(
        key="time_in_stage",
        title="Time spent in each stage",
        columns=[
            Column("group", "Stage", "text"),
            Column("average_days", "Average", "days"),
            Column("spells", "Completed stays"),
        ],
        note="A stay in a stage counts once the lead has moved on from it, whichever way.",
    )
    for stage in OPEN_STAGES:
        spells, spent = totals[f"spells_{stage}"], totals[f"spent_{stage}"]
        stages.rows.append(
            {
                "group": text(stage.label),
                "average_days": days(spent / spells if spells else None),
                "spells": count(spells, scope.leads_url(reached=stage.value)),
            }
        )
    stages.chart_title = "Average days in each stage"
    stages.chart = charts.horizontal_bars(
        stages.chart_title,
        [r["group"].text for r in stages.rows],
        [r["average_days"].value for r in stages.rows],
        unit=" d",
    )

    ageing = ageing_counts(scope)
    ages = Table(
        key="ageing",
        title="Open leads by time in their current stage",
        columns=[Column("group", "Stage", "text")]
        + [Column(key.replace("-", "_"), label) for key, label, *_ in STAGE_AGES]
        + [Column("open", "Open")],
        note=f"As of now ({timezone.localtime(clock.now()):%d %b %Y %H:%M}), for open leads created in the period.",
    )
    for stage in OPEN_STAGES:
        row = {"group": text(stage.label)}
        for key, *_ in STAGE_AGES:
            row[key.replace("-", "_")] = count(ageing[(stage, key)], scope.leads_url(stage=stage.value, stage_age=key))
        row["open"] = count(sum(ageing[(stage, k)] for k, *_ in STAGE_AGES), scope.leads_url(stage=stage.value))
        ages.rows.append(row)
    headlines = [
        Headline("Median days to won", days(quantiles[0.5]), detail=f"over {n_won:,} won leads", href=won_url),
        Headline("90th percentile", days(quantiles[0.9]), href=won_url),
        Headline("Average days to won", days(average), href=won_url),
        Headline(
            "Open over 90 days in stage",
            count(sum(ageing[(s, "over-90d")] for s in OPEN_STAGES), scope.leads_url(open="on", stage_age="over-90d")),
        ),
    ]
    return ReportResult(headlines=headlines, tables=[speed, stages, ages])
