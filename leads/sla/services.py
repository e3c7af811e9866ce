"""Speed to lead: response policies, response clocks, and the minute sweep that sends each notice exactly once.

Kept beside `leads/services.py` (which calls it when a lead arrives, changes or is answered) so neither module
grows past a screenful of concerns. The rules, in one place:

* A lead's **response clock** runs from its arrival (`created_at`) until the first outbound interaction by a
  person is *recorded* (`Interaction.created_at`, not the "occurred at" the person may back-date), while it is
  open. The policy that times it is chosen most specific first (`policy_match`); its
  deadline and reminder point are stored on the lead, counted in the policy's business hours if it has a
  calendar (`crm.business_hours`).
* Clocks are re-timed **set-based** (`response_clocks_recompute`) when a lead arrives, its grade or channel
  changes, it is reopened or loses its first response (in that transaction), and for every running clock
  when a policy or a calendar changes (a Celery task queued on commit). A clock whose deadline had already
  passed is history and is not re-timed.
* **No notice for a moment already past when the clock was set**: a clock (re)timed after its deadline sends
  nothing (the lead simply shows as breached); one timed after its reminder point but before its deadline
  reminds at the next sweep. The same holds for follow-up tasks.
* The **sweep** (`reminders_sweep`, every minute from Celery beat) selects what is due with one indexed range
  query (`ResponseClock.next_at <= now`, `FollowUpTask.reminder_next_at <= now`), in batches locked with SKIP LOCKED, and in the same
  transaction records each (lead or task, kind) in `SentNotice` (unique), stores the notifications for the
  records it won, and advances the rows. Two sweeps at once, or a rerun after a crash, cannot send twice; a
  crash rolls the batch back, so nothing is lost either.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import (
    Case,
    DateTimeField,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest
from django.db.models.signals import post_delete, post_save
from django.urls import reverse
from django.utils import timezone

from crm import access, clock, generations
from crm.business_hours import clock_for
from crm.db import Batch, ReboundQuery, SecondsBetween, any_of
from crm.models import BusinessCalendar, Holiday, User
from crm.queue import enqueue_on_commit
from crm.services import Notice, notifications_email_digest, notifications_send
from crm.templatetags.crm_tags import duration
from leads.models import (
    OPEN_STAGES,
    FollowUpTask,
    Interaction,
    Lead,
    ResponseClock,
    ResponsePolicy,
    SentNotice,
    policy_rank,
)
from leads.sla.selectors import policy_specificity

logger = logging.getLogger(__name__)

# Leads (or tasks) a sweep locks and handles per transaction: short transactions, bounded memory.
SWEEP_BATCH_SIZE = 1000
# A sweep stops after this many batches (500,000 rows); the next minute's sweep carries on.
SWEEP_MAX_BATCHES = 500
NO_TIME = Value(None, output_field=DateTimeField())


# --- Policies --------------------------------------------------------------------------------------------------


def policy_match() -> Subquery:
    """The active policy that times the lead `OuterRef("pk")`, most specific first.

    grade and channel (rank 3) > channel only (2) > grade only (1) > catch-all (0); the unique constraints on
    (grade, channel) leave one policy per rank, so the order is total.
    """
    candidates = (
        ResponsePolicy.objects.filter(active=True)
        .filter(Q(grade=OuterRef("grade")) | Q(grade=""))
        .filter(Q(channel=OuterRef("channel")) | Q(channel__isnull=True))
        .annotate(rank=policy_specificity())
        .order_by("-rank")
    )
    return Subquery(candidates.values("pk")[:1])


# --- The active policies, remembered per process -------------------------------------------------------------------
#
# A lead arriving from the API is timed without asking PostgreSQL which policy is its: each process remembers the
# active policies under a generation in the cache (`crm.generations`), renewed at once and on commit by any save
# or delete of a policy (signals, so the admin's and a channel's cascade count too). Planning the upsert that
# matches the policy in SQL cost PostgreSQL more than the rest of the lead's statements together. Without the
# cache they are read from the database.

POLICIES_GENERATION_KEY = "response-policies:generation"


@dataclass(frozen=True)
class PolicySpec:
    """What timing an arriving lead's clock reads of an active policy."""

    pk: int
    grade: str
    channel_id: int | None
    target_minutes: int
    reminder_percent: int | None
    calendar_id: int | None

    @property
    def specificity(self) -> int:
        return policy_rank(grade=self.grade, channel_id=self.channel_id)


