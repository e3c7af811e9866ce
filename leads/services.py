"""Writes to leads, interactions, tasks and stages. Every view, task, command and API call goes through here."""

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from functools import partial

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from crm import access, clock
from crm.models import User
from leads.facts import EDITABLE_FIELDS
from leads.models import (
    OPEN_STAGES,
    FollowUpTask,
    Interaction,
    Lead,
    LostReason,
    ResponseClock,
    Stage,
    StageChange,
)
from leads.normalize import normalize_email, normalize_phone
from leads.routing.services import lead_route, pool_claim_check, pool_claim_record
from leads.signals import interaction_logged, lead_changed
from leads.sla.services import leads_response_recompute, response_clocks_recompute, task_reminders_schedule


def _send_on_commit(signal, **kwargs) -> None:
    transaction.on_commit(partial(signal.send, sender=Lead, **kwargs))


def _normalize(lead: Lead) -> None:
    lead.email = (lead.email or "").strip()
    lead.email_normalized = normalize_email(lead.email)
    lead.phone = (lead.phone or "").strip()
    lead.phone_normalized = normalize_phone(lead.phone)
    lead.country = (lead.country or "").strip().upper()


def _check_owner(*, user: User, owner: User | None) -> None:
    if owner is not None and not access.users_assignable_by(user).filter(pk=owner.pk).exists():
        raise PermissionDenied("You cannot assign leads to that user.")


@transaction.atomic
def lead_create(*, user: User | None, owner: User | None = None, stage: str = Stage.NEW, **facts) -> Lead:
    """Create a lead. A rep's new lead is theirs; managers and admins pick an owner or leave it in the pool."""
    unknown = set(facts) - set(EDITABLE_FIELDS) - {"created_at"}
    if unknown:
        raise TypeError(f"Unknown lead fields: {', '.join(sorted(unknown))}")
    if user is not None:
        if not access.can_reassign_leads(user):
            owner = user
        else:
            _check_owner(user=user, owner=owner)
    now = clock.now()
    lead = Lead(**facts)
    lead.created_at = facts.get("created_at") or now
    lead.last_activity_at = lead.created_at
    lead.stage_changed_at = lead.created_at
    lead.stage = stage
    if owner is not None:
        lead.owner, lead.team_id, lead.assigned_at = owner, owner.team_id, now
    _normalize(lead)
    lead.full_clean(exclude=["search_text"])
    lead.save()
    StageChange.objects.create(lead=lead, from_stage="", to_stage=stage, changed_at=lead.created_at, user=user)
    if owner is None:
        # Nobody chose an owner (intake, or a manager leaving it blank): the assignment rules route it.
        lead_route(lead)
    _start_response_clock(lead)
    _send_on_commit(lead_changed, lead_id=lead.pk, fields=["created"])
    return lead


def _start_response_clock(lead: Lead) -> None:
    """(Re)time the lead's response clock; the instance the caller holds reads the new clock next time."""
    response_clocks_recompute(lead_ids=[lead.pk])
    if Lead.response_clock.related.is_cached(lead):
        Lead.response_clock.related.delete_cached_value(lead)


@transaction.atomic
def lead_update(*, lead: Lead, user: User, data: dict) -> Lead:
    """Change a lead's facts; only the fields in EDITABLE_FIELDS may be given."""
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"Not editable here: {', '.join(sorted(unknown))}")
    changed = [name for name, value in data.items() if getattr(lead, name) != value]
    for name in changed:
        setattr(lead, name, data[name])
    if not changed:
        return lead
    _normalize(lead)
    lead.full_clean(exclude=["search_text"])
    lead.save()
    if "channel" in changed:
        # Policies are chosen by channel (and grade): a running clock may now follow another target.
        _start_response_clock(lead)
    _send_on_commit(lead_changed, lead_id=lead.pk, fields=changed)
    return lead


@transaction.atomic
def lead_assign(*, lead: Lead, owner: User | None, user: User) -> Lead:
    """Give a lead to an owner, or put it back in the pool (owner None)."""
    _check_owner(user=user, owner=owner)
    lead.owner = owner
    lead.team_id = owner.team_id if owner else None
    lead.assigned_at = clock.now() if owner else None
    lead.save(update_fields=["owner", "team", "assigned_at", "updated_at"])
    _send_on_commit(lead_changed, lead_id=lead.pk, fields=["owner"])
    return lead


@transaction.atomic
def lead_claim(*, lead: Lead, user: User) -> bool:
    """Take a lead from the pool. Of two people claiming at once, exactly one gets it (a conditional UPDATE).

    Refused with `PoolLimitReached` when the user already holds their pool holding limit of claimed open leads.
    """
    pool_claim_check(user=user)
    now = clock.now()
    claimed = Lead.objects.filter(pk=lead.pk, owner__isnull=True).update(
        owner=user, team_id=user.team_id, assigned_at=now, updated_at=now
    )
    if claimed:
        pool_claim_record(lead_id=lead.pk, user=user, now=now)
        lead.owner, lead.team_id, lead.assigned_at = user, user.team_id, now
        _send_on_commit(lead_changed, lead_id=lead.pk, fields=["owner"])
    return claimed == 1


