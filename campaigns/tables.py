"""The figures a campaign's own page shows (the Campaigns report in `reports` has them all, with CSV and charts):
counts per step and variant with their rates, each rate with numerator and denominator, "–" for an empty one, and
the campaign's returns (spend, influenced, won, cost per lead, ROI).

A campaign of up to LIVE_MEMBERS_MAX members is counted live from its sends and members (fresh: an open a minute
ago shows). A larger one reads its rollup (`campaigns.counts`, the report's, every CAMPAIGN_COUNTS_MINUTES by beat
and queued when members join or an email is released): a few dozen rows whatever its size, filtered to the leads
the user may see by their team and owner as of the rollup; the page says as of when. Before its first rollup a
large campaign says its figures are being counted.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import QuerySet, Sum

from campaigns.models import Campaign, EmailCounts, Member, MemberCounts, Send
from campaigns.selectors import (
    MEMBER_MEASURES,
    EmailFigures,
    email_figures,
    member_figures,
    rollup_visible_q,
    two_proportion_p_value,
)
from campaigns.spend import campaign_spend
from crm import access
from crm.models import User

DASH = "–"
# A campaign of up to this many members is counted live on its page (fresh, and cheap at that size); a larger one
# reads its rollup, or waits for its first one (queued when its members joined or an email was released).
LIVE_MEMBERS_MAX = 20_000
EMAIL_MEASURES = ("sent", "bounced", "opened", "clicked", "unsubscribed")


@dataclass(frozen=True)
class Rate:
    numerator: int
    denominator: int

    def __str__(self) -> str:
        if not self.denominator:
            return DASH
        return f"{100 * self.numerator / self.denominator:.1f}%"


@dataclass(frozen=True)
class Money:
    """An amount over a count (cost per lead), or a return ((won value − spend) ÷ spend); None when undefined."""

    value: Decimal | None

    def __str__(self) -> str:
        return DASH if self.value is None else f"{self.value:,.2f}"


def _rolled_up(campaign: Campaign, user: User) -> tuple[list[EmailFigures], dict, int]:
    visible = rollup_visible_q(user)
    email = [
        EmailFigures(campaign_id=campaign.pk, step=row.pop("step"), variant=row.pop("variant"), **row)
        for row in EmailCounts.objects.filter(visible, campaign=campaign)
        .values("step", "variant")
        .annotate(**{name: Sum(name) for name in EMAIL_MEASURES})
        .order_by("step", "variant")
    ]
    people = MemberCounts.objects.filter(visible, campaign=campaign).aggregate(
        **{name: Sum(name) for name in MEMBER_MEASURES}
    )
    people = {key: value or 0 for key, value in people.items()}
    everyone = MemberCounts.objects.filter(campaign=campaign).aggregate(total=Sum("members"))["total"] or 0
    return email, people, everyone


def _counted_live(campaign: Campaign, members: QuerySet[Member], user: User) -> tuple[list[EmailFigures], dict, int]:
    # By step (its index) when every member is in view; else a semi-join on the members the user may see.
    if access.role_of(user) == access.Role.ADMIN:
        sends = Send.objects.filter(step__campaign=campaign)
    else:
        sends = Send.objects.filter(member__in=members.values("pk"))
    email = email_figures(sends, by=("step", "variant"))
    people = member_figures(members).get(campaign.pk, {})
    people = {name: people.get(name) or 0 for name in MEMBER_MEASURES}
    everyone = Member.objects.filter(campaign=campaign).count()
    return email, people, everyone


def campaign_tables(*, campaign: Campaign, members: QuerySet[Member], user: User) -> dict:
    """Email figures per step and variant, the A/B test of each step with two variants, member figures and
    returns; all over the members the user may see. `as_of` is the rollup's moment (None: counted live)."""
    pending = False
    if Member.objects.filter(campaign=campaign)[: LIVE_MEMBERS_MAX + 1].count() <= LIVE_MEMBERS_MAX:
        by_variant, people, everyone = _counted_live(campaign, members, user)
        as_of = None
    elif campaign.counts_at is not None:
        by_variant, people, everyone = _rolled_up(campaign, user)
        as_of = campaign.counts_at
    else:
        # Too large to count in a request, and its first rollup (queued when its members joined) not done yet.
        by_variant, people, everyone, pending = [], dict.fromkeys(MEMBER_MEASURES, 0), 0, True
        as_of = None
    rows = []
    for figures in by_variant:
        rows.append(
            {
                "figures": figures,
                "open_rate": Rate(figures.opened, figures.delivered),
                "click_rate": Rate(figures.clicked, figures.delivered),
                "click_to_open": Rate(figures.clicked, figures.opened),
                "unsubscribe_rate": Rate(figures.unsubscribed, figures.delivered),
                "bounce_rate": Rate(figures.bounced, figures.sent),
            }
        )
    tests = []
    by_step: dict[int, dict[str, object]] = {}
    for row in rows:
        by_step.setdefault(row["figures"].step, {})[row["figures"].variant] = row["figures"]
    for step, variants in sorted(by_step.items()):
        if "A" in variants and "B" in variants:
            a, b = variants["A"], variants["B"]
            p_value = two_proportion_p_value(a.clicked, a.delivered, b.clicked, b.delivered)
            tests.append(
                {"step": step, "a": Rate(a.clicked, a.delivered), "b": Rate(b.clicked, b.delivered), "p": p_value}
            )
    # Spend: the campaign's (own, or its share of the channel's), in proportion to the members in view when the
    # user sees only some of them (the report's rule).
    total_spend = campaign_spend([campaign])[campaign.pk]
    in_view = people.get("members", 0)
    spend = total_spend if in_view == everyone else (total_spend * in_view / everyone if everyone else Decimal(0))
    won_value = Decimal(people.get("won_value") or 0)
    attendees_value = Decimal(people.get("attendees_won_value") or 0)
    returns = {
        "spend": spend.quantize(Decimal("0.01")),
        "whole_spend": total_spend,
        "partial_view": in_view != everyone,
        "conversion": Rate(people.get("won", 0), people.get("influenced", 0)),
        "cost_per_lead": Money(spend / people["influenced"] if people.get("influenced") else None),
        "roi": Money((won_value - spend) / spend if spend else None),
        "attendance_rate": Rate(people.get("attended", 0), people.get("registered", 0)),
        "attendee_conversion": Rate(people.get("attendees_won", 0), people.get("attended", 0)),
        "cost_per_attendee": Money(spend / people["attended"] if people.get("attended") else None),
        "event_roi": Money((attendees_value - spend) / spend if spend else None),
    }
    return {
        "email": rows,
        "tests": tests,
        "people": people,
        "returns": returns,
        "as_of": as_of,
        "pending": pending,
    }
