"""Honest clocks: the first response is the first outbound interaction *recorded*, at the time it was recorded.

A call logged after the deadline with an earlier "occurred at" shows that time on the timeline, but the response
time, the SLA outcome and the speed report count from when it was logged; nothing can have happened to a lead
before it existed (a form error, a 400 from the API).
"""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from leads import services
from leads.models import Interaction, ResponseClock, SentNotice
from leads.sla.services import leads_response_recompute, reminders_sweep
from reports.periods import Period
from reports.registry import REPORTS
from reports.scope import ReportScope
from tests.factories import ResponsePolicyFactory
from tests.sla.conftest import at

pytestmark = pytest.mark.django_db


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


@pytest.fixture
def breached(rep, manager, channel, settings):
    """A lead that arrived at 9:00 with a 60-minute target, unanswered and escalated at 10:00."""
    settings.TIME_ZONE = "UTC"
    ResponsePolicyFactory(target_minutes=60, reminder_percent=None)
    with at(2026, 5, 4, 9, 0):
        lead = services.lead_create(user=rep, name="Ada", email="ada@example.com", channel=channel)
    with at(2026, 5, 4, 10, 1):
        reminders_sweep()
    assert SentNotice.objects.filter(lead=lead, kind="sla_breach").exists()
    return lead


def test_a_call_back_dated_after_a_breach_leaves_the_breach_standing(breached, rep, rep_client):
    with at(2026, 5, 4, 10, 30):
        call = services.interaction_log(
            lead=breached, user=rep, kind="call", outcome="connected", occurred_at=utc(2026, 5, 4, 9, 0, 20)
        )
    breached.refresh_from_db()
    assert call.occurred_at == utc(2026, 5, 4, 9, 0, 20) and call.created_at == utc(2026, 5, 4, 10, 30)
    assert breached.first_response_at == utc(2026, 5, 4, 10, 30)
    assert breached.response_seconds == 90 * 60
    assert breached.sla_breached
    assert ResponseClock.objects.get(lead=breached).next_at is None  # answered: nothing more to send

    with at(2026, 5, 4, 10, 31):
        html = rep_client.get(breached.get_absolute_url()).content.decode()
    assert "missed the target" in html and "answered in 1 h 30 min" in html
    assert "within target" not in html and "answered in 20 s" not in html
    # The timeline shows the time the rep gave, and when it was logged.
    assert "04 May 2026, 09:00" in html and "logged 04 May 2026, 10:30" in html


def test_the_speed_report_counts_the_back_dated_call_as_a_breach(breached, rep, admin_user):
    with at(2026, 5, 4, 10, 30):
        services.interaction_log(lead=breached, user=rep, kind="email", occurred_at=utc(2026, 5, 4, 9, 1))
    with at(2026, 5, 5, 12, 0):
        scope = ReportScope.for_user(admin_user, Period(dt.date(2026, 5, 1), dt.date(2026, 5, 31)))
        result = REPORTS["speed"].run(scope)
    within = next(h.cell for h in result.headlines if h.label == "Within SLA")
    assert within.sub == "0 / 1"


def test_a_recompute_keeps_counting_by_recorded_time(breached, rep):
    with at(2026, 5, 4, 10, 30):
        services.interaction_log(lead=breached, user=rep, kind="call", occurred_at=utc(2026, 5, 4, 9, 0, 20))
    with at(2026, 5, 4, 11, 0):
        services.interaction_log(lead=breached, user=rep, kind="email", occurred_at=utc(2026, 5, 4, 9, 0, 5))
        leads_response_recompute(lead_ids=[breached.pk])
    breached.refresh_from_db()
    assert breached.first_response_at == utc(2026, 5, 4, 10, 30)


def test_nothing_happens_to_a_lead_before_it_exists(breached, rep):
    with pytest.raises(ValidationError) as refused:
        services.interaction_log(lead=breached, user=rep, kind="email", occurred_at=utc(2026, 5, 4, 8, 59))
    assert "occurred_at" in refused.value.message_dict
    assert not Interaction.objects.filter(lead=breached).exists()
    call = services.interaction_log(lead=breached, user=rep, kind="call", occurred_at=utc(2026, 5, 4, 9, 5))
    with pytest.raises(ValidationError):
        services.interaction_update(interaction=call, user=rep, data={"occurred_at": utc(2026, 5, 3, 9, 5)})


def test_the_log_form_says_why_next_to_the_field(breached, rep_client, htmx):
    response = rep_client.post(
        reverse("leads:log", args=[breached.pk]),
        {"kind": "email", "direction": "outbound", "occurred_at": "2026-05-01T09:00", "subject": "Hello"},
        headers=htmx,
    )
    assert response.status_code == 422
    assert "nothing can have happened before" in response.content.decode()
    assert not Interaction.objects.filter(lead=breached).exists()


def test_the_api_refuses_an_event_before_the_lead_existed(client, admin_user, channel, breached):
    from leads.channels import services as channel_services

    breached.channel = channel
    breached.save()
    _token, raw = channel_services.api_token_create(user=admin_user, channel=channel, name="Site")
    response = client.post(
        "/api/v1/events/",
        {"kind": "web_visit", "lead_id": breached.pk, "occurred_at": "2026-05-01T09:00:00Z"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert response.status_code == 400
    assert "occurred_at" in response.json()["errors"]
