"""The public web-to-lead form: hosted page, embedded snippet, UTM and referrer, spam, doubles, duplicates."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from leads.intake import services as intake
from leads.models import Interaction, Lead, ResponseClock, WebForm
from tests.factories import LeadFactory, ResponsePolicyFactory

pytestmark = pytest.mark.django_db

URL = "/f/demo-request/"


def _post(client, **data):
    fields = {"name": "Grace Hopper", "email": "grace@navy.example", "phone": "+1 415 555 0199", "company": "Navy"}
    fields.update(data)
    return client.post(URL, fields, **({"REMOTE_ADDR": data.pop("ip")} if "ip" in data else {}))


def test_the_hosted_page_is_public_and_keeps_utm_parameters_and_the_referrer(client, web_form):
    response = client.get(
        URL + "?utm_source=google&utm_medium=cpc&utm_campaign=spring", HTTP_REFERER="https://search.example/?q=crm"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Ask for a demo" in html and 'name="email"' in html and 'name="website"' in html
    assert 'name="utm_source" value="google"' in html and 'name="utm_campaign" value="spring"' in html
    assert 'name="referrer" value="https://search.example/?q=crm"' in html
    assert "X-Frame-Options" not in response.headers  # the hosted page may be shown in an iframe


@pytest.mark.parametrize("state", ["unpublished", "channel off", "unknown"])
def test_a_form_that_is_not_published_answers_404_and_accepts_nothing(client, web_form, state):
    if state == "unpublished":
        WebForm.objects.update(published=False)
    elif state == "channel off":
        web_form.channel.active = False
        web_form.channel.save()
    url = URL if state != "unknown" else "/f/nothing-here/"
    assert client.get(url).status_code == 404
    assert client.post(url, {"name": "A", "email": "a@example.com"}).status_code == 404
    assert not Lead.objects.exists()


def test_a_submission_creates_a_pool_lead_in_the_forms_channel_with_a_form_submission(client, web_form):
    response = client.post(
        URL,
        {
            "name": "Grace Hopper",
            "email": " Grace@Navy.example ",
            "phone": "(415) 555-0199",
            "company": "Navy",
            "message": "We need a demo for 40 people.",
            "utm_source": "google",
            "utm_medium": "cpc",
            "utm_campaign": "spring",
            "referrer": "https://search.example/",
            "page": "https://www.example.com/pricing?utm_source=google",
        },
    )
    assert response.status_code == 200 and b"Thank you" in response.content
    lead = Lead.objects.get()
    assert (lead.name, lead.email_normalized, lead.phone_normalized) == (
        "Grace Hopper",
        "grace@navy.example",
        "+14155550199",
    )
    assert lead.channel == web_form.channel and lead.owner is None
    assert (lead.utm_source, lead.utm_medium, lead.utm_campaign) == ("google", "cpc", "spring")
    submission = Interaction.objects.get(lead=lead)
    assert submission.kind == "form_submission" and submission.direction == "inbound" and submission.user is None
    assert submission.body == "We need a demo for 40 people."
    assert submission.details["url"] == "https://www.example.com/pricing?utm_source=google"
    assert submission.details["referrer"] == "https://search.example/"
    assert submission.details["form"] == "demo-request"
    assert submission.details["utm"] == {"utm_source": "google", "utm_medium": "cpc", "utm_campaign": "spring"}


def test_utm_parameters_come_from_the_page_address_when_not_posted(client, web_form):
    client.post(
        URL,
        {"name": "Ada", "email": "ada@example.com"},
        HTTP_REFERER="https://www.example.com/landing?utm_source=newsletter&utm_medium=email&utm_campaign=may",
    )
    lead = Lead.objects.get()
    assert (lead.utm_source, lead.utm_medium, lead.utm_campaign) == ("newsletter", "email", "may")
    assert Interaction.objects.get().details["url"].startswith("https://www.example.com/landing")


def test_a_form_submission_does_not_stop_the_response_clock(client, web_form):
    ResponsePolicyFactory(name="Everyone", target_minutes=60)
    _post(client)
    lead = Lead.objects.get()
    clock = ResponseClock.objects.get(lead=lead)
    assert clock.due_at is not None and clock.next_at is not None
    assert lead.first_response_at is None and lead.stage == "new"


def test_the_embeddable_snippet_posts_a_lead_without_a_csrf_token(admin_client, web_form):
    page = admin_client.get(reverse("leads:channel_web_form", args=[web_form.channel.pk]))
    snippet = page.context["snippet"]
    assert "csrfmiddlewaretoken" not in snippet
    names = set(re.findall(r'name="([a-z_]+)"', snippet))
    assert {"name", "email", "phone", "company", "message", "website", "utm_source", "referrer", "page"} <= names
    # A browser on another site: a fresh client that enforces CSRF like production, no session, no cookie.
    browser = Client(enforce_csrf_checks=True)
    data = dict.fromkeys(names, "")
    data.update(name="Linus", email="linus@example.org", utm_source="partner", page="https://partner.example/")
    response = browser.post(URL, data, HTTP_REFERER="https://partner.example/")
    assert response.status_code == 200
    assert Lead.objects.get().utm_source == "partner"


def test_after_a_submission_the_visitor_can_be_sent_to_the_sites_own_page(client, web_form):
    WebForm.objects.update(redirect_url="https://www.example.com/thanks")
    response = _post(client)
    assert response.status_code == 302 and response["Location"] == "https://www.example.com/thanks"
    assert Lead.objects.count() == 1


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"email": "not-an-email"}, "email", "Please check your email address."),
        ({"email": ""}, "email", "Please give your email address."),
        ({"name": ""}, "name", "Please tell us your name."),
        ({"phone": "call me"}, "phone", "Please check the phone number"),
    ],
)
def test_bad_input_shows_the_form_again_with_the_error_next_to_the_field(client, web_form, data, field, message):
    response = _post(client, **data)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html and f'id="id_{field}_error"' in html
    assert 'value="Navy"' in html  # what was typed is kept
    assert not Lead.objects.exists()


def test_a_bot_filling_the_honeypot_is_thanked_and_nothing_is_created(client, web_form):
    response = _post(client, website="http://spam.example")
    assert response.status_code == 200 and b"Thank you" in response.content
    assert not Lead.objects.exists() and not Interaction.objects.exists()


def test_too_many_submissions_from_one_address_get_a_friendly_429(client, web_form, settings, one_rate_window):
    settings.WEBFORM_RATE_LIMIT = 3
    for n in range(3):
        assert _post(client, email=f"person{n}@example.com", phone="").status_code == 200
    response = _post(client, email="person9@example.com", phone="")
    assert response.status_code == 429
    assert "try again in about" in response.content.decode()
    assert 0 < int(response["Retry-After"]) <= settings.WEBFORM_RATE_WINDOW
    assert Lead.objects.count() == 3
    # Another address is not affected.
    assert client.post(URL, {"name": "B", "email": "b@example.com"}, REMOTE_ADDR="10.0.0.9").status_code == 200
    assert Lead.objects.count() == 4


def test_behind_a_proxy_the_limit_counts_the_forwarded_address(client, web_form, settings, one_rate_window):
    settings.WEBFORM_RATE_LIMIT = 1
    settings.WEBFORM_TRUST_X_FORWARDED_FOR = True
    first = client.post(URL, {"name": "A", "email": "a@example.com"}, HTTP_X_FORWARDED_FOR="203.0.113.1")
    second = client.post(URL, {"name": "B", "email": "b@example.com"}, HTTP_X_FORWARDED_FOR="203.0.113.2")
    third = client.post(URL, {"name": "C", "email": "c@example.com"}, HTTP_X_FORWARDED_FOR="spoof, 203.0.113.2")
    assert (first.status_code, second.status_code, third.status_code) == (200, 200, 429)


def test_a_double_submitted_form_creates_one_lead(client, web_form):
    assert _post(client).status_code == 200
    assert _post(client, email=" GRACE@navy.example", name="grace  hopper").status_code == 200
    assert Lead.objects.count() == 1
    assert Interaction.objects.count() == 1


def test_the_same_person_sending_something_else_is_recorded_on_their_lead(client, web_form):
    existing = LeadFactory(email="grace@navy.example", name="Grace H.")
    response = _post(client, message="Also interested in training.")
    assert response.status_code == 200
    assert Lead.objects.count() == 1
    submission = Interaction.objects.get()
    assert submission.lead == existing and submission.kind == "form_submission" and submission.direction == "inbound"
    assert submission.details["repeat"] is True and submission.body == "Also interested in training."


def test_a_known_phone_number_is_a_duplicate_too(client, web_form):
    existing = LeadFactory(email="other@example.com", phone="+14155550199", phone_normalized="+14155550199")
    _post(client, email="new@example.com", phone="415-555-0199")
    assert Lead.objects.count() == 1
    assert Interaction.objects.get().lead == existing


def test_a_failed_submission_can_be_sent_again(client, web_form, monkeypatch):
    # When creating the lead fails, the double-submit key is given back so the visitor's retry goes through.
    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(intake, "lead_arrive", broken)
    with pytest.raises(RuntimeError):
        _post(client)
    monkeypatch.undo()
    assert _post(client).status_code == 200
    assert Lead.objects.count() == 1
