"""Writes to leads, interactions, tasks and stages. Every view, task, command and API call goes through here."""

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from functools import partial

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from crm import access, clock
from crm.db import Batch
from crm.models import User
from leads.edits import EditConflict, history_bulk_reassign, history_record, same, stored
from leads.facts import EDITABLE_FIELDS
from leads.followups.services import tasks_follow_owner
from leads.intake.pipeline import Arriving, arrivals_match, arrivals_store
from leads.models import (
    OPEN_STAGES,
    FollowUpTask,
    Interaction,
    Lead,
    LeadHistory,
    LostReason,
    ResponseClock,
    Stage,
    StageChange,
)
from leads.normalize import normalize_email, normalize_phone
from leads.routing.services import pool_claim_check, pool_claim_record
from leads.signals import interaction_logged, interactions_bulk_logged, lead_changed
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
    """Create a lead. A rep's new lead is theirs; managers and admins pick an owner or leave it in the pool.

    Created even when a lead with its email or phone exists (the form warned, and the person chose to): the
    way in that returns the existing lead instead is `lead_create_or_match`.
    """
    lead, _ = lead_create_or_match(user=user, owner=owner, stage=stage, match_duplicates=False, **facts)
    return lead


@transaction.atomic(savepoint=False)  # in the caller's transaction if any: a failure rolls the caller back
def lead_create_or_match(
    *,
    user: User | None,
    owner: User | None = None,
    stage: str = Stage.NEW,
    match_duplicates: bool = True,
    among: QuerySet[Lead] | str | None = None,
    pending: Batch | None = None,
    **facts,
) -> tuple[Lead, bool]:
    """One lead through the arrival pipeline (`leads.intake.pipeline`): (the new lead, True), or, when
    `match_duplicates` and a lead has its email or phone, (that canonical lead, False) with nothing written.
    `among` limits the match to the leads the sender may see (an API token's channel). `pending`: see
    `arrivals_store` (the new lead's last statements are left queued in it)."""
    unknown = set(facts) - set(EDITABLE_FIELDS) - {"created_at"}
    if unknown:
        raise TypeError(f"Unknown lead fields: {', '.join(sorted(unknown))}")
    if user is not None:
        if not access.can_reassign_leads(user):
            owner = user
        else:
            _check_owner(user=user, owner=owner)
    arriving = Arriving(facts={**facts, "owner": owner, "stage": stage})
    arrivals_match([arriving], among=among)
    if match_duplicates and arriving.duplicate_of is not None:
        return Lead.objects.get(pk=arriving.duplicate_of.pk), False
    now = clock.now()
    lead = Lead(**{name: value for name, value in arriving.facts.items() if name != "owner"})
    lead.created_at = facts.get("created_at") or now
    # Checked here: every field's own rules. Left to what already holds: a channel given as a stored row exists,
    # and a lead created at New meets every stage rule of `Lead.Meta.constraints` (those are checked, one query
    # each, for a lead created at a later stage; the database enforces them all in any case).
    exclude = ["search_text", "owner"]
    if getattr(facts.get("channel"), "pk", None) is not None:
        exclude.append("channel")
    lead.full_clean(exclude=exclude, validate_constraints=stage != Stage.NEW)
    arriving.facts["created_at"] = lead.created_at
    (record,) = arrivals_store([arriving], user=user, now=now, pending=pending)
    # The instance the caller gets is the row as stored, without reading it back.
    lead.pk = record.pk
    lead.owner_id, lead.team_id, lead.assigned_at = record.owner_id, record.team_id, record.assigned_at
    lead.last_activity_at, lead.stage_changed_at, lead.updated_at = (
        record.last_activity_at,
        record.stage_changed_at,
        record.updated_at,
    )
    lead._state.adding, lead._state.db = False, "default"
    lead.__dict__.pop("search_text", None)  # generated by the database: read on first use
    return lead, True


def _start_response_clock(lead: Lead) -> None:
    """(Re)time the lead's response clock; the instance the caller holds reads the new clock next time."""
    response_clocks_recompute(lead_ids=[lead.pk])
    if Lead.response_clock.related.is_cached(lead):
        Lead.response_clock.related.delete_cached_value(lead)


