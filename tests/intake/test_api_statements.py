"""Intake's cost in SQL: a lead created through the API takes at most 4 round trips to PostgreSQL (issue 11 allows
12 statements), everything included: BEGIN; the identity lock, the duplicate check and the new lead's id drawn
(three statements, one round trip); the lead with its stage history, its response clock (timed in its upsert),
scoring's note that the lead waits to be scored and the idempotency key with its answer (four statements, one round
trip: `crm.db.Batch`); COMMIT. A token the process has seen costs none, nor do the routing rules: both are checked
against generations in Redis, in the round trip of the rate-limit count. `make bench` measures the same path's
speed."""

import json

import pytest
from django.test import Client

from leads.models import Lead, ResponseClock
from tests.factories import ResponsePolicyFactory

pytestmark = pytest.mark.django_db(transaction=True)

MAX_STATEMENTS = 4


def _post(client, raw, i):
    return client.post(
        "/api/v1/leads/",
        json.dumps({"name": f"Person {i}", "email": f"person{i}@example.com", "company": "Engines"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
        HTTP_IDEMPOTENCY_KEY=f"key-{i}",
    )


def test_a_lead_created_through_the_api_costs_at_most_4_round_trips(token, channel, django_assert_max_num_queries):
    _token, raw = token
    ResponsePolicyFactory(name="Everyone", grade="", channel=None, target_minutes=60)
    client = Client()
    _post(client, raw, 0)  # the token is read (and its first use of the minute written down) once
    for i in range(1, 4):
        with django_assert_max_num_queries(MAX_STATEMENTS):
            response = _post(client, raw, i)
        assert response.status_code == 201, response.content
    assert Lead.objects.count() == 4
    assert ResponseClock.objects.filter(due_at__isnull=False).count() == 4
    body = response.json()["lead"]
    assert body["channel"] == channel.name and body["in_pool"] is True and body["owner"] is None


def test_a_new_lead_is_noted_for_scoring_in_its_own_transaction(token):
    """One commit per lead: scoring's note is written before COMMIT, not in a transaction of its own after it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from scoring.models import DirtyLead

    _token, raw = token
    client = Client()
    _post(client, raw, 0)
    with CaptureQueriesContext(connection) as queries:
        response = _post(client, raw, 1)
    statements = [q["sql"] for q in queries.captured_queries]
    noted = next(i for i, sql in enumerate(statements) if "scoring_dirtylead" in sql)
    assert noted < statements.index("COMMIT") and statements.count("COMMIT") == 1, statements
    assert DirtyLead.objects.filter(lead_id=response.json()["lead"]["id"]).exists()
