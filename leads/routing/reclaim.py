"""Reclaim: leads an owner neglects go back to the pool (or to another rep), after a warning.

The rules, in one place:

* A **reclaim rule** counts from an *anchor*: for "no outbound interaction" the lead's assignment
  (`assigned_at`, or its creation for leads that never had one); for "no stage change" the later of the
  assignment and the last stage change. A lead is **due** `days` after its anchor when, for "no outbound", no call,
  email, meeting or message by a person was logged since the anchor. Only owned open leads count: won and lost
  leads are never reclaimed.
* The owner is **warned** `warn_hours` before the lead is due (one `ReclaimWarning` per lead, rule and anchor,
  inserted ON CONFLICT DO NOTHING: a warning is sent once, whatever runs at the same time). A lead is only
  reclaimed `warn_hours` after its warning, so a new rule never takes a lead without telling its owner first.
  Logging an outbound interaction (or moving the stage) before then keeps it.
* The **sweep** (`reclaim_sweep`, Celery beat every 15 minutes) works rule by rule, set-based: one INSERT ...
  SELECT ... RETURNING for the warnings, one query for the due leads, then batches of them locked with FOR UPDATE
  SKIP LOCKED (and checked again), taken with one `UPDATE ... RETURNING`, recorded with one bulk insert (`ReclaimRecord`) and, for a re-routing rule, routed by
  the assignment rules in one pass (never back to the rep who lost it). Two sweeps at once never reclaim a lead
  twice: the second skips the rows the first holds, and finds them no longer due once it commits.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass
from functools import partial

from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce, Greatest
from django.urls import reverse
from django.utils import timezone

from crm import access, clock
from crm.models import Notification, User
from crm.services import Notice, notifications_send
from leads.models import (
    OPEN_STAGES,
    FollowUpTask,
    Interaction,
    Lead,
    LeadHistory,
    ReclaimRecord,
    ReclaimRule,
    ReclaimWarning,
)
from leads.routing import services as routing

logger = logging.getLogger(__name__)

# Leads a sweep locks and takes per transaction; warnings inserted per statement.
RECLAIM_BATCH_SIZE = 5_000
# A sweep takes at most this many leads per rule; the next sweep carries on.
RECLAIM_MAX_LEADS_PER_RULE = 250_000


@transaction.atomic
def reclaim_rule_save(*, user: User, rule: ReclaimRule) -> ReclaimRule:
    access.ensure(access.can_configure_routing, user)
    rule.full_clean()
    rule.save()
    return rule


@transaction.atomic
def reclaim_rule_delete(*, user: User, rule: ReclaimRule) -> None:
    """Delete a rule; its reclaim records keep the rule's name."""
    access.ensure(access.can_configure_routing, user)
    rule.delete()


# --- Selection --------------------------------------------------------------------------------------------------


def _owned_since(moment: dt.datetime) -> Q:
    """Owned open leads assigned at or before `moment` (leads without an assignment time count from creation).

    Written without COALESCE so that the partial index `lead_reclaim_idx` serves it."""
    return Q(owner__isnull=False, stage__in=OPEN_STAGES) & (
        Q(assigned_at__lte=moment) | Q(assigned_at__isnull=True, created_at__lte=moment)
    )


def rule_anchor(rule: ReclaimRule):
    """The moment the rule counts from, as an SQL expression over the lead."""
    assigned = Coalesce("assigned_at", "created_at")
    if rule.kind == ReclaimRule.Kind.NO_PROGRESS:
        return Greatest(assigned, "stage_changed_at")
    return assigned


