"""Funnel: for the leads created in the period, how many reached each stage, and where the others dropped out.

"Reached stage S" = the lead has a recorded change to S or to a later funnel stage (a lead that skipped
Contacted on its way to Qualified has reached Contacted). Every lead created reached New.
"""

from leads.models import FUNNEL, OPEN_STAGES, LostReason, Stage
from reports import charts
from reports.scope import ReportScope
from reports.selectors.common import stats_total
from reports.tables import Column, Headline, ReportResult, Table, count, rate, text


def reached_counts(totals: dict) -> dict[str, int]:
    reached = {Stage.NEW: totals["leads"]}
    for stage in FUNNEL[1:]:
        reached[stage] = totals[f"reached_{stage}"]
    return reached


def funnel_report(scope: ReportScope) -> ReportResult:
    totals = stats_total(scope)
    reached = reached_counts(totals)
    stages = Table(
        key="stages",
        title="Leads per stage",
        columns=[
            Column("group", "Stage", "text"),
            Column("reached", "Reached"),
            Column("share_of_leads", "Of all leads", "rate"),
            Column("stage_conversion", "From previous stage", "rate"),
            Column("drop_off", "Dropped before this stage", "count"),
            Column("now_in_stage", "In this stage now"),
        ],
        note="Stage conversion = leads that reached this stage ÷ leads that reached the stage before; "
        "drop-off = the difference.",
    )
    previous = None
    for stage in FUNNEL:
        n = reached[stage]
        now_in = totals[f"open_{stage}"] if stage in OPEN_STAGES else totals["won"]
        stages.rows.append(
            {
                "group": text(stage.label),
                "reached": count(n, scope.leads_url(reached=stage.value)),
                "share_of_leads": rate(n, reached[Stage.NEW]),
                "stage_conversion": rate(n, reached[previous]) if previous else rate(n, n),
                "drop_off": count(reached[previous] - n if previous else 0),
                "now_in_stage": count(now_in, scope.leads_url(stage=stage.value)),
            }
        )
        previous = stage
    stages.chart_title = "Leads that reached each stage"
    stages.chart = charts.horizontal_bars(
        "Leads that reached each stage", [s.label for s in FUNNEL], [reached[s] for s in FUNNEL]
    )

    lost = Table(
        key="lost_reasons",
        title="Why leads were lost",
        columns=[Column("group", "Lost reason", "text"), Column("lost", "Lost"), Column("share", "Of lost", "rate")],
    )
    for reason in LostReason:
        n = totals[f"lost_{reason.value}"]
        lost.rows.append(
            {
                "group": text(reason.label),
                "lost": count(n, scope.leads_url(stage=Stage.LOST.value, lost_reason=reason.value)),
                "share": rate(n, totals["lost"]),
            }
        )
    lost.total = {
        "group": text("All lost"),
        "lost": count(totals["lost"], scope.leads_url(stage=Stage.LOST.value)),
        "share": rate(totals["lost"], totals["lost"]),
    }
    lost.chart_title = "Lost leads by reason"
    lost.chart = charts.horizontal_bars(
        "Lost leads by reason", [r.label for r in LostReason], [totals[f"lost_{r.value}"] for r in LostReason]
    )
    headlines = [
        Headline("Leads created", count(reached[Stage.NEW], scope.leads_url())),
        Headline("Reached Qualified", rate(reached[Stage.QUALIFIED], reached[Stage.NEW])),
        Headline("Won", rate(totals["won"], totals["leads"]), href=scope.leads_url(stage=Stage.WON.value)),
        Headline("Lost", rate(totals["lost"], totals["leads"]), href=scope.leads_url(stage=Stage.LOST.value)),
    ]
    return ReportResult(headlines=headlines, tables=[stages, lost])