def _policies_load() -> tuple[PolicySpec, ...]:
    fields = ("pk", "grade", "channel_id", "target_minutes", "reminder_percent", "calendar_id")
    return tuple(PolicySpec(*row) for row in ResponsePolicy.objects.filter(active=True).values_list(*fields))


_active_policies = generations.Remembered(POLICIES_GENERATION_KEY, _policies_load)


def response_policies_changed() -> None:
    """A policy changed: every process reads the policies again (now and on commit)."""
    _active_policies.changed()


def _on_policies_change(sender, **kwargs) -> None:
    response_policies_changed()


def connect_signals() -> None:
    """From `apps.ready`: any save or delete of a policy, by any code, renews the policies' generation."""
    post_save.connect(_on_policies_change, sender=ResponsePolicy, dispatch_uid="response-policies-changed:save")
    post_delete.connect(_on_policies_change, sender=ResponsePolicy, dispatch_uid="response-policies-changed:delete")


def policy_for(policies: Iterable[PolicySpec], *, grade: str, channel_id: int | None) -> PolicySpec | None:
    """`policy_match` in Python: the most specific active policy for a lead of this grade and channel (grade and
    channel 3 > channel 2 > grade 1 > catch-all 0; one policy per rank)."""
    best, best_rank = None, -1
    for policy in policies:
        if policy.grade not in ("", grade) or policy.channel_id not in (None, channel_id):
            continue
        if policy.specificity > best_rank:
            best, best_rank = policy, policy.specificity
    return best


def response_clocks_start(*, arrivals: list[tuple[int, dt.datetime, str, int | None]], batch: Batch) -> None:
    """Start the response clocks of leads arriving in this transaction, open and unanswered: (lead id, arrival,
    grade, channel id) each. Their policies are matched in Python (the remembered policies) and a policy counting
    plain minutes is timed here, as the upsert of `response_clocks_recompute` times it, so the clocks go in one
    plain INSERT queued in `batch`. If any of them has a business-hours calendar, they all go the usual way."""
    policies = _active_policies.get()
    now = clock.now()
    rows = []
    for lead_id, arrived_at, grade, channel_id in arrivals:
        policy = policy_for(policies, grade=grade or "", channel_id=channel_id)
        if policy is None:
            continue  # no policy, no clock
        if policy.calendar_id is not None:
            response_clocks_recompute(lead_ids=[a[0] for a in arrivals], arriving=True, batch=batch)
            return
        due = arrived_at + dt.timedelta(minutes=policy.target_minutes)
        remind = None
        if policy.reminder_percent:  # NULL or 0: no reminder
            # In whole milliseconds, as the upsert counts it (target × percent × 600 ms).
            remind = arrived_at + dt.timedelta(milliseconds=policy.target_minutes * policy.reminder_percent * 600)
        rows.append((lead_id, arrived_at, policy.pk, due, remind, (remind or due) if due > now else None))
    if not rows:
        return
    table = connection.ops.quote_name(ResponseClock._meta.db_table)
    batch.add(
        f"INSERT INTO {table} (lead_id, arrived_at, policy_id, due_at, remind_at, next_at) VALUES "
        + ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(rows))
        + " ON CONFLICT (lead_id) DO UPDATE SET arrived_at = excluded.arrived_at, policy_id = excluded.policy_id, "
        "due_at = excluded.due_at, remind_at = excluded.remind_at, next_at = excluded.next_at",
        [value for row in rows for value in row],
    )


def _retime_all_clocks_on_commit() -> None:
    """Re-time every running clock in the background once the change is committed.

    On a million leads that is tens of thousands of clocks and a few seconds of work (see `make bench`): too
    long for the admin's request, so a Celery task does it, set-based, right after the save.
    """
    enqueue_on_commit("leads.tasks.retime_response_clocks")