def leads_past(rule: ReclaimRule, moment: dt.datetime) -> QuerySet[Lead]:
    """Owned open leads whose anchor is at or before `moment` and that the rule still finds neglected."""
    leads = Lead.objects.filter(_owned_since(moment)).annotate(anchor=rule_anchor(rule))
    if rule.kind == ReclaimRule.Kind.NO_PROGRESS:
        return leads.filter(stage_changed_at__lte=moment)
    # The lead's first response (kept by leads.services) settles most leads without reading interactions: one at
    # or after the anchor means someone followed up. Only the rest are checked against the interactions.
    leads = leads.filter(Q(first_response_at__isnull=True) | Q(first_response_at__lt=F("anchor")))
    answered = Interaction.objects.filter(
        lead=OuterRef("pk"),
        direction=Interaction.Direction.OUTBOUND,
        user__isnull=False,
        kind__in=Interaction.PERSONAL_KINDS,
        occurred_at__gte=OuterRef("anchor"),
    )
    return leads.filter(~Exists(answered))


def leads_to_warn(rule: ReclaimRule, now: dt.datetime) -> QuerySet[Lead]:
    """Leads within `warn_hours` of being due (or past it) whose owner has not been warned for this anchor."""
    warned = ReclaimWarning.objects.filter(lead=OuterRef("pk"), rule=rule, anchor_at=OuterRef("anchor"))
    moment = now - dt.timedelta(days=rule.days) + dt.timedelta(hours=rule.warn_hours)
    return leads_past(rule, moment).filter(~Exists(warned))


def leads_due(rule: ReclaimRule, now: dt.datetime) -> QuerySet[Lead]:
    """Leads past the rule's deadline whose owner was warned at least `warn_hours` ago (or that need no warning)."""
    leads = leads_past(rule, now - dt.timedelta(days=rule.days))
    if rule.warn_hours:
        warned = ReclaimWarning.objects.filter(
            lead=OuterRef("pk"),
            rule=rule,
            anchor_at=OuterRef("anchor"),
            warned_at__lte=now - dt.timedelta(hours=rule.warn_hours),
        )
        leads = leads.filter(Exists(warned))
    return leads


@dataclass(frozen=True)
class ReclaimPreview:
    """What switching a rule on would do now: how many leads it would warn at its first sweep and take
    `warn_hours` later (or take at once, without a warning) if nobody acts, counted no further than `cap`."""

    leads: int
    capped: bool

    @property
    def label(self) -> str:
        return f"{self.leads:,}+" if self.capped else f"{self.leads:,}"


RECLAIM_PREVIEW_CAP = 10_000


def reclaim_rule_preview(rule: ReclaimRule, *, now: dt.datetime | None = None) -> ReclaimPreview:
    """A dry run of `rule` (saved or not, on or off): the owned open leads it would take if switched on now.

    The same selection as the sweep (`leads_past`), at the end of the warning that the first sweep would send, so
    the admin sees the figure before two rules take 271 leads at once; leads other active rules take first are
    counted too (a lead is counted by every rule that would take it)."""
    now = now or clock.now()
    moment = now - dt.timedelta(days=rule.days) + dt.timedelta(hours=rule.warn_hours or 0)
    found = leads_past(rule, moment).order_by()[: RECLAIM_PREVIEW_CAP + 1].count()
    return ReclaimPreview(leads=min(found, RECLAIM_PREVIEW_CAP), capped=found > RECLAIM_PREVIEW_CAP)


# --- The sweep --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReclaimSweepResult:
    warned: int
    reclaimed: int
    rerouted: int


def reclaim_sweep(*, now: dt.datetime | None = None) -> ReclaimSweepResult:
    """What Celery beat runs every 15 minutes: warnings, then reclaims, for every active rule."""
    now = now or clock.now()
    warned = reclaimed = rerouted = 0
    for rule in ReclaimRule.objects.filter(active=True).order_by("days", "pk"):
        if rule.warn_hours:
            warned += _warn(rule, now)
        # One query finds every due lead of the rule; each batch then locks its share and checks it again.
        due = list(leads_due(rule, now).order_by("pk").values_list("pk", flat=True)[:RECLAIM_MAX_LEADS_PER_RULE])
        for start in range(0, len(due), RECLAIM_BATCH_SIZE):
            taken, moved = _reclaim_batch(rule, now, due[start : start + RECLAIM_BATCH_SIZE])
            reclaimed, rerouted = reclaimed + taken, rerouted + moved
    result = ReclaimSweepResult(warned=warned, reclaimed=reclaimed, rerouted=rerouted)
    if warned or reclaimed:
        logger.info("Reclaim sweep: %s", result)
    return result


