"""Ways in: leads from web forms and the JSON API (the channel set-up behind them is `leads.channels`).

Every lead comes in through the arrival pipeline (`leads.intake.pipeline`, by `leads.services.lead_create_or_match`), so
the same normalisation, identity lock, duplicate rule, assignment and response clock apply as to a lead typed by a
rep or imported. A submission whose email or phone an existing lead already has creates nothing new: it is
recorded as an inbound form-submission interaction on that lead (the canonical one: the oldest).

Abuse limits live in the Django cache (Redis in production, shared by every worker): counters are created
with `cache.add` (atomic "set if absent") and bumped with `cache.incr`, so two workers never lose a count.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import QuerySet
from psycopg.types.json import Jsonb

from crm import addresses, clock
from crm.db import Batch
from leads.intake.pipeline import Arriving, arrivals_match, arrivals_store
from leads.models import ApiToken, Channel, IdempotencyKey, Interaction, Lead, Stage
from leads.services import interaction_log, interactions_record, lead_create_or_match

# Behavioural kinds the events API records, and the direction each is logged with: the lead did something
# (inbound) or a system observed it (system). Neither stops a response clock: only a person's outbound does.
logger = logging.getLogger(__name__)

EVENT_DIRECTIONS = {
    Interaction.Kind.WEB_VISIT: Interaction.Direction.SYSTEM,
    Interaction.Kind.FORM_SUBMISSION: Interaction.Direction.INBOUND,
    Interaction.Kind.DOWNLOAD: Interaction.Direction.INBOUND,
    Interaction.Kind.EMAIL_OPEN: Interaction.Direction.SYSTEM,
    Interaction.Kind.EMAIL_CLICK: Interaction.Direction.SYSTEM,
    Interaction.Kind.EVENT_ATTENDED: Interaction.Direction.INBOUND,
}


# --- Limits in the cache (counters: crm.limits) ----------------------------------------------------------------


def claim_once(*, key: str, timeout: int) -> bool:
    """True for the first caller of `key` within `timeout` seconds, False for every later one (cache.add).

    True when the cache is away: a double submission is then recorded twice on one lead (the identity lock keeps
    it one lead), which beats refusing every submission.
    """
    try:
        return cache.add(f"once:{key}", 1, timeout=timeout)
    except Exception:
        logger.warning("Double-submit check skipped: the cache is unreachable", exc_info=True)
        return True


def release_claim(*, key: str) -> None:
    try:
        cache.delete(f"once:{key}")
    except Exception:
        logger.warning("Claim %s not released: the cache is unreachable", key, exc_info=True)


def fingerprint(*parts: Any) -> str:
    """A stable SHA-256 of JSON-able parts (dict keys sorted)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


# --- Leads arriving ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Arrival:
    """What became of a submission: a new lead, or an existing one it was recorded on."""

    lead: Lead
    created: bool
    interaction: Interaction | None


