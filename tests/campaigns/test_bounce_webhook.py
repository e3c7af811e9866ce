"""The bounce webhook: a channel's API token reports bounced campaign messages by Message-ID, once each."""

import json

import pytest
from django.test import override_settings
from django.urls import reverse

from campaigns import sending, services
from campaigns.models import Send
from leads.channels import services as channel_services
from tests.factories import ChannelFactory
from tests.threads import together

pytestmark = pytest.mark.django_db
URL = "/c/bounces/"


@pytest.fixture
def sends(campaign, members, first_email, manager):
    services.campaign_schedule(user=manager, campaign=campaign)
    sending.sends_deliver(step_id=first_email.pk)
    return list(Send.objects.filter(state="sent").order_by("pk"))


@pytest.fixture
def token(admin_user, channel):
    return channel_services.api_token_create(user=admin_user, channel=channel, name="Mail provider")[1]


def _post(client, token, body, **extra):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(URL, data=data, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}", **extra)


def test_the_url_is_the_named_one():
    assert reverse("campaigns:bounces_webhook") == URL


def test_a_report_marks_its_sends_bounced_once_and_a_repeat_changes_nothing(client, sends, token):
    ids = [sends[0].message_id, sends[1].message_id, "<campaign-send-999999@crm.localhost>", "nonsense"]
    response = _post(client, token, {"message_ids": ids})
    assert response.status_code == 200
    assert response.json() == {"recorded": 2, "already_bounced": 0, "not_found": ids[2:]}
    first = {s.pk: s.bounced_at for s in Send.objects.filter(bounced_at__isnull=False)}
    assert set(first) == {sends[0].pk, sends[1].pk}
    again = _post(client, token, {"message_ids": ids})
    assert again.json() == {"recorded": 0, "already_bounced": 2, "not_found": ids[2:]}
    assert {s.pk: s.bounced_at for s in Send.objects.filter(bounced_at__isnull=False)} == first


def test_another_channels_token_finds_none_of_these_messages(client, sends, admin_user):
    other = channel_services.api_token_create(user=admin_user, channel=ChannelFactory(name="Fairs"), name="x")[1]
    response = _post(client, other, {"message_ids": [sends[0].message_id]})
    assert response.json() == {"recorded": 0, "already_bounced": 0, "not_found": [sends[0].message_id]}
    assert not Send.objects.filter(bounced_at__isnull=False).exists()


def test_a_message_not_sent_is_not_bounced(client, campaign, members, first_email, manager, token):
    services.campaign_schedule(user=manager, campaign=campaign)  # queued, not sent
    queued = Send.objects.order_by("pk").first()
    response = _post(client, token, {"message_ids": [queued.message_id]})
    assert response.json()["not_found"] == [queued.message_id]


def test_no_unknown_or_revoked_token_is_a_401(client, sends, token, admin_user, channel):
    assert _post(client, "", {"message_ids": []}).status_code == 401
    assert _post(client, "crm_wrong", {"message_ids": []}).status_code == 401
    api_token = channel.api_tokens.get()
    channel_services.api_token_revoke(user=admin_user, token=api_token)
    response = _post(client, token, {"message_ids": [sends[0].message_id]})
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Bearer"
    assert not Send.objects.filter(bounced_at__isnull=False).exists()


def test_a_switched_off_channel_is_a_403(client, sends, token, channel):
    channel.active = False
    channel.save()
    assert _post(client, token, {"message_ids": [sends[0].message_id]}).status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("{not json", "body"),
        ({"message_ids": "x"}, "message_ids"),
        ({"message_ids": [1, 2]}, "message_ids"),
        (["x"], "message_ids"),
        ({"message_ids": ["x" * 1001]}, "message_ids"),
    ],
)
def test_bad_bodies_are_a_400_naming_the_field(client, token, body, field):
    response = _post(client, token, body)
    assert response.status_code == 400 and field in response.json()["errors"]


@override_settings(CAMPAIGN_BOUNCE_BATCH=2)
def test_more_ids_than_a_batch_is_a_400(client, token):
    response = _post(client, token, {"message_ids": ["a", "b", "c"]})
    assert response.status_code == 400 and "At most 2" in response.json()["errors"]["message_ids"][0]


@override_settings(CAMPAIGN_BOUNCE_MAX_BYTES=100)
def test_a_body_over_the_limit_is_a_413(client, token):
    response = _post(client, token, {"message_ids": ["<campaign-send-1@crm.localhost>"] * 5})
    assert response.status_code == 413


def test_get_is_a_405(client, token):
    response = client.get(URL, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 405 and response["Allow"] == "POST"


@override_settings(API_RATE_LIMIT=2)
def test_over_the_rate_limit_is_a_429_with_retry_after(client, token):
    answers = [_post(client, token, {"message_ids": []}) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429] and int(answers[2]["Retry-After"]) > 0


@pytest.mark.django_db(transaction=True)
def test_two_reports_of_one_bounce_at_once_record_it_once(sends, token):
    from django.test import Client

    def report():
        return _post(Client(), token, {"message_ids": [sends[0].message_id]}).json()

    results, errors = together(report, report)
    assert errors == [None, None]
    assert sorted(r["recorded"] for r in results) == [0, 1]
    assert sorted(r["already_bounced"] for r in results) == [0, 1]
