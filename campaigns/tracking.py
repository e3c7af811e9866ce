"""Opens, clicks, unsubscribes and bounces: signed URLs in, facts on the send and the lead's timeline out.

Every tracking URL carries a value signed with the secret key and a salt of its own (`django.core.signing`), so a
URL for one purpose is no good for another and a changed id is refused (404). A click URL names a send and the
position of a link in that send's body: the redirect goes to that link of the campaign's own email and nowhere
else, whatever the URL says.

The first open and the first click of a send, and an unsubscribe, become interactions on the lead's timeline
(`leads` services), so scoring rules count them like any other engagement.
"""

from __future__ import annotations

import datetime as dt
import re

from django.conf import settings
from django.core import signing
from django.db import connection, transaction
from django.urls import reverse

from campaigns.content import body_links, merge, merge_values
from campaigns.models import Send, Unsubscribe
from crm import clock
from leads.intake.services import event_record
from leads.models import Interaction
from leads.services import interaction_log

_OPEN, _CLICK, _UNSUBSCRIBE = "campaigns.open", "campaigns.click", "campaigns.unsubscribe"
MESSAGE_ID = re.compile(r"<?campaign-send-(\d+)@[^>]*>?")


def _sign(salt: str, value: str) -> str:
    return signing.Signer(salt=salt).sign(value)


def _unsign(salt: str, signed: str) -> str | None:
    try:
        return signing.Signer(salt=salt).unsign(signed)
    except signing.BadSignature:
        return None


def _absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def open_url(send_id: int) -> str:
    return _absolute(reverse("campaigns:track_open", args=[_sign(_OPEN, str(send_id))]))


def click_url(send_id: int, index: int) -> str:
    return _absolute(reverse("campaigns:track_click", args=[_sign(_CLICK, f"{send_id}.{index}")]))


def unsubscribe_url(send_id: int) -> str:
    return _absolute(reverse("campaigns:unsubscribe", args=[_sign(_UNSUBSCRIBE, str(send_id))]))


def _send(send_id: str | None) -> Send | None:
    if send_id is None or not send_id.isdigit():
        return None
    return (
        Send.objects.select_related("member__lead", "variant", "step__campaign")
        .filter(pk=int(send_id), state=Send.State.SENT)
        .first()
    )


def send_for_open(signed: str) -> Send | None:
    return _send(_unsign(_OPEN, signed))


def send_for_unsubscribe(signed: str) -> Send | None:
    return _send(_unsign(_UNSUBSCRIBE, signed))


def click_target(signed: str) -> tuple[Send, str] | None:
    """The send and the link of its own body a click URL names; None if tampered or out of range."""
    value = _unsign(_CLICK, signed)
    if value is None or not re.fullmatch(r"\d+\.\d+", value):
        return None
    send_id, index = value.split(".")
    send = _send(send_id)
    if send is None or send.variant is None:
        return None
    links = body_links(send.variant.body)
    if int(index) >= len(links):
        return None
    return send, links[int(index)]


def _subject(send: Send) -> str:
    """The timeline's line: the campaign and the subject as the lead read it."""
    subject = merge(send.variant.subject, merge_values(send.member.lead)) if send.variant else ""
    return f"{send.step.campaign.name}: {subject}"[:200]


@transaction.atomic
def open_record(*, send: Send, at: dt.datetime | None = None) -> bool:
    """The send was opened: the first time, its `opened_at` and an interaction on the lead. Later opens: nothing.
    `at`: when, if not now (demo data, a provider's delayed report)."""
    now = at or clock.now()
    if not Send.objects.filter(pk=send.pk, opened_at__isnull=True).update(opened_at=now):
        return False
    event_record(
        lead=send.member.lead,
        kind=Interaction.Kind.EMAIL_OPEN,
        occurred_at=now,
        subject=_subject(send),
        details={"campaign": send.step.campaign_id, "send": send.pk, "step": send.step.position},
    )
    return True


