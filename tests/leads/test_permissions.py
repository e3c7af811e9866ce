"""Who sees and changes which lead: every refusal is tested, not just the happy path."""

import pytest
from django.urls import reverse

from crm.access import leads_visible_to
from leads.models import Lead
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def leads(rep, teammate, other_rep, manager):
    return {
        "rep": LeadFactory(owner=rep),
        "teammate": LeadFactory(owner=teammate),
        "other_team": LeadFactory(owner=other_rep),
        "manager": LeadFactory(owner=manager),
        "pool": LeadFactory(owner=None),
    }


def _visible(user):
    return set(leads_visible_to(user).values_list("pk", flat=True))


def test_rep_sees_own_leads_and_the_pool_only(rep, leads):
    assert _visible(rep) == {leads["rep"].pk, leads["pool"].pk}


def test_manager_sees_the_teams_leads_own_leads_and_the_pool(manager, leads):
    assert _visible(manager) == {leads[k].pk for k in ("rep", "teammate", "manager", "pool")}


def test_admin_sees_every_lead(admin_user, leads):
    assert _visible(admin_user) == set(Lead.objects.values_list("pk", flat=True))


def test_a_user_without_a_role_sees_nothing(django_user_model, leads):
    nobody = django_user_model.objects.create_user("nobody", password="x")
    assert _visible(nobody) == set()


@pytest.mark.parametrize("name", ["detail", "edit"])
def test_another_reps_lead_is_a_404_not_a_403(client, rep, leads, name):
    client.force_login(rep)
    response = client.get(reverse(f"leads:{name}", args=[leads["teammate"].pk]))
    assert response.status_code == 404
    assert leads["teammate"].name.encode() not in response.content


@pytest.mark.parametrize("name", ["log", "stage", "task_create", "assign", "claim"])
def test_rep_cannot_act_on_another_reps_lead(client, rep, leads, name):
    client.force_login(rep)
    target = leads["teammate"]
    response = client.post(
        reverse(f"leads:{name}", args=[target.pk]), {"kind": "call", "stage": "lost", "lost_reason": "no_need"}
    )
    assert response.status_code == 404
    target.refresh_from_db()
    assert target.stage == "new" and target.owner.username == "teammate"
    assert not target.interactions.exists() and not target.tasks.exists()


def test_rep_sees_a_pool_lead_but_must_claim_it_before_working_it(client, rep, leads):
    client.force_login(rep)
    pool = leads["pool"]
    page = client.get(reverse("leads:detail", args=[pool.pk]))
    assert page.status_code == 200
    assert b"Claim this lead" in page.content
    refused = client.post(reverse("leads:log", args=[pool.pk]), {"kind": "call", "direction": "outbound"})
    assert refused.status_code == 403
    assert not pool.interactions.exists()
    client.post(reverse("leads:claim", args=[pool.pk]))
    pool.refresh_from_db()
    assert pool.owner == rep


def test_manager_cannot_open_another_teams_lead(client, manager, leads):
    client.force_login(manager)
    assert client.get(reverse("leads:detail", args=[leads["other_team"].pk])).status_code == 404


def test_rep_cannot_reassign_a_lead_even_their_own(client, rep, teammate, leads):
    client.force_login(rep)
    response = client.post(reverse("leads:assign", args=[leads["rep"].pk]), {"owner": teammate.pk})
    assert response.status_code == 403
    leads["rep"].refresh_from_db()
    assert leads["rep"].owner == rep


def test_manager_reassigns_within_the_team_but_not_outside(client, manager, teammate, other_rep, leads):
    client.force_login(manager)
    url = reverse("leads:assign", args=[leads["rep"].pk])
    client.post(url, {"owner": other_rep.pk})
    leads["rep"].refresh_from_db()
    assert leads["rep"].owner.username == "rep"
    client.post(url, {"owner": teammate.pk})
    leads["rep"].refresh_from_db()
    assert leads["rep"].owner == teammate


def test_rep_cannot_toggle_another_reps_task(client, rep, teammate, leads):
    from tests.factories import TaskFactory

    task = TaskFactory(lead=leads["teammate"], assignee=teammate)
    client.force_login(rep)
    assert client.post(reverse("leads:task_toggle", args=[task.pk])).status_code == 404
    task.refresh_from_db()
    assert task.done_at is None


def test_anonymous_visitors_are_sent_to_log_in(client, leads):
    response = client.get(reverse("leads:list"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_only_admins_reach_the_django_admin(client, rep, manager, admin_user):
    for user, allowed in ((rep, False), (manager, False), (admin_user, True)):
        client.force_login(user)
        response = client.get("/admin/leads/lead/")
        assert (response.status_code == 200) is allowed, user