def _lead_url(lead_id: int) -> str:
    return reverse("leads:detail", args=[lead_id])


@transaction.atomic
def _warn(rule: ReclaimRule, now: dt.datetime) -> int:
    """Record a warning for every lead entering the rule's warning window (one INSERT ... SELECT ... ON CONFLICT
    DO NOTHING RETURNING), and tell the owners of the ones this call inserted."""
    selection = leads_to_warn(rule, now).values_list("pk", "owner_id", "anchor")
    select_sql, params = selection.query.sql_with_params()
    table = connection.ops.quote_name(ReclaimWarning._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (lead_id, owner_id, anchor_at, rule_id, warned_at) "
            f"SELECT due.*, %s, %s FROM ({select_sql}) AS due "
            "ON CONFLICT (lead_id, rule_id, anchor_at) DO NOTHING RETURNING id, lead_id, owner_id, anchor_at",
            [rule.pk, connection.ops.adapt_datetimefield_value(now), *params],
        )
        inserted = cursor.fetchall()
    if not inserted:
        return 0
    names = dict(Lead.objects.filter(pk__in=[row[1] for row in inserted]).values_list("pk", "name"))
    what = (
        "unless you log a call, email, meeting or message"
        if rule.kind == ReclaimRule.Kind.NO_OUTBOUND
        else "unless it moves to another stage"
    )
    notices = []
    for warning_id, lead_id, owner_id, anchor in inserted:
        when = max(anchor + dt.timedelta(days=rule.days), now + dt.timedelta(hours=rule.warn_hours))
        local = timezone.localtime(when)
        text = f"{names.get(lead_id, 'A lead')} goes back to the pool on {local:%d %b at %H:%M} {what} ({rule.name})."
        notices.append(Notice(owner_id, f"reclaim-warning:{warning_id}", text, _lead_url(lead_id)))
    notifications_send(notices=notices)
    return len(inserted)


@transaction.atomic
def _reclaim_batch(rule: ReclaimRule, now: dt.datetime, lead_ids: list[int]) -> tuple[int, int]:
    """Take these due leads from their owners: lock the ones still due (a concurrent sweep's are skipped, and
    found no longer due once it commits), UPDATE ... RETURNING, record, re-route."""
    rows = list(
        leads_due(rule, now)
        .filter(pk__in=lead_ids)
        .order_by()
        .select_for_update(skip_locked=True, of=("self",), no_key=True)
        .values_list("pk", "owner_id")
    )
    if not rows:
        return 0, 0
    owner_of = dict(rows)
    table = connection.ops.quote_name(Lead._meta.db_table)
    placeholders = ", ".join(["%s"] * len(rows))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET owner_id = NULL, assigned_at = NULL, updated_at = %s "
            f"WHERE id IN ({placeholders}) AND owner_id IS NOT NULL RETURNING id",
            [connection.ops.adapt_datetimefield_value(now), *owner_of],
        )
        taken = sorted(row[0] for row in cursor.fetchall())
    if not taken:
        return 0, 0
    to_user = {}
    batch = uuid.uuid4().hex[:12]
    if rule.action == ReclaimRule.Action.REROUTE:
        result = routing.route(
            lead_ids=taken, avoid={pk: owner_of[pk] for pk in taken}, notify="batch", label=f"reclaimed: {rule.name}"
        )
        to_user = result.assigned
    ReclaimRecord.objects.bulk_create(
        ReclaimRecord(
            lead_id=pk,
            from_user_id=owner_of[pk],
            to_user_id=to_user.get(pk),
            rule=rule,
            rule_name=rule.name,
            reclaimed_at=now,
            warned=bool(rule.warn_hours),
            batch=batch,
        )
        for pk in taken
    )
    _history_and_tasks(rule, now, taken, owner_of, to_user)
    _withdraw_warnings(taken, owner_of)
    notifications_send(notices=_reclaimed_notices(rule, taken, owner_of, to_user, batch))
    transaction.on_commit(partial(routing._send_owner_changed, [pk for pk in taken if pk not in to_user]))
    return len(taken), len(to_user)


