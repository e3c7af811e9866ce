"""Sending a campaign's email: each message at most once per member and step, throttled, in batches.

1. **Release** (`step_release`, `steps_release_due`): a step due to go out gets one `Send` row per member, queued,
   in one `INSERT … SELECT … ON CONFLICT DO NOTHING` (unique per member and step: releasing twice adds nothing).
   Members without an email address or unsubscribed are recorded as skipped, with the reason. The A/B variant of
   each member is fixed here, by a hash of the member's id against the variants' split.
   A later step of a sequence is released per member, `delay_days` after the previous step was sent to them,
   skipped when they replied, clicked or became Contacted since (`stop_if_engaged`).
2. **Claim, then send** (`sends_deliver`): a worker claims the next queued send with a conditional
   `UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED) RETURNING`, committed before the message is handed to
   the email backend. Two workers never claim the same row; a redelivered task finds it claimed and moves on.
   The unsubscribe list is read again just before sending, so an unsubscribe is honoured by every later send.
3. **Throttle**: at most CAMPAIGN_SEND_RATE messages a minute across all workers (a counter in the cache,
   `crm.limits`); a claim over the limit is handed back to the queue.
4. **A worker that dies between claim and send** leaves its row `sending`. Whether the message left is unknown,
   so the sweep (`sends_sweep_stalled`) marks such rows failed after CAMPAIGN_SEND_LEASE_SECONDS, and they are
   never sent again: a gap shown in the figures rather than a duplicate in someone's inbox.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import smtplib

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection, models, transaction

from campaigns import counts, tracking
from campaigns.content import render_email
from campaigns.models import Campaign, EmailStep, EmailVariant, Member, Send, Unsubscribe
from crm import clock, limits
from crm.queue import enqueue_on_commit
from leads.models import Interaction, Lead, Stage, StageChange

logger = logging.getLogger(__name__)

SEND_TASK = "campaigns.tasks.deliver_step"


def _tables() -> dict[str, str]:
    quote = connection.ops.quote_name
    return {
        "send": quote(Send._meta.db_table),
        "member": quote(Member._meta.db_table),
        "lead": quote(Lead._meta.db_table),
        "unsub": quote(Unsubscribe._meta.db_table),
        "interaction": quote(Interaction._meta.db_table),
        "stage_change": quote(StageChange._meta.db_table),
    }


def _variants(step: EmailStep) -> tuple[int | None, int | None, int]:
    """(variant A's id, B's id or None, A's share in percent)."""
    by_label = {v.label: v for v in EmailVariant.objects.filter(step=step)}
    a, b = by_label.get("A"), by_label.get("B")
    if a is None:
        return None, None, 100
    return a.pk, (b.pk if b else None), (a.share if b else 100)


# The variant of a member: a stable hash of its id, in 0..99, against A's share.
_VARIANT_SQL = (
    "CASE WHEN %(b)s::bigint IS NULL OR mod(abs(hashint8(m.id)::bigint), 100) < %(share_a)s "
    "THEN %(a)s::bigint ELSE %(b)s::bigint END"
)


@transaction.atomic
def step_release(*, step: EmailStep, now: dt.datetime | None = None) -> int:
    """Queue step 1 of a campaign for every member (once: a released step is left alone). Returns rows queued."""
    now = now or clock.now()
    locked = EmailStep.objects.select_for_update(skip_locked=True).filter(pk=step.pk, released_at__isnull=True).first()
    if locked is None or locked.position != 1:
        return 0
    a, b, share_a = _variants(locked)
    if a is None:
        return 0
    t = _tables()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {t["send"]} (member_id, step_id, variant_id, state, reason, queued_at)
            SELECT m.id, %(step)s, {_VARIANT_SQL},
                   CASE WHEN l.email = '' THEN 'skipped' WHEN u.lead_id IS NOT NULL THEN 'skipped' ELSE 'queued' END,
                   CASE WHEN l.email = '' THEN 'No email address' WHEN u.lead_id IS NOT NULL THEN 'Unsubscribed'
                        ELSE '' END,
                   %(now)s
              FROM {t["member"]} m
              JOIN {t["lead"]} l ON l.id = m.lead_id
              LEFT JOIN {t["unsub"]} u ON u.lead_id = m.lead_id
             WHERE m.campaign_id = %(campaign)s
            ON CONFLICT (member_id, step_id) DO NOTHING
            """,
            {"step": locked.pk, "campaign": locked.campaign_id, "a": a, "b": b, "share_a": share_a, "now": now},
        )
        created = cursor.rowcount
    EmailStep.objects.filter(pk=locked.pk).update(released_at=now)
    _queue_delivery(locked.pk, created)
    counts.refresh_soon(locked.campaign_id)  # its page and the report read the rollup, not the new sends
    return created


def _queue_delivery(step_id: int, queued: int) -> None:
    """Enough batch tasks for a minute's sending (more would only wait for the throttle)."""
    if queued <= 0:
        return
    batches = math.ceil(min(queued, settings.CAMPAIGN_SEND_RATE) / settings.CAMPAIGN_SEND_BATCH)
    for _ in range(max(1, batches)):
        enqueue_on_commit(SEND_TASK, step_id)


def later_steps_release(*, now: dt.datetime | None = None) -> int:
    """Queue the next step of every active sequence for the members whose previous step was sent `delay_days`
    ago: skipped (with the reason) when they replied, clicked or became Contacted since, unsubscribed, bounced."""
    now = now or clock.now()
    t = _tables()
    total = 0
    steps = (
        EmailStep.objects.filter(position__gt=1, campaign__status=Campaign.Status.ACTIVE, campaign__kind="email")
        .select_related("campaign")
        .order_by("pk")
    )
    for step in steps:
        previous = EmailStep.objects.filter(campaign=step.campaign_id, position=step.position - 1).first()
        if previous is None:
            continue
        a, b, share_a = _variants(step)
        if a is None:
            continue
        engaged = "FALSE"
        if step.stop_if_engaged:
            engaged = f"""(prev.clicked_at IS NOT NULL
                OR EXISTS (SELECT 1 FROM {t["interaction"]} i WHERE i.lead_id = m.lead_id
                           AND i.direction = 'inbound' AND i.kind IN ('email', 'call', 'message')
                           AND i.occurred_at >= prev.sent_at)
                OR EXISTS (SELECT 1 FROM {t["stage_change"]} sc WHERE sc.lead_id = m.lead_id
                           AND sc.changed_at >= prev.sent_at AND sc.to_stage <> '{Stage.NEW.value}'))"""
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO {t["send"]} (member_id, step_id, variant_id, state, reason, queued_at)
                SELECT m.id, %(step)s, {_VARIANT_SQL},
                       CASE WHEN u.lead_id IS NOT NULL OR prev.bounced_at IS NOT NULL OR l.email = ''
                                 OR {engaged} THEN 'skipped' ELSE 'queued' END,
                       CASE WHEN u.lead_id IS NOT NULL THEN 'Unsubscribed'
                            WHEN prev.bounced_at IS NOT NULL THEN 'Bounced before'
                            WHEN l.email = '' THEN 'No email address'
                            WHEN {engaged} THEN 'Replied, clicked or became Contacted'
                            ELSE '' END,
                       %(now)s
                  FROM {t["send"]} prev
                  JOIN {t["member"]} m ON m.id = prev.member_id
                  JOIN {t["lead"]} l ON l.id = m.lead_id
                  LEFT JOIN {t["unsub"]} u ON u.lead_id = m.lead_id
                 WHERE prev.step_id = %(previous)s AND prev.state = 'sent' AND prev.sent_at <= %(due)s
                   AND NOT EXISTS (SELECT 1 FROM {t["send"]} s WHERE s.member_id = prev.member_id
                                   AND s.step_id = %(step)s)
                ON CONFLICT (member_id, step_id) DO NOTHING
                """,
                {
                    "step": step.pk,
                    "previous": previous.pk,
                    "due": now - dt.timedelta(days=step.delay_days),
                    "a": a,
                    "b": b,
                    "share_a": share_a,
                    "now": now,
                },
            )
            created = cursor.rowcount
            total += created
            if created:
                queued = Send.objects.filter(step=step, state=Send.State.QUEUED).count()
                _queue_delivery(step.pk, queued)
    return total


def steps_release_due(*, now: dt.datetime | None = None) -> int:
    """The minute sweep: first steps whose time has come, then the sequences' next steps."""
    now = now or clock.now()
    released = 0
    due = EmailStep.objects.filter(
        position=1, released_at__isnull=True, send_at__lte=now, campaign__status=Campaign.Status.ACTIVE
    )
    for step in due.order_by("pk"):
        released += step_release(step=step, now=now)
    return released + later_steps_release(now=now)


def _claim_next(step_id: int) -> int | None:
    """Claim the next queued send of the step, committed at once (autocommit): the claim is a fact before the
    message goes out."""
    table = _tables()["send"]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {table} SET state = 'sending', claimed_at = %(now)s
                 WHERE id = (SELECT id FROM {table} WHERE step_id = %(step)s AND state = 'queued'
                              ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
                   AND state = 'queued'
                RETURNING id""",
            {"step": step_id, "now": clock.now()},
        )
        row = cursor.fetchone()
    return row[0] if row else None


def _unclaim(send_id: int) -> None:
    Send.objects.filter(pk=send_id, state=Send.State.SENDING).update(state=Send.State.QUEUED, claimed_at=None)


def message_for(send: Send) -> EmailMultiAlternatives:
    """The email of one claimed send: merge fields, tracked links, the open pixel and one-click unsubscribe."""
    unsubscribe = tracking.unsubscribe_url(send.pk)
    rendered = render_email(
        subject=send.variant.subject,
        body=send.variant.body,
        lead=send.member.lead,
        click_url=lambda index: tracking.click_url(send.pk, index),
        open_url=tracking.open_url(send.pk),
        unsubscribe_url=unsubscribe,
    )
    message = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        from_email=settings.CAMPAIGN_FROM_EMAIL,
        to=[send.member.lead.email],
        headers={
            "Message-ID": send.message_id,
            # RFC 8058: mail clients show an unsubscribe button that POSTs "List-Unsubscribe=One-Click" here.
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    message.attach_alternative(rendered.html, "text/html")
    return message


def _deliver(send_id: int, mail_connection) -> str:
    """Send one claimed message and record the outcome; the state it ends in."""
    send = Send.objects.select_related("member__lead", "variant", "step__campaign").get(pk=send_id)
    retryable = True
    if Unsubscribe.objects.filter(lead_id=send.member.lead_id).exists():
        state, reason = Send.State.SKIPPED, "Unsubscribed"
    elif send.step.campaign.status != Campaign.Status.ACTIVE:
        state, reason = Send.State.SKIPPED, f"Campaign {send.step.campaign.get_status_display().lower()}"
    elif not send.member.lead.email:
        state, reason = Send.State.SKIPPED, "No email address"
    elif _bounced_before(send.member.lead_id):
        state, reason = Send.State.SKIPPED, "Bounced before"
    else:
        try:
            mail_connection.send_messages([message_for(send)])
        except Exception as error:
            logger.warning("Campaign send %s failed", send_id, exc_info=True)
            state, reason = Send.State.FAILED, f"{type(error).__name__}: {error}"[:200]
            if not _refused(error):
                reason = f"{reason[:150]} (it may have gone out; not retried)"
                retryable = False
                _close_quietly(mail_connection)  # the next message opens a new session, not this broken one
        else:
            state, reason = Send.State.SENT, ""
    Send.objects.filter(pk=send_id, state=Send.State.SENDING).update(
        state=state,
        reason=reason,
        sent_at=clock.now() if state == Send.State.SENT else None,
        retryable=state == Send.State.FAILED and retryable,
    )
    return state


def _close_quietly(mail_connection) -> None:
    """Close a connection that failed midway. Django's SMTP backend still holds it as open (so `open()` would do
    nothing) while smtplib has dropped its socket: every later message of the batch would fail unsent, and be
    taken for one that may have gone out."""
    try:
        mail_connection.close()
    except Exception:
        logger.warning("Closing a failed mail connection failed", exc_info=True)


def _refused(error: Exception) -> bool:
    """Whether the email backend's error means the message did not go out, so a manager may send it again
    (`sends_retry`): the mail server answered that it would not take it (an SMTP reply such as 451 or 550, or every
    recipient refused), or a backend other than SMTP raised its own error (an address it cannot use, an API's
    refusal). A connection that failed midway (a timeout, a reset, the server gone) may have delivered the
    message before the answer was lost: sending it again could send it twice, so it is not retried."""
    if isinstance(error, (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused)):
        return True
    return not isinstance(error, OSError)  # smtplib's other errors are OSErrors too: the connection's


def _bounced_before(lead_id: int) -> bool:
    """Whether a message of any campaign to this lead bounced: its address is not tried again."""
    return Send.objects.filter(member__lead_id=lead_id, bounced_at__isnull=False).exists()


def sends_deliver(*, step_id: int, limit: int | None = None) -> int:
    """Claim and send up to `limit` (CAMPAIGN_SEND_BATCH) queued messages of a step, within the rate. Returns how
    many were sent. Safe to run in any number of workers at once, and to run again."""
    limit = limit or settings.CAMPAIGN_SEND_BATCH
    sent = 0
    mail_connection = get_connection()  # opened on the first message, kept for the batch (one SMTP session)
    try:
        for _ in range(limit):
            send_id = _claim_next(step_id)
            if send_id is None:
                break
            over = limits.rate_limit_hit(bucket="campaign-sends", limit=settings.CAMPAIGN_SEND_RATE, window=60)
            if over is not None:
                _unclaim(send_id)
                break
            try:
                mail_connection.open()  # a no-op once open
            except Exception:
                _unclaim(send_id)  # the mail server is away: nothing went out, the message waits for the next try
                raise
            if _deliver(send_id, mail_connection) == Send.State.SENT:
                sent += 1
    finally:
        mail_connection.close()
    return sent


def sends_retry(*, campaign: Campaign, position: int | None = None) -> dict[str, int]:
    """Queue again the sends of a campaign (or of its email `position`) that the email backend refused, in one
    conditional UPDATE: each failed row goes back to `queued` once (two retries at once: the second finds it no
    longer failed), and workers claim it as any other (`sends_deliver`), so each message still goes out at most once
    per member and step. Members unsubscribed or whose address bounced meanwhile are skipped instead. A claim whose
    worker died is never retried (it may have gone out). Returns {"queued": n, "skipped": n}."""
    steps = EmailStep.objects.filter(campaign=campaign)
    if position is not None:
        steps = steps.filter(position=position)
    step_ids = list(steps.values_list("pk", flat=True))
    if not step_ids:
        return {"queued": 0, "skipped": 0}
    t = _tables()
    gone = f"""(EXISTS (SELECT 1 FROM {t["unsub"]} u WHERE u.lead_id = m.lead_id)
                OR EXISTS (SELECT 1 FROM {t["send"]} b JOIN {t["member"]} bm ON bm.id = b.member_id
                           WHERE bm.lead_id = m.lead_id AND b.bounced_at IS NOT NULL))"""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {t["send"]} s
                   SET state = CASE WHEN {gone} THEN 'skipped' ELSE 'queued' END,
                       reason = CASE WHEN {gone} THEN 'Unsubscribed or bounced before the retry' ELSE '' END,
                       claimed_at = NULL, retryable = FALSE, retries = s.retries + 1, queued_at = %(now)s
                  FROM {t["member"]} m
                 WHERE m.id = s.member_id AND s.step_id = ANY(%(steps)s) AND s.state = 'failed' AND s.retryable
             RETURNING s.step_id, s.state""",
            {"steps": step_ids, "now": clock.now()},
        )
        rows = cursor.fetchall()
        queued: dict[int, int] = {}
        for step_id, state in rows:
            if state == Send.State.QUEUED:
                queued[step_id] = queued.get(step_id, 0) + 1
        for step_id, count in queued.items():
            _queue_delivery(step_id, count)
    total = sum(queued.values())
    return {"queued": total, "skipped": len(rows) - total}