@transaction.atomic
def response_policy_save(*, user: User, policy: ResponsePolicy) -> ResponsePolicy:
    """Create or change a policy (admins only); running clocks are re-timed in the background right after."""
    access.ensure(access.can_configure_response_targets, user)
    policy.full_clean()
    policy.save()
    _retime_all_clocks_on_commit()
    return policy


@transaction.atomic
def response_policy_delete(*, user: User, policy: ResponsePolicy) -> None:
    """Delete a policy; running clocks it timed fall to the next matching policy (or stop)."""
    access.ensure(access.can_configure_response_targets, user)
    # Until they are re-timed, nothing may be sent in the name of a target that no longer exists.
    ResponseClock.objects.filter(policy=policy, next_at__isnull=False).update(next_at=None)
    policy.delete()
    _retime_all_clocks_on_commit()


@transaction.atomic
def business_calendar_save(
    *, user: User, calendar: BusinessCalendar, holidays: Iterable[tuple[dt.date, str]]
) -> BusinessCalendar:
    """Create or change a calendar with its holidays (replacing them); running clocks are re-timed right after.

    The calendar lives in `crm`; this service is in `leads` because changing it moves response deadlines.
    """
    access.ensure(access.can_configure_response_targets, user)
    calendar.full_clean()
    calendar.save()
    by_date = dict(holidays)  # one per date: the last name given wins
    calendar.holidays.all().delete()
    Holiday.objects.bulk_create(Holiday(calendar=calendar, date=day, name=name) for day, name in by_date.items())
    _retime_all_clocks_on_commit()
    return calendar


@transaction.atomic
def business_calendar_delete(*, user: User, calendar: BusinessCalendar) -> None:
    access.ensure(access.can_configure_response_targets, user)
    in_use = list(ResponsePolicy.objects.filter(calendar=calendar).values_list("name", flat=True))
    if in_use:
        raise ValidationError(f"Response targets use this calendar: {', '.join(in_use)}. Change them first.")
    calendar.delete()


# --- Response clocks -------------------------------------------------------------------------------------------


def _running_clock(now: dt.datetime) -> Q:
    """Open, unanswered leads whose deadline has not passed yet (or that have no clock yet)."""
    return Q(first_response_at__isnull=True, stage__in=OPEN_STAGES) & (
        Q(response_clock__isnull=True) | Q(response_clock__due_at__isnull=True) | Q(response_clock__due_at__gt=now)
    )


def _running_clocks(leads: QuerySet[Lead], now: dt.datetime, *, arriving: bool) -> QuerySet:
    """(lead, arrival, policy) of the leads' running clocks.

    Arriving leads (created in this transaction) have no clock yet: only the lead's own conditions apply, without
    the join to the clocks; and the one no policy matches, which gets no clock, is left out by the upsert that
    reads this (`policy_id IS NOT NULL`) rather than by a second copy of the policy's subquery here. On the hot
    path of a lead arriving, the statement is half as much for PostgreSQL to plan.
    """
    if arriving:
        running = leads.filter(first_response_at__isnull=True, stage__in=OPEN_STAGES)
    else:
        running = leads.filter(_running_clock(now))
    return running.annotate(matched_policy=policy_match()).values_list("pk", "created_at", "matched_policy")


# The same, for a list of leads, built and compiled once per process (a lead arriving pays for running it only).
_NOW_MARKER = dt.datetime(1, 1, 1, 0, 0, 0, 123457, tzinfo=dt.UTC)
_RUNNING = ReboundQuery(
    lambda lead_ids, now: _running_clocks(Lead.objects.filter(any_of("id", lead_ids)), now, arriving=False),
    lead_ids=[],
    now=_NOW_MARKER,
)
_RUNNING_ARRIVING = ReboundQuery(  # arriving leads' clocks do not depend on the time
    lambda lead_ids: _running_clocks(Lead.objects.filter(any_of("id", lead_ids)), _NOW_MARKER, arriving=True),
    lead_ids=[],
)


