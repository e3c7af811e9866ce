"""The API answers bad input with its JSON 400, never 500: NUL characters, oversized bodies."""

import json

import pytest

pytestmark = pytest.mark.django_db


def test_a_nul_in_an_api_string_is_a_json_400(client, token):
    response = client.post(
        "/api/v1/leads/",
        '{"name": "Ada\\u0000", "email": "ada@example.com"}',
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token[1]}",
    )
    assert response.status_code == 400 and "NUL" in response.json()["detail"]


def test_an_oversized_api_body_is_a_json_400(client, token, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = json.dumps({"name": "Ada", "email": "ada@example.com", "message": "x" * 20_000})
    response = client.post(
        "/api/v1/leads/", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token[1]}"
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    "attributes,message",
    [
        ({f"k{i}": i for i in range(51)}, "At most 50 attributes"),
        ({"note": "x" * 1001}, "longer than 1000 characters"),
        ({"k" * 65: 1}, "Attribute names have 1 to 64 characters"),
        ({"nested": {"a": 1}}, "not a list or an object"),
    ],
)
def test_custom_attributes_are_bounded(client, token, attributes, message):
    from leads.models import Lead

    response = client.post(
        "/api/v1/leads/",
        json.dumps({"name": "Ada", "email": "ada@example.com", "attributes": attributes}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token[1]}",
    )
    assert response.status_code == 400 and message in json.dumps(response.json())
    assert not Lead.objects.exists()


def test_bounded_custom_attributes_are_kept(client, token):
    from leads.models import Lead

    attributes = {"plan": "gold", "seats": 12, "trial": True, "referrer": None}
    response = client.post(
        "/api/v1/leads/",
        json.dumps({"name": "Ada", "email": "ada@example.com", "attributes": attributes}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token[1]}",
    )
    assert response.status_code == 201
    assert Lead.objects.get().attributes == attributes
