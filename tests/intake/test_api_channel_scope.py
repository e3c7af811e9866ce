"""An API token sees its own channel and nothing else: a lead of another channel is, to the token, a lead that
does not exist. Each refusal asserts that nothing was written and nothing of the other lead was said."""

import json

import pytest

from leads.models import Interaction, Lead
from leads.services import lead_assign
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

LEADS = "/api/v1/leads/"
EVENTS = "/api/v1/events/"


def _post(client, url, body, token):
    return client.post(url, json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.fixture
def theirs(other_token, rep, admin_user):
    """A worked lead of the other channel (Partner portal): owned, scored, with a phone."""
    lead = LeadFactory(
        channel=other_token[0].channel,
        name="Grace Hopper",
        email="grace@example.com",
        phone="+49 30 1234567",
        phone_normalized="+49301234567",
        company="Navy",
        score=91,
        grade="A",
    )
    lead_assign(lead=lead, owner=rep, user=admin_user)
    return lead


def _said_nothing_about(response, lead) -> None:
    text = response.content.decode()
    for secret in (lead.name, lead.company, lead.owner.username, lead.owner.get_full_name(), "Partner portal"):
        assert secret not in text, secret
    answer = response.json().get("lead") or {}
    assert answer.get("id") != lead.pk and answer.get("score") != lead.score and answer.get("owner") is None


# --- POST /api/v1/leads/ --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("known_by", ["email", "phone"])
def test_submitting_another_channels_lead_creates_a_new_lead_in_the_tokens_channel(
    client, token, channel, theirs, known_by
):
    body = {"name": "G. Hopper", known_by: {"email": "GRACE@example.com", "phone": "+49 30 1234567"}[known_by]}
    response = _post(client, LEADS, body, token[1])
    assert response.status_code == 201, response.content
    answer = response.json()
    new = Lead.objects.exclude(pk=theirs.pk).get()
    assert answer["created"] is True and answer["lead"]["id"] == new.pk
    assert new.channel == channel and new.name == "G. Hopper"
    _said_nothing_about(response, theirs)
    # The other channel's lead is untouched: no submission recorded on it, so nothing to raise its score.
    assert not Interaction.objects.filter(lead=theirs).exists()
    theirs.refresh_from_db()
    assert theirs.owner.username == "rep" and theirs.score == 91


def test_a_probe_for_another_channels_lead_answers_exactly_like_an_unknown_person(client, token, theirs):
    known = _post(client, LEADS, {"name": "X", "email": "grace@example.com"}, token[1])
    unknown = _post(client, LEADS, {"name": "X", "email": "nobody@example.com"}, token[1])
    assert known.status_code == unknown.status_code == 201
    assert set(known.json()["lead"]) == set(unknown.json()["lead"])
    assert known.json()["lead"]["owner"] == unknown.json()["lead"]["owner"]


def test_the_new_lead_shows_among_the_duplicates_for_a_manager_to_merge(client, token, theirs, admin_user):
    _post(client, LEADS, {"name": "G. Hopper", "email": "grace@example.com"}, token[1])
    client.force_login(admin_user)
    page = client.get("/leads/duplicates/")
    assert page.status_code == 200
    assert b"grace@example.com" in page.content and b"G. Hopper" in page.content


def test_a_match_in_the_tokens_own_channel_answers_only_the_id(client, token, channel, rep, admin_user):
    ours = LeadFactory(channel=channel, email="ada@example.com", score=77, grade="B")
    lead_assign(lead=ours, owner=rep, user=admin_user)
    response = _post(client, LEADS, {"name": "Ada", "email": "ada@example.com", "message": "Hi again"}, token[1])
    assert response.status_code == 200
    assert response.json() == {"created": False, "lead": {"id": ours.pk}}
    assert Lead.objects.count() == 1
    assert Interaction.objects.get().lead == ours


def test_the_own_channels_lead_wins_over_a_newer_lead_of_another_channel(client, token, channel):
    ours = LeadFactory(channel=channel, email="ada@example.com")
    newer_elsewhere = LeadFactory(email="ada@example.com")  # the "Web" channel, created after
    assert newer_elsewhere.created_at >= ours.created_at
    response = _post(client, LEADS, {"name": "Ada", "email": "ada@example.com"}, token[1])
    assert response.json() == {"created": False, "lead": {"id": ours.pk}}
    assert not Interaction.objects.filter(lead=newer_elsewhere).exists()


def test_each_channels_token_matches_its_own_lead_of_one_person(client, token, other_token, channel, theirs):
    ours = LeadFactory(channel=channel, email="grace@example.com")
    for (api_token, raw), expected in ((token, ours), (other_token, theirs)):
        response = _post(client, LEADS, {"name": "Grace", "email": "grace@example.com"}, raw)
        assert response.status_code == 200
        assert response.json() == {"created": False, "lead": {"id": expected.pk}}, api_token.channel
    assert Interaction.objects.filter(lead=ours).count() == Interaction.objects.filter(lead=theirs).count() == 1


# --- GET /api/v1/leads/{id}/ ----------------------------------------------------------------------------------------


def test_reading_another_channels_lead_answers_like_a_missing_lead(client, token, theirs):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token[1]}"}
    missing_id = Lead.objects.order_by("-pk").values_list("pk", flat=True).first() + 1000
    other = client.get(f"{LEADS}{theirs.pk}/", **auth)
    missing = client.get(f"{LEADS}{missing_id}/", **auth)
    assert other.status_code == missing.status_code == 404
    # The same sentence, but for the id the caller sent.
    said_other = other.json()["errors"]["lead_id"][0].replace(str(theirs.pk), "N")
    assert said_other == missing.json()["errors"]["lead_id"][0].replace(str(missing_id), "N")
    assert theirs.name not in other.content.decode() and "Partner portal" not in other.content.decode()


