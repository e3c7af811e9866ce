"""Merging duplicates: one lead kept, everything of the others moved onto it, an audit entry, nothing lost."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.urls import reverse

from crm import clock
from crm.models import Notification
from leads import services
from leads.dedupe import services as dedupe
from leads.models import FollowUpTask, Interaction, Lead, LeadMerge, ResponseClock, ResponsePolicy, StageChange
from leads.signals import lead_changed
from leads.sla.services import response_clocks_recompute
from scoring.models import DirtyLead
from tests.factories import InteractionFactory, LeadFactory, TaskFactory

MERGE_URL = reverse("leads:merge")


def _arrange_history(lead, user, *, interactions=2, tasks=1):
    for _ in range(interactions):
        InteractionFactory(lead=lead, user=user, kind="note", direction="inbound", outcome="")
    for _ in range(tasks):
        TaskFactory(lead=lead, assignee=user, due_at=clock.now() + dt.timedelta(days=1))
    StageChange.objects.create(lead=lead, from_stage="", to_stage="new", changed_at=lead.created_at)


def test_everything_of_the_merged_leads_ends_on_the_survivor(manager, rep, teammate, channel):
    keep = LeadFactory(owner=rep, email="grace@navy.mil")
    others = [LeadFactory(owner=teammate, email="grace@navy.mil") for _ in range(2)]
    _arrange_history(keep, rep)
    for n, other in enumerate(others):
        _arrange_history(other, teammate, interactions=3 + n, tasks=2)
    ids = {
        model: set(model.objects.filter(lead__in=[keep, *others]).values_list("pk", flat=True))
        for model in (Interaction, FollowUpTask, StageChange)
    }

    audit = dedupe.leads_merge(user=manager, survivor_id=keep.pk, merged_ids=[o.pk for o in others])

    for model, before in ids.items():
        assert set(model.objects.filter(lead=keep).values_list("pk", flat=True)) == before
        assert model.objects.count() == len(before)
    assert not Lead.objects.filter(pk__in=[o.pk for o in others]).exists()
    assert audit.survivor_id == keep.pk
    assert audit.merged_lead_ids == sorted(o.pk for o in others)
    assert audit.merged_by == manager
    assert audit.moved["interactions"] == 7 and audit.moved["tasks"] == 4 and audit.moved["stage_changes"] == 2


def test_survivor_keeps_its_facts_and_fills_blanks_from_the_merged_leads(admin_user, rep, channel, twins):
    keep, twin = twins
    keep.industry, keep.attributes = "Defense", {"source_list": "expo", "tier": "gold"}
    keep.save()
    twin.industry, twin.job_title, twin.phone = "Navy", "Rear Admiral", "+1 202 555 0143"
    twin.attributes = {"tier": "silver", "newsletter": True}
    twin.save()

    dedupe.leads_merge(user=admin_user, survivor_id=keep.pk, merged_ids=[twin.pk])

    keep.refresh_from_db()
    assert keep.name == "Grace Hopper" and keep.industry == "Defense" and keep.email == "grace@navy.mil"
    assert keep.company == "US Navy" and keep.city == "Arlington" and keep.job_title == "Rear Admiral"
    assert keep.phone == "+1 202 555 0143" and keep.phone_normalized == "+12025550143"
    assert keep.attributes == {"source_list": "expo", "tier": "gold", "newsletter": True}
    assert keep.owner == rep  # the survivor keeps its owner


def test_the_audit_entry_keeps_the_merged_leads_facts(manager, twins):
    keep, twin = twins
    audit = dedupe.leads_merge(user=manager, survivor_id=keep.pk, merged_ids=[twin.pk])
    [facts] = LeadMerge.objects.get(pk=audit.pk).snapshot
    assert facts["id"] == twin.pk and facts["name"] == "G. Hopper" and facts["company"] == "US Navy"
    assert facts["owner_id"] == twin.owner_id and facts["stage"] == "new"
    assert facts["created_at"] == twin.created_at.isoformat()


def test_first_response_is_recomputed_from_the_moved_interactions(manager, rep, teammate, channel):
    ResponsePolicy.objects.create(name="Everyone", target_minutes=60)
    arrived = clock.now() - dt.timedelta(hours=5)
    keep = LeadFactory(owner=rep, email="x@example.com", created_at=arrived + dt.timedelta(hours=1))
    twin = LeadFactory(owner=teammate, email="x@example.com", created_at=arrived)
    response_clocks_recompute(lead_ids=[keep.pk, twin.pk])
    # Each logged when it happened: the response time counts from when a response is recorded.
    with time_machine.travel(arrived + dt.timedelta(hours=4), tick=False):
        services.interaction_log(lead=keep, user=rep, kind="call", outcome="connected")
    with time_machine.travel(arrived + dt.timedelta(minutes=30), tick=False):
        services.interaction_log(lead=twin, user=teammate, kind="email")

    dedupe.leads_merge(user=manager, survivor_id=keep.pk, merged_ids=[twin.pk])

    keep.refresh_from_db()
    # The earliest arrival of the records, and the earliest response recorded among all their interactions.
    assert keep.created_at == arrived
    assert keep.first_response_at == arrived + dt.timedelta(minutes=30)
    assert keep.response_seconds == 30 * 60
    # The survivor's clock is timed again from the earliest arrival: due an hour after it, answered in time.
    keep_clock = ResponseClock.objects.get(lead=keep)
    assert keep_clock.arrived_at == arrived and keep_clock.due_at == arrived + dt.timedelta(hours=1)
    assert keep_clock.next_at is None
    assert not keep.sla_breached
    assert keep.last_activity_at == arrived + dt.timedelta(hours=4)


def test_earlier_merges_and_notification_links_follow_the_survivor(admin_user, manager, rep, twins):
    keep, twin = twins
    older = LeadFactory(owner=rep, email="grace@navy.mil")
    first = dedupe.leads_merge(user=admin_user, survivor_id=twin.pk, merged_ids=[older.pk])
    notice = Notification.objects.create(
        user=rep,
        key=f"sla-reminder:lead:{twin.pk}",
        text="Answer G. Hopper",
        url=twin.get_absolute_url(),
        created_at=clock.now(),
    )
    task_notice = Notification.objects.create(
        user=rep,
        key="task_overdue:task:7",
        text="Overdue",
        url=f"{twin.get_absolute_url()}#task-7",
        created_at=clock.now(),
    )
    unrelated = Notification.objects.create(
        user=rep, key="x", text="Other", url=f"{twin.get_absolute_url()}9/", created_at=clock.now()
    )
    dedupe.leads_merge(user=admin_user, survivor_id=keep.pk, merged_ids=[twin.pk])
    task_notice.refresh_from_db()
    assert task_notice.url == f"{keep.get_absolute_url()}#task-7"
    unrelated.refresh_from_db()
    assert unrelated.url == f"{twin.get_absolute_url()}9/"
    first.refresh_from_db()
    assert first.survivor_id == keep.pk
    assert LeadMerge.objects.filter(survivor=keep).count() == 2
    notice.refresh_from_db()
    assert notice.url == keep.get_absolute_url()


def test_scoring_hears_of_the_survivor_after_commit(manager, twins, django_capture_on_commit_callbacks):
    keep, twin = twins
    received = []

    def receiver(sender, **kwargs):
        received.append(kwargs)

    lead_changed.connect(receiver)
    try:
        DirtyLead.objects.all().delete()
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            dedupe.leads_merge(user=manager, survivor_id=keep.pk, merged_ids=[twin.pk])
        assert received == []
        for callback in callbacks:
            callback()
    finally:
        lead_changed.disconnect(receiver)
    assert received[0]["lead_id"] == keep.pk and "merged" in received[0]["fields"]
    # Scoring's own receiver marked the survivor for rescoring.
    assert DirtyLead.objects.filter(lead_id=keep.pk).exists()


# --- Refusals -----------------------------------------------------------------------------------------------------


def test_rep_may_not_merge_even_their_own_leads(rep, channel):
    a = LeadFactory(owner=rep, email="x@example.com")
    b = LeadFactory(owner=rep, email="x@example.com")
    with pytest.raises(PermissionDenied):
        dedupe.leads_merge(user=rep, survivor_id=a.pk, merged_ids=[b.pk])
    assert Lead.objects.filter(pk=b.pk).exists()


def test_manager_may_not_merge_another_teams_lead(manager, rep, other_rep):
    mine = LeadFactory(owner=rep, email="x@example.com")
    theirs = LeadFactory(owner=other_rep, email="x@example.com")
    InteractionFactory(lead=theirs, user=other_rep)
    with pytest.raises(Http404):
        dedupe.leads_merge(user=manager, survivor_id=mine.pk, merged_ids=[theirs.pk])
    with pytest.raises(Http404):
        dedupe.leads_merge(user=manager, survivor_id=theirs.pk, merged_ids=[mine.pk])
    assert Interaction.objects.get().lead_id == theirs.pk
    assert LeadMerge.objects.count() == 0


def test_leads_sharing_nothing_are_not_merged(admin_user, rep):
    a = LeadFactory(owner=rep, email="a@example.com")
    b = LeadFactory(owner=rep, email="b@example.com")
    with pytest.raises(ValidationError) as error:
        dedupe.leads_merge(user=admin_user, survivor_id=a.pk, merged_ids=[b.pk])
    assert "merged" in error.value.message_dict
    assert Lead.objects.filter(pk=b.pk).exists()


def test_a_failing_merge_writes_nothing(admin_user, rep, twins, monkeypatch):
    keep, twin = twins
    InteractionFactory(lead=twin, user=rep)

    def broken(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(dedupe, "leads_response_recompute", broken)
    with pytest.raises(RuntimeError):
        dedupe.leads_merge(user=admin_user, survivor_id=keep.pk, merged_ids=[twin.pk])
    assert Lead.objects.filter(pk=twin.pk).exists()
    assert Interaction.objects.get().lead_id == twin.pk
    assert LeadMerge.objects.count() == 0


# --- The pages ------------------------------------------------------------------------------------------------------


def test_merge_is_reviewed_then_confirmed_in_the_browser(client, manager, twins):
    keep, twin = twins
    InteractionFactory(lead=twin, user=twin.owner)
    client.force_login(manager)
    review = client.get(MERGE_URL, {"survivor": keep.pk, "merged": [keep.pk, twin.pk]})
    assert review.status_code == 200
    body = review.content.decode()
    assert "G. Hopper" in body and "1 interaction" in body and "company" in body
    assert Lead.objects.filter(pk=twin.pk).exists()  # reviewing changes nothing

    response = client.post(MERGE_URL, {"survivor": keep.pk, "merged": [twin.pk]})
    assert response.status_code == 302 and response["Location"] == keep.get_absolute_url()
    assert not Lead.objects.filter(pk=twin.pk).exists()
    page = client.get(reverse("leads:merge_panel", args=[keep.pk])).content.decode()
    assert "merged in by" in page and "G. Hopper" in page


def test_rep_is_refused_the_merge_pages(client, rep, twins):
    keep, twin = twins
    client.force_login(rep)
    assert client.get(MERGE_URL, {"survivor": keep.pk, "merged": [twin.pk]}).status_code == 403
    assert client.post(MERGE_URL, {"survivor": keep.pk, "merged": [twin.pk]}).status_code == 403
    assert Lead.objects.filter(pk=twin.pk).exists()


def test_manager_posting_another_teams_lead_gets_404(client, manager, rep, other_rep):
    mine = LeadFactory(owner=rep, email="x@example.com")
    theirs = LeadFactory(owner=other_rep, email="x@example.com")
    client.force_login(manager)
    assert client.post(MERGE_URL, {"survivor": mine.pk, "merged": [theirs.pk]}).status_code == 404
    assert Lead.objects.filter(pk=theirs.pk).exists()


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"merged": ["1"]}, "survivor", "Choose the lead to keep."),
        ({"survivor": "abc", "merged": ["1"]}, "survivor", "Choose the lead to keep."),
        ({"survivor": "KEEP"}, "merged", "Choose at least one lead"),
        ({"survivor": "KEEP", "merged": ["x"]}, "merged", "Choose leads from the list."),
        ({"survivor": "KEEP", "merged": ["KEEP"]}, "merged", "Choose at least one other lead"),
    ],
)
def test_bad_input_is_shown_next_to_the_field(client, manager, twins, data, field, message):
    keep, _ = twins
    data = {
        k: (
            [str(keep.pk) if x == "KEEP" else x for x in v]
            if isinstance(v, list)
            else (str(keep.pk) if v == "KEEP" else v)
        )
        for k, v in data.items()
    }
    client.force_login(manager)
    response = client.post(MERGE_URL, data)
    assert response.status_code == 400
    assert message in response.context["form"].errors[field][0]
    assert f'id="id_{field}_error"' in response.content.decode()
    assert Lead.objects.count() == 2


def test_lead_page_offers_to_merge_its_duplicates_into_it(client, manager, rep, twins):
    keep, twin = twins
    client.force_login(manager)
    panel_url = reverse("leads:merge_panel", args=[keep.pk])
    assert f'hx-get="{panel_url}"' in client.get(keep.get_absolute_url()).content.decode()
    body = client.get(panel_url).content.decode()
    assert "Merge into this lead" in body and f'name="merged" value="{twin.pk}"' in body
    # Reps see no offer on their own lead.
    client.force_login(rep)
    body = client.get(panel_url).content.decode()
    assert "Merge into this lead" not in body


def test_a_new_survivor_answered_by_a_moved_interaction_becomes_contacted(manager, twins):
    keep, twin = twins
    InteractionFactory(lead=twin, user=twin.owner, kind="email", outcome="")
    dedupe.leads_merge(user=manager, survivor_id=keep.pk, merged_ids=[twin.pk])
    keep.refresh_from_db()
    assert keep.stage == "contacted"
    assert StageChange.objects.filter(lead=keep, from_stage="new", to_stage="contacted", user=manager).exists()
