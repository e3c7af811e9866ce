"""POST /api/v1/leads/batch/: up to 100 leads in one call, through the same pipeline and duplicate rule as one."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads.models import Interaction, Lead, ResponseClock, StageChange
from tests.factories import ChannelFactory, LeadFactory, ResponsePolicyFactory
from tests.threads import together

BATCH = "/api/v1/leads/batch/"


def _post(client, raw, leads, **headers):
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    return client.post(
        BATCH, json.dumps({"leads": leads}), "application/json", HTTP_AUTHORIZATION=f"Bearer {raw}", **extra
    )


@pytest.mark.django_db
def test_a_batch_creates_new_leads_and_records_repeats_on_the_channels_lead(client, token, channel):
    known = LeadFactory(channel=channel, email="ada@example.com")
    elsewhere = LeadFactory(channel=ChannelFactory(name="Partner"), email="bob@example.com")
    ResponsePolicyFactory(name="Everyone", grade="", channel=None, target_minutes=60)
    response = _post(
        client,
        token[1],
        [
            {"name": "Ada again", "email": "ADA@example.com", "message": "pricing?"},  # the channel's lead
            {"name": "Bob", "email": "bob@example.com"},  # another channel's lead: not matched, not revealed
            {"name": "Cy", "phone": "+44 20 7946 0001", "company": "Cyco"},
            {"name": "Cy twin", "phone": "+442079460001"},  # the same person as the lead before it in the batch
        ],
    )
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [r["created"] for r in results] == [False, True, True, False]
    assert results[0]["lead"]["id"] == known.pk
    assert results[1]["lead"]["id"] != elsewhere.pk and results[3]["lead"]["id"] == results[2]["lead"]["id"]
    created = Lead.objects.filter(pk__in=[results[1]["lead"]["id"], results[2]["lead"]["id"]])
    assert {lead.channel_id for lead in created} == {channel.pk} and created.count() == 2
    assert StageChange.objects.filter(lead__in=created).count() == 2
    assert ResponseClock.objects.filter(lead__in=created, due_at__isnull=False).count() == 2
    repeats = Interaction.objects.filter(kind="form_submission", details__repeat=True)
    assert sorted(repeats.values_list("lead_id", flat=True)) == sorted([known.pk, results[2]["lead"]["id"]])
    assert repeats.get(lead=known).body == "pricing?"


@pytest.mark.django_db
def test_one_bad_lead_refuses_the_batch_naming_it_and_stores_nothing(client, token):
    response = _post(client, token[1], [{"name": "Ok", "email": "ok@example.com"}, {"name": "No contact"}])
    assert response.status_code == 400
    assert "leads.1.email" in response.json()["errors"]
    assert not Lead.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("leads", [[], [{"name": f"P{i}", "email": f"p{i}@example.com"} for i in range(101)]])
def test_a_batch_holds_1_to_100_leads(client, token, leads):
    response = _post(client, token[1], leads)
    assert response.status_code == 400 and "leads" in response.json()["errors"]
    assert not Lead.objects.exists()


@pytest.mark.django_db
def test_a_batch_of_100_costs_about_the_statements_of_one_lead(client, token):
    ResponsePolicyFactory(name="Everyone", grade="", channel=None, target_minutes=60)
    _post(client, token[1], [{"name": "Warm", "email": "warm@example.com"}])  # the token's use is written once
    leads = [{"name": f"Person {i}", "email": f"person{i}@example.com", "company": "Engines"} for i in range(100)]
    with CaptureQueriesContext(connection) as queries:
        response = _post(client, token[1], leads, idempotency_key="sync-1")
    assert response.status_code == 200 and all(r["created"] for r in response.json()["results"])
    assert len(queries.captured_queries) <= 14, "\n".join(q["sql"][:120] for q in queries.captured_queries)
    assert Lead.objects.count() == 101 and ResponseClock.objects.filter(due_at__isnull=False).count() == 101


@pytest.mark.django_db(transaction=True)
def test_two_overlapping_batches_at_once_create_each_person_once(token):
    from django.test import Client

    first = [{"name": f"A{i}", "email": f"shared{i}@example.com"} for i in range(30)]
    second = [{"name": f"B{i}", "email": f"shared{i}@example.com"} for i in range(15, 45)]
    answers, errors = together(lambda: _post(Client(), token[1], first), lambda: _post(Client(), token[1], second))
    assert errors == [None, None] and [a.status_code for a in answers] == [200, 200]
    assert Lead.objects.count() == 45  # 0..44 once each: the 15 shared people are one lead each
    created = sum(r["created"] for a in answers for r in a.json()["results"])
    assert created == 45 and Interaction.objects.filter(kind="form_submission").count() == 15


@pytest.mark.django_db
def test_a_retried_batch_with_its_key_replays_and_creates_nothing_more(client, token):
    leads = [{"name": "Ada", "email": "ada@example.com"}, {"name": "Bob", "email": "bob@example.com"}]
    first = _post(client, token[1], leads, idempotency_key="batch-1")
    again = _post(client, token[1], leads, idempotency_key="batch-1")
    assert first.json() == again.json() and again["Idempotent-Replayed"] == "true"
    assert Lead.objects.count() == 2 and not Interaction.objects.exists()


@pytest.mark.django_db
def test_a_batch_of_100_known_leads_records_their_repeats_in_a_few_statements(client, token, channel):
    """Repeat submissions are recorded set-based: one lock, one insert, one update of last activity (not ~300)."""
    known = [LeadFactory(channel=channel, email=f"known{i}@example.com") for i in range(100)]
    before = {lead.pk: lead.last_activity_at for lead in known}
    _post(client, token[1], [{"name": "Warm", "email": "warm@example.com"}])  # the token is read once
    leads = [{"name": f"Known {i}", "email": f"known{i}@example.com", "message": f"again {i}"} for i in range(100)]
    with CaptureQueriesContext(connection) as queries:
        response = _post(client, token[1], leads, idempotency_key="sync-repeats")
    assert response.status_code == 200
    assert [r["lead"]["id"] for r in response.json()["results"]] == [lead.pk for lead in known]
    assert len(queries.captured_queries) <= 12, "\n".join(q["sql"][:120] for q in queries.captured_queries)
    repeats = Interaction.objects.filter(kind="form_submission", details__repeat=True, direction="inbound")
    assert repeats.count() == 100 and repeats.get(lead=known[7]).body == "again 7"
    for lead in Lead.objects.filter(pk__in=before):
        assert lead.last_activity_at > before[lead.pk]