@transaction.atomic
def lead_change_stage(
    *,
    lead: Lead,
    user: User | None,
    stage: str,
    lost_reason: str = "",
    deal_value: Decimal | None = None,
    won_at: dt.datetime | None = None,
) -> Lead:
    """Move a lead to a stage. Won needs a deal value, Lost a reason; reopening clears both."""
    if stage not in Stage.values:
        raise ValidationError({"stage": f"Unknown stage “{stage}”."})
    errors = {}
    if stage == Stage.WON and deal_value is None:
        errors["deal_value"] = "A won lead needs its deal value."
    if deal_value is not None and deal_value < 0:
        errors["deal_value"] = "The deal value cannot be negative."
    if stage == Stage.LOST and lost_reason not in LostReason.values:
        errors["lost_reason"] = "Say why the lead was lost."
    if errors:
        raise ValidationError(errors)

    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    if lead.stage == stage:
        return lead
    now = clock.now()
    previous = lead.stage
    lead.stage = stage
    lead.stage_changed_at = now
    lead.lost_reason = lost_reason if stage == Stage.LOST else ""
    lead.deal_value = deal_value if stage == Stage.WON else None
    lead.won_at = (won_at or now) if stage == Stage.WON else None
    lead.save(update_fields=["stage", "stage_changed_at", "lost_reason", "deal_value", "won_at", "updated_at"])
    StageChange.objects.create(lead=lead, from_stage=previous, to_stage=stage, changed_at=now, user=user)
    if (previous in OPEN_STAGES) != (stage in OPEN_STAGES):
        # Closing stops the response clock; reopening an unanswered lead may restart it.
        _start_response_clock(lead)
    _send_on_commit(lead_changed, lead_id=lead.pk, fields=["stage"])
    return lead


@transaction.atomic
def interaction_log(
    *,
    lead: Lead,
    user: User | None,
    kind: str,
    direction: str = Interaction.Direction.OUTBOUND,
    occurred_at: dt.datetime | None = None,
    subject: str = "",
    body: str = "",
    outcome: str = "",
    details: dict | None = None,
) -> Interaction:
    """Record an interaction and keep the lead's clocks right.

    The first outbound interaction by a person is the lead's first response (an earlier one logged later
    moves it back). A response to a New lead makes it Contacted.
    """
    now = clock.now()
    interaction = Interaction(
        lead=lead,
        user=user,
        kind=kind,
        direction=direction,
        occurred_at=occurred_at or now,
        subject=subject,
        body=body,
        outcome=outcome if kind == Interaction.Kind.CALL else "",
        details=details or {},
        created_at=now,
    )
    interaction.full_clean(exclude=["lead", "user"])
    interaction.save()

    locked = Lead.objects.select_for_update().get(pk=lead.pk)
    fields = ["updated_at"]
    if interaction.occurred_at > locked.last_activity_at:
        locked.last_activity_at = interaction.occurred_at
        fields.append("last_activity_at")
    if interaction.is_response and (
        locked.first_response_at is None or interaction.occurred_at < locked.first_response_at
    ):
        locked.first_response_at = interaction.occurred_at
        locked.response_seconds = max(0, int((interaction.occurred_at - locked.created_at).total_seconds()))
        fields += ["first_response_at", "response_seconds"]
        # Answered: the clock stops, no reminder or escalation is left to send.
        ResponseClock.objects.filter(lead_id=lead.pk, next_at__isnull=False).update(next_at=None)
    locked.save(update_fields=fields)
    lead.last_activity_at, lead.first_response_at = locked.last_activity_at, locked.first_response_at
    lead.response_seconds = locked.response_seconds

    if interaction.is_response and locked.stage == Stage.NEW:
        changed = lead_change_stage(lead=locked, user=user, stage=Stage.CONTACTED)
        lead.stage, lead.stage_changed_at = changed.stage, changed.stage_changed_at
    _send_on_commit(interaction_logged, lead_id=lead.pk, interaction_id=interaction.pk)
    return interaction


# Fields of an interaction a person may correct after logging it.
INTERACTION_EDITABLE_FIELDS = ("kind", "direction", "outcome", "occurred_at", "subject", "body")


