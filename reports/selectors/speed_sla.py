"""Speed to lead against the response targets: share answered within SLA, and breaches by rep.

A lead's response clock (`leads.models.ResponseClock`) has a deadline, `due_at`, set from its policy's target.
Over the leads created in the period whose clock was timed (a deadline was set):
- **within SLA**: the first response was recorded at or before the deadline (`Lead.first_response_at` is the time
  the first response was logged, not the "occurred at" a person may back-date);
- **breached**: the first response came after it, or the lead is still open and unanswered past it (the same
  definition as `Lead.sla_breached` and the leads list's "SLA breached" filter for the unanswered ones);
- neither: still running (deadline ahead), or closed without an answer before the deadline passed.
Share within SLA = within ÷ (within + breached): the clocks whose outcome is known. Live figures: one grouped query
over the leads of the period left-joined to their clocks, which also counts the answered leads, the count the
response-time percentiles need (`speed.response_percentiles`): at a million leads, counting them apart was a
second pass over the same leads.
"""

from django.db.models import Count, F, Q

from crm import clock
from crm.models import User
from leads.models import OPEN_STAGES, Lead
from reports.scope import ReportScope, owners_in_scope
from reports.selectors.common import names_of
from reports.tables import Column, Headline, Table, count, rate, text

EMPTY = {"within": 0, "breached": 0, "timed": 0, "answered_timed": 0}
# Below this share of the answered leads having a response target, "Within SLA" is not shown as a rate: it would
# describe a few leads while the median beside it describes them all (a target introduced after most leads were
# answered, or demo data whose older leads have no clock).
MIN_TIMED_SHARE = 0.5


def sla_outcomes() -> tuple[Q, Q]:
    """(within SLA, breached) as conditions on a lead joined to its clock."""
    due = F("response_clock__due_at")
    within = Q(first_response_at__isnull=False, first_response_at__lte=due)
    breached = Q(first_response_at__gt=due) | Q(
        first_response_at__isnull=True, stage__in=OPEN_STAGES, response_clock__due_at__lte=clock.now()
    )
    return within, breached


def sla_by_owner(scope: ReportScope) -> tuple[dict[int | None, dict], int]:
    """Per owner with timed leads (None: the pool): clocks timed, answered within SLA, breached; and how many leads
    of the scope have a first response, all owners together. One grouped query."""
    within, breached = sla_outcomes()
    timed = Q(response_clock__due_at__isnull=False)
    rows = (
        Lead.objects.filter(scope.leads_q())
        .values("owner")
        .annotate(
            answered=Count("pk", filter=Q(response_seconds__isnull=False)),
            timed=Count("pk", filter=timed),
            within=Count("pk", filter=timed & within),
            breached=Count("pk", filter=timed & breached),
            answered_timed=Count("pk", filter=timed & Q(first_response_at__isnull=False)),
        )
        .order_by()
    )
    by_owner, answered = {}, 0
    for row in rows:
        answered += row.pop("answered")
        if row["timed"]:
            by_owner[row.pop("owner")] = row
    return by_owner, answered


def sla_totals(by_owner: dict[int | None, dict]) -> dict:
    """The company-wide (scope-wide) figures: the sum of the owners' rows, already aggregated by the database."""
    return {key: sum(row[key] for row in by_owner.values()) for key in EMPTY}


def sla_headlines(totals: dict, *, answered: int | None = None) -> list[Headline]:
    """ "Within SLA" and breaches. `answered`: the leads with a first response (the median's leads); when too few of
    them had a response target, the share within SLA reads "n/a" with the counts instead of a rate."""
    decided = totals["within"] + totals["breached"]
    covered = answered is None or totals["answered_timed"] >= MIN_TIMED_SHARE * answered
    if decided and not covered:
        within = Headline(
            "Within SLA",
            text("n/a"),
            detail=f"only {totals['answered_timed']:,} of {answered:,} answered leads had a response target",
        )
    else:
        within = Headline(
            "Within SLA",
            rate(totals["within"], decided),
            detail=f"{totals['within']:,} of {decided:,} leads whose response target is decided",
        )
    return [
        within,
        Headline("SLA breaches", count(totals["breached"]), detail=f"of {totals['timed']:,} timed leads"),
    ]


def sla_by_owner_table(scope: ReportScope, by_owner: dict[int | None, dict], totals: dict) -> Table:
    table = Table(
        key="sla_by_owner",
        title="Response targets by owner",
        columns=[
            Column("group", "Owner", "text"),
            Column("timed", "Timed leads"),
            Column("within", "Within SLA"),
            Column("breached", "Breached"),
            Column("within_sla_rate", "Share within SLA", "rate"),
            Column("breach_rate", "Breach rate", "rate"),
        ],
        note=(
            "Of the leads created in the period with a response target. Within SLA: first response at or before "
            "the deadline; breached: after it, or still open and unanswered past it. Rates are over the leads whose "
            "outcome is known (within + breached); still-running clocks and leads closed unanswered in time count "
            "in neither."
        ),
    )
    owners = list(owners_in_scope(scope.user).order_by("first_name", "last_name", "username"))
    if scope.owner:
        owners = [u for u in owners if u.pk == scope.owner.pk]
    elif scope.team:
        owners = [u for u in owners if u.team_id == scope.team.pk]
    known = {u.pk for u in owners}
    keys = [u.pk for u in owners] + sorted((k for k in by_owner if k not in known), key=lambda k: (k is None, k or 0))
    labels = {u.pk: str(u) for u in owners} | names_of(User, [k for k in keys if k and k not in known])
    for key in keys:
        data = by_owner.get(key, EMPTY)
        table.rows.append(_row(labels.get(key, "Pool (no owner)"), data))
    table.total = _row("All", totals)
    return table


def _row(label: str, data: dict) -> dict:
    decided = data["within"] + data["breached"]
    return {
        "group": text(label),
        "timed": count(data["timed"]),
        "within": count(data["within"]),
        "breached": count(data["breached"]),
        "within_sla_rate": rate(data["within"], decided),
        "breach_rate": rate(data["breached"], decided),
    }
