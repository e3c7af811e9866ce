"""Reads of campaigns, starting from the access module's visible sets, and the figures every page and the report
share (one definition: `email_figures`, `member_figures`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet, Sum
from django.http import Http404

from campaigns.models import Campaign, Member, Send
from crm import access
from crm.models import User
from leads.models import Stage

# What a drill-down may ask for: the members behind each figure.
DID = {
    "sent": Q(sends__state=Send.State.SENT),
    "delivered": Q(sends__state=Send.State.SENT, sends__bounced_at__isnull=True),
    "opened": Q(sends__state=Send.State.SENT, sends__opened_at__isnull=False, sends__bounced_at__isnull=True),
    "clicked": Q(sends__state=Send.State.SENT, sends__clicked_at__isnull=False, sends__bounced_at__isnull=True),
    "unsubscribed": Q(sends__unsubscribed_at__isnull=False),
    "bounced": Q(sends__bounced_at__isnull=False),
    "skipped": Q(sends__state=Send.State.SKIPPED),
    "failed": Q(sends__state=Send.State.FAILED),
    "registered": Q(registered_at__isnull=False),
    "attended": Q(attended_at__isnull=False),
    "won": Q(lead__stage=Stage.WON),
}


# The figures of one email (a step, a variant): the others are the member's own.
SEND_FIGURES = frozenset(("sent", "delivered", "opened", "clicked", "unsubscribed", "bounced", "skipped", "failed"))


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
    return Member.objects.filter(campaign=campaign, lead__in=access.leads_visible_to(user).values("pk"))


def members_filtered(
    members: QuerySet[Member], *, did: str = "", step: int | None = None, variant: str = "", q: str = ""
) -> QuerySet[Member]:
    """The members behind a figure: `did` one of DID's keys, for a step and a variant of it."""
    if did in DID:
        condition = DID[did]
        if did in SEND_FIGURES:
            if step:
                condition &= Q(sends__step__position=step)
            if variant:
                condition &= Q(sends__variant__label=variant)
        members = members.filter(condition).distinct()
    if q.strip():
        members = members.filter(lead__name__icontains=q.strip()[:100])
    return members


def campaigns_list(*, user: User) -> QuerySet[Campaign]:
    return (
        access.campaigns_visible_to(user)
        .select_related("channel", "owner")
        .annotate(member_count=Count("members"))
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


def member_figures(members: QuerySet[Member]) -> dict[int, dict]:
    """Per campaign: members, registrations, attendance, attendees won and their won value; leads influenced (a
    member who opened or clicked one of its emails, registered or attended), those won and their won value.

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
        Q(registered_at__isnull=False) | attended | Q(pk__in=engaged.values("member_id"))
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