@transaction.atomic
def lead_update(
    *,
    lead: Lead,
    user: User,
    data: dict,
    rendered: dict | None = None,
    version: dt.datetime | None = None,
) -> Lead:
    """Change a lead's facts (only the fields in EDITABLE_FIELDS), under the lead's row lock, writing only the
    fields this person changed, so that nobody's concurrent change is reverted.

    `rendered`: the values the form showed. A field is this person's change when its value differs from the one
    shown; the other fields keep what is stored now (someone else's newer value included). A field this person
    changed that someone else also changed since, to another value, is a conflict: `EditConflict`, nothing written.
    Without `rendered` every given field that differs from the stored one is written, unless `version` (the lead's
    `updated_at` when it was read) says the lead changed since: then those fields are conflicts.
    Derived fields (owner, stage, response clock, first response, last activity, score) have their own services
    and are never written here.
    """
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"Not editable here: {', '.join(sorted(unknown))}")
    locked = Lead.objects.select_for_update().get(pk=lead.pk)
    if rendered is None:
        changed = [name for name, value in data.items() if not same(value, stored(locked, name))]
        if changed and version is not None and locked.updated_at != version:
            raise EditConflict({name: (stored(locked, name), data[name]) for name in changed})
    else:
        mine = [name for name, value in data.items() if name not in rendered or not same(value, rendered[name])]
        conflicts = {
            name: (stored(locked, name), data[name])
            for name in mine
            if name in rendered
            and not same(stored(locked, name), rendered[name])
            and not same(stored(locked, name), data[name])
        }
        if conflicts:
            raise EditConflict(conflicts)
        changed = [name for name in mine if not same(data[name], stored(locked, name))]
    if not changed:
        return locked
    before = {name: stored(locked, name) for name in changed}
    for name in changed:
        setattr(locked, name, data[name])
    _normalize(locked)
    locked.full_clean(exclude=["search_text"])
    written = set(changed) | {"updated_at"}
    if "email" in written:
        written.add("email_normalized")
    if "phone" in written:
        written.add("phone_normalized")
    locked.save(update_fields=sorted(written))
    # The audit trail, in this transaction: each field this person changed, from what, to what.
    history_record(
        lead_id=locked.pk,
        user=user,
        kind=LeadHistory.Kind.EDIT,
        changes={name: (before[name], stored(locked, name)) for name in changed},
        at=locked.updated_at,
    )
    for name in written:
        setattr(lead, name, getattr(locked, name))
    if "channel" in changed:
        # Policies are chosen by channel (and grade): a running clock may now follow another target.
        _start_response_clock(locked)
        if Lead.response_clock.related.is_cached(lead):
            Lead.response_clock.related.delete_cached_value(lead)
    _send_on_commit(lead_changed, lead_id=lead.pk, fields=changed)
    return locked


@transaction.atomic
def lead_assign(*, lead: Lead, owner: User | None, user: User, tasks_follow: bool = True) -> Lead:
    """Give a lead to an owner, or put it back in the pool (owner None).

    `tasks_follow` (the default): the lead's open follow-ups that were the previous owner's go to the new owner
    (a lead put in the pool leaves them with their assignee, since nobody would do them). Otherwise they stay
    with their assignee. The change and the moved follow-ups are on the lead's history.
    """
    _check_owner(user=user, owner=owner)
    # Under the row lock, writing only the owner's fields: an edit, a logged call or a stage move at the same
    # moment keeps its own fields, and this owner is not reverted by them.
    locked = Lead.objects.select_for_update().get(pk=lead.pk)
    previous = locked.owner_id
    if previous == (owner.pk if owner else None):
        return lead
    now = clock.now()
    assigned_at = now if owner else None
    for target in (locked, lead):
        target.owner = owner
        target.team_id = owner.team_id if owner else None
        target.assigned_at = assigned_at
    locked.save(update_fields=["owner", "team", "assigned_at", "updated_at"])
    lead.updated_at = locked.updated_at
    moved = 0
    if tasks_follow and owner is not None and previous is not None:
        moved = tasks_follow_owner(lead_ids=[locked.pk], from_owner_ids={locked.pk: previous}, owner=owner)
    changes = {"owner": (previous, owner)}
    if moved:
        changes["tasks"] = (None, f"{moved} open follow-up{'s' if moved != 1 else ''} moved to the new owner")
    history_record(lead_id=locked.pk, user=user, kind=LeadHistory.Kind.ASSIGN, changes=changes, at=now)
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
        history_record(
            lead_id=lead.pk,
            user=user,
            kind=LeadHistory.Kind.ASSIGN,
            changes={"owner": (None, user)},
            at=now,
            note="Claimed from the pool",
        )
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
    event_key: str = "",
    locked: Lead | None = None,
) -> Interaction:
    """Record an interaction and keep the lead's clocks right.

    The first outbound interaction by a person *recorded* is the lead's first response, at the moment it was
    recorded: `occurred_at` may be back-dated (the timeline shows it), but a call logged after the deadline with
    an earlier "occurred at" neither shortens the response time nor turns a breach into "within target". Nothing
    happens to a lead before it exists: an earlier `occurred_at` is refused (ValidationError on "occurred_at").
    A response to a New lead makes it Contacted. The lead's row is locked first, before the interaction's insert
    takes its key-share lock, so the first response, stage and clock are read and written by one writer at a time.
    `locked`: the lead's row as the caller read it under its lock in this transaction (then it is not locked again).
    """
    if locked is None:
        locked = Lead.objects.select_for_update().get(pk=lead.pk)
    now = clock.now()
    interaction_check_time(lead=locked, occurred_at=occurred_at or now)
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
        event_key=event_key,
    )
    interaction.full_clean(exclude=["lead", "user"])
    interaction.save()

    fields = ["updated_at"]
    if interaction.occurred_at > locked.last_activity_at:
        locked.last_activity_at = interaction.occurred_at
        fields.append("last_activity_at")
    if interaction.is_response and locked.first_response_at is None:
        locked.first_response_at = interaction.created_at
        locked.response_seconds = max(0, int((interaction.created_at - locked.created_at).total_seconds()))
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


