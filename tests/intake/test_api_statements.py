"""Intake's cost in SQL: a lead created through the API takes at most 12 statements, everything included (token,
idempotency key, identity lock, duplicate check, insert, stage history, routing, response clock, the key's stored
answer and scoring's note that the lead waits to be scored). `make bench` measures the same path's speed."""

import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from leads.models import Lead, ResponseClock
from tests.factories import ResponsePolicyFactory

pytestmark = pytest.mark.django_db(transaction=True)

MAX_STATEMENTS = 12


def _post(client, raw, i):
    return client.post(
        "/api/v1/leads/",
        json.dumps({"name": f"Person {i}", "email": f"person{i}@example.com", "company": "Engines"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
        HTTP_IDEMPOTENCY_KEY=f"key-{i}",
    )


def test_a_lead_created_through_the_api_costs_at_most_12_statements(token, channel):
    _token, raw = token
    ResponsePolicyFactory(name="Everyone", grade="", channel=None, target_minutes=60)
    client = Client()
    _post(client, raw, 0)  # the token's first use of the minute is written down once
    for i in range(1, 4):
        with CaptureQueriesContext(connection) as queries:
            response = _post(client, raw, i)
        assert response.status_code == 201, response.content
        statements = [q["sql"] for q in queries.captured_queries]
        assert len(statements) <= MAX_STATEMENTS, "\n".join(s[:120] for s in statements)
    assert Lead.objects.count() == 4
    assert ResponseClock.objects.filter(due_at__isnull=False).count() == 4
    body = response.json()["lead"]
    assert body["channel"] == channel.name and body["in_pool"] is True and body["owner"] is None
