"""Follow-ups in place (htmx, with full-page fallbacks): tick, snooze, edit, delete. A task is its assignee's to
work, even on a lead that went to someone else, and its lead's editors'; anyone else gets the lead's 404 or 403."""

import copy

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from crm import access, clock
from leads import services
from leads.followups import services as followups
from leads.forms import TaskForm
from leads.models import FollowUpTask
from leads.views import _editable_lead


def _task_for_user(request: HttpRequest, task_id: int) -> FollowUpTask:
    """The task, if the user may work on it: its assignee always (a task that stayed with them when its lead was
    reassigned), otherwise through its lead (404 if they may not see the lead, 403 if they only see it)."""
    task = get_object_or_404(FollowUpTask.objects.select_related("lead", "assignee"), pk=task_id)
    if task.assignee_id != request.user.pk:
        _editable_lead(request, task.lead_id)
    access.ensure(access.can_work_task, request.user, task)
    return task


def _back(request: HttpRequest, default: str) -> HttpResponse:
    """Back where the person was (My day, the lead), never to another site."""
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        back = default
    return redirect(back)


def _task_row(request: HttpRequest, task: FollowUpTask, *, status: int = 200, **extra) -> HttpResponse:
    show_lead = request.POST.get("show_lead") or request.GET.get("show_lead")
    context = {"task": task, "now": clock.now(), "show_lead": show_lead, "snoozes": followups.SNOOZES, **extra}
    return render(request, "leads/detail.html#task_row", context, status=status)


@require_POST
def task_toggle(request: HttpRequest, task_id: int) -> HttpResponse:
    task = _task_for_user(request, task_id)
    with transaction.atomic():
        # Under the task's row lock: two tabs ticking at once toggle it once each, in turn, from what is stored.
        task = FollowUpTask.objects.select_for_update().select_related("lead", "assignee").get(pk=task.pk)
        if task.done_at is None:
            services.task_complete(task=task, user=request.user)
        else:
            services.task_reopen(task=task, user=request.user)
    if not request.htmx:
        return _back(request, task.lead.get_absolute_url())
    return _task_row(request, task)


@require_POST
def task_snooze(request: HttpRequest, task_id: int) -> HttpResponse:
    """Reschedule in one click: +1 h, tomorrow 9:00, next Monday 9:00."""
    task = _task_for_user(request, task_id)
    error = ""
    try:
        task = followups.task_snooze(task=task, user=request.user, choice=request.POST.get("until", ""))
    except ValidationError as refusal:
        error = " ".join(refusal.messages)
        task.refresh_from_db()
    if not request.htmx:
        if error:
            messages.error(request, error)
        else:
            messages.success(request, f"“{task.title}” moved to {timezone.localtime(task.due_at):%d %b, %H:%M}.")
        return _back(request, task.lead.get_absolute_url())
    return _task_row(request, task, task_error=error, status=409 if error else 200)


def task_edit(request: HttpRequest, task_id: int) -> HttpResponse:
    """Change a follow-up's title or due time in place. Saved from an older copy, it is refused (409) and shown as
    it is now, with the reason."""
    task = _task_for_user(request, task_id)
    status = 200
    if request.method == "POST":
        form = TaskForm(request.POST, instance=copy.copy(task))
        if form.is_valid():
            try:
                version = int(request.POST.get("version", ""))
            except ValueError:
                version = -1
            try:
                task = followups.task_update(task=task, user=request.user, version=version, **form.cleaned_data)
            except followups.TaskConflict as conflict:
                task.refresh_from_db()
                # The task as it is now (its values and version), with the reason above the fields.
                now_due = timezone.localtime(task.due_at).strftime("%Y-%m-%dT%H:%M")
                form = TaskForm({"title": task.title, "due_at": now_due}, instance=copy.copy(task))
                form.full_clean()
                form.add_error(None, conflict.messages)
                status = 409
            except ValidationError as error:
                form.add_error(None, error)
            else:
                if not request.htmx:
                    messages.success(request, "Follow-up saved.")
                    return _back(request, task.lead.get_absolute_url())
                return _task_row(request, task)
        elif request.htmx:
            status = 422
    elif request.GET.get("cancel"):
        return _task_row(request, task)
    else:
        form = TaskForm(instance=task)
    context = {"task": task, "form": form, "show_lead": request.POST.get("show_lead") or request.GET.get("show_lead")}
    if request.htmx:
        return render(request, "leads/detail.html#task_form", context, status=status)
    return render(request, "leads/task_form.html", context, status=status)


@require_POST
def task_delete(request: HttpRequest, task_id: int) -> HttpResponse:
    task = _task_for_user(request, task_id)
    followups.task_delete(task=task, user=request.user)
    if not request.htmx:
        messages.success(request, f"Follow-up “{task.title}” deleted.")
        return _back(request, task.lead.get_absolute_url())
    return HttpResponse("")  # the row is swapped for nothing