def _leads(lead_ids: Iterable[int] | QuerySet | None) -> QuerySet[Lead]:
    if lead_ids is None:
        return Lead.objects.all()
    if isinstance(lead_ids, QuerySet):
        return Lead.objects.filter(pk__in=lead_ids)
    return Lead.objects.filter(pk__in=list(lead_ids))


@transaction.atomic(savepoint=False)  # in the caller's transaction if any: a failure rolls the caller back
def response_clocks_recompute(
    *, lead_ids: Iterable[int] | QuerySet | None = None, arriving: bool = False, batch: Batch | None = None
) -> int:
    """Time the response clocks of these leads (all leads when None), set-based; returns how many were timed.

    1. Clocks of answered or closed leads stop (nothing left to send).
    2. Every running clock is (re)assigned its policy in ONE statement: an INSERT ... SELECT built by the ORM
       (the policy chosen by `policy_match`), upserting on the lead. A policy counting plain minutes (no
       calendar) times its clocks in that same statement; the others' clocks are left untimed, and the statement
       returns those policies with their spans of arrivals, so they need no query of their own.
    3. For each policy with a calendar, one UPDATE per piece of it (`BusinessClock.pieces`) writes deadline,
       reminder point and next sweep moment: a handful of statements however many clocks run.
    `arriving`: the leads were created in this transaction, so none has a clock to stop or to drop (steps 1 and
    the removal of clocks no policy matches have nothing to do). Only the narrow `ResponseClock` table is
    written; the leads themselves are read, never updated. `batch` (arriving leads only): the upsert is queued in
    it, to reach PostgreSQL in the round trip of the arrival's other statements; the calendars' clocks are timed
    when the batch has run, and the count returned is 0 (not known yet).
    """
    if batch is not None and not arriving:
        raise ValueError("Only the clocks of arriving leads are timed in a batch.")
    now = clock.now()
    leads = _leads(lead_ids)
    if not arriving:
        # Driven from the clocks with something left to send (an index), not from every lead.
        stopped = ResponseClock.objects.filter(next_at__isnull=False).filter(
            Q(lead__first_response_at__isnull=False) | ~Q(lead__stage__in=OPEN_STAGES)
        )
        if lead_ids is not None:
            stopped = stopped.filter(lead__in=leads.values("pk"))
        stopped.update(next_at=None)

    if lead_ids is None or isinstance(lead_ids, QuerySet):
        select_sql, params = _running_clocks(leads, now, arriving=arriving).query.sql_with_params()
    else:  # a list of leads (one arriving from a form): the query compiled once, re-bound
        query = _RUNNING_ARRIVING if arriving else _RUNNING
        select_sql, params = query.bind(lead_ids=sorted(set(lead_ids)), now=now)
    clocks = connection.ops.quote_name(ResponseClock._meta.db_table)
    policies = connection.ops.quote_name(ResponsePolicy._meta.db_table)
    # The upsert returns each clock's policy and arrival; joined to the policies, that is every policy to time
    # with its span of arrivals, in the same statement. Unless the leads are arriving, the clocks left untimed
    # before join them (a merge resets an answered lead's clock); the outer SELECT sees the clocks as they were
    # before the upsert, hence NOT IN. (Arriving leads skip that scan: a lead arriving pays for its own clock.)
    left_untimed = (
        ""
        if arriving
        else f"UNION ALL SELECT policy_id, arrived_at FROM {clocks} WHERE due_at IS NULL AND policy_id IS NOT NULL "
        "AND lead_id NOT IN (SELECT lead_id FROM upserted)"
    )
    # A policy without a calendar counts plain minutes: its clocks are timed in the upsert itself (deadline,
    # reminder point, and the next moment to act: nothing once the deadline has passed). The clocks of a policy
    # with business hours are timed after, per piece of its calendar (`_time_clocks`). The first row returned
    # counts the clocks timed in the upsert (its policy is NULL); the others are the policies left to time.
    upsert = (
        (
            f"WITH upserted AS (INSERT INTO {clocks} (lead_id, arrived_at, policy_id, due_at, remind_at, next_at) "
            "SELECT running.lead_id, running.arrived_at, running.policy_id, t.due, t.remind, "
            "CASE WHEN t.due > %s THEN COALESCE(t.remind, t.due) END "
            f"FROM ({select_sql}) AS running (lead_id, arrived_at, policy_id) "
            f"LEFT JOIN {policies} p ON p.id = running.policy_id AND p.calendar_id IS NULL "
            "CROSS JOIN LATERAL (SELECT running.arrived_at + p.target_minutes * interval '1 minute' AS due, "
            "CASE WHEN p.reminder_percent > 0 THEN running.arrived_at + p.target_minutes * p.reminder_percent "
            "* interval '600 milliseconds' END AS remind) AS t "
            f"{'WHERE running.policy_id IS NOT NULL ' if arriving else ''}"
            "ON CONFLICT (lead_id) DO UPDATE SET arrived_at = excluded.arrived_at, policy_id = excluded.policy_id, "
            "due_at = excluded.due_at, remind_at = excluded.remind_at, next_at = excluded.next_at "
            "RETURNING lead_id, policy_id, arrived_at, due_at), "
            f"untimed AS (SELECT policy_id, arrived_at FROM upserted WHERE due_at IS NULL {left_untimed}) "
            "SELECT NULL, NULL, NULL, NULL, NULL, NULL, count(*) FROM upserted WHERE due_at IS NOT NULL "
            "UNION ALL SELECT p.id, p.target_minutes, p.reminder_percent, p.calendar_id, MIN(u.arrived_at), "
            f"MAX(u.arrived_at), 0 FROM untimed u JOIN {policies} p ON p.id = u.policy_id GROUP BY p.id"
        ),
        [now, *params],
    )
    if batch is not None:
        batch.add(*upsert, then=lambda to_time: _time_policies(to_time, now))
        return 0
    with connection.cursor() as cursor:
        cursor.execute(*upsert)
        to_time = cursor.fetchall()
    if not arriving:
        # A running lead that no policy matches has no clock.
        ResponseClock.objects.filter(due_at__isnull=True, policy__isnull=True).delete()
    return _time_policies(to_time, now)