def interactions_record(*, interactions: list[Interaction]) -> list[Interaction]:
    """Record many interactions that are not responses (a lead's own submissions, events), set-based: their leads
    locked in one statement (in id order, so two callers never deadlock), the interactions inserted in one, the
    leads' last activity moved in one, and one `interactions_bulk_logged` on commit. What `interaction_log` does
    for one, less what only a response does (first response, stage, clock). Each interaction's `lead_id` is set;
    `created_at` and a missing `occurred_at` are now. Raises ValidationError as `interaction_log` does."""
    if not interactions:
        return interactions
    if any(interaction.is_response for interaction in interactions):
        raise ValueError("interactions_record records no responses: use interaction_log")
    now = clock.now()
    lead_ids = sorted({interaction.lead_id for interaction in interactions})
    created = dict(
        Lead.objects.select_for_update().filter(pk__in=lead_ids).order_by("pk").values_list("pk", "created_at")
    )
    latest: dict[int, dt.datetime] = {}
    for interaction in interactions:
        interaction.occurred_at = interaction.occurred_at or now
        interaction.created_at = now
        interaction_check_time(lead=Lead(created_at=created[interaction.lead_id]), occurred_at=interaction.occurred_at)
        # The table's constraints concern responses and calls (none here); the database holds them anyway.
        interaction.full_clean(exclude=["lead", "user"], validate_constraints=False)
        latest[interaction.lead_id] = max(
            interaction.occurred_at, latest.get(interaction.lead_id, interaction.occurred_at)
        )
    Interaction.objects.bulk_create(interactions)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {connection.ops.quote_name(Lead._meta.db_table)} AS lead SET updated_at = %s, "
            "last_activity_at = GREATEST(lead.last_activity_at, v.at) "
            "FROM unnest(%s::bigint[], %s::timestamptz[]) AS v (id, at) WHERE lead.id = v.id",
            [now, list(latest), list(latest.values())],
        )
    _send_on_commit(interactions_bulk_logged, lead_ids=lead_ids)
    return interactions


def interaction_check_time(*, lead: Lead, occurred_at: dt.datetime) -> None:
    """Nothing happens to a lead before it exists (before its arrival, `created_at`)."""
    if occurred_at < lead.created_at:
        when = timezone.localtime(lead.created_at)
        raise ValidationError(
            {"occurred_at": f"This lead was created on {when:%d %b %Y at %H:%M}: nothing can have happened before."}
        )


# Fields of an interaction a person may correct after logging it.
INTERACTION_EDITABLE_FIELDS = ("kind", "direction", "outcome", "occurred_at", "subject", "body")


@transaction.atomic
def interaction_update(*, interaction: Interaction, user: User, data: dict) -> Interaction:
    """Correct a logged interaction (its author or the lead's editors), keeping the lead's clocks right.

    Changing the kind or direction may change which interaction is the first response (the first recorded; an
    interaction that becomes a response counts as recorded now), so the lead's first response, response time, last
    activity and response clock are recomputed from its interactions. Its time stays after the lead's arrival.
    """
    access.ensure(access.can_edit_interaction, user, interaction)
    _lead_lock(interaction.lead_id)
    unknown = set(data) - set(INTERACTION_EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"Not editable here: {', '.join(sorted(unknown))}")
    was_response = interaction.is_response
    for name, value in data.items():
        setattr(interaction, name, value)
    if interaction.kind != Interaction.Kind.CALL:
        interaction.outcome = ""
    if "occurred_at" in data:
        interaction_check_time(lead=Lead.objects.get(pk=interaction.lead_id), occurred_at=interaction.occurred_at)
    if interaction.is_response and not was_response:
        # A note edited into a call is a response recorded now, not when the note was written.
        interaction.created_at = clock.now()
    interaction.full_clean(exclude=["lead", "user"])
    interaction.save()
    _interactions_changed(lead_id=interaction.lead_id, user=user)
    return interaction


