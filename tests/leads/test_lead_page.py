import datetime as dt

import pytest
from django.urls import reverse

from crm import clock
from leads.models import FollowUpTask, Interaction, Lead, StageChange
from tests.factories import InteractionFactory, StageChangeFactory, TaskFactory

pytestmark = pytest.mark.django_db


def _url(lead, name="detail"):
    return reverse(f"leads:{name}", args=[lead.pk])


def test_lead_page_shows_facts_timeline_and_tasks(rep_client, lead, rep):
    InteractionFactory(lead=lead, user=rep, subject="Intro call", body="Wants a demo")
    StageChangeFactory(lead=lead, from_stage="", to_stage="new")
    TaskFactory(lead=lead, title="Send the deck")
    response = rep_client.get(_url(lead))
    assert response.status_code == 200
    for text in (b"Ada Lovelace", b"Intro call", b"Wants a demo", b"Send the deck", b"Log call"):
        assert text in response.content


@pytest.mark.parametrize("interactions", [2, 40])
def test_lead_page_issues_a_constant_number_of_queries(
    rep_client, lead, rep, django_assert_max_num_queries, interactions
):
    for i in range(interactions):
        InteractionFactory(lead=lead, user=rep, occurred_at=clock.now() - dt.timedelta(hours=i))
        StageChangeFactory(lead=lead, user=rep)
        TaskFactory(lead=lead)
    # One query per part of the page, whatever the rows: session, user, roles, lead, timeline (interactions, stage
    # changes, field changes, reclaims), tasks. The panels (duplicates, score) load by URL once the page shows.
    with django_assert_max_num_queries(9):
        rep_client.get(_url(lead))


def test_the_lead_page_loads_its_panels_by_url_and_a_change_reloads_them(rep_client, lead, htmx):
    page = rep_client.get(_url(lead)).content.decode()
    for name in ("leads:merge_panel", "scoring:lead_panel"):
        url = reverse(name, args=[lead.pk])
        assert f'hx-get="{url}" hx-trigger="load, lead-changed from:body"' in page
        assert rep_client.get(url).status_code == 200
    response = rep_client.post(_url(lead, "stage"), {"stage": "qualified"}, headers=htmx)
    assert response["HX-Trigger"] == '{"lead-changed": {}}'


def test_a_panel_of_a_lead_the_user_cannot_see_is_not_found(client, lead, other_rep):
    client.force_login(other_rep)
    for name in ("leads:merge_panel", "scoring:lead_panel"):
        assert client.get(reverse(name, args=[lead.pk])).status_code == 404