def _time_policies(to_time: list[tuple], now: dt.datetime) -> int:
    """Given the upsert's rows: the count timed in it, plus the clocks of each calendar's policy, timed now."""
    timed = 0
    for policy_id, target_minutes, reminder_percent, calendar_id, first, last, timed_in_upsert in to_time:
        if policy_id is None:
            timed += timed_in_upsert
            continue
        # What timing reads of the policy; its calendar (if any) is read when the business clock needs it.
        policy = ResponsePolicy(
            pk=policy_id, target_minutes=target_minutes, reminder_percent=reminder_percent, calendar_id=calendar_id
        )
        timed += _time_clocks(policy, first, last, now)
    return timed


def _time_clocks(policy: ResponsePolicy, first, last, now) -> int:
    """Time the untimed clocks of this policy that arrived in [first, last]: one UPDATE per piece of its calendar.

    Written as SQL, not built by the ORM: a lead arriving runs this once, and building the conditional update
    cost more than running it."""
    business_clock = clock_for(policy.calendar)
    target = dt.timedelta(minutes=policy.target_minutes)
    due_pieces = business_clock.pieces(first, last, target)
    remind_pieces = []
    if policy.reminder_percent:
        remind_pieces = business_clock.pieces(first, last, target * policy.reminder_percent / 100)
    table = connection.ops.quote_name(ResponseClock._meta.db_table)
    count = 0
    with connection.cursor() as cursor:
        for start, end, due_piece, remind_piece in _common_refinement(due_pieces, remind_pieces):
            due = _deadline(due_piece)
            remind = _deadline(remind_piece) if remind_piece else ("NULL", [])
            # Nothing to send for a clock whose deadline passed before it was timed; otherwise the reminder first.
            pending = remind if remind_piece else due
            if due_piece.shift is not None:
                next_at = (
                    f"CASE WHEN arrived_at <= %s THEN NULL ELSE {pending[0]} END",
                    [now - due_piece.shift, *pending[1]],
                )
            else:
                next_at = ("NULL", []) if due_piece.at <= now else pending
            cursor.execute(
                f"UPDATE {table} SET due_at = {due[0]}, remind_at = {remind[0]}, next_at = {next_at[0]} "
                "WHERE due_at IS NULL AND policy_id = %s AND arrived_at >= %s AND arrived_at < %s",
                [*due[1], *remind[1], *next_at[1], policy.pk, start, end],
            )
            count += cursor.rowcount
    return count