def _history_and_tasks(
    rule: ReclaimRule, now: dt.datetime, taken: list[int], owner_of: dict[int, int], to_user: dict[int, int]
) -> None:
    """What a reassignment by hand also does, set-based: one history row per lead taken (from its owner to the rep
    it was re-routed to, or to the pool), in one INSERT; and the open follow-ups its owner had on a re-routed lead
    go to the new owner, in one UPDATE. A lead back in the pool leaves its follow-ups with their assignee, who can
    still work them."""
    LeadHistory.objects.bulk_create(
        LeadHistory(
            lead_id=pk,
            user=None,
            kind=LeadHistory.Kind.ASSIGN,
            field="owner",
            old_value=str(owner_of[pk]),
            new_value=str(to_user[pk]) if pk in to_user else None,
            note=f"Reclaimed by the rule “{rule.name}”"[:300],
            changed_at=now,
        )
        for pk in taken
    )
    moved = [pk for pk in taken if pk in to_user]
    if not moved:
        return
    tasks = connection.ops.quote_name(FollowUpTask._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {tasks} AS t SET assignee_id = v.new_owner, version = t.version + 1 "
            "FROM (SELECT unnest(%s::bigint[]) AS lead_id, unnest(%s::bigint[]) AS old_owner, "
            "unnest(%s::bigint[]) AS new_owner) AS v "
            "WHERE t.lead_id = v.lead_id AND t.assignee_id = v.old_owner AND t.done_at IS NULL",
            [moved, [owner_of[pk] for pk in moved], [to_user[pk] for pk in moved]],
        )


def _withdraw_warnings(taken: list[int], owner_of: dict) -> None:
    """The former owners' warnings about these leads, from every rule, leave their notices: a lead already taken
    must not still read "goes back to the pool on 08 Dec" (another rule's date) in the bell."""
    warnings = ReclaimWarning.objects.filter(lead_id__in=taken).values_list("pk", "owner_id")
    keys = defaultdict(list)
    for warning_id, owner_id in warnings:
        keys[owner_id].append(f"reclaim-warning:{warning_id}")
    for owner_id, owner_keys in keys.items():
        Notification.objects.filter(user_id=owner_id, key__in=owner_keys).delete()


def _reclaimed_notices(rule: ReclaimRule, taken: list[int], owner_of: dict, to_user: dict, batch: str) -> list[Notice]:
    """One notice per former owner for the batch: how many leads left them, and where they went; it opens the
    list of exactly those leads (the ones the owner may still see: those in the pool)."""
    token = batch
    by_owner = defaultdict(list)
    for pk in taken:
        by_owner[owner_of[pk]].append(pk)
    notices = []
    for owner_id, ids in by_owner.items():
        where = "were reassigned or returned to the pool" if to_user else "went back to the pool"
        if len(ids) == 1:
            name = Lead.objects.filter(pk=ids[0]).values_list("name", flat=True).first() or "A lead"
            text = f"{name} {where.replace('were', 'was')} ({rule.name}: {rule.description})."
            url = _lead_url(ids[0])
        else:
            text = f"{len(ids):,} of your leads {where} ({rule.name}: {rule.description})."
            url = f"{reverse('leads:list')}?reclaimed={batch}"
        notices.append(Notice(owner_id, f"reclaimed:{token}", text, url))
    return notices


def reclaim_history(*, lead: Lead, limit: int = 20) -> list[ReclaimRecord]:
    """The lead's reclaims, newest first (one query)."""
    return list(
        ReclaimRecord.objects.filter(lead=lead)
        .select_related("from_user", "to_user")
        .order_by("-reclaimed_at", "-id")[:limit]
    )
