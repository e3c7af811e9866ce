"""Two requests at the same moment, in real concurrent PostgreSQL transactions (threads, own connections)."""

import datetime as dt
import json
import threading

import pytest
from django.db import transaction
from django.test import Client

from leads.intake.pipeline import identities_lock
from leads.models import IdempotencyKey, Interaction, Lead
from tests.threads import together
from tests.workers import backends_waiting_on_locks, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def _together(*calls):
    results, errors = together(*calls, timeout=30)
    assert errors == [None] * len(calls), errors
    return results


def _post(raw_token, body, **headers):
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    return Client().post(
        "/api/v1/leads/", json.dumps(body), "application/json", HTTP_AUTHORIZATION=f"Bearer {raw_token}", **extra
    )


def test_two_concurrent_retries_with_one_key_create_one_lead(token):
    body = {"name": "Ada", "email": "ada@example.com"}
    first, second = _together(
        lambda: _post(token[1], body, idempotency_key="retry-1"),
        lambda: _post(token[1], body, idempotency_key="retry-1"),
    )
    assert sorted([first.status_code, second.status_code]) == [201, 201]
    assert first.json() == second.json()
    assert Lead.objects.count() == 1 and IdempotencyKey.objects.count() == 1
    assert not Interaction.objects.exists()


def test_two_concurrent_arrivals_of_one_person_create_one_lead(token):
    first, second = _together(
        lambda: _post(token[1], {"name": "Ada", "email": "ada@example.com", "message": "one"}),
        lambda: _post(token[1], {"name": "Ada L.", "email": "ADA@example.com", "message": "two"}),
    )
    assert sorted([first.status_code, second.status_code]) == [200, 201]
    lead = Lead.objects.get()
    assert Interaction.objects.get().lead == lead  # the second arrival is recorded on the first's lead


def test_an_arrival_waiting_for_the_identity_lock_sees_the_lead_committed_meanwhile(token, channel):
    """The API sends the identity lock and the duplicate query in one round trip: the query must still see a lead
    that the holder of the lock committed while the arrival waited (each statement takes its own snapshot)."""
    locked = threading.Event()

    def holder():
        with transaction.atomic():
            identities_lock(["email:ada@example.com"])
            Lead.objects.create(
                name="Ada", email="ada@example.com", email_normalized="ada@example.com", channel=channel
            )
            locked.set()
            # Commit only once the API call waits for this lock (bounded: a call that never waits fails the test).
            wait_for(lambda: backends_waiting_on_locks() >= 1, what="the API call waiting for the identity lock")
        return "waited"

    def arrival():
        assert locked.wait(30)
        return _post(token[1], {"name": "Ada L.", "email": "ADA@example.com"})

    held, answer = _together(holder, arrival)
    assert held == "waited"
    assert answer.status_code == 200 and answer.json()["created"] is False, answer.content
    assert Lead.objects.count() == 1


def test_two_concurrent_event_retries_with_one_key_record_one_event(token, channel):
    # No identity lock here: the key's unique index alone decides, and the second request rolls its event back.
    lead = Lead.objects.create(name="Ada", email="ada@example.com", email_normalized="ada@example.com", channel=channel)
    body = {"kind": "web_visit", "lead_id": lead.pk, "url": "https://example.com/pricing"}

    def post():
        return Client().post(
            "/api/v1/events/",
            json.dumps(body),
            "application/json",
            HTTP_AUTHORIZATION=f"Bearer {token[1]}",
            HTTP_IDEMPOTENCY_KEY="event-1",
        )

    first, second = _together(post, post)
    assert first.status_code == second.status_code == 201 and first.json() == second.json()
    assert Interaction.objects.filter(lead=lead).count() == 1 and IdempotencyKey.objects.count() == 1
    assert "true" in (first.get("Idempotent-Replayed", ""), second.get("Idempotent-Replayed", ""))


@pytest.mark.parametrize(
    "said",
    [{"event_id": "evt_01J9"}, {"occurred_at": "2026-05-01T10:00:00Z", "url": "https://example.com/pricing"}],
    ids=["sender's event id", "occurred_at and contents"],
)
def test_two_concurrent_redeliveries_without_a_key_record_one_event(token, channel, said):
    # A webhook sender that retries without an Idempotency-Key: the event's own identity decides.
    # Known since January: an event may be dated any time after the lead's creation.
    lead = Lead.objects.create(
        name="Ada",
        email="ada@example.com",
        email_normalized="ada@example.com",
        channel=channel,
        created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )
    body = {"kind": "web_visit", "lead_id": lead.pk, **said}

    def post():
        return Client().post(
            "/api/v1/events/", json.dumps(body), "application/json", HTTP_AUTHORIZATION=f"Bearer {token[1]}"
        )

    first, second = _together(post, post)
    assert sorted([first.status_code, second.status_code]) == [200, 201]
    assert first.json() == second.json()
    assert Interaction.objects.filter(lead=lead).count() == 1
