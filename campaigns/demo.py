"""Demo campaigns over the demo leads (`manage.py seed_campaigns`, run by `make run` after `seed_demo`): an email
campaign with an A/B test and a follow-up, a webinar invitation, a trade show with registrations and attendance,
and an ad campaign matched by its UTM campaign, so the campaign pages and the report show real shapes.

What happened to each message (delivered, opened, clicked, bounced, unsubscribed) is drawn at random with a fixed
seed; opens, clicks, unsubscribes and attendance go through the same services as real ones, so they are on the
leads' timelines too.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.db import transaction

from campaigns import events, services, tracking
from campaigns.models import Campaign, EmailStep, Member, Send
from crm import clock
from crm.models import User
from crm.roles import Role
from leads.models import Channel, Lead


def _channel(kind: str, fallback: str) -> Channel:
    return (
        Channel.objects.filter(kind=kind).order_by("pk").first()
        or Channel.objects.get_or_create(name=fallback, defaults={"kind": kind})[0]
    )


def _sent(step: EmailStep, members: list[Member], at: dt.datetime, rng: random.Random, rates: dict) -> None:
    """Step sent to the members at `at`; each message's fate drawn from `rates` (per variant label)."""
    variants = {v.label: v for v in step.variants.all()}
    # Only leads that existed at `at` can have received the message (nothing happens to a lead before it exists).
    existed = set(
        Lead.objects.filter(pk__in=[m.lead_id for m in members], created_at__lte=at).values_list("pk", flat=True)
    )
    members = [member for member in members if member.lead_id in existed]
    sends = Send.objects.bulk_create(
        Send(
            member=member,
            step=step,
            variant=variants["B" if "B" in variants and rng.random() < 0.5 else "A"],
            state=Send.State.SENT,
            queued_at=at,
            claimed_at=at,
            sent_at=at,
            bounced_at=at if rng.random() < 0.02 else None,
        )
        for member in members
    )
    EmailStep.objects.filter(pk=step.pk).update(send_at=at, released_at=at)
    link = "https://example.com/offer"
    for send in Send.objects.filter(pk__in=[s.pk for s in sends], bounced_at__isnull=True).select_related(
        "member__lead", "variant", "step__campaign"
    ):
        open_rate, click_rate = rates[send.variant.label]
        moment = at + dt.timedelta(hours=rng.randint(1, 48))
        if rng.random() < click_rate:
            tracking.click_record(send=send, link=link, at=moment)
        elif rng.random() < open_rate:
            tracking.open_record(send=send, at=moment)
        if rng.random() < 0.01:
            tracking.unsubscribe_record(send=send)


