"""The JSON API: create and read leads, record events; tokens, bad input, limits and idempotent retries."""

import datetime as dt
import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from leads.models import ApiToken, IdempotencyKey, Interaction, Lead, ResponseClock
from leads.services import lead_assign
from leads.signals import interaction_logged
from tests.factories import LeadFactory, ResponsePolicyFactory

pytestmark = pytest.mark.django_db

LEADS = "/api/v1/leads/"
EVENTS = "/api/v1/events/"


def _call(client, url, body=None, *, raw=None, token=None, method="post", **headers):
    extra = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    extra.update({f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()})
    if method == "get":
        return client.get(url, **extra)
    data = raw if raw is not None else json.dumps(body)
    return client.post(url, data, content_type="application/json", **extra)


def test_a_token_creates_a_lead_in_its_channel(client, token, channel):
    _api_token, raw = token
    response = _call(
        client,
        LEADS,
        {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email": "Ada@Example.com",
            "company": "Engines",
            "company_size": 40,
            "country": "gb",
            "utm_source": "linkedin",
            "attributes": {"plan": "pro"},
        },
        token=raw,
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["created"] is True
    lead = Lead.objects.get()
    assert body["lead"]["id"] == lead.pk and body["lead"]["name"] == "Ada Lovelace"
    assert body["lead"]["channel"] == "Google Ads" and body["lead"]["stage"] == "new"
    assert body["lead"]["url"].endswith(f"/leads/{lead.pk}/")
    assert lead.channel == channel and lead.email_normalized == "ada@example.com" and lead.country == "GB"
    assert lead.attributes == {"plan": "pro"} and lead.utm_source == "linkedin" and lead.company_size == 40
    assert not Interaction.objects.exists()


def test_an_api_lead_whose_email_its_channel_knows_is_recorded_on_that_lead(client, token, channel):
    existing = LeadFactory(email="ada@example.com", channel=channel)
    response = _call(client, LEADS, {"name": "Ada", "email": "ADA@example.com", "message": "Again"}, token=token[1])
    assert response.status_code == 200
    # Only the id: nothing the client did not send (no owner, stage or score).
    assert response.json() == {"created": False, "lead": {"id": existing.pk}}
    assert Lead.objects.count() == 1
    submission = Interaction.objects.get()
    assert (submission.lead, submission.kind, submission.direction) == (existing, "form_submission", "inbound")
    assert submission.details["via"] == "api"


def test_reading_a_lead_shows_owner_stage_score_and_grade(client, token, channel, rep, admin_user):
    lead = LeadFactory(channel=channel, score=85, grade="A")
    lead_assign(lead=lead, owner=rep, user=admin_user)
    response = _call(client, f"{LEADS}{lead.pk}/", method="get", token=token[1])
    assert response.status_code == 200
    body = response.json()
    assert body["owner"]["username"] == "rep" and body["in_pool"] is False
    assert (body["stage"], body["score"], body["grade"]) == ("new", 85, "A")
    assert body["created_at"].startswith(str(lead.created_at.year))


def test_a_token_reads_only_its_own_channels_leads(client, token, other_token):
    theirs = LeadFactory(channel=other_token[0].channel)
    response = _call(client, f"{LEADS}{theirs.pk}/", method="get", token=token[1])
    assert response.status_code == 404
    assert "lead_id" in response.json()["errors"]
    assert _call(client, f"{LEADS}{theirs.pk}/", method="get", token=other_token[1]).status_code == 200
    assert _call(client, f"{LEADS}999999/", method="get", token=token[1]).status_code == 404


def test_a_lead_created_with_another_channels_token_belongs_to_that_channel(client, token, other_token):
    _call(client, LEADS, {"name": "P", "email": "p@example.com"}, token=other_token[1])
    lead = Lead.objects.get()
    assert lead.channel == other_token[0].channel
    assert _call(client, f"{LEADS}{lead.pk}/", method="get", token=token[1]).status_code == 404


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"name": "A", "email": "nope"}, {"email"}),
        ({"name": "A", "email": "a@example.com", "phone": "call me", "country": "Germany"}, {"phone", "country"}),
        ({"name": "A", "email": "a@example.com", "company_size": -3}, {"company_size"}),
        ({"name": "A", "email": "a@example.com", "company_size": "many"}, {"company_size"}),
        ({"name": "A", "email": "a@example.com", "favourite_colour": "blue"}, {"favourite_colour"}),
        ({"name": "A" * 201, "email": "a@example.com"}, {"name"}),
        ({"email": "a@example.com"}, {"name"}),
        ({"name": "A"}, {"email"}),
        ({"name": "A", "email": "a@example.com", "attributes": ["not", "an", "object"]}, {"attributes"}),
    ],
)
def test_bad_lead_input_answers_400_naming_each_bad_field(client, token, body, errors):
    response = _call(client, LEADS, body, token=token[1])
    assert response.status_code == 400, response.content
    assert set(response.json()["errors"]) == errors
    assert all(isinstance(m, str) and m for messages in response.json()["errors"].values() for m in messages)
    assert not Lead.objects.exists()