@transaction.atomic(savepoint=False)  # no savepoint of its own: a failure rolls back the caller's transaction
def lead_arrive(
    *,
    channel: Channel,
    facts: dict,
    submission: dict | None = None,
    message: str = "",
    record_new: bool = True,
    among: QuerySet[Lead] | str | None = None,
    pending: Batch | None = None,
) -> Arrival:
    """A lead arriving from outside (web form, API): created, or recorded on the lead that has its email/phone.

    `facts` are lead fields (EDITABLE_FIELDS); the channel is the form's or token's. `submission` holds what
    the form-submission interaction records (page, referrer, UTM, form). A new lead gets that interaction when
    `record_new` (a web form: the submission is an engagement scoring counts); an existing lead always does.

    `among` limits the match to the leads the sender may see (an API token: `pipeline.OWN_CHANNEL`). A lead
    outside them is not touched and not revealed: the arrival becomes a new lead of `channel`, which shares the
    other lead's email or phone and so shows among the duplicates for a manager to merge.

    `pending`: a new lead's last statements are left queued in it (`leads.services.lead_create_or_match`), for
    the caller to send with its own; it must run it before any other statement.
    """
    lead, created = lead_create_or_match(user=None, channel=channel, among=among, pending=pending, **facts)
    details = {k: v for k, v in (submission or {}).items() if v not in ("", None, {})}
    if pending is not None and (record_new or not created):
        pending.run()  # the lead's own statements first: the interaction refers to it
    if not created:
        interaction = interaction_log(
            lead=lead,
            user=None,
            kind=Interaction.Kind.FORM_SUBMISSION,
            direction=Interaction.Direction.INBOUND,
            subject=f"Submitted again via {channel.name}",
            body=message,
            details={**details, "repeat": True},
        )
        return Arrival(lead=lead, created=False, interaction=interaction)
    interaction = None
    if record_new:
        interaction = interaction_log(
            lead=lead,
            user=None,
            kind=Interaction.Kind.FORM_SUBMISSION,
            direction=Interaction.Direction.INBOUND,
            subject=f"Form submitted via {channel.name}",
            body=message,
            details=details,
        )
    return Arrival(lead=lead, created=True, interaction=interaction)


# How many leads one batch call may carry (HubSpot's batch APIs take 100 too).
BATCH_MAX_LEADS = 100


@dataclass
class BatchArrival:
    """One lead of a batch: what it says, and once arrived, its lead's id and whether it was created."""

    facts: dict
    submission: dict
    message: str = ""
    lead_id: int | None = None
    created: bool = False


@transaction.atomic(savepoint=False)  # in the caller's transaction: one bad lead rolls the whole batch back
def leads_arrive(*, channel: Channel, batch: list[BatchArrival], among: QuerySet[Lead] | str | None = None) -> None:
    """Many leads arriving at once (an integration syncing a backlog), through the pipeline in one pass: one lock
    statement, one duplicate query, one insert, one routing pass and one clock timing for the whole batch, so a
    batch of 100 costs about the statements of one lead.

    Each arrival is created, or, when a lead has its email or phone (a stored lead, or an earlier one of the same
    batch), recorded on that lead as a repeat form submission, exactly as `lead_arrive` does for one. Raises a
    ValidationError naming `<index>.<field>` for the first lead the model's rules refuse; nothing is stored then.
    """
    if len(batch) > BATCH_MAX_LEADS:
        raise ValidationError({"leads": [f"At most {BATCH_MAX_LEADS} leads per call."]})
    arrivals = [Arriving(facts={**item.facts, "channel": channel, "owner": None, "stage": Stage.NEW}) for item in batch]
    arrivals_match(arrivals, among=among)
    now = clock.now()
    for index, arriving in enumerate(arrivals):
        if not arriving.is_new:
            continue
        lead = Lead(**{name: value for name, value in arriving.facts.items() if name != "owner"}, created_at=now)
        try:
            lead.full_clean(exclude=["search_text", "owner", "channel"], validate_constraints=False)
        except ValidationError as error:
            raise ValidationError(
                {f"{index}.{field}": messages for field, messages in error.message_dict.items()}
            ) from None
    new = [arriving for arriving in arrivals if arriving.is_new]
    arrivals_store(new, user=None, now=now, batch=True, label=f"API batch via {channel.name}")
    repeats = []
    for item, arriving in zip(batch, arrivals, strict=True):
        if arriving.is_new:
            item.lead_id, item.created = arriving.lead_id, True
            continue
        item.lead_id = arriving.duplicate_of.pk if arriving.duplicate_of is not None else arriving.earlier.lead_id
        details = {k: v for k, v in item.submission.items() if v not in ("", None, {})}
        repeats.append(
            Interaction(
                lead_id=item.lead_id,
                kind=Interaction.Kind.FORM_SUBMISSION,
                direction=Interaction.Direction.INBOUND,
                subject=f"Submitted again via {channel.name}",
                body=item.message,
                details={**details, "repeat": True},
            )
        )
    # The repeat submissions, set-based: a batch of 100 known leads costs a few statements, not 300.
    interactions_record(interactions=repeats)


