"""Team leaderboard: per person, open leads now, overdue tasks now, and for the leads created in the period their
average first response, conversion and won value. Sorted by won value."""

from decimal import Decimal

from django.db.models import Count

from crm import clock
from leads.models import OPEN_STAGES, FollowUpTask, Stage
from reports import charts
from reports.scope import ReportScope, owners_in_scope
from reports.selectors.common import stats_by
from reports.tables import Column, ReportResult, Table, count, money, rate, seconds, text

PERIOD_MEASURES = ("leads", "won", "won_value", "responded", "response_seconds_total")
OPEN_MEASURES = tuple(f"open_{stage}" for stage in OPEN_STAGES)


def team_report(scope: ReportScope) -> ReportResult:
    people = owners_in_scope(scope.user)
    if scope.owner:
        people = people.filter(pk=scope.owner.pk)
    elif scope.team:
        people = people.filter(team=scope.team)
    people = list(people)
    period = stats_by(scope, "owner", measures=PERIOD_MEASURES)
    open_now = stats_by(scope, "owner", all_time=True, measures=OPEN_MEASURES)
    overdue = dict(
        FollowUpTask.objects.filter(assignee__in=[p.pk for p in people], done_at__isnull=True, due_at__lt=clock.now())
        .values("assignee")
        .annotate(n=Count("pk"))
        .values_list("assignee", "n")
    )
    table = Table(
        key="leaderboard",
        title="Leaderboard",
        columns=[
            Column("group", "Person", "text"),
            Column("open_leads", "Open leads now"),
            Column("overdue_tasks", "Overdue tasks"),
            Column("leads", "Leads in period"),
            Column("average_response", "Average first response", "duration"),
            Column("won", "Won"),
            Column("conversion_rate", "Conversion", "rate"),
            Column("won_value", "Won value", "money"),
        ],
        note="Open leads and overdue tasks are as of now; the other figures are for the leads created in the period.",
    )
    empty = dict.fromkeys(PERIOD_MEASURES, 0)
    rows = []
    for person in people:
        data = period.get(person.pk, empty)
        opened = sum(open_now.get(person.pk, {}).get(m, 0) for m in OPEN_MEASURES)
        rows.append(
            (
                data["won_value"] or Decimal(0),
                str(person),
                {
                    "group": text(str(person)),
                    "open_leads": count(opened, scope.leads_url(all_time=True, owner=person.pk, open="on")),
                    "overdue_tasks": count(
                        overdue.get(person.pk, 0), scope.leads_url(all_time=True, overdue_for=person.pk)
                    ),
                    "leads": count(data["leads"], scope.leads_url(owner=person.pk)),
                    "average_response": seconds(
                        data["response_seconds_total"] / data["responded"] if data["responded"] else None
                    ),
                    "won": count(data["won"], scope.leads_url(owner=person.pk, stage=Stage.WON.value)),
                    "conversion_rate": rate(data["won"], data["leads"]),
                    "won_value": money(data["won_value"]),
                },
            )
        )
    rows.sort(key=lambda item: (-item[0], item[1]))
    table.rows = [row for _, _, row in rows]
    table.chart_title = "Won value by person"
    table.chart = charts.horizontal_bars(
        table.chart_title, [r["group"].text for r in table.rows], [r["won_value"].value for r in table.rows]
    )
    return ReportResult(tables=[table])
