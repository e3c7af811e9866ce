"""Follow-ups worked in place: snoozed, edited, deleted, and moved with their lead when it changes hands.

Creating, ticking and reopening stay in `leads.services` (every way in uses them). Each write here is safe with two
tabs on the same task: a snooze is a conditional UPDATE on an open task, an edit carries the `version` it was read
at and is refused (TaskConflict) when the task moved on since, a delete deletes whatever is there.
"""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from crm import clock
from crm.models import User
from leads.models import FollowUpTask
from leads.sla.services import task_reminders_schedule


class TaskConflict(ValidationError):
    """The task changed (or went) since this person's copy of it was shown: nothing was written."""


# Snooze choices: (name, label).
SNOOZES = (("hour", "+1 h"), ("tomorrow", "Tomorrow 9:00"), ("next_week", "Next Monday 9:00"))


def snooze_until(choice: str, *, now: dt.datetime | None = None) -> dt.datetime:
    """When a snoozed task is due: in an hour, tomorrow at 9:00, or next Monday at 9:00 (the team's time zone)."""
    now = now or clock.now()
    if choice == "hour":
        return (now + dt.timedelta(hours=1)).replace(second=0, microsecond=0)
    today = timezone.localtime(now).date()
    if choice == "tomorrow":
        day = today + dt.timedelta(days=1)
    elif choice == "next_week":
        day = today + dt.timedelta(days=7 - today.weekday())
    else:
        raise ValidationError({"snooze": "Choose +1 h, tomorrow or next week."})
    return timezone.make_aware(dt.datetime.combine(day, dt.time(9, 0)))


@transaction.atomic
def task_snooze(*, task: FollowUpTask, user: User, choice: str) -> FollowUpTask:
    """Move an open task's due time (a conditional UPDATE: a task ticked off meanwhile stays done, untouched).
    Two tabs snoozing at once both write the same kind of value; neither corrupts the other."""
    due_at = snooze_until(choice)
    moved = FollowUpTask.objects.filter(pk=task.pk, done_at__isnull=True).update(
        due_at=due_at, version=F("version") + 1
    )
    if not moved:
        raise TaskConflict("This follow-up was completed or deleted meanwhile.")
    task_reminders_schedule(task_ids=[task.pk])
    task.refresh_from_db(fields=["done_at", "due_at", "title", "version", "assignee"])
    return task


@transaction.atomic
def task_update(*, task: FollowUpTask, user: User, title: str, due_at: dt.datetime, version: int) -> FollowUpTask:
    """Change a task's title and due time, if nobody changed it since `version` was read (else TaskConflict)."""
    title = title.strip()
    check = FollowUpTask(lead_id=task.lead_id, assignee_id=task.assignee_id, title=title, due_at=due_at)
    check.full_clean(exclude=["lead", "assignee", "created_by"])
    changed = FollowUpTask.objects.filter(pk=task.pk, version=version).update(
        title=title, due_at=due_at, version=F("version") + 1
    )
    if not changed:
        raise TaskConflict("Someone changed this follow-up while you were editing it: here it is as it is now.")
    task_reminders_schedule(task_ids=[task.pk])
    task.refresh_from_db(fields=["done_at", "due_at", "title", "version", "assignee"])
    return task


@transaction.atomic
def task_delete(*, task: FollowUpTask, user: User) -> bool:
    """Delete a task (whoever deletes it first; a second delete finds nothing and says so)."""
    deleted, _ = FollowUpTask.objects.filter(pk=task.pk).delete()
    return bool(deleted)


def tasks_follow_owner(*, lead_ids: list[int], from_owner_ids: dict[int, int | None], owner: User) -> int:
    """Open follow-ups of these leads assigned to their previous owner go to `owner`: one UPDATE, each task locked
    by it (a tick or a snooze at the same moment waits, then applies to the moved task). Returns how many moved."""
    condition = Q()
    for lead_id, previous in from_owner_ids.items():
        if previous is not None and previous != owner.pk:
            condition |= Q(lead_id=lead_id, assignee_id=previous)
    if not condition:
        return 0
    return FollowUpTask.objects.filter(condition, lead_id__in=lead_ids, done_at__isnull=True).update(
        assignee=owner, version=F("version") + 1
    )