@pytest.mark.parametrize("raw", ['{"name": "A", "email": ', "not json at all", "\xff\xfe"])
def test_malformed_json_answers_400_not_500(client, token, raw):
    response = _call(client, LEADS, raw=raw, token=token[1])
    assert response.status_code == 400
    assert response.json() == {"errors": {"body": ["The body is not valid JSON."]}}


@pytest.mark.parametrize("raw", ["[1, 2]", '"a string"', ""])
def test_a_body_that_is_not_an_object_answers_400(client, token, raw):
    response = _call(client, LEADS, raw=raw, token=token[1])
    assert response.status_code == 400
    assert "body" in response.json()["errors"]


@pytest.mark.parametrize("authorization", [None, "Bearer", "Bearer crm_nonsense", "Basic dXNlcjpwYXNz", "crm_x"])
def test_a_missing_or_unknown_token_answers_401(client, token, authorization):
    extra = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    response = client.post(LEADS, json.dumps({"name": "A", "email": "a@example.com"}), "application/json", **extra)
    assert response.status_code == 401
    assert "Authorization" in response.json()["errors"] and response["WWW-Authenticate"] == "Bearer"
    assert not Lead.objects.exists()


def test_a_revoked_token_answers_401_at_once(admin_client, client, token, channel):
    api_token, raw = token
    assert _call(client, LEADS, {"name": "A", "email": "a@example.com"}, token=raw).status_code == 201
    admin_client.post(f"/leads/channels/{channel.pk}/tokens/{api_token.pk}/revoke/")
    assert _call(client, LEADS, {"name": "B", "email": "b@example.com"}, token=raw).status_code == 401
    assert _call(client, f"{LEADS}{Lead.objects.get().pk}/", method="get", token=raw).status_code == 401
    assert Lead.objects.count() == 1


def test_a_switched_off_channel_answers_403(client, token, channel):
    channel.active = False
    channel.save()
    response = _call(client, LEADS, {"name": "A", "email": "a@example.com"}, token=token[1])
    assert response.status_code == 403 and "switched off" in response.json()["errors"]["Authorization"][0]


def test_the_token_records_when_it_was_last_used(client, token):
    _call(client, f"{LEADS}1/", method="get", token=token[1])
    assert ApiToken.objects.get().last_used_at is not None


def test_over_the_rate_limit_answers_429_with_retry_after(client, token, other_token, settings, one_rate_window):
    settings.API_RATE_LIMIT = 3
    for n in range(3):
        assert _call(client, LEADS, {"name": "A", "email": f"a{n}@example.com"}, token=token[1]).status_code == 201
    response = _call(client, LEADS, {"name": "A", "email": "a9@example.com"}, token=token[1])
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert "Authorization" in response.json()["errors"]
    assert Lead.objects.count() == 3
    # The limit is per token.
    assert _call(client, LEADS, {"name": "B", "email": "b@example.com"}, token=other_token[1]).status_code == 201


def test_a_retry_with_the_same_idempotency_key_replays_the_first_answer(client, token):
    body = {"name": "Ada", "email": "ada@example.com"}
    first = _call(client, LEADS, body, token=token[1], idempotency_key="order-42")
    again = _call(client, LEADS, body, token=token[1], idempotency_key="order-42")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert Lead.objects.count() == 1 and IdempotencyKey.objects.get().status_code == 201
    # A new key is a new request (and this email is now known: recorded on the lead, not created).
    third = _call(client, LEADS, body, token=token[1], idempotency_key="order-43")
    assert third.status_code == 200 and Lead.objects.count() == 1


def test_the_same_key_with_another_body_answers_422(client, token):
    _call(client, LEADS, {"name": "Ada", "email": "ada@example.com"}, token=token[1], idempotency_key="k1")
    response = _call(client, LEADS, {"name": "Bob", "email": "bob@example.com"}, token=token[1], idempotency_key="k1")
    assert response.status_code == 422 and "Idempotency-Key" in response.json()["errors"]
    assert Lead.objects.count() == 1


