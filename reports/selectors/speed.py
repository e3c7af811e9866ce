"""Speed to lead: first response time (creation → the first outbound interaction by a person *recorded*, at the
time it was recorded: a back-dated "occurred at" never shortens it; `leads.sla.services`) of the leads created in
the period; average, median and 90th percentile over the answered leads, conversion by response bucket, and the
share answered within the response target with the breaches by owner (`reports.selectors.speed_sla`)."""

from crm.models import User
from leads.filters import RESPONSE_BUCKETS
from leads.models import Lead, Stage
from reports import charts
from reports.scope import ReportScope, owners_in_scope
from reports.selectors.common import names_of, percentiles, stats_by, stats_total
from reports.selectors.speed_sla import sla_by_owner, sla_by_owner_table, sla_headlines, sla_totals
from reports.tables import Column, Headline, ReportResult, Table, count, rate, seconds, text


def response_percentiles(scope: ReportScope, *, n: int | None = None) -> tuple[int, dict[float, float | None]]:
    """Median and 90th percentile of the first response time over the answered leads (`n` of them, when known)."""
    answered = Lead.objects.filter(scope.leads_q(), response_seconds__isnull=False).order_by()
    return percentiles(answered, "response_seconds", (0.5, 0.9), n=n)


def speed_report(scope: ReportScope) -> ReportResult:
    totals = stats_total(scope)
    sla, n_answered = sla_by_owner(scope)
    n, quantiles = response_percentiles(scope, n=n_answered)
    average = totals["response_seconds_total"] / totals["responded"] if totals["responded"] else None
    never = totals["leads"] - totals["responded"]
    answered_url = scope.leads_url()
    headlines = [
        Headline("Median first response", seconds(quantiles[0.5]), detail=f"over {n:,} answered leads"),
        Headline("90th percentile", seconds(quantiles[0.9])),
        Headline("Average", seconds(average)),
        Headline("Never answered", rate(never, totals["leads"]), href=scope.leads_url(response="never")),
    ]
    sla_total = sla_totals(sla)
    headlines += sla_headlines(sla_total, answered=n_answered)

    by_bucket = stats_by(scope, "value", dimension="response", measures=("leads", "won"))
    buckets = Table(
        key="buckets",
        title="Conversion by first response time",
        columns=[
            Column("group", "First response", "text"),
            Column("leads", "Leads"),
            Column("share_of_leads", "Of all leads", "rate"),
            Column("won", "Won"),
            Column("conversion_rate", "Conversion", "rate"),
        ],
        note="“Never” includes leads still waiting for their first response (their clock is running).",
    )
    for key, label, *_ in RESPONSE_BUCKETS:
        data = by_bucket.get(key, {"leads": 0, "won": 0})
        buckets.rows.append(
            {
                "group": text(label),
                "leads": count(data["leads"], scope.leads_url(response=key)),
                "share_of_leads": rate(data["leads"], totals["leads"]),
                "won": count(data["won"], scope.leads_url(response=key, stage=Stage.WON.value)),
                "conversion_rate": rate(data["won"], data["leads"]),
            }
        )
    buckets.total = {
        "group": text("All"),
        "leads": count(totals["leads"], answered_url),
        "share_of_leads": rate(totals["leads"], totals["leads"]),
        "won": count(totals["won"], scope.leads_url(stage=Stage.WON.value)),
        "conversion_rate": rate(totals["won"], totals["leads"]),
    }
    labels = [label for _, label, *_ in RESPONSE_BUCKETS]
    buckets.chart_title = "Conversion by first response time (%)"
    buckets.chart = charts.vertical_bars(
        buckets.chart_title,
        [label.replace(" (no response yet)", "") for label in labels],
        [None if r["conversion_rate"].value is None else 100 * r["conversion_rate"].value for r in buckets.rows],
        unit="%",
    )

    by_owner = stats_by(scope, "owner")
    people = Table(
        key="by_owner",
        title="First response by owner",
        columns=[
            Column("group", "Owner", "text"),
            Column("leads", "Leads"),
            Column("responded", "Answered"),
            Column("average_response", "Average first response", "duration"),
            Column("within_5_minutes", "Within 5 min", "rate"),
            Column("never", "Never answered"),
        ],
    )
    owners = list(owners_in_scope(scope.user).order_by("first_name", "last_name", "username"))
    if scope.owner:
        owners = [u for u in owners if u.pk == scope.owner.pk]
    elif scope.team:
        owners = [u for u in owners if u.team_id == scope.team.pk]
    keys = [u.pk for u in owners] + [k for k in by_owner if k not in {u.pk for u in owners}]
    labels_by_id = {u.pk: str(u) for u in owners} | names_of(User, [k for k in keys if k])
    for key in keys:
        data = by_owner.get(key)
        if data is None:
            data = dict.fromkeys(("leads", "responded", "response_seconds_total", "response_under_5m"), 0)
        owner_filter = {"owner": key} if key else {"pool": "on"}
        people.rows.append(
            {
                "group": text(labels_by_id.get(key, "Pool (no owner)")),
                "leads": count(data["leads"], scope.leads_url(**owner_filter)),
                "responded": count(data["responded"]),
                "average_response": seconds(
                    data["response_seconds_total"] / data["responded"] if data["responded"] else None
                ),
                "within_5_minutes": rate(data["response_under_5m"], data["responded"]),
                "never": count(data["leads"] - data["responded"], scope.leads_url(**owner_filter, response="never")),
            }
        )
    return ReportResult(headlines=headlines, tables=[buckets, people, sla_by_owner_table(scope, sla, sla_total)])