def test_logging_a_call_in_two_clicks_returns_the_new_timeline_and_header(rep_client, lead, htmx):
    response = rep_client.post(
        _url(lead, "log"), {"kind": "call", "direction": "outbound", "outcome": "connected"}, headers=htmx
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="log"')
    assert 'id="timeline"' in html and 'id="lead-header"' in html and 'id="stage"' in html
    assert html.count('hx-swap-oob="true"') == 3
    assert "Call logged." in html
    interaction = Interaction.objects.get(lead=lead)
    assert (interaction.kind, interaction.outcome, interaction.user.username) == ("call", "connected", "rep")
    lead.refresh_from_db()
    assert lead.stage == "contacted" and lead.first_response_at is not None


def test_logging_without_htmx_redirects_back_to_the_lead(rep_client, lead):
    response = rep_client.post(_url(lead, "log"), {"kind": "email", "direction": "outbound", "subject": "Hi"})
    assert response.status_code == 302 and response.url == _url(lead)
    assert lead.interactions.get().subject == "Hi"


def test_a_note_without_text_is_refused_next_to_the_field(rep_client, lead, htmx):
    response = rep_client.post(_url(lead, "log"), {"kind": "note", "direction": "system"}, headers=htmx)
    assert b"A note needs some text." in response.content
    assert not lead.interactions.exists()


def test_an_interaction_in_the_future_is_refused(rep_client, lead, htmx):
    future = (clock.now() + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = rep_client.post(
        _url(lead, "log"), {"kind": "call", "direction": "outbound", "occurred_at": future}, headers=htmx
    )
    assert b"cannot happen in the future" in response.content
    assert not lead.interactions.exists()


def test_an_unknown_interaction_kind_is_refused(rep_client, lead, htmx):
    response = rep_client.post(_url(lead, "log"), {"kind": "telepathy", "direction": "outbound"}, headers=htmx)
    assert response.status_code == 422  # the form again, with the reason next to the field
    assert b"Select a valid choice" in response.content
    assert not lead.interactions.exists()


def test_moving_to_qualified_updates_stage_timeline_and_header(rep_client, lead, htmx):
    response = rep_client.post(_url(lead, "stage"), {"stage": "qualified"}, headers=htmx)
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="stage"')
    assert 'id="timeline"' in html and 'id="lead-header"' in html
    lead.refresh_from_db()
    assert lead.stage == "qualified"
    assert StageChange.objects.filter(lead=lead, to_stage="qualified").exists()


def test_winning_without_a_value_shows_the_error_and_changes_nothing(rep_client, lead, htmx):
    response = rep_client.post(_url(lead, "stage"), {"stage": "won"}, headers=htmx)
    assert b"Enter the deal value" in response.content
    lead.refresh_from_db()
    assert lead.stage == "new"


def test_winning_with_a_value_and_losing_with_a_reason(rep_client, lead, htmx):
    rep_client.post(_url(lead, "stage"), {"stage": "won", "deal_value": "1500.50"}, headers=htmx)
    lead.refresh_from_db()
    assert lead.stage == "won" and str(lead.deal_value) == "1500.50"
    rep_client.post(_url(lead, "stage"), {"stage": "lost", "lost_reason": "competitor"}, headers=htmx)
    lead.refresh_from_db()
    assert lead.stage == "lost" and lead.lost_reason == "competitor" and lead.deal_value is None


def test_a_negative_deal_value_is_refused(rep_client, lead, htmx):
    response = rep_client.post(_url(lead, "stage"), {"stage": "won", "deal_value": "-5"}, headers=htmx)
    assert b"greater than or equal to 0" in response.content
    lead.refresh_from_db()
    assert lead.stage == "new"


def test_adding_and_completing_a_task_inline(rep_client, lead, htmx):
    due = (clock.now() + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = rep_client.post(_url(lead, "task_create"), {"title": "Send proposal", "due_at": due}, headers=htmx)
    assert response.content.lstrip().startswith(b'<section id="tasks"')
    assert b"Send proposal" in response.content
    task = FollowUpTask.objects.get(lead=lead)
    assert task.assignee == lead.owner
    toggled = rep_client.post(reverse("leads:task_toggle", args=[task.pk]), headers=htmx)
    assert toggled.content.lstrip().startswith(f'<li id="task-{task.pk}"'.encode())
    task.refresh_from_db()
    assert task.done_at is not None
    rep_client.post(reverse("leads:task_toggle", args=[task.pk]), headers=htmx)
    task.refresh_from_db()
    assert task.done_at is None


def test_a_task_without_title_or_due_date_is_refused(rep_client, lead, htmx):
    response = rep_client.post(_url(lead, "task_create"), {"title": "  ", "due_at": ""}, headers=htmx)
    assert b"Say what needs doing." in response.content
    assert b"Say when it is due." in response.content
    assert not FollowUpTask.objects.exists()


def test_inline_edit_of_the_facts(rep_client, lead, htmx):
    form = rep_client.get(_url(lead) + "?edit=facts", headers=htmx)
    assert b'<section id="facts"' in form.content and b"<form" in form.content
    data = {
        "name": "Ada King",
        "email": "ada@example.com",
        "phone": "",
        "company": "Analytical Engines",
        "budget": "confirmed",
        "authority": "decision_maker",
        "timeline": "30",
    }
    saved = rep_client.post(_url(lead, "edit"), data, headers=htmx)
    assert b"Ada King" in saved.content and b'id="lead-header"' in saved.content
    lead.refresh_from_db()
    assert (lead.name, lead.budget, lead.email_normalized) == ("Ada King", "confirmed", "ada@example.com")


def test_inline_edit_with_bad_input_shows_errors_next_to_fields_and_saves_nothing(rep_client, lead, htmx):
    data = {
        "name": "",
        "email": "not-an-email",
        "country": "Germany",
        "company_size": "-3",
        "budget": "unknown",
        "authority": "unknown",
        "timeline": "unknown",
    }
    response = rep_client.post(_url(lead, "edit"), data, headers=htmx)
    html = response.content.decode()
    assert "This field is required." in html
    assert "Enter a valid email address." in html
    assert "two-letter country code" in html
    assert html.count("field-invalid") >= 4
    lead.refresh_from_db()
    assert lead.name == "Ada Lovelace"


def test_manager_reassigns_a_lead_from_its_page(client, manager, lead, teammate):
    client.force_login(manager)
    response = client.post(_url(lead, "assign"), {"owner": teammate.pk})
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.owner == teammate and lead.team == teammate.team


def test_manager_puts_a_lead_back_in_the_pool(client, manager, lead):
    client.force_login(manager)
    client.post(_url(lead, "assign"), {"owner": ""})
    assert Lead.objects.get(pk=lead.pk).owner is None


@pytest.mark.parametrize(
    "next_url,expected",
    [("/my-day/", "/my-day/"), ("https://evil.example/", None), ("//evil.example/", None), ("", None)],
)
def test_ticking_a_task_goes_back_where_the_person_was_never_off_site(rep_client, lead, next_url, expected):
    task = TaskFactory(lead=lead)
    response = rep_client.post(reverse("leads:task_toggle", args=[task.pk]), {"next": next_url})
    assert response.status_code == 302
    assert response["Location"] == (expected or lead.get_absolute_url())