def _deadline(piece) -> tuple[str, list]:
    """The SQL for a piece's rule: arrival + shift, or one fixed moment."""
    if piece.shift is not None:
        return "(arrived_at + %s)", [piece.shift]
    return "%s::timestamptz", [piece.at]


def _common_refinement(due_pieces, remind_pieces):
    """Intervals on which both the deadline rule and the reminder rule are fixed (pieces are sorted, contiguous)."""
    if not remind_pieces:
        for piece in due_pieces:
            yield piece.start, piece.end, piece, None
        return
    i = j = 0
    start = due_pieces[0].start
    while i < len(due_pieces) and j < len(remind_pieces):
        end = min(due_pieces[i].end, remind_pieces[j].end)
        if end > start:
            yield start, end, due_pieces[i], remind_pieces[j]
        start = end
        if due_pieces[i].end == end:
            i += 1
        if remind_pieces[j].end == end:
            j += 1


@transaction.atomic
def leads_response_recompute(*, lead_ids: Iterable[int] | QuerySet) -> None:
    """Recompute first response, response time and last activity from the interactions, then the clocks.

    Set-based, for any number of leads: after interactions were edited or deleted, or historical ones
    imported (the CSV import calls this with the ids it touched).
    """
    leads = _leads(lead_ids)
    # The first response is the first one *recorded*, at the time it was recorded: an entry back-dated by its
    # "occurred at" shows that time on the timeline but cannot rewrite the response time (nor the SLA outcome).
    responses = Interaction.objects.filter(
        lead=OuterRef("pk"),
        direction=Interaction.Direction.OUTBOUND,
        user__isnull=False,
        kind__in=Interaction.PERSONAL_KINDS,
    ).order_by("created_at", "pk")
    latest = Interaction.objects.filter(lead=OuterRef("pk")).order_by("-occurred_at")
    leads.update(
        first_response_at=Subquery(responses.values("created_at")[:1]),
        last_activity_at=Greatest(
            F("created_at"), Coalesce(Subquery(latest.values("occurred_at")[:1]), F("created_at"))
        ),
    )
    leads.update(
        response_seconds=Case(
            When(first_response_at__isnull=True, then=Value(None)),
            default=Greatest(SecondsBetween(F("first_response_at"), F("created_at")), Value(0)),
            output_field=IntegerField(),
        )
    )
    response_clocks_recompute(lead_ids=lead_ids)


# --- Follow-up task reminders ----------------------------------------------------------------------------------


def task_reminders_schedule(*, task_ids: Iterable[int] | QuerySet) -> None:
    """Set when each task's next reminder is due: "due soon" a while before, then "overdue" at the due time.

    A done task, or one already overdue when scheduled, gets none.
    """
    now = clock.now()
    tasks = FollowUpTask.objects.filter(pk__in=task_ids if isinstance(task_ids, QuerySet) else list(task_ids))
    ahead = dt.timedelta(minutes=settings.TASK_REMINDER_MINUTES)
    tasks.filter(done_at__isnull=True, due_at__gt=now).update(reminder_next_at=F("due_at") - Value(ahead))
    tasks.filter(Q(done_at__isnull=False) | Q(due_at__lte=now)).update(reminder_next_at=None)


# --- The sweep -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepResult:
    leads: int
    tasks: int
    notices: int
    emails: int


