import pytest
from django.urls import reverse

from leads.models import Lead, StageChange
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db
URL = "/leads/new/"
BASE = {"budget": "unknown", "authority": "unknown", "timeline": "unknown"}


def test_rep_creates_a_lead_and_lands_on_its_page(rep_client, rep, channel):
    response = rep_client.post(
        URL, {**BASE, "name": "Alan Turing", "email": "alan@bletchley.uk", "channel": channel.pk}
    )
    lead = Lead.objects.get()
    assert response.status_code == 302 and response.url == lead.get_absolute_url()
    assert lead.owner == rep and lead.channel == channel
    assert StageChange.objects.filter(lead=lead, to_stage="new").exists()


def test_errors_are_shown_next_to_each_field_and_nothing_is_saved(rep_client):
    response = rep_client.post(URL, {**BASE, "name": "", "email": "nope", "phone": "call me", "company_size": "many"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "This field is required." in html
    assert "Enter a valid email address." in html
    assert "does not look like a phone number" in html
    assert "Enter a whole number." in html
    assert not Lead.objects.exists()


def test_a_lead_needs_an_email_or_a_phone(rep_client):
    response = rep_client.post(URL, {**BASE, "name": "Ghost"})
    assert b"Give an email or a phone number" in response.content
    assert not Lead.objects.exists()


def test_a_duplicate_email_or_phone_warns_and_needs_confirmation(rep_client, rep):
    LeadFactory(owner=rep, name="Existing", email="Dup@Example.com", email_normalized="dup@example.com")
    warned = rep_client.post(URL, {**BASE, "name": "Again", "email": " dup@example.COM"})
    assert warned.status_code == 200
    assert b"already exists" in warned.content and b"Existing" in warned.content
    assert Lead.objects.count() == 1
    created = rep_client.post(URL, {**BASE, "name": "Again", "email": "dup@example.com", "create_duplicate": "on"})
    assert created.status_code == 302
    assert Lead.objects.count() == 2


def test_duplicate_check_while_typing_matches_phones_in_any_format(rep_client, teammate, htmx):
    LeadFactory(owner=teammate, name="Phone Twin", phone="+1 415 555 0100", phone_normalized="+14155550100")
    response = rep_client.get(reverse("leads:duplicates_check"), {"phone": "(415) 555-0100"}, headers=htmx)
    assert b"Phone Twin" in response.content
    # Named, but not linked: the rep may not open a teammate's lead.
    assert b"/leads/" not in response.content


def test_manager_picks_the_owner_or_the_pool(client, manager, rep):
    client.force_login(manager)
    client.post(URL, {**BASE, "name": "For Rep", "email": "a@x.com", "owner": rep.pk})
    client.post(URL, {**BASE, "name": "For Pool", "email": "b@x.com", "owner": ""})
    assert Lead.objects.get(name="For Rep").owner == rep
    assert Lead.objects.get(name="For Pool").owner is None


def test_manager_cannot_pick_an_owner_outside_the_team(client, manager, other_rep):
    client.force_login(manager)
    response = client.post(URL, {**BASE, "name": "X", "email": "x@x.com", "owner": other_rep.pk})
    assert b"Select a valid choice" in response.content
    assert not Lead.objects.exists()