@transaction.atomic
def interaction_update(*, interaction: Interaction, user: User, data: dict) -> Interaction:
    """Correct a logged interaction (its author or the lead's editors), keeping the lead's clocks right.

    Changing the kind, direction or time may change which interaction is the first response, so the lead's
    first response, response time, last activity and response clock are recomputed from its interactions.
    """
    access.ensure(access.can_edit_interaction, user, interaction)
    unknown = set(data) - set(INTERACTION_EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"Not editable here: {', '.join(sorted(unknown))}")
    for name, value in data.items():
        setattr(interaction, name, value)
    if interaction.kind != Interaction.Kind.CALL:
        interaction.outcome = ""
    interaction.full_clean(exclude=["lead", "user"])
    interaction.save()
    _interactions_changed(lead_id=interaction.lead_id, user=user)
    return interaction


@transaction.atomic
def interaction_delete(*, interaction: Interaction, user: User) -> None:
    """Delete a logged interaction (its author or the lead's editors); the lead's clocks follow."""
    access.ensure(access.can_edit_interaction, user, interaction)
    lead_id = interaction.lead_id
    interaction.delete()
    _interactions_changed(lead_id=lead_id, user=user)


def _interactions_changed(*, lead_id: int, user: User) -> None:
    Lead.objects.select_for_update().filter(pk=lead_id).first()
    leads_response_recompute(lead_ids=[lead_id])
    lead = Lead.objects.get(pk=lead_id)
    # As when logging: a response to a New lead makes it Contacted. Removing a response does not move the
    # stage back; the stage history stays what people did.
    if lead.first_response_at is not None and lead.stage == Stage.NEW:
        lead_change_stage(lead=lead, user=user, stage=Stage.CONTACTED)
    _send_on_commit(lead_changed, lead_id=lead_id, fields=["interactions"])


@transaction.atomic
def task_create(
    *, lead: Lead, user: User, title: str, due_at: dt.datetime, assignee: User | None = None
) -> FollowUpTask:
    assignee = assignee or lead.owner or user
    if assignee != user:
        _check_owner(user=user, owner=assignee)
    task = FollowUpTask(lead=lead, assignee=assignee, title=title.strip(), due_at=due_at, created_by=user)
    task.full_clean(exclude=["lead", "assignee", "created_by"])
    task.save()
    task_reminders_schedule(task_ids=[task.pk])
    return task


def task_complete(*, task: FollowUpTask, user: User) -> FollowUpTask:
    """Mark a task done (idempotent: completing a done task keeps its first completion time)."""
    FollowUpTask.objects.filter(pk=task.pk, done_at__isnull=True).update(done_at=clock.now(), reminder_next_at=None)
    task.refresh_from_db(fields=["done_at"])
    return task


@transaction.atomic
def task_reopen(*, task: FollowUpTask, user: User) -> FollowUpTask:
    FollowUpTask.objects.filter(pk=task.pk).update(done_at=None)
    task.done_at = None
    # Reminders it is still early enough for come back; one already sent is never sent again.
    task_reminders_schedule(task_ids=[task.pk])
    return task


@transaction.atomic
def leads_bulk_reassign(*, user: User, lead_ids: Iterable[int], owner: User | None) -> int:
    """Give many leads to one owner (or the pool) in one statement. Only managers and admins may."""
    access.ensure(access.can_bulk_edit_leads, user)
    _check_owner(user=user, owner=owner)
    leads = access.leads_visible_to(user).filter(pk__in=list(lead_ids))
    return Lead.objects.filter(pk__in=leads.values("pk")).update(
        owner=owner,
        team_id=owner.team_id if owner else None,
        assigned_at=clock.now() if owner else None,
        updated_at=clock.now(),
    )


@transaction.atomic
def leads_bulk_change_stage(*, user: User, lead_ids: Iterable[int], stage: str, lost_reason: str = "") -> int:
    """Move many leads to an open stage or to Lost, recording each change. Won needs a value per lead."""
    access.ensure(access.can_bulk_edit_leads, user)
    if stage == Stage.WON:
        raise ValidationError({"stage": "Mark leads won one by one: each needs its deal value."})
    if stage not in Stage.values:
        raise ValidationError({"stage": f"Unknown stage “{stage}”."})
    if stage == Stage.LOST and lost_reason not in LostReason.values:
        raise ValidationError({"lost_reason": "Say why the leads were lost."})
    now = clock.now()
    moving = list(
        access.leads_visible_to(user)
        .filter(pk__in=list(lead_ids))
        .exclude(stage=stage)
        .select_for_update()
        .values_list("pk", "stage")
    )
    if not moving:
        return 0
    ids = [pk for pk, _ in moving]
    Lead.objects.filter(pk__in=ids).update(
        stage=stage,
        stage_changed_at=now,
        lost_reason=lost_reason if stage == Stage.LOST else "",
        deal_value=None,
        won_at=None,
        updated_at=now,
    )
    StageChange.objects.bulk_create(
        StageChange(lead_id=pk, from_stage=previous, to_stage=stage, changed_at=now, user=user)
        for pk, previous in moving
    )
    response_clocks_recompute(lead_ids=ids)
    for pk in ids:
        _send_on_commit(lead_changed, lead_id=pk, fields=["stage"])
    return len(ids)
