"""Bad query input answers 400 or falls back to the first page, never 500: tampered cursors, far dates, NULs."""

import base64
import json

import pytest
from django.urls import reverse

from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def _cursor(value, pk) -> str:
    return base64.urlsafe_b64encode(json.dumps([value, pk]).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "after",
    [
        "garbage",
        "!!!",
        "x" * 5000,
        _cursor("not a date", 1),
        _cursor({"dt": "2026-01-01T00:00:00"}, 1),  # no time zone
        _cursor({"dt": "2026-01-01T00:00:00+00:00"}, 2**70),
        _cursor(2**70, 1),
        _cursor([1, 2], 1),
        _cursor(True, 1),
        _cursor("a\x00b", 1),
    ],
)
@pytest.mark.parametrize("sort", ["-created", "-score", "-activity"])
def test_a_tampered_cursor_shows_the_first_page(rep_client, lead, after, sort):
    response = rep_client.get(reverse("leads:list"), {"after": after, "sort": sort})
    assert response.status_code == 200
    assert lead.name in response.content.decode()


def test_a_good_cursor_still_pages(rep_client, rep, channel):
    for i in range(3):
        LeadFactory(owner=rep, channel=channel, name=f"Paged {i}")
    first = rep_client.get(reverse("leads:list"), {"sort": "-created"})
    assert first.status_code == 200


@pytest.mark.parametrize("start,end", [("0001-01-01", "0001-01-31"), ("9999-12-01", "9999-12-31")])
def test_a_report_period_at_the_ends_of_the_calendar_is_refused_next_to_the_field(client, manager, start, end):
    client.force_login(manager)
    response = client.get(reverse("reports:dashboard"), {"period": "custom", "start": start, "end": end})
    assert response.status_code == 200
    assert "Choose a day between 1900 and 2999" in response.content.decode()


def test_a_nul_in_the_query_string_is_a_400(rep_client):
    assert rep_client.get(reverse("leads:list") + "?q=a%00b").status_code == 400
