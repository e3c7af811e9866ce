"""Reads of campaigns, starting from the access module's visible sets, and the figures every page and the report
share (one definition: `email_figures`, `member_figures`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import Http404

from campaigns.models import Campaign, EmailStep, Member, MemberCounts, Send
from crm import access
from crm.models import User
from leads.models import Stage

# What a drill-down may ask for: the members behind each figure. Those of an email are conditions on the member's
# sends (tested with EXISTS, so the members list stays in its index order); the others on the member itself.
SEND_DID = {
    "sent": Q(state=Send.State.SENT),
    "delivered": Q(state=Send.State.SENT, bounced_at__isnull=True),
    "opened": Q(state=Send.State.SENT, opened_at__isnull=False, bounced_at__isnull=True),
    "clicked": Q(state=Send.State.SENT, clicked_at__isnull=False, bounced_at__isnull=True),
    "unsubscribed": Q(unsubscribed_at__isnull=False),
    "bounced": Q(bounced_at__isnull=False),
    "skipped": Q(state=Send.State.SKIPPED),
    "failed": Q(state=Send.State.FAILED),
}
MEMBER_DID = {
    "arrived": Q(source=Member.Source.ARRIVAL),
    "registered": Q(registered_at__isnull=False),
    "attended": Q(attended_at__isnull=False),
    "won": Q(lead__stage=Stage.WON),
}
DID = {**SEND_DID, **MEMBER_DID}

# The figures of one email (a step, a variant): the others are the member's own.
SEND_FIGURES = frozenset(SEND_DID)


def get_campaign_for_user(*, user: User, campaign_id: int) -> Campaign:
    campaign = access.campaigns_visible_to(user).select_related("channel", "owner").filter(pk=campaign_id).first()
    if campaign is None:
        raise Http404("No such campaign.")
    return campaign


def get_member_for_user(*, user: User, campaign: Campaign, member_id: int) -> Member:
    member = members_visible_to(user=user, campaign=campaign).select_related("lead", "campaign").filter(pk=member_id)
    found = member.first()
    if found is None:
        raise Http404("No such member.")
    return found


def members_visible_to(*, user: User, campaign: Campaign) -> QuerySet[Member]:
    members = Member.objects.filter(campaign=campaign)
    if access.role_of(user) == access.Role.ADMIN:
        return members  # every lead: no semi-join over the whole leads table
    return members.filter(lead__in=access.leads_visible_to(user).values("pk"))


def rollup_visible_q(user: User) -> Q:
    """The rollup rows (`EmailCounts`, `MemberCounts`: a lead's team and owner as of the rollup) of the leads the
    user may see, by `access.leads_visible_to`'s rule: admins all; managers their teams', their own and the pool;
    reps their own and the pool."""
    role = access.role_of(user)
    if role == access.Role.ADMIN:
        return Q()
    if role == access.Role.MANAGER:
        return Q(team__in=list(access.managed_team_ids(user))) | Q(owner=user.pk) | Q(owner__isnull=True)
    if role == access.Role.REP:
        return Q(owner=user.pk) | Q(owner__isnull=True)
    return Q(pk__in=[])


def members_filtered(
    members: QuerySet[Member],
    *,
    campaign: Campaign,
    did: str = "",
    step: int | None = None,
    variant: str = "",
    q: str = "",
) -> QuerySet[Member]:
    """The members behind a figure: `did` one of DID's keys, for a step (its position) and a variant of it. The
    step is looked up first, so each member's test is one probe of the unique (member, step) index."""
    if did in SEND_DID:
        sends = Send.objects.filter(SEND_DID[did], member=OuterRef("pk"))
        if step:
            step_id = EmailStep.objects.filter(campaign=campaign, position=step).values_list("pk", flat=True).first()
            sends = sends.filter(step_id=step_id or 0)
        if variant:
            sends = sends.filter(variant__label=variant)
        members = members.filter(Exists(sends))
    elif did in MEMBER_DID:
        members = members.filter(MEMBER_DID[did])
    if q.strip():
        members = members.filter(lead__name__icontains=q.strip()[:100])
    return members


def campaigns_list(*, user: User) -> QuerySet[Campaign]:
    """The campaigns the user may see, with their member counts: from the rollup (`campaigns.counts`) once a
    campaign has one, else counted (a campaign before its first rollup)."""
    rolled = (
        MemberCounts.objects.filter(campaign=OuterRef("pk"))
        .order_by()
        .values("campaign")
        .annotate(total=Sum("members"))
        .values("total")
    )
    live = Member.objects.filter(campaign=OuterRef("pk")).order_by().values("campaign").annotate(n=Count("pk"))
    return (
        access.campaigns_visible_to(user)
        .select_related("channel", "owner")
        .annotate(
            member_count=Coalesce(
                Subquery(rolled, output_field=IntegerField()),
                Subquery(live.values("n"), output_field=IntegerField()),
                0,
            )
        )
        .order_by("-created_at", "-id")
    )


# --- Figures ------------------------------------------------------------------------------------------------------


@dataclass
class EmailFigures:
    """Per campaign, step and variant (any of them None: all of them). Rates follow docs/campaigns.md."""

    campaign_id: int | None
    step: int | None
    variant: str | None
    sent: int = 0
    bounced: int = 0
    opened: int = 0
    clicked: int = 0
    unsubscribed: int = 0

    @property
    def delivered(self) -> int:
        return self.sent - self.bounced


def email_figures(sends: QuerySet[Send], *, by: tuple[str, ...] = ("campaign", "step", "variant")) -> list:
    """Counts of sends grouped by campaign, step position and variant label, in one query. Opens, clicks and
    unsubscribes are unique per send (one member, one step): the first of each is what is recorded."""
    fields = {"campaign": "step__campaign_id", "step": "step__position", "variant": "variant__label"}
    group = [fields[name] for name in by]
    delivered = Q(state=Send.State.SENT, bounced_at__isnull=True)
    rows = (
        sends.values(*group)
        .annotate(
            sent=Count("pk", filter=Q(state=Send.State.SENT)),
            bounced=Count("pk", filter=Q(state=Send.State.SENT, bounced_at__isnull=False)),
            opened=Count("pk", filter=delivered & Q(opened_at__isnull=False)),
            clicked=Count("pk", filter=delivered & Q(clicked_at__isnull=False)),
            unsubscribed=Count("pk", filter=delivered & Q(unsubscribed_at__isnull=False)),
        )
        .order_by(*group)
    )
    return [
        EmailFigures(
            campaign_id=row.get("step__campaign_id"),
            step=row.get("step__position"),
            variant=row.get("variant__label"),
            sent=row["sent"],
            bounced=row["bounced"],
            opened=row["opened"],
            clicked=row["clicked"],
            unsubscribed=row["unsubscribed"],
        )
        for row in rows
    ]


# The figures of a campaign's members, as `member_figures` counts them and the rollup (`MemberCounts`) keeps them.
MEMBER_MEASURES = (
    "members",
    "registered",
    "attended",
    "attendees_won",
    "attendees_won_value",
    "influenced",
    "won",
    "won_value",
)


def member_figures(members: QuerySet[Member]) -> dict[int, dict]:
    """Per campaign: members, registrations, attendance, attendees won and their won value; leads influenced (a
    member who opened or clicked one of its emails, registered, attended, or arrived with the campaign's
    utm_campaign), those won and their won value.

    Two passes over the members, each one aggregate: engagement is a semi-join on the sends (evaluated once), not a
    subquery per member and figure."""
    won = Q(lead__stage=Stage.WON)
    attended = Q(attended_at__isnull=False)
    rows = (
        members.values("campaign_id")
        .annotate(
            members=Count("pk"),
            registered=Count("pk", filter=Q(registered_at__isnull=False)),
            attended=Count("pk", filter=attended),
            attendees_won=Count("pk", filter=attended & won),
            attendees_won_value=Sum("lead__deal_value", filter=attended & won),
        )
        .order_by()
    )
    figures = {row.pop("campaign_id"): {**row, "influenced": 0, "won": 0, "won_value": None} for row in rows}
    engaged = Send.objects.filter(member__in=members.values("pk")).filter(
        Q(opened_at__isnull=False) | Q(clicked_at__isnull=False)
    )
    influenced = members.filter(
        Q(registered_at__isnull=False)
        | attended
        | Q(source=Member.Source.ARRIVAL)
        | Q(pk__in=engaged.values("member_id"))
    ).values("campaign_id")
    for row in influenced.annotate(
        influenced=Count("pk"), won=Count("pk", filter=won), won_value=Sum("lead__deal_value", filter=won)
    ).order_by():
        figures[row.pop("campaign_id")].update(row)
    return figures


def two_proportion_p_value(x1: int, n1: int, x2: int, n2: int) -> float | None:
    """Two-sided p-value of the two-proportion z-test (pooled); None when it is undefined (an empty group, or
    both rates 0 or both 1)."""
    if not n1 or not n2:
        return None
    pooled = (x1 + x2) / (n1 + n2)
    variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if variance <= 0:
        return None
    z = (x1 / n1 - x2 / n2) / math.sqrt(variance)
    return math.erfc(abs(z) / math.sqrt(2))
