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
    # Said to exist, neither named nor linked: the rep may not open a teammate's lead.
    assert b"already exists, one you cannot open" in response.content
    assert b"Phone Twin" not in response.content and b"/leads/" not in response.content
    assert teammate.get_full_name().encode() not in response.content


def test_duplicate_check_names_the_users_own_leads(rep_client, rep, htmx):
    LeadFactory(owner=rep, name="My Twin", email="twin@example.com", email_normalized="twin@example.com")
    response = rep_client.get(reverse("leads:duplicates_check"), {"email": "Twin@Example.com"}, headers=htmx)
    assert b"My Twin" in response.content and b"/leads/" in response.content


def test_duplicate_checks_are_limited_per_user(rep_client, htmx, settings, one_rate_window):
    from django.core.cache import cache

    cache.clear()
    url = reverse("leads:duplicates_check")
    answers = [rep_client.get(url, {"email": f"x{i}@example.com"}, headers=htmx).status_code for i in range(61)]
    assert answers[:60] == [200] * 60 and answers[60] == 429
    cache.clear()


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