def test_keys_belong_to_their_token(client, token, other_token):
    body = {"name": "Ada", "email": "ada@example.com"}
    _call(client, LEADS, body, token=token[1], idempotency_key="same")
    response = _call(client, LEADS, {**body, "email": "x@example.com"}, token=other_token[1], idempotency_key="same")
    assert response.status_code == 201 and Lead.objects.count() == 2


def test_a_failed_request_does_not_use_up_its_key(client, token):
    bad = _call(client, LEADS, {"name": "Ada", "email": "nope"}, token=token[1], idempotency_key="k2")
    assert bad.status_code == 400
    good = _call(
        client, LEADS, {"name": "Ada", "email": "nope"[:0] + "ada@example.com"}, token=token[1], idempotency_key="k2"
    )
    assert good.status_code == 201


def test_an_overlong_idempotency_key_answers_400(client, token):
    response = _call(client, LEADS, {"name": "A", "email": "a@example.com"}, token=token[1], idempotency_key="k" * 300)
    assert response.status_code == 400 and "Idempotency-Key" in response.json()["errors"]
    assert not Lead.objects.exists()


def test_an_event_is_recorded_on_a_lead_by_id_and_rescoring_is_signalled(
    client, token, channel, django_capture_on_commit_callbacks
):
    lead = LeadFactory(channel=channel)
    heard = []
    interaction_logged.connect(lambda **kw: heard.append(kw["lead_id"]), weak=False, dispatch_uid="test-heard")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = _call(
                client,
                EVENTS,
                {"kind": "web_visit", "lead_id": lead.pk, "url": "/pricing", "pages": 4, "seconds": 180},
                token=token[1],
            )
    finally:
        interaction_logged.disconnect(dispatch_uid="test-heard")
    assert response.status_code == 201, response.content
    visit = Interaction.objects.get()
    assert response.json()["id"] == visit.pk and response.json()["lead_id"] == lead.pk
    assert (visit.kind, visit.direction, visit.user) == ("web_visit", "system", None)
    assert visit.details == {"via": "api", "token": "Landing page", "url": "/pricing", "pages": 4, "seconds": 180}
    assert heard == [lead.pk]


