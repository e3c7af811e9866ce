"""Editing and deleting logged interactions, and importing old ones, keep first response and clocks right."""

import datetime as dt

import pytest
from django.urls import reverse

from leads import services
from leads.models import Interaction, Lead, Stage
from leads.sla.services import leads_response_recompute
from tests.factories import InteractionFactory, LeadFactory, ResponsePolicyFactory
from tests.sla.conftest import at

pytestmark = pytest.mark.django_db


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


@pytest.fixture
def answered(rep, channel):
    """A lead that arrived at 9:00 (60-minute target), answered by a call at 9:10 and an email at 9:30."""
    ResponsePolicyFactory(target_minutes=60, reminder_percent=50)
    with at(2026, 5, 4, 9, 0):
        lead = services.lead_create(user=rep, name="Ada", email="ada@example.com", channel=channel)
    with at(2026, 5, 4, 9, 10):
        call = services.interaction_log(lead=lead, user=rep, kind="call", outcome="connected")
    with at(2026, 5, 4, 9, 30):
        email = services.interaction_log(lead=lead, user=rep, kind="email", subject="Follow-up")
    lead.refresh_from_db()
    assert lead.first_response_at == utc(2026, 5, 4, 9, 10)
    return lead, call, email


def test_deleting_the_first_response_makes_the_next_one_first(answered, rep):
    lead, call, _email = answered
    with at(2026, 5, 4, 9, 40):
        services.interaction_delete(interaction=call, user=rep)
    lead.refresh_from_db()
    assert lead.first_response_at == utc(2026, 5, 4, 9, 30) and lead.response_seconds == 1800


def test_deleting_the_only_response_restarts_the_clock_if_the_deadline_is_ahead(answered, rep):
    lead, call, email = answered
    with at(2026, 5, 4, 9, 40):
        services.interaction_delete(interaction=email, user=rep)
        services.interaction_delete(interaction=call, user=rep)
    lead.refresh_from_db()
    assert lead.first_response_at is None and lead.response_seconds is None
    assert lead.sla_due_at == utc(2026, 5, 4, 10, 0)
    assert lead.sla_next_at == utc(2026, 5, 4, 9, 30)  # the reminder is still owed (sent at most once)
    assert lead.stage == Stage.CONTACTED  # the stage history stays what people did
    assert lead.last_activity_at == lead.created_at


def test_editing_a_response_into_a_note_moves_the_first_response_but_another_stated_time_does_not(answered, rep):
    lead, call, email = answered
    with at(2026, 5, 4, 9, 40):
        services.interaction_update(
            interaction=call, user=rep, data={"kind": "note", "direction": "system", "body": "x"}
        )
    lead.refresh_from_db()
    assert lead.first_response_at == utc(2026, 5, 4, 9, 30)
    # Back-dating the email's stated time does not move the response: it was recorded at 9:30.
    with at(2026, 5, 4, 9, 45):
        services.interaction_update(interaction=email, user=rep, data={"occurred_at": utc(2026, 5, 4, 9, 5)})
    lead.refresh_from_db()
    assert lead.first_response_at == utc(2026, 5, 4, 9, 30) and lead.response_seconds == 1800
    # A note edited into a call is a response recorded when the edit was made, not when the note was written.
    note = services.interaction_log(lead=lead, user=rep, kind="note", direction="system", body="to call")
    with at(2026, 5, 4, 9, 50):
        services.interaction_delete(interaction=email, user=rep)
        services.interaction_update(interaction=note, user=rep, data={"kind": "call", "direction": "outbound"})
    lead.refresh_from_db()
    assert lead.first_response_at == utc(2026, 5, 4, 9, 50)


def test_historical_interactions_imported_in_bulk_are_recomputed_set_based(rep, channel, django_assert_max_num_queries):
    with at(2026, 5, 4, 12, 0):
        leads = LeadFactory.create_batch(30, owner=rep, channel=channel, created_at=utc(2026, 5, 1, 9, 0))
        for i, lead in enumerate(leads):
            Interaction.objects.bulk_create(
                [
                    # Imported history is recorded at the time it happened (an import writes both).
                    Interaction(
                        lead=lead,
                        user=rep,
                        kind="email",
                        occurred_at=utc(2026, 5, 1, 9, 0) + dt.timedelta(minutes=i + 1),
                        created_at=utc(2026, 5, 1, 9, 0) + dt.timedelta(minutes=i + 1),
                    ),
                    Interaction(
                        lead=lead, user=rep, kind="call", direction="inbound", occurred_at=utc(2026, 5, 1, 9, 0)
                    ),
                    Interaction(
                        lead=lead, user=None, kind="web_visit", direction="system", occurred_at=utc(2026, 5, 2)
                    ),
                ]
            )
        silent = LeadFactory(owner=rep, channel=channel, created_at=utc(2026, 5, 1, 9, 0))
        # A handful of statements (and savepoints) for 31 leads, as for 31,000.
        with django_assert_max_num_queries(12):
            leads_response_recompute(lead_ids=[lead.pk for lead in leads] + [silent.pk])
    for i, lead in enumerate(leads):
        lead.refresh_from_db()
        assert lead.first_response_at == utc(2026, 5, 1, 9, i + 1)
        assert lead.response_seconds == (i + 1) * 60
        assert lead.last_activity_at == utc(2026, 5, 2)
    silent.refresh_from_db()
    assert silent.first_response_at is None and silent.response_seconds is None


