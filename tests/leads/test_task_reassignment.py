"""Follow-ups follow their lead when it is reassigned (or stay, by choice), and are edited, snoozed and deleted in
place; two tabs working the same task at once leave it whole."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from crm import clock
from leads import services
from leads.followups import services as followups
from leads.models import FollowUpTask, LeadHistory
from tests.factories import LeadFactory, TaskFactory
from tests.threads import together

pytestmark = pytest.mark.django_db


def _due_today():
    return clock.now() + dt.timedelta(minutes=30)


@pytest.fixture
def lead_with_tasks(lead, rep, manager):
    """The rep's lead: two open follow-ups of the rep, one done, one the manager keeps for themselves."""
    return {
        "open": TaskFactory.create_batch(2, lead=lead, assignee=rep, due_at=_due_today()),
        "done": TaskFactory(lead=lead, assignee=rep, done_at=clock.now()),
        "managers": TaskFactory(lead=lead, assignee=manager, due_at=_due_today()),
    }


def test_reassigning_a_lead_moves_the_previous_owners_open_follow_ups_by_default(
    lead, rep, teammate, manager, lead_with_tasks
):
    services.lead_assign(lead=lead, owner=teammate, user=manager)
    assignees = {task.pk: task.assignee_id for task in FollowUpTask.objects.all()}
    assert all(assignees[t.pk] == teammate.pk for t in lead_with_tasks["open"])
    assert assignees[lead_with_tasks["done"].pk] == rep.pk  # history stays whose it was
    assert assignees[lead_with_tasks["managers"].pk] == manager.pk  # someone else's task is theirs still
    rows = {row.field: row for row in LeadHistory.objects.filter(lead=lead, kind="assign")}
    assert (rows["owner"].old_value, rows["owner"].new_value) == (str(rep.pk), str(teammate.pk))
    assert rows["tasks"].new_value == "2 open follow-ups moved to the new owner"


def test_the_reassign_dialog_can_leave_the_follow_ups_with_their_assignee(
    client, lead, rep, teammate, manager, lead_with_tasks
):
    client.force_login(manager)
    response = client.post(reverse("leads:assign", args=[lead.pk]), {"owner": teammate.pk, "tasks": "stay"})
    assert response.status_code == 302
    assert set(FollowUpTask.objects.filter(done_at__isnull=True).values_list("assignee_id", flat=True)) == {
        rep.pk,
        manager.pk,
    }
    # The rep cannot see the lead any more but still works their own follow-up.
    client.force_login(rep)
    task = lead_with_tasks["open"][0]
    assert client.get(lead.get_absolute_url()).status_code == 404
    assert client.post(reverse("leads:task_toggle", args=[task.pk])).status_code == 302
    task.refresh_from_db()
    assert task.done_at is not None


def test_the_old_owners_my_day_no_longer_lists_moved_tasks_and_the_new_owners_does(
    client, lead, rep, teammate, manager
):
    task = TaskFactory(lead=lead, assignee=rep, title="Send the proposal", due_at=_due_today())
    client.force_login(rep)
    assert "Send the proposal" in client.get(reverse("my_day")).content.decode()
    client.force_login(manager)
    client.post(reverse("leads:assign", args=[lead.pk]), {"owner": teammate.pk})
    client.force_login(rep)
    assert "Send the proposal" not in client.get(reverse("my_day")).content.decode()
    assert client.post(reverse("leads:task_toggle", args=[task.pk])).status_code == 404
    client.force_login(teammate)
    assert "Send the proposal" in client.get(reverse("my_day")).content.decode()


def test_bulk_reassign_moves_tasks_and_writes_history_in_a_fixed_number_of_statements(
    manager, rep, teammate, channel, django_assert_max_num_queries
):
    def reassign(count, to):
        leads = LeadFactory.create_batch(count, owner=rep, channel=channel)
        for lead in leads:
            TaskFactory(lead=lead, assignee=rep, due_at=_due_today())
        with django_assert_max_num_queries(9) as captured:
            services.leads_bulk_reassign(user=manager, lead_ids=[lead.pk for lead in leads], owner=to)
        return leads, len(captured)

    reassign(1, teammate)  # the first call also reads the manager's teams, once per request
    few, few_queries = reassign(3, teammate)
    _many, many_queries = reassign(30, teammate)
    assert few_queries == many_queries
    assert LeadHistory.objects.filter(kind="assign", field="owner", new_value=str(teammate.pk)).count() == 34
    assert not FollowUpTask.objects.filter(assignee=rep).exists()
    # Leads whose owner does not change get no history row.
    services.leads_bulk_reassign(user=manager, lead_ids=[few[0].pk], owner=teammate)
    assert LeadHistory.objects.filter(lead=few[0]).count() == 1


def test_bulk_reassign_may_leave_the_tasks(manager, rep, teammate, lead):
    task = TaskFactory(lead=lead, assignee=rep, due_at=_due_today())
    services.leads_bulk_reassign(user=manager, lead_ids=[lead.pk], owner=teammate, tasks_follow=False)
    task.refresh_from_db()
    assert task.assignee_id == rep.pk