def reminders_sweep() -> SweepResult:
    """What Celery beat runs every minute: SLA reminders and escalations, follow-up reminders, email digests."""
    now = clock.now()
    leads, lead_notices = _sweep(_sla_sweep_batch, now)
    tasks, task_notices = _sweep(_task_sweep_batch, now)
    emails = notifications_email_digest()
    result = SweepResult(leads=leads, tasks=tasks, notices=lead_notices + task_notices, emails=emails)
    if leads or tasks:
        logger.info("Reminder sweep: %s", result)
    return result


def _sweep(batch, now: dt.datetime) -> tuple[int, int]:
    rows = notices = 0
    for _ in range(SWEEP_MAX_BATCHES):
        handled, sent = batch(now=now, batch_size=SWEEP_BATCH_SIZE)
        rows, notices = rows + handled, notices + sent
        if handled < SWEEP_BATCH_SIZE:
            break
    return rows, notices


def sla_sweep(*, now: dt.datetime | None = None) -> tuple[int, int]:
    """Send due response reminders and escalations; returns (leads handled, notices stored)."""
    return _sweep(_sla_sweep_batch, now or clock.now())


def task_reminders_sweep(*, now: dt.datetime | None = None) -> tuple[int, int]:
    return _sweep(_task_sweep_batch, now or clock.now())


def _claim_notices(*, kinds: list[tuple[int, str]], field: str, now: dt.datetime) -> set[tuple[int, str]]:
    """Record (id, kind) notices as sent; return those this call won. Losers were sent by someone else."""
    if not kinds:
        return set()
    token = uuid.uuid4().hex
    SentNotice.objects.bulk_create(
        [SentNotice(kind=kind, sent_at=now, sweep=token, **{f"{field}_id": pk}) for pk, kind in kinds],
        ignore_conflicts=True,
    )
    won = SentNotice.objects.filter(**{f"{field}_id__in": [pk for pk, _ in kinds]}, sweep=token)
    return set(won.values_list(f"{field}_id", "kind"))


@transaction.atomic
def _sla_sweep_batch(*, now: dt.datetime, batch_size: int) -> tuple[int, int]:
    rows = list(
        ResponseClock.objects.filter(next_at__lte=now)
        .order_by("next_at")
        .select_for_update(skip_locked=True, of=("self",))
        .values(*SWEEP_FIELDS)[:batch_size]
    )
    if not rows:
        return 0, 0
    due = {}
    for row in rows:
        if row["due_at"] is not None and row["due_at"] <= now:
            # Past the deadline, a reminder would come too late: only the breach is told.
            due[row["pk"]] = (row, SentNotice.Kind.SLA_BREACH)
        elif row["remind_at"] is not None and row["remind_at"] <= now:
            due[row["pk"]] = (row, SentNotice.Kind.SLA_REMINDER)
    won = _claim_notices(kinds=[(pk, kind) for pk, (_, kind) in due.items()], field="lead", now=now)
    notices = [notice for pk, kind in won for notice in _sla_notices(due[pk][0], kind, now)]
    notifications_send(notices=notices)
    ResponseClock.objects.filter(pk__in=[row["pk"] for row in rows]).update(
        next_at=Case(
            When(due_at__lte=now, then=NO_TIME),
            When(remind_at__lte=now, then=F("due_at")),
            default=Coalesce("remind_at", "due_at"),
        )
    )
    return len(rows), len(notices)


# What the sweep reads about each due clock, in its one query (the pk is the lead's id).
SWEEP_FIELDS = (
    "pk",
    "due_at",
    "remind_at",
    "lead__name",
    "lead__company",
    "lead__owner_id",
    "lead__owner__username",
    "lead__owner__first_name",
    "lead__owner__last_name",
    "lead__team__manager_id",
    "policy__target_minutes",
    "policy__escalate_to_manager",
    "policy__pool_leads",
    "policy__pool_team__manager_id",
)


def _lead_url(lead_id: int) -> str:
    """The lead page's URL, without a reverse() per notice (a sweep may build thousands)."""
    return _lead_url_pattern().replace("987654321", str(lead_id))