@transaction.atomic
def interaction_delete(*, interaction: Interaction, user: User) -> None:
    """Delete a logged interaction (its author or the lead's editors); the lead's clocks follow."""
    access.ensure(access.can_edit_interaction, user, interaction)
    lead_id = interaction.lead_id
    _lead_lock(lead_id)
    interaction.delete()
    _interactions_changed(lead_id=lead_id, user=user)


def _lead_lock(lead_id: int) -> None:
    """Lock the lead's row until the transaction ends: its derived fields are recomputed by one writer at a time."""
    list(Lead.objects.select_for_update().filter(pk=lead_id).values_list("pk", flat=True))


def _interactions_changed(*, lead_id: int, user: User) -> None:
    _lead_lock(lead_id)
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
    FollowUpTask.objects.filter(pk=task.pk, done_at__isnull=True).update(
        done_at=clock.now(), reminder_next_at=None, version=F("version") + 1
    )
    task.refresh_from_db(fields=["done_at", "due_at", "title", "version", "assignee"])
    return task


@transaction.atomic
def task_reopen(*, task: FollowUpTask, user: User) -> FollowUpTask:
    FollowUpTask.objects.filter(pk=task.pk, done_at__isnull=False).update(done_at=None, version=F("version") + 1)
    # Reminders it is still early enough for come back; one already sent is never sent again.
    task_reminders_schedule(task_ids=[task.pk])
    task.refresh_from_db(fields=["done_at", "due_at", "title", "version", "assignee"])
    return task


@transaction.atomic
def leads_bulk_reassign(*, user: User, lead_ids: Iterable[int], owner: User | None, tasks_follow: bool = True) -> int:
    """Give many leads to one owner (or the pool) in one statement. Only managers and admins may.

    As `lead_assign`: open follow-ups go with the leads unless `tasks_follow` is False, and the history gets one
    row per lead whose owner changed, all in one INSERT ... SELECT, whatever the number of leads.
    """
    access.ensure(access.can_bulk_edit_leads, user)
    _check_owner(user=user, owner=owner)
    # Locked in key order (as every bulk write here), so two bulk writes over the same leads take turns rather
    # than deadlock; an edit of one of them waits, and writes only its own fields after.
    locked = access.leads_visible_to(user).filter(pk__in=list(lead_ids)).order_by("pk").select_for_update().values("pk")
    ids = list(locked.values_list("pk", flat=True))
    if not ids:
        return 0
    now = clock.now()
    new_owner = owner.pk if owner else None
    # Before the UPDATE, read by the INSERT itself: the previous owner of each lead that changes hands.
    history_bulk_reassign(lead_ids=ids, owner_id=new_owner, user=user, at=now)
    if tasks_follow and owner is not None:
        # The previous owners' open follow-ups go with the leads: one UPDATE joining the leads as they are now.
        FollowUpTask.objects.filter(lead_id__in=ids, done_at__isnull=True, assignee_id=F("lead__owner_id")).exclude(
            assignee=owner
        ).update(assignee=owner, version=F("version") + 1)
    return Lead.objects.filter(pk__in=ids).update(
        owner=owner,
        team_id=owner.team_id if owner else None,
        assigned_at=now if owner else None,
        updated_at=now,
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
        .order_by("pk")
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


@transaction.atomic
def tasks_create_for_owners(
    *, lead_ids: Iterable[int], title: str, due_at: dt.datetime, created_by: User | None = None
) -> int:
    """A follow-up task for each lead's owner (leads in the pool get none), in one statement: work another app
    hands to the owners (an event's attendees to call back). Returns how many tasks were created."""
    owned = Lead.objects.filter(pk__in=list(lead_ids), owner__isnull=False).values_list("pk", "owner_id")
    tasks = FollowUpTask.objects.bulk_create(
        FollowUpTask(lead_id=pk, assignee_id=owner_id, title=title.strip()[:200], due_at=due_at, created_by=created_by)
        for pk, owner_id in owned
    )
    task_reminders_schedule(task_ids=[task.pk for task in tasks])
    return len(tasks)