# --- POST /api/v1/events/ -------------------------------------------------------------------------------------------


def _missing_id() -> int:
    return (Lead.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1000


@pytest.mark.parametrize(
    "lookup",
    [
        pytest.param(lambda lead: {"lead_id": lead.pk}, id="by id"),
        pytest.param(lambda lead: {"email": "grace@example.com"}, id="by email"),
        pytest.param(lambda lead: {"lead_id": lead.pk, "email": "grace@example.com"}, id="by id and email"),
        pytest.param(lambda lead: {"lead_id": lead.pk, "email": "someone@example.com"}, id="by id, another email"),
    ],
)
def test_an_event_on_another_channels_lead_is_refused_exactly_like_a_missing_lead(client, token, theirs, lookup):
    other = _post(client, EVENTS, {"kind": "web_visit", **lookup(theirs)}, token[1])
    missing_lead = type("Missing", (), {"pk": _missing_id()})()
    Lead.objects.filter(email_normalized="grace@example.com").update(email_normalized="moved@example.com")
    missing = _post(client, EVENTS, {"kind": "web_visit", **lookup(missing_lead)}, token[1])
    assert other.status_code == missing.status_code == 404
    assert other.json() == missing.json()
    assert "another email" not in other.content.decode()
    assert not Interaction.objects.exists()


def test_an_event_by_email_goes_to_the_tokens_own_lead_never_to_a_newer_one_elsewhere(
    client, token, channel, other_token
):
    ours = LeadFactory(channel=channel, email="ada@example.com")
    LeadFactory(channel=other_token[0].channel, email="ada@example.com")  # newer, another channel
    response = _post(client, EVENTS, {"kind": "download", "email": "ada@example.com"}, token[1])
    assert response.status_code == 201
    assert response.json()["lead_id"] == ours.pk
    assert Interaction.objects.get().lead == ours


def test_the_other_channels_token_records_events_on_its_own_lead(client, other_token, theirs):
    response = _post(client, EVENTS, {"kind": "email_open", "lead_id": theirs.pk}, other_token[1])
    assert response.status_code == 201
    assert Interaction.objects.get().lead == theirs
