"""Pool and recovery: the leads waiting in the pool and their age, claims from it, and the leads reclaimed from
idle owners: by rule and by rep, and how many of them were recovered (DOMAIN.md: reclaimed leads that later
reached Qualified or Won ÷ all reclaimed leads; recovery cycle = median time from reclaim to that success), by
channel and by region.

The period selects claims and reclaims that happened in it (not leads created in it): a reclaim belongs to the
owner it was taken from, so a manager sees the reclaims from their team's reps, a rep their own. The pool has no
owner and no team: everyone who can claim sees it whole (the channel filter applies).
"""

import datetime as dt

from django.db.models import Count, DurationField, Exists, ExpressionWrapper, F, Min, OuterRef, Q, QuerySet, Subquery

from crm import clock
from crm.models import User
from leads.models import OPEN_STAGES, Channel, Lead, PoolClaim, ReclaimRecord, Stage, StageChange
from reports import charts
from reports.scope import ReportScope
from reports.selectors.common import medians_by, names_of
from reports.tables import Column, Headline, ReportResult, Table, count, days, rate, text

RECOVERED_STAGES = (Stage.QUALIFIED, Stage.WON)
# Age of the leads waiting in the pool, youngest first: (key, label, lower bound, upper bound).
POOL_AGES = (
    ("under_1_day", "Under a day", None, dt.timedelta(days=1)),
    ("1_7_days", "1–7 days", dt.timedelta(days=1), dt.timedelta(days=7)),
    ("7_30_days", "7–30 days", dt.timedelta(days=7), dt.timedelta(days=30)),
    ("over_30_days", "Over 30 days", dt.timedelta(days=30), None),
)


def _reclaims(scope: ReportScope) -> QuerySet[ReclaimRecord]:
    """Reclaims in the period from owners in scope, each with when (if ever) its lead was recovered: the first
    move to Qualified or Won after the reclaim (NULL when none; COUNT(recovered_at) counts the recovered)."""
    condition = Q(reclaimed_at__gte=scope.period.starts_at, reclaimed_at__lt=scope.period.ends_before)
    if scope.own_leads_only:
        condition &= Q(from_user=scope.user.pk)
    if scope.allowed_team_ids is not None:
        condition &= Q(from_user__team__in=scope.allowed_team_ids)
    if scope.team:
        condition &= Q(from_user__team=scope.team.pk)
    if scope.owner:
        condition &= Q(from_user=scope.owner.pk)
    if scope.channel:
        condition &= Q(lead__channel=scope.channel.pk)
    return (
        ReclaimRecord.objects.filter(condition)
        .annotate(
            recovered_at=Subquery(_successes().values("lead").annotate(first=Min("changed_at")).values("first")[:1])
        )
        .order_by()
    )


def _successes() -> QuerySet[StageChange]:
    """The moves of a reclaim's lead (the outer query's) to Qualified or Won after the reclaim."""
    return StageChange.objects.filter(
        lead=OuterRef("lead"), to_stage__in=RECOVERED_STAGES, changed_at__gt=OuterRef("reclaimed_at")
    ).order_by()


def _recovery_table(key: str, title: str, label: str, groups: dict, names: dict, link) -> Table:
    table = Table(
        key=key,
        title=title,
        columns=[
            Column("group", label, "text"),
            Column("reclaimed", "Reclaimed"),
            Column("recovered", "Recovered"),
            Column("recovery_rate", "Recovery rate", "rate"),
            Column("recovery_cycle", "Median recovery cycle", "days"),
        ],
    )
    for group, data in groups.items():
        table.rows.append(
            {
                "group": text(names.get(group, "(none)") if group not in ("", None) else "(none)", link(group)),
                "reclaimed": count(data["reclaimed"]),
                "recovered": count(data["recovered"]),
                "recovery_rate": rate(data["recovered"], data["reclaimed"]),
                "recovery_cycle": days(data["cycle"]),
            }
        )
    return table


def _recovery(reclaims: QuerySet[ReclaimRecord]) -> tuple[dict, dict, dict, dict]:
    """Reclaimed, recovered and the median recovery cycle (seconds; None without a recovery): over all the
    reclaims (keyed None), and per rule, channel and region, each ordered by reclaimed (most first), then group.

    Two queries, however many groups. A reclaim's recovery is a lookup in the stage history, done once: in the
    query of the recovered reclaims, which counts them and finds their median cycle per group (`medians_by`).
    The other counts all reclaims per rule, channel and region together (a few dozen rows), whose sums are the
    counts of each grouping (as `sla_totals` sums the owners' rows).
    """
    groupings = (None, "rule_name", "lead__channel", "lead__region")
    reclaimed: list[dict] = [{} for _ in groupings]
    for row in reclaims.values(*groupings[1:]).annotate(n=Count("pk")).order_by():
        for i, group in enumerate(groupings):
            key = row[group] if group else None
            reclaimed[i][key] = reclaimed[i].get(key, 0) + row["n"]
    # EXISTS (the same reclaims as recovered_at IS NOT NULL) lets the planner estimate how few they are: it then
    # reads their leads by key rather than scanning the leads table.
    recovered = reclaims.filter(Exists(_successes())).annotate(
        cycle=ExpressionWrapper(F("recovered_at") - F("reclaimed_at"), output_field=DurationField())
    )
    ordered = []
    for counts, cycles in zip(reclaimed, medians_by(recovered, "cycle", groupings), strict=True):
        # By reclaimed, then group, NULL last (a lead without a channel), as the database would sort them.
        order = sorted(counts, key=lambda g: (-counts[g], g is None, g if g is not None else 0))
        figures = {}
        for group in order:
            n, cycle = cycles.get(group, (0, None))
            figures[group] = {"group": group, "reclaimed": counts[group], "recovered": n, "cycle": cycle}
        ordered.append(figures)
    return tuple(ordered)