# --- In place: snooze, edit, delete --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("hour", dt.datetime(2026, 5, 6, 15, 12, tzinfo=dt.UTC)),
        ("tomorrow", dt.datetime(2026, 5, 7, 9, 0, tzinfo=dt.UTC)),
        ("next_week", dt.datetime(2026, 5, 11, 9, 0, tzinfo=dt.UTC)),  # a Wednesday → next Monday
    ],
)
def test_snoozing_moves_the_due_time_in_place(rep_client, lead, rep, htmx, choice, expected):
    task = TaskFactory(lead=lead, assignee=rep, title="Call back")
    with time_machine.travel(dt.datetime(2026, 5, 6, 14, 12, 30, tzinfo=dt.UTC), tick=False):
        response = rep_client.post(reverse("leads:task_snooze", args=[task.pk]), {"until": choice}, headers=htmx)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.strip().startswith(f'<li id="task-{task.pk}"') and "<html" not in html
    task.refresh_from_db()
    assert task.due_at == expected and task.version == 1
    assert task.reminder_next_at is not None


def test_a_done_task_is_not_snoozed(rep_client, lead, rep, htmx):
    task = TaskFactory(lead=lead, assignee=rep, done_at=clock.now())
    response = rep_client.post(reverse("leads:task_snooze", args=[task.pk]), {"until": "hour"}, headers=htmx)
    assert response.status_code == 409 and "completed or deleted meanwhile" in response.content.decode()


def test_editing_a_task_in_place_and_a_stale_copy_is_refused(rep_client, lead, rep, htmx):
    task = TaskFactory(lead=lead, assignee=rep, title="Call back")
    url = reverse("leads:task_edit", args=[task.pk])
    form = rep_client.get(url, headers=htmx).content.decode()
    assert 'name="version" value="0"' in form
    due = timezone.localtime(clock.now() + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    saved = rep_client.post(url, {"title": "Send the contract", "due_at": due, "version": "0"}, headers=htmx)
    assert saved.status_code == 200 and "Send the contract" in saved.content.decode()
    stale = rep_client.post(url, {"title": "Call again", "due_at": due, "version": "0"}, headers=htmx)
    assert stale.status_code == 409
    assert "Someone changed this follow-up" in stale.content.decode()
    assert 'value="Send the contract"' in stale.content.decode()  # shown as it is now
    task.refresh_from_db()
    assert task.title == "Send the contract"


def test_deleting_a_task_in_place(rep_client, lead, rep, htmx):
    task = TaskFactory(lead=lead, assignee=rep)
    response = rep_client.post(reverse("leads:task_delete", args=[task.pk]), headers=htmx)
    assert response.status_code == 200 and response.content == b""
    assert not FollowUpTask.objects.filter(pk=task.pk).exists()


def test_another_team_cannot_touch_the_task(client, lead, rep, other_rep):
    task = TaskFactory(lead=lead, assignee=rep)
    client.force_login(other_rep)
    for name in ("task_snooze", "task_edit", "task_delete"):
        assert client.post(reverse(f"leads:{name}", args=[task.pk]), {"until": "hour"}).status_code == 404
    assert FollowUpTask.objects.filter(pk=task.pk, version=0).exists()


@pytest.mark.django_db(transaction=True)
def test_two_tabs_snoozing_and_ticking_the_same_task_at_once_leave_it_whole(rep, channel):
    lead = LeadFactory(owner=rep, channel=channel)
    task = TaskFactory(lead=lead, assignee=rep, due_at=_due_today())
    for _ in range(3):
        _results, errors = together(
            lambda: followups.task_snooze(task=FollowUpTask.objects.get(pk=task.pk), user=rep, choice="tomorrow"),
            lambda: services.task_complete(task=FollowUpTask.objects.get(pk=task.pk), user=rep),
        )
        # Either order is fine; a snooze that came second finds the task done and says so.
        assert errors[1] is None
        assert errors[0] is None or isinstance(errors[0], followups.TaskConflict)
        task.refresh_from_db()
        assert task.done_at is not None and task.reminder_next_at is None
        assert task.version == (2 if errors[0] is None else 1)
        services.task_reopen(task=task, user=rep)
        FollowUpTask.objects.filter(pk=task.pk).update(version=0, due_at=_due_today())


def test_the_list_bulk_action_offers_the_same_choice(client, manager, rep, teammate, lead):
    task = TaskFactory(lead=lead, assignee=rep, due_at=_due_today())
    client.force_login(manager)
    page = client.get(reverse("leads:list")).content.decode()
    assert 'name="tasks"' in page and "Stay with their assignee" in page
    client.post(
        reverse("leads:bulk"), {"action": "reassign", "lead_ids": [lead.pk], "owner": teammate.pk, "tasks": "stay"}
    )
    lead.refresh_from_db()
    task.refresh_from_db()
    assert lead.owner_id == teammate.pk and task.assignee_id == rep.pk


def test_a_follow_up_that_stayed_shows_its_lead_unlinked_on_my_day(client, manager, rep, other_rep, lead):
    TaskFactory(lead=lead, assignee=rep, title="Wrap up", due_at=_due_today())
    services.lead_assign(lead=lead, owner=manager, user=manager, tasks_follow=False)
    lead.refresh_from_db()
    client.force_login(rep)
    page = client.get(reverse("my_day")).content.decode()
    assert "Wrap up" in page and lead.name in page
    assert f'href="{lead.get_absolute_url()}"' not in page