@transaction.atomic
def click_record(*, send: Send, link: str, at: dt.datetime | None = None) -> bool:
    """A click: the first one sets `clicked_at` (and `opened_at`: a click is an open whose pixel was blocked) and
    logs an interaction; later clicks only redirect."""
    now = at or clock.now()
    Send.objects.filter(pk=send.pk, opened_at__isnull=True).update(opened_at=now)
    if not Send.objects.filter(pk=send.pk, clicked_at__isnull=True).update(clicked_at=now):
        return False
    event_record(
        lead=send.member.lead,
        kind=Interaction.Kind.EMAIL_CLICK,
        occurred_at=now,
        subject=_subject(send),
        details={"campaign": send.step.campaign_id, "send": send.pk, "step": send.step.position, "url": link},
    )
    return True


@transaction.atomic
def unsubscribe_record(*, send: Send) -> bool:
    """The lead asks for no more campaign email: recorded once, its queued sends skipped now, and every later
    send checks again before it goes out."""
    now = clock.now()
    lead = send.member.lead
    _, created = Unsubscribe.objects.get_or_create(lead=lead, defaults={"unsubscribed_at": now, "send": send})
    Send.objects.filter(pk=send.pk, unsubscribed_at__isnull=True).update(unsubscribed_at=now)
    Send.objects.filter(member__lead=lead, state=Send.State.QUEUED).update(
        state=Send.State.SKIPPED, reason="Unsubscribed"
    )
    if created:
        interaction_log(
            lead=lead,
            user=None,
            kind=Interaction.Kind.UNSUBSCRIBE,
            direction=Interaction.Direction.INBOUND,
            occurred_at=now,
            subject=_subject(send),
            details={"campaign": send.step.campaign_id, "send": send.pk},
        )
    return created


def bounce_record(*, reference: str) -> bool:
    """A bounce, named by the message's Message-ID (or `campaign-send-<id>@…`): the send is marked bounced once."""
    match = MESSAGE_ID.fullmatch(reference.strip())
    if not match:
        return False
    return bool(
        Send.objects.filter(pk=int(match.group(1)), state=Send.State.SENT, bounced_at__isnull=True).update(
            bounced_at=clock.now()
        )
    )


def bounces_record(*, references: list[str], channel_id: int) -> dict:
    """Bounces reported by a channel's integration (the bounce webhook): each Message-ID's send is marked bounced
    once, in one conditional UPDATE, and only a send of a campaign in `channel_id` (any other is not found, as a
    lead of another channel is to its API token). Idempotent: a second report of a send counts it as already
    bounced. Returns {"recorded", "already_bounced", "not_found"} (the references not found, as given)."""
    send_of: dict[str, int] = {}
    for reference in references:
        match = MESSAGE_ID.fullmatch(reference.strip())
        if match and len(match.group(1)) < 19:
            send_of[reference] = int(match.group(1))
    wanted = set(send_of.values())
    with connection.cursor() as cursor:
        cursor.execute(
            # Rows locked in id order: two reports sharing messages wait for each other, never deadlock.
            "WITH target AS (SELECT s.id FROM campaigns_send s "
            "JOIN campaigns_emailstep st ON st.id = s.step_id JOIN campaigns_campaign c ON c.id = st.campaign_id "
            "WHERE s.id = ANY(%s) AND c.channel_id = %s AND s.state = 'sent' AND s.bounced_at IS NULL "
            "ORDER BY s.id FOR UPDATE OF s) "
            "UPDATE campaigns_send SET bounced_at = %s FROM target "
            "WHERE campaigns_send.id = target.id AND campaigns_send.bounced_at IS NULL RETURNING campaigns_send.id",
            [list(wanted), channel_id, clock.now()],
        )
        recorded = {row[0] for row in cursor.fetchall()}
    sends = Send.objects.filter(pk__in=list(wanted), state=Send.State.SENT, step__campaign__channel_id=channel_id)
    already = set(sends.filter(bounced_at__isnull=False).exclude(pk__in=recorded).values_list("pk", flat=True))
    found = recorded | already
    not_found = [reference for reference in references if send_of.get(reference) not in found]
    return {"recorded": len(recorded), "already_bounced": len(already), "not_found": not_found}