def pool_report(scope: ReportScope) -> ReportResult:
    now = clock.now()
    pool = Lead.objects.filter(owner__isnull=True, stage__in=OPEN_STAGES).order_by()
    if scope.channel:
        pool = pool.filter(channel=scope.channel.pk)
    if scope.team:  # pool leads a team's routing or reclaims left with it
        pool = pool.filter(team=scope.team.pk)
    ages = pool.aggregate(
        total=Count("pk"),
        **{
            key: Count(
                "pk",
                filter=(Q(created_at__lte=now - low) if low else Q()) & (Q(created_at__gt=now - high) if high else Q()),
            )
            for key, _, low, high in POOL_AGES
        },
    )
    pool_url = scope.leads_url(all_time=True, pool="on")
    claims = PoolClaim.objects.filter(
        claimed_at__gte=scope.period.starts_at, claimed_at__lt=scope.period.ends_before
    ).order_by()
    if scope.own_leads_only:
        claims = claims.filter(user=scope.user.pk)
    if scope.allowed_team_ids is not None:
        claims = claims.filter(user__team__in=scope.allowed_team_ids)
    if scope.team:
        claims = claims.filter(user__team=scope.team.pk)
    if scope.owner:
        claims = claims.filter(user=scope.owner.pk)
    if scope.channel:
        claims = claims.filter(lead__channel=scope.channel.pk)
    claimed = claims.count()

    reclaims = _reclaims(scope)
    overall, by_rule, by_channel, by_region = _recovery(reclaims)
    totals = overall.get(None, {"reclaimed": 0, "recovered": 0, "cycle": None})
    cycle = totals["cycle"]
    headlines = [
        Headline("In the pool now", count(ages["total"], pool_url), detail="open leads without an owner"),
        Headline("Claimed in the period", count(claimed)),
        Headline("Reclaimed in the period", count(totals["reclaimed"])),
        Headline("Recovery rate", rate(totals["recovered"], totals["reclaimed"])),
        Headline("Median recovery cycle", days(cycle)),
    ]

    waiting = Table(
        key="pool_age",
        title="Waiting in the pool, by age",
        columns=[Column("group", "Age", "text"), Column("leads", "Leads"), Column("share", "Of the pool", "rate")],
        note="Age counts from the lead's creation.",
    )
    for key, label, _, _ in POOL_AGES:
        waiting.rows.append({"group": text(label), "leads": count(ages[key]), "share": rate(ages[key], ages["total"])})
    waiting.total = {
        "group": text("All"),
        "leads": count(ages["total"], pool_url),
        "share": rate(ages["total"], ages["total"]),
    }
    waiting.chart_title = "Leads waiting in the pool, by age"
    waiting.chart = charts.vertical_bars(
        waiting.chart_title, [label for _, label, _, _ in POOL_AGES], [ages[key] for key, *_ in POOL_AGES]
    )

    rules = Table(
        key="by_rule",
        title="Reclaims by rule",
        columns=[
            Column("group", "Rule", "text"),
            Column("reclaimed", "Reclaimed"),
            Column("recovered", "Recovered"),
            Column("recovery_rate", "Recovery rate", "rate"),
        ],
    )
    for rule, row in by_rule.items():
        rules.rows.append(
            {
                "group": text(rule),
                "reclaimed": count(row["reclaimed"]),
                "recovered": count(row["recovered"]),
                "recovery_rate": rate(row["recovered"], row["reclaimed"]),
            }
        )

    by_rep = reclaims.values("from_user").annotate(reclaimed=Count("pk")).order_by("-reclaimed", "from_user")
    claims_by_rep = dict(claims.values_list("user").annotate(n=Count("pk")).order_by())
    reps = Table(
        key="by_rep",
        title="Claims and reclaims by rep",
        columns=[
            Column("group", "Rep", "text"),
            Column("claimed", "Claimed from the pool"),
            Column("reclaimed", "Reclaimed from them"),
        ],
    )
    reclaimed_by_rep = {row["from_user"]: row["reclaimed"] for row in by_rep}
    people = list(dict.fromkeys([*reclaimed_by_rep, *claims_by_rep]))
    user_names = names_of(User, people)
    for person in people:
        reps.rows.append(
            {
                "group": text(user_names.get(person, "(deleted user)")),
                "claimed": count(claims_by_rep.get(person, 0)),
                "reclaimed": count(reclaimed_by_rep.get(person, 0)),
            }
        )

    channels = _recovery_table(
        "by_channel",
        "Recovery by channel",
        "Channel",
        by_channel,
        names_of(Channel, by_channel),
        lambda pk: scope.leads_url(all_time=True, channel=pk) if pk else None,
    )
    regions = _recovery_table(
        "by_region",
        "Recovery by region",
        "Region",
        by_region,
        {region: region for region in by_region if region},
        lambda region: None,
    )
    return ReportResult(headlines=headlines, tables=[waiting, rules, reps, channels, regions])
