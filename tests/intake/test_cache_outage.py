"""A cache outage degrades the ways in (no rate limit, no double-submit check for a while); it never refuses or
loses a lead. The cache here is a real Redis client pointed at a port nothing listens on."""

import json

import pytest

from leads.models import Interaction, Lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def cache_down(settings):
    working = settings.CACHES
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:9/0"}
    }
    yield
    settings.CACHES = working  # back before the other fixtures' teardown empties the cache


def test_the_api_creates_leads_while_the_cache_is_down(client, token, channel, cache_down):
    response = client.post(
        "/api/v1/leads/",
        json.dumps({"name": "Ada", "email": "ada@example.com"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token[1]}",
    )
    assert response.status_code == 201, response.content
    assert Lead.objects.filter(email_normalized="ada@example.com", channel=channel).count() == 1


def test_a_web_form_takes_submissions_while_the_cache_is_down(client, web_form, cache_down):
    for _ in range(2):  # the double-submit check is off: the second is recorded on the same lead
        response = client.post(f"/f/{web_form.slug}/", {"name": "Grace", "email": "grace@example.com"})
        assert response.status_code == 200 and b"Thank you" in response.content
    lead = Lead.objects.get()
    assert Interaction.objects.filter(lead=lead, kind="form_submission").count() == 2


def test_an_api_call_while_the_cache_is_down_does_not_try_to_write_generations(
    client, token, channel, settings, caplog, request
):
    """Unreachable is not absent: a generation read as away is not started anew (each try would wait on the
    unreachable cache again), on a token's first call as on a remembered token's."""

    def call(email):
        return client.post(
            "/api/v1/leads/",
            json.dumps({"name": "Ada", "email": email}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token[1]}",
        )

    assert call("first@example.com").status_code == 201  # the token is remembered, under the cache's generation
    request.getfixturevalue("cache_down")
    with caplog.at_level("WARNING", logger="crm.generations"):
        assert call("second@example.com").status_code == 201
    assert not [r for r in caplog.records if r.name == "crm.generations"]
    assert Lead.objects.filter(channel=channel).count() == 2