@pytest.mark.parametrize(
    ("kind", "direction"),
    [
        ("form_submission", "inbound"),
        ("download", "inbound"),
        ("email_open", "system"),
        ("email_click", "system"),
        ("event_attended", "inbound"),
    ],
)
def test_every_behavioural_kind_is_recorded_by_email(client, token, channel, kind, direction):
    # Known since 2025: an event may be dated at any time since the lead's creation (never before it).
    lead = LeadFactory(email="ada@example.com", channel=channel, created_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    at = "2026-01-05T10:00:00+00:00"
    response = _call(
        client, EVENTS, {"kind": kind, "email": " ADA@example.com", "occurred_at": at, "subject": "x"}, token=token[1]
    )
    assert response.status_code == 201
    event = Interaction.objects.get()
    assert (event.lead, event.kind, event.direction) == (lead, kind, direction)
    assert event.occurred_at == dt.datetime(2026, 1, 5, 10, tzinfo=dt.UTC)


def test_an_event_does_not_stop_the_response_clock(client, token, channel):
    ResponsePolicyFactory(name="Everyone", target_minutes=60)
    _call(client, LEADS, {"name": "Ada", "email": "ada@example.com"}, token=token[1])
    lead = Lead.objects.get()
    _call(client, EVENTS, {"kind": "email_click", "lead_id": lead.pk}, token=token[1])
    lead.refresh_from_db()
    assert lead.first_response_at is None and ResponseClock.objects.get(lead=lead).next_at is not None


@pytest.mark.parametrize(
    ("body", "status", "errors"),
    [
        ({"kind": "phone_call", "lead_id": 1}, 400, {"kind"}),
        ({"kind": "web_visit"}, 400, {"lead_id"}),
        ({"kind": "web_visit", "lead_id": "abc"}, 400, {"lead_id"}),
        ({"kind": "web_visit", "email": "nobody@example.com"}, 404, {"email"}),
        ({"kind": "web_visit", "lead_id": 999999}, 404, {"lead_id"}),
        ({"kind": "web_visit", "email": "ada@example.com", "pages": -1, "seconds": "long"}, 400, {"pages", "seconds"}),
        ({"kind": "email_open", "email": "ada@example.com", "pages": 3}, 400, {"pages"}),
        ({"kind": "web_visit", "email": "ada@example.com", "occurred_at": "yesterday"}, 400, {"occurred_at"}),
        (
            {"kind": "web_visit", "email": "ada@example.com", "occurred_at": "2999-01-01T00:00:00Z"},
            400,
            {"occurred_at"},
        ),
        ({"kind": "web_visit", "email": "ada@example.com", "occurred_at": "2026-01-01T00:00:00"}, 400, {"occurred_at"}),
        ({"kind": "web_visit", "email": "ada@example.com", "colour": "red"}, 400, {"colour"}),
    ],
)
def test_bad_event_input_is_refused_naming_each_field(client, token, channel, body, status, errors):
    LeadFactory(email="ada@example.com", channel=channel)
    response = _call(client, EVENTS, body, token=token[1])
    assert response.status_code == status, response.content
    assert set(response.json()["errors"]) == errors
    assert not Interaction.objects.exists()


def test_an_event_with_a_lead_id_and_someone_elses_email_finds_no_lead(client, token, channel):
    lead = LeadFactory(email="ada@example.com", channel=channel)
    response = _call(
        client, EVENTS, {"kind": "download", "lead_id": lead.pk, "email": "bob@example.com"}, token=token[1]
    )
    assert response.status_code == 404 and "lead_id" in response.json()["errors"]
    assert not Interaction.objects.exists()


def test_an_event_retried_with_its_key_is_recorded_once(client, token, channel):
    lead = LeadFactory(channel=channel)
    body = {"kind": "download", "lead_id": lead.pk, "url": "/whitepaper.pdf"}
    first = _call(client, EVENTS, body, token=token[1], idempotency_key="evt-1")
    again = _call(client, EVENTS, body, token=token[1], idempotency_key="evt-1")
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert Interaction.objects.count() == 1


def test_an_event_with_its_id_locks_its_lead_once(client, token, channel):
    """The lead's lock orders two deliveries of one event; recording it takes no second lock."""
    lead = LeadFactory(channel=channel)
    _call(client, EVENTS, {"kind": "download", "lead_id": lead.pk}, token=token[1])  # the token is read once
    with CaptureQueriesContext(connection) as queries:
        response = _call(client, EVENTS, {"kind": "email_open", "lead_id": lead.pk, "event_id": "m-1"}, token=token[1])
    assert response.status_code == 201
    locks = [q["sql"] for q in queries.captured_queries if "FOR UPDATE" in q["sql"]]
    assert len(locks) == 1, locks


def test_an_event_redelivered_without_a_key_is_recognised_by_its_id_or_its_contents(client, token, channel):
    lead = LeadFactory(channel=channel, created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))  # before its events
    by_id = {"kind": "email_open", "lead_id": lead.pk, "event_id": "msg-42-open"}
    by_contents = {"kind": "web_visit", "lead_id": lead.pk, "occurred_at": "2026-05-01T10:00:00Z", "pages": 3}
    for body in (by_id, by_contents):
        first = _call(client, EVENTS, body, token=token[1])
        again = _call(client, EVENTS, body, token=token[1])
        assert (first.status_code, again.status_code) == (201, 200) and first.json() == again.json()
    assert Interaction.objects.count() == 2
    # Another visit at the same moment that says something else, or an event that says neither: new events.
    assert _call(client, EVENTS, {**by_contents, "pages": 4}, token=token[1]).status_code == 201
    assert _call(client, EVENTS, {"kind": "download", "lead_id": lead.pk}, token=token[1]).status_code == 201
    assert _call(client, EVENTS, {"kind": "download", "lead_id": lead.pk}, token=token[1]).status_code == 201
    assert Interaction.objects.count() == 5
    # The same event id on another lead is that lead's event.
    other = LeadFactory(channel=channel)
    assert _call(client, EVENTS, {**by_id, "lead_id": other.pk}, token=token[1]).status_code == 201


def test_the_openapi_schema_and_docs_are_for_people_logged_in(client, rep):
    for url in ("/api/v1/openapi.json", "/api/v1/docs"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/")
    client.force_login(rep)
    schema = client.get("/api/v1/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/api/v1/leads/", "/api/v1/leads/{lead_id}/", "/api/v1/events/"} <= set(paths)
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()


def test_creating_a_lead_runs_a_bounded_number_of_queries(client, token):
    with CaptureQueriesContext(connection) as queries:
        _call(client, LEADS, {"name": "Ada", "email": "ada@example.com"}, token=token[1], idempotency_key="q")
    statements = [q["sql"] for q in queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]
    assert len(statements) <= 20, statements


def test_the_api_needs_no_session_and_no_csrf_token(token):
    browserless = Client(enforce_csrf_checks=True)
    response = _call(browserless, LEADS, {"name": "Ada", "email": "ada@example.com"}, token=token[1])
    assert response.status_code == 201