@transaction.atomic
def demo_campaigns_seed(*, seed: int = 17) -> int:
    """Create the demo campaigns, unless any campaign exists. Returns how many were created."""
    if Campaign.objects.exists() or not Lead.objects.exists():
        return 0
    rng = random.Random(seed)
    manager = User.objects.filter(groups__name=Role.ADMIN.value).order_by("pk").first()
    now = clock.now()
    leads = list(Lead.objects.exclude(email="").order_by("pk").values_list("pk", flat=True))
    rng.shuffle(leads)

    def campaign(**fields) -> Campaign:
        return services.campaign_save(user=manager, campaign=Campaign(owner=manager, **fields))

    def members_of(target: Campaign, lead_ids, **extra) -> list[Member]:
        return Member.objects.bulk_create(
            Member(campaign=target, lead_id=pk, source=Member.Source.FILTER, added_at=now, added_by=manager, **extra)
            for pk in lead_ids
        )

    email_channel = _channel(Channel.Kind.EMAIL, "Newsletter")
    spring = campaign(
        name="Spring digest: subject A/B test",
        kind=Campaign.Kind.EMAIL,
        channel=email_channel,
        status=Campaign.Status.COMPLETED,
        starts_on=(now - dt.timedelta(days=40)).date(),
        ends_on=(now - dt.timedelta(days=30)).date(),
        spend=Decimal("450.00"),
        utm_campaign="monthly-digest",
    )
    first = services.step_save(
        user=manager,
        campaign=spring,
        position=1,
        subject_a="{{ first_name }}, your spring pipeline review",
        body_a="Hi {{ first_name }},\n\nThree ways to answer leads in five minutes: https://example.com/offer\n\nThe team",
        subject_b="5 minutes that double your conversions",
        share_a=50,
    )
    second = services.step_save(
        user=manager,
        campaign=spring,
        position=2,
        subject_a="Did you see this, {{ first_name }}?",
        body_a="Hi {{ first_name }},\n\nIn case you missed it: https://example.com/offer",
        delay_days=3,
    )
    spring_members = members_of(spring, leads[:300])
    sent_at = now - dt.timedelta(days=40)
    _sent(first, spring_members, sent_at, rng, {"A": (0.30, 0.05), "B": (0.38, 0.11)})
    engaged = set(Send.objects.filter(step=first, clicked_at__isnull=False).values_list("member_id", flat=True))
    _sent(second, [m for m in spring_members if m.pk not in engaged], sent_at + dt.timedelta(days=3), rng,
          {"A": (0.22, 0.04)})  # fmt: skip

    webinar = campaign(
        name="Webinar invitation: lead scoring 101",
        kind=Campaign.Kind.EMAIL,
        channel=email_channel,
        status=Campaign.Status.COMPLETED,
        starts_on=(now - dt.timedelta(days=12)).date(),
        spend=Decimal("120.00"),
        utm_campaign="webinar-invite",
    )
    invite = services.step_save(
        user=manager,
        campaign=webinar,
        position=1,
        subject_a="Live: lead scoring in 45 minutes",
        body_a="Hi {{ first_name }},\n\nJoin us on Thursday: https://example.com/webinar\n\nSee you there",
    )
    _sent(invite, members_of(webinar, leads[300:450]), now - dt.timedelta(days=12), rng, {"A": (0.41, 0.09)})

    expo = campaign(
        name="B2B Marketing Expo",
        kind=Campaign.Kind.EVENT,
        channel=_channel(Channel.Kind.EVENT, "Trade shows"),
        status=Campaign.Status.ACTIVE,
        starts_on=(now - dt.timedelta(days=20)).date(),
        ends_on=(now - dt.timedelta(days=19)).date(),
        spend=Decimal("9500.00"),
        utm_campaign="b2b-expo",
        event_starts_at=now - dt.timedelta(days=20),
        location="Hall 4, stand B12",
        registration_slug="b2b-expo",
        registration_open=True,
    )
    registered = members_of(expo, leads[450:530], registered_at=now - dt.timedelta(days=30))
    for member in registered:
        if rng.random() < 0.6:
            events.attendance_mark(user=manager, member=member)

    # Ad and content campaigns: their members are the leads that arrived with their utm_campaign (joined when the
    # campaign is saved, and as later leads arrive); the ads take their share of LinkedIn's spend periods.
    campaign(
        name="Retargeting ads, Q2",
        kind=Campaign.Kind.AD,
        channel=_channel(Channel.Kind.SOCIAL, "LinkedIn"),
        status=Campaign.Status.ACTIVE,
        starts_on=(now - dt.timedelta(days=60)).date(),
        ends_on=(now - dt.timedelta(days=1)).date(),
        spend_source=Campaign.SpendSource.CHANNEL,
        utm_campaign="retargeting",
    )
    campaign(
        name="Lead scoring 101 (blog series)",
        kind=Campaign.Kind.CONTENT,
        channel=_channel(Channel.Kind.CONTENT, "Blog / SEO"),
        status=Campaign.Status.ACTIVE,
        starts_on=(now - dt.timedelta(days=90)).date(),
        spend=Decimal("1800.00"),
        utm_campaign="lead-scoring-101",
    )
    return 5