@transaction.atomic(savepoint=False)
def event_record(
    *,
    lead: Lead,
    kind: str,
    occurred_at: dt.datetime | None = None,
    subject: str = "",
    details: dict | None = None,
    event_key: str = "",
) -> tuple[Interaction, bool]:
    """A behavioural event (visit, download, email open…) on a lead; scoring hears of it on commit.

    Returns (interaction, created). With an `event_key` the event is recorded once per lead: a redelivery finds
    the first one (the lead's row lock orders two deliveries; the unique index is the backstop) and changes
    nothing.
    """
    if kind not in EVENT_DIRECTIONS:
        raise ValueError(f"Not a behavioural event kind: {kind}")
    locked = None
    if event_key:
        # The lead's lock orders two deliveries of one event; `interaction_log` uses it rather than locking again.
        locked = Lead.objects.select_for_update().get(pk=lead.pk)
        earlier = Interaction.objects.filter(lead=lead, event_key=event_key).first()
        if earlier is not None:
            return earlier, False
    interaction = interaction_log(
        lead=lead,
        user=None,
        kind=kind,
        direction=EVENT_DIRECTIONS[kind],
        occurred_at=occurred_at,
        subject=subject,
        details=details or {},
        event_key=event_key,
        locked=locked,
    )
    return interaction, True


# --- Idempotent API calls ------------------------------------------------------------------------------------


class IdempotencyMismatch(Exception):
    """The key was used before with another request."""


class _KeyTaken(Exception):
    """This request's key was stored by another request first (raised to roll this request's work back)."""


def idempotent(
    *, token: ApiToken, key: str | None, request_hash: str, produce: Callable[[Batch], tuple[int, dict]]
) -> tuple[int, dict, bool]:
    """Run `produce` once per (token, key), in one transaction with the key: returns (status, body, replayed).

    The request is done first, then its answer stored under the key (INSERT ... ON CONFLICT DO NOTHING) in the
    same transaction. Of two requests with one key the unique index decides: the second's insert waits for the
    first to commit, finds the key taken, and rolls its own work back; the first's stored answer is replayed (or
    422 if the key came with another request). If `produce` fails, nothing is stored, so a corrected retry may
    use the same key. One statement for the key on the way that matters, a new request.

    `produce(pending)` may leave statements that need no answer queued in `pending` (a `crm.db.Batch`: a new
    lead's own): they reach PostgreSQL with the key's insert, in one round trip.
    """
    pending = Batch()
    if not key:
        with transaction.atomic():
            status, body = produce(pending)
            pending.run()
        return status, body, False
    table = connection.ops.quote_name(IdempotencyKey._meta.db_table)

    def stored(rows: list) -> None:
        if not rows:
            raise _KeyTaken

    try:
        with transaction.atomic():
            status, body = produce(pending)
            pending.add(
                f"INSERT INTO {table} (token_id, key, request_hash, status_code, response, created_at) "
                "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (token_id, key) DO NOTHING RETURNING id",
                [token.pk, key, request_hash, status, Jsonb(body), clock.now()],
                then=stored,
            )
            pending.run()
    except _KeyTaken:
        record = IdempotencyKey.objects.get(token=token, key=key)
        if record.request_hash != request_hash:
            raise IdempotencyMismatch from None
        return record.status_code, record.response, True
    return status, body, False


def idempotency_keys_purge(*, now: dt.datetime | None = None) -> int:
    """Forget keys older than API_IDEMPOTENCY_HOURS: one indexed DELETE (run hourly by Celery beat)."""
    cutoff = (now or clock.now()) - dt.timedelta(hours=settings.API_IDEMPOTENCY_HOURS)
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def client_ip(request) -> str:
    """The visitor's address; behind a proxy (WEBFORM_TRUST_X_FORWARDED_FOR) the one the proxy appended. The rule
    lives in `crm.addresses`, which the login throttling reads too."""
    return addresses.client_ip(request) or "unknown"