def retryable_by_step(campaign: Campaign) -> dict[int, int]:
    """How many sends of each email (by position) the email backend refused and a manager may retry."""
    rows = (
        Send.objects.filter(step__campaign=campaign, state=Send.State.FAILED, retryable=True)
        .values_list("step__position")
        .annotate(n=models.Count("pk"))
        .order_by()
    )
    return dict(rows)


def sends_sweep_stalled(*, now: dt.datetime | None = None) -> int:
    """Claims older than the lease lost their worker between claim and send: failed, never sent again."""
    now = now or clock.now()
    cutoff = now - dt.timedelta(seconds=settings.CAMPAIGN_SEND_LEASE_SECONDS)
    return Send.objects.filter(state=Send.State.SENDING, claimed_at__lt=cutoff).update(
        state=Send.State.FAILED, reason="The worker stopped between claiming and sending; not retried"
    )


def steps_with_queued_sends() -> list[int]:
    """Steps with messages still waiting (the minute sweep queues a batch for each)."""
    return list(
        Send.objects.filter(state=Send.State.QUEUED, step__campaign__status=Campaign.Status.ACTIVE)
        .values_list("step_id", flat=True)
        .distinct()
    )


def sending_tick() -> dict:
    """Run every minute by beat: release due steps, fail stalled claims, keep every backlog moving."""
    released = steps_release_due()
    stalled = sends_sweep_stalled()
    backlog = steps_with_queued_sends()
    for step_id in backlog:
        _queue_delivery(step_id, settings.CAMPAIGN_SEND_RATE)
    return {"released": released, "stalled": stalled, "steps": len(backlog)}
