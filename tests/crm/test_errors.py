"""Error pages: in the app's layout with the reason, JSON under /api/, 503 with Retry-After when the database is
away; /health/ tells database, broker and cache apart."""

from contextlib import contextmanager

import pytest
from django.db import connections
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


@contextmanager
def database_down():
    """The next connection goes to a port nothing listens on: a real refused connection, then the real one back."""
    connection = connections["default"]
    connection.close()
    saved = connection.settings_dict["HOST"], connection.settings_dict["PORT"]
    connection.settings_dict["HOST"], connection.settings_dict["PORT"] = "127.0.0.1", "9"
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["HOST"], connection.settings_dict["PORT"] = saved


def test_a_missing_page_is_shown_in_the_layout_with_a_way_back(rep_client):
    response = rep_client.get("/leads/999999999/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Not found" in html and 'class="topbar"' in html and reverse("leads:list") in html


def test_a_refusal_says_why_in_the_layout(rep_client):
    response = rep_client.get(reverse("leads:sla_policies"))
    assert response.status_code == 403
    html = response.content.decode()
    assert "Not allowed" in html and 'class="topbar"' in html
    assert "admin" in html.lower()  # the app's reason, not a bare "403 Forbidden"


def test_api_errors_are_json_for_unknown_paths(client):
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("debug", [False, True], ids=["production", "make run (DEBUG)"])
def test_pages_answer_503_with_retry_after_while_the_database_is_away(rep, settings, debug):
    settings.DEBUG = debug
    browser = Client(raise_request_exception=False)
    browser.force_login(rep)
    with database_down():
        response = browser.get(reverse("leads:list"))
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "briefly unavailable" in response.content.decode()
    # Once the database is back, the same request works.
    assert browser.get(reverse("leads:list")).status_code == 200


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("debug", [False, True], ids=["production", "make run (DEBUG)"])
def test_the_api_answers_503_json_while_the_database_is_away(settings, debug):
    settings.DEBUG = debug
    api = Client(raise_request_exception=False)
    with database_down():
        response = api.post(
            "/api/v1/leads/", '{"name": "Ada"}', content_type="application/json", HTTP_AUTHORIZATION="Bearer crm_x"
        )
    assert response.status_code == 503 and response["Retry-After"] == "30"
    assert response.json()["detail"].startswith("The service is briefly unavailable")


@pytest.mark.django_db(transaction=True)
def test_health_tells_database_broker_and_cache_apart(client):
    response = client.get("/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok", "cache": "ok"}
    with database_down():
        response = client.get("/health/")
    assert response.status_code == 503 and response["Retry-After"] == "30"
    assert response.json()["database"] == "down" and response.json()["broker"] == "ok"


def test_the_app_404_page_shows_under_debug_too(rep_client, settings):
    settings.DEBUG = True
    response = rep_client.get("/leads/999999999/")
    assert response.status_code == 404 and "Not found" in response.content.decode()
    assert "URLconf" not in response.content.decode()