def test_the_recompute_accepts_a_queryset_of_leads(rep, channel):
    lead = LeadFactory(owner=rep, channel=channel, created_at=utc(2026, 5, 1, 9, 0))
    InteractionFactory(lead=lead, user=rep, occurred_at=utc(2026, 5, 1, 9, 0, 42), created_at=utc(2026, 5, 1, 9, 0, 42))
    leads_response_recompute(lead_ids=Lead.objects.filter(owner=rep).values("pk"))
    lead.refresh_from_db()
    assert lead.response_seconds == 42


# --- The timeline's edit and delete buttons -------------------------------------------------------------


def test_the_author_sees_edit_and_delete_on_their_interactions(rep_client, answered):
    lead, call, _ = answered
    html = rep_client.get(lead.get_absolute_url()).content.decode()
    assert reverse("leads:interaction_edit", args=[call.pk]) in html
    assert reverse("leads:interaction_delete", args=[call.pk]) in html
    assert "first response" in html


def test_editing_through_the_timeline_updates_the_header_and_timeline(rep_client, answered, htmx):
    _lead, call, _ = answered
    url = reverse("leads:interaction_edit", args=[call.pk])
    form = rep_client.get(url, headers=htmx).content.decode()
    assert f'id="interaction-{call.pk}"' in form and "<html" not in form
    prefix = f"i{call.pk}-"
    with at(2026, 5, 4, 10, 0):
        response = rep_client.post(
            url,
            {
                prefix + "kind": "call",
                prefix + "direction": "outbound",
                prefix + "outcome": "voicemail",
                prefix + "occurred_at": "2026-05-04T09:02",
                prefix + "subject": "",
                prefix + "body": "Left a message",
            },
            headers=htmx,
        )
    assert response["HX-Retarget"] == "#timeline"
    html = response.content.decode()
    # The stated time moved to 9:02; the response still counts from when the call was logged, 9:10.
    assert "Left a message" in html and 'id="lead-header"' in html and "answered in 10 min" in html
    assert "logged 04 May 2026, 09:10" in html
    call.refresh_from_db()
    assert call.outcome == "voicemail"


def test_a_future_time_is_refused_next_to_the_field(rep_client, answered, htmx):
    _lead, call, _ = answered
    prefix = f"i{call.pk}-"
    with at(2026, 5, 4, 10, 0):
        response = rep_client.post(
            reverse("leads:interaction_edit", args=[call.pk]),
            {prefix + "kind": "call", prefix + "direction": "outbound", prefix + "occurred_at": "2026-05-05T09:00"},
            headers=htmx,
        )
    html = response.content.decode()
    assert f'id="id_{prefix}occurred_at_error"' in html and "cannot happen in the future" in html
    call.refresh_from_db()
    assert call.occurred_at == utc(2026, 5, 4, 9, 10)


def test_deleting_through_the_timeline(rep_client, answered, htmx):
    _lead, call, _ = answered
    response = rep_client.post(reverse("leads:interaction_delete", args=[call.pk]), headers=htmx)
    assert response.status_code == 200
    assert not Interaction.objects.filter(pk=call.pk).exists()


def test_the_manager_may_correct_a_reps_interaction(client, manager, answered):
    _lead, call, _ = answered
    client.force_login(manager)
    assert client.post(reverse("leads:interaction_delete", args=[call.pk])).status_code == 302
    assert not Interaction.objects.filter(pk=call.pk).exists()


def test_a_teammate_cannot_see_nor_change_another_reps_interaction(client, teammate, other_manager, answered):
    _lead, call, _ = answered
    for outsider in (teammate, other_manager):
        client.force_login(outsider)
        assert client.get(reverse("leads:interaction_edit", args=[call.pk])).status_code == 404
        assert client.post(reverse("leads:interaction_delete", args=[call.pk])).status_code == 404
    assert Interaction.objects.filter(pk=call.pk).exists()


def test_nobody_edits_a_marketing_event(client, rep, manager, channel):
    lead = LeadFactory(owner=rep, channel=channel)
    visit = InteractionFactory(lead=lead, user=None, kind="web_visit", direction="system", outcome="")
    client.force_login(manager)
    assert client.post(reverse("leads:interaction_delete", args=[visit.pk])).status_code == 403
    html = client.get(lead.get_absolute_url()).content.decode()
    assert reverse("leads:interaction_delete", args=[visit.pk]) not in html


def test_the_author_of_a_note_on_a_pool_lead_may_still_fix_it(client, manager, rep, channel):
    pooled = LeadFactory(owner=None, channel=channel)
    note = InteractionFactory(lead=pooled, user=rep, kind="note", direction="system", outcome="", body="tpyo")
    client.force_login(rep)
    html = client.get(pooled.get_absolute_url()).content.decode()
    assert reverse("leads:interaction_edit", args=[note.pk]) in html
