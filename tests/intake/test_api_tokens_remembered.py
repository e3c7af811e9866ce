"""A token an API process has seen costs no query on its next calls (issue 11), yet every change to the token or
its channel is seen at once: revoked, switched off, renamed, deleted. The cache is this run's real Redis."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads.channels import services as channel_services
from leads.models import ApiToken, Channel

pytestmark = pytest.mark.django_db


def _create(client, raw, email):
    return client.post(
        "/api/v1/leads/",
        json.dumps({"name": "Ada", "email": email}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )


def _token_queries(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if '"leads_apitoken"' in q["sql"]]


def test_a_known_token_is_not_read_again(client, token):
    _token, raw = token
    assert _create(client, raw, "a@example.com").status_code == 201
    with CaptureQueriesContext(connection) as queries:
        assert _create(client, raw, "b@example.com").status_code == 201
    assert _token_queries(queries) == []


def test_a_revoked_token_is_refused_on_its_next_call(client, token, admin_user):
    api_token, raw = token
    assert _create(client, raw, "a@example.com").status_code == 201
    channel_services.api_token_revoke(user=admin_user, token=api_token)
    assert _create(client, raw, "b@example.com").status_code == 401


def test_a_channel_switched_off_after_a_call_refuses_the_next(client, token, channel):
    _token, raw = token
    assert _create(client, raw, "a@example.com").status_code == 201
    channel.active = False
    channel_services.channel_save(user=token[0].created_by, channel=channel)
    response = _create(client, raw, "b@example.com")
    assert response.status_code == 403, response.content


def test_a_renamed_channel_is_named_anew_in_the_answer(client, token, channel):
    _token, raw = token
    assert _create(client, raw, "a@example.com").json()["lead"]["channel"] == "Google Ads"
    channel.name = "Google Ads (search)"
    channel.save()
    assert _create(client, raw, "b@example.com").json()["lead"]["channel"] == "Google Ads (search)"


def test_a_deleted_token_is_refused(client, token):
    api_token, raw = token
    assert _create(client, raw, "a@example.com").status_code == 201
    ApiToken.objects.filter(pk=api_token.pk).first().delete()
    assert _create(client, raw, "b@example.com").status_code == 401


def test_a_change_made_in_another_process_is_seen_here(client, token, channel):
    """Another process renews the generation in the shared cache; this one reads the token again."""
    api_token, raw = token
    assert _create(client, raw, "a@example.com").status_code == 201
    # What another process does on revoking: the row, then the generation (not this process's memory).
    from django.core.cache import cache

    from crm import clock

    ApiToken.objects.filter(pk=api_token.pk).update(revoked_at=clock.now())
    cache.set(channel_services.GENERATION_KEY, "another process", timeout=None)
    assert _create(client, raw, "b@example.com").status_code == 401


def test_without_the_generation_in_the_cache_the_token_is_read_from_the_database(client, token):
    """A flushed cache (or one that lost the key) cannot vouch for a remembered token."""
    from django.core.cache import cache

    api_token, raw = token
    assert _create(client, raw, "a@example.com").status_code == 201
    cache.clear()
    Channel.objects.filter(pk=api_token.channel_id).update(active=False)  # a bulk change: no signal
    assert _create(client, raw, "b@example.com").status_code == 403


def test_a_remembered_tokens_calls_count_toward_its_rate_limit(client, token, settings, one_rate_window):
    settings.API_RATE_LIMIT = 2
    _token, raw = token
    answers = [_create(client, raw, f"p{i}@example.com").status_code for i in range(3)]
    assert answers == [201, 201, 429]
