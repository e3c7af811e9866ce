"""Fixtures for the ways in: a channel with a published web form, API tokens, and a clean cache per test."""

import pytest
from django.core.cache import cache

from leads.channels import services as channel_services
from leads.models import WebForm
from tests.factories import ChannelFactory


@pytest.fixture(autouse=True)
def _empty_cache():
    # Rate-limit counters and double-submit keys live in the cache (this run's own Redis database).
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def web_form(channel):
    return WebForm.objects.create(channel=channel, slug="demo-request", published=True, title="Ask for a demo")


@pytest.fixture
def token(admin_user, channel):
    """(ApiToken, the raw token) for the Google Ads channel."""
    return channel_services.api_token_create(user=admin_user, channel=channel, name="Landing page")


@pytest.fixture
def other_token(admin_user):
    return channel_services.api_token_create(
        user=admin_user, channel=ChannelFactory(name="Partner portal"), name="Partner"
    )


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client