@lru_cache(maxsize=1)
def _lead_url_pattern() -> str:
    return reverse("leads:detail", args=[987654321])


def _lead_label(row: dict) -> str:
    return f"{row['lead__name']} ({row['lead__company']})" if row["lead__company"] else row["lead__name"]


def _person(first: str, last: str, username: str) -> str:
    return f"{first} {last}".strip() or username


def _sla_notices(row: dict, kind: str, now: dt.datetime) -> list[Notice]:
    """Who hears about a due reminder or breach, and what they read."""
    lead, url = _lead_label(row), _lead_url(row["pk"])
    key = f"{kind}:lead:{row['pk']}"
    target = duration((row["policy__target_minutes"] or 0) * 60)
    owner, manager = row["lead__owner_id"], row["lead__team__manager_id"]
    if owner is None:
        if row["policy__pool_leads"] != ResponsePolicy.PoolLeads.ALERT_MANAGER:
            return []
        manager = manager or row["policy__pool_team__manager_id"]
        if manager is None:
            return []
        if kind == SentNotice.Kind.SLA_REMINDER:
            left = duration(max(0, (row["due_at"] - now).total_seconds()))
            text = f"Pool lead {lead} is unclaimed and unanswered: {left} left of the {target} response target."
        else:
            text = f"Escalation: pool lead {lead} is still unanswered past its {target} response target."
        return [Notice(user_id=manager, key=key, text=text, url=url)]
    if kind == SentNotice.Kind.SLA_REMINDER:
        left = duration(max(0, (row["due_at"] - now).total_seconds()))
        return [
            Notice(user_id=owner, key=key, text=f"Answer {lead} within {left} ({target} response target).", url=url)
        ]
    escalate = bool(row["policy__escalate_to_manager"]) and manager is not None and manager != owner
    told = " Your manager has been alerted." if escalate else ""
    notices = [
        Notice(
            user_id=owner, key=key, text=f"Response target missed: {lead} is unanswered after {target}.{told}", url=url
        )
    ]
    if escalate:
        owner_name = _person(
            row["lead__owner__first_name"], row["lead__owner__last_name"], row["lead__owner__username"]
        )
        text = f"Escalation: {owner_name}'s lead {lead} is unanswered past its {target} response target."
        notices.append(Notice(user_id=manager, key=key, text=text, url=url))
    return notices


@transaction.atomic
def _task_sweep_batch(*, now: dt.datetime, batch_size: int) -> tuple[int, int]:
    rows = list(
        FollowUpTask.objects.filter(reminder_next_at__lte=now)
        .order_by("reminder_next_at")
        .select_for_update(skip_locked=True, of=("self",))
        .values("pk", "title", "due_at", "assignee_id", "lead_id", "lead__name", "lead__company")[:batch_size]
    )
    if not rows:
        return 0, 0
    due = {
        row["pk"]: (row, SentNotice.Kind.TASK_OVERDUE if row["due_at"] <= now else SentNotice.Kind.TASK_DUE_SOON)
        for row in rows
    }
    won = _claim_notices(kinds=[(pk, kind) for pk, (_, kind) in due.items()], field="task", now=now)
    notices = [_task_notice(due[pk][0], kind) for pk, kind in won]
    notifications_send(notices=notices)
    FollowUpTask.objects.filter(pk__in=list(due)).update(
        reminder_next_at=Case(When(due_at__lte=now, then=NO_TIME), default=F("due_at"))
    )
    return len(rows), len(notices)


def _task_notice(row: dict, kind: str) -> Notice:
    lead = _lead_label(row)
    when = timezone.localtime(row["due_at"])
    if kind == SentNotice.Kind.TASK_OVERDUE:
        text = f"Overdue follow-up: “{row['title']}” for {lead} was due at {when:%H:%M} on {when:%d %b}."
    else:
        text = f"Follow-up due at {when:%H:%M}: “{row['title']}” for {lead}."
    url = f"{_lead_url(row['lead_id'])}#task-{row['pk']}"
    return Notice(user_id=row["assignee_id"], key=f"{kind}:task:{row['pk']}", text=text, url=url)
