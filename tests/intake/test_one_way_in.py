"""One way in: the rep's form, the API, the public web form and a CSV import match a duplicate by the same rule
(`leads.intake.pipeline`: the oldest lead with the email, else the oldest with the phone)."""

import datetime as dt
import json

import pytest
from django.test import Client

from leads.models import Interaction, Lead
from leads.services import lead_create, lead_create_or_match
from tests.factories import LeadFactory
from tests.imports.conftest import csv_text, run_import

pytestmark = pytest.mark.django_db

EMAIL = "ada@example.com"
PHONE = "+14155550199"
WAYS = ["rep's form", "api", "web form", "import"]


@pytest.fixture
def leads_of_ada(channel):
    """Leads sharing Ada's email, made out of order, and an older lead with only her phone."""
    base = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)

    def make(name, days, **facts):
        return LeadFactory(name=name, channel=channel, created_at=base + dt.timedelta(days=days), **facts)

    phone_only = make("Phone twin", 0, email="", email_normalized="", phone=PHONE, phone_normalized=PHONE)
    newest = make("Newest Ada", 30, email=EMAIL, email_normalized=EMAIL)
    oldest = make("Oldest Ada", 10, email=EMAIL.upper(), email_normalized=EMAIL)
    middle = make("Middle Ada", 20, email=EMAIL, email_normalized=EMAIL)
    return {"oldest": oldest, "middle": middle, "newest": newest, "phone only": phone_only}


def _arrive(way, *, rep_client, token, web_form, manager) -> Lead:
    """Ada arrives again by one way in, with her email (odd case) and her phone; the lead she is matched to."""
    email, phone = " Ada@Example.COM ", "(415) 555-0199"
    if way == "rep's form":
        response = rep_client.post(
            "/leads/new/",
            {"name": "Ada again", "email": email, "phone": phone, **dict.fromkeys(("budget", "authority"), "unknown")}
            | {"timeline": "unknown"},
        )
        assert response.status_code == 200 and b"already exists" in response.content
        return response.context["duplicates"][0]
    if way == "api":
        response = Client().post(
            "/api/v1/leads/",
            json.dumps({"name": "Ada again", "email": email, "phone": phone}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token[1]}",
        )
        assert response.status_code == 200 and response.json()["created"] is False
        return Interaction.objects.get().lead
    if way == "web form":
        response = Client().post(f"/f/{web_form.slug}/", {"name": "Ada again", "email": email, "phone": phone})
        assert response.status_code == 200
        return Interaction.objects.get().lead
    result = run_import(
        csv_text("name,email,phone,company", f"Ada again,{email.strip()},{phone},Analytical Engines"),
        user=manager,
        on_duplicate="update",
    )
    assert result.created == 0 and result.updated == 1
    return Lead.objects.get(company="Analytical Engines")


@pytest.mark.parametrize("way", WAYS)
def test_every_way_in_matches_a_known_email_to_the_oldest_lead_that_has_it(
    way, leads_of_ada, rep_client, token, web_form, manager
):
    matched = _arrive(way, rep_client=rep_client, token=token, web_form=web_form, manager=manager)
    assert matched == leads_of_ada["oldest"]
    assert Lead.objects.count() == 4


def test_the_service_behind_the_api_and_web_form_returns_the_same_lead(leads_of_ada):
    lead, created = lead_create_or_match(user=None, name="Ada again", email=EMAIL, phone=PHONE)
    assert (lead, created) == (leads_of_ada["oldest"], False)
    assert Lead.objects.count() == 4


@pytest.mark.parametrize("way", ["api", "web form", "import"])
def test_a_known_phone_alone_matches_the_oldest_lead_with_that_phone(way, channel, token, web_form, manager):
    base = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    # In the channel of the token and the web form: an API token matches only its own channel's leads.
    phone_only = {"email": "", "email_normalized": "", "phone": PHONE, "phone_normalized": PHONE, "channel": channel}
    LeadFactory(**phone_only, created_at=base + dt.timedelta(2))
    oldest = LeadFactory(**phone_only, created_at=base + dt.timedelta(1))
    body = {"name": "Caller", "email": "someone.new@example.com", "phone": "415-555-0199"}
    if way == "api":
        Client().post(
            "/api/v1/leads/", json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token[1]}"
        )
        assert Interaction.objects.get().lead == oldest
    elif way == "web form":
        Client().post(f"/f/{web_form.slug}/", body)
        assert Interaction.objects.get().lead == oldest
    else:
        run_import(csv_text("name,email,phone,city", "Caller,someone.new@example.com,415-555-0199,Oslo"), user=manager,
                   on_duplicate="update")  # fmt: skip
        assert Lead.objects.get(city="Oslo") == oldest
    assert Lead.objects.count() == 2


def test_a_rep_who_confirms_creates_the_lead_anyway_through_the_same_pipeline(leads_of_ada, rep):
    lead = lead_create(user=rep, name="Ada, really new", email=EMAIL)
    lead.refresh_from_db()
    assert lead.owner == rep and lead.email_normalized == EMAIL and lead.stage_changes.count() == 1
    assert Lead.objects.count() == 5


def test_a_lead_made_by_the_pipeline_reads_like_a_stored_one(rep, channel):
    lead = lead_create(user=rep, name="Grace", email=" Grace@Navy.example ", phone="415 555 0100", channel=channel)
    stored = Lead.objects.get(pk=lead.pk)
    assert lead.search_text == stored.search_text and "grace@navy.example" in lead.search_text
    for name in ("email", "email_normalized", "phone_normalized", "owner_id", "team_id", "assigned_at", "created_at"):
        assert getattr(lead, name) == getattr(stored, name), name
