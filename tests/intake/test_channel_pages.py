"""The admins' channel set-up pages: who may use them, and what bad input looks like."""

import datetime as dt
import hashlib
from decimal import Decimal

import pytest
from django.urls import reverse

from leads.models import ApiToken, Channel, ChannelSpend, WebForm
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db


def _urls(channel, spend, token):
    return {
        "get": [
            reverse("leads:channels"),
            reverse("leads:channel_create"),
            reverse("leads:channel_edit", args=[channel.pk]),
            reverse("leads:channel_spend_create", args=[channel.pk]),
            reverse("leads:channel_spend_edit", args=[channel.pk, spend.pk]),
            reverse("leads:channel_web_form", args=[channel.pk]),
        ],
        "post": [
            reverse("leads:channel_create"),
            reverse("leads:channel_edit", args=[channel.pk]),
            reverse("leads:channel_spend_create", args=[channel.pk]),
            reverse("leads:channel_spend_delete", args=[channel.pk, spend.pk]),
            reverse("leads:channel_web_form", args=[channel.pk]),
            reverse("leads:channel_token_create", args=[channel.pk]),
            reverse("leads:channel_token_revoke", args=[channel.pk, token.pk]),
        ],
    }


@pytest.mark.parametrize("who", ["rep", "manager"])
def test_reps_and_managers_cannot_see_or_change_channels(client, request, who, channel, token):
    client.force_login(request.getfixturevalue(who))
    spend = ChannelSpend.objects.create(
        channel=channel, period_start=dt.date(2026, 1, 1), period_end=dt.date(2026, 1, 31), amount=100
    )
    urls = _urls(channel, spend, token[0])
    for url in urls["get"]:
        assert client.get(url).status_code == 403, url
    for url in urls["post"]:
        assert client.post(url, {"name": "Hacked", "kind": "other", "slug": "x", "amount": "1"}).status_code == 403, url
    assert Channel.objects.get(pk=channel.pk).name == "Google Ads"
    assert Channel.objects.count() == 1
    assert ChannelSpend.objects.count() == 1
    assert not WebForm.objects.exists()
    assert ApiToken.objects.get().revoked_at is None
    assert b"Channels" not in client.get("/").content


def test_anonymous_visitors_are_sent_to_log_in(client, channel):
    response = client.get(reverse("leads:channels"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_admins_see_the_nav_link_and_the_channel_list_in_few_queries(
    admin_client, channel, django_assert_max_num_queries
):
    for n in range(5):
        other = ChannelFactory(name=f"Channel {n}")
        ChannelSpend.objects.create(
            channel=other, period_start=dt.date(2026, 1, 1), period_end=dt.date(2026, 1, 31), amount=10
        )
        WebForm.objects.create(channel=other, slug=f"form-{n}", published=bool(n % 2))
    assert b'href="/leads/channels/"' in admin_client.get("/").content
    with django_assert_max_num_queries(8):
        response = admin_client.get(reverse("leads:channels"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Google Ads" in html and "Channel 4" in html and "/f/form-1/" in html and "not published" in html
    assert "10.00 USD" in html


def test_an_admin_adds_and_edits_a_channel(admin_client):
    response = admin_client.post(reverse("leads:channel_create"), {"name": " Trade show 2026 ", "kind": "event"})
    channel = Channel.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("leads:channel_edit", args=[channel.pk])
    assert channel.name == "Trade show 2026" and channel.kind == "event" and not channel.active
    admin_client.post(
        reverse("leads:channel_edit", args=[channel.pk]), {"name": "Trade show", "kind": "event", "active": "on"}
    )
    channel.refresh_from_db()
    assert channel.name == "Trade show" and channel.active


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": "", "kind": "event"}, "name", "Give the channel a name."),
        ({"name": "Google Ads", "kind": "event"}, "name", "A channel with this name already exists."),
        ({"name": "Fair", "kind": "carrier-pigeon"}, "kind", "Select a valid choice."),
    ],
)
def test_bad_channel_input_is_explained_next_to_the_field(admin_client, channel, data, field, message):
    response = admin_client.post(reverse("leads:channel_create"), data)
    assert response.status_code == 400
    assert message in response.context["form"].errors[field][0]
    assert f'id="id_{field}_error"' in response.content.decode()
    assert Channel.objects.count() == 1


def test_spend_periods_are_added_edited_and_deleted(admin_client, channel):
    url = reverse("leads:channel_spend_create", args=[channel.pk])
    data = {"period_start": "2026-03-01", "period_end": "2026-03-31", "amount": "1250.50", "currency": "eur"}
    assert admin_client.post(url, data).status_code == 302
    spend = ChannelSpend.objects.get()
    assert (spend.amount, spend.currency, spend.channel) == (Decimal("1250.50"), "EUR", channel)
    assert "1,250.50 EUR" in admin_client.get(reverse("leads:channel_edit", args=[channel.pk])).content.decode()
    edit = reverse("leads:channel_spend_edit", args=[channel.pk, spend.pk])
    assert admin_client.post(edit, {**data, "amount": "900"}).status_code == 302
    spend.refresh_from_db()
    assert spend.amount == 900
    assert admin_client.post(reverse("leads:channel_spend_delete", args=[channel.pk, spend.pk])).status_code == 302
    assert not ChannelSpend.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"period_end": "2026-02-01"}, "period_end", "must end on or after"),
        ({"amount": "-5"}, "amount", "cannot be negative"),
        ({"amount": "lots"}, "amount", "Enter an amount"),
        ({"currency": "euro"}, "currency", "three-letter currency code"),
        ({"period_start": "2026-13-01"}, "period_start", "YYYY-MM-DD"),
        ({"period_start": "2026-03-15", "period_end": "2026-04-15"}, "period_start", "Overlaps the spend recorded"),
    ],
)
def test_bad_spend_input_is_explained_next_to_the_field(admin_client, channel, overrides, field, message):
    ChannelSpend.objects.create(
        channel=channel, period_start=dt.date(2026, 3, 1), period_end=dt.date(2026, 3, 31), amount=10
    )
    data = {"period_start": "2026-02-10", "period_end": "2026-02-20", "amount": "100", "currency": "USD"}
    data.update(overrides)
    response = admin_client.post(reverse("leads:channel_spend_create", args=[channel.pk]), data)
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert ChannelSpend.objects.count() == 1


def test_the_web_form_is_set_up_and_its_snippet_shown(admin_client, channel):
    url = reverse("leads:channel_web_form", args=[channel.pk])
    page = admin_client.get(url)
    assert page.context["form"]["slug"].value() == "google-ads"  # suggested from the channel's name
    data = {
        "slug": "spring-demo",
        "published": "on",
        "title": "Book a demo",
        "submit_label": "Book it",
        "thank_you_message": "Thanks!",
        "ask_phone": "on",
    }
    assert admin_client.post(url, data).status_code == 302
    form = WebForm.objects.get()
    assert form.channel == channel and form.published and form.ask_phone and not form.ask_message
    html = admin_client.get(url).content.decode()
    assert "http://testserver/f/spring-demo/" in html
    assert "&lt;form method=&quot;post&quot; action=&quot;http://testserver/f/spring-demo/&quot;" in html
    assert "name=&quot;phone&quot;" in html and "name=&quot;message&quot;" not in html


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        ("", "Give the form an address."),
        ("Spring Demo!", "lower-case letters"),
        ("taken", "Another channel's form already has this address."),
    ],
)
def test_bad_web_form_settings_are_explained_next_to_the_field(admin_client, channel, slug, message):
    WebForm.objects.create(channel=ChannelFactory(name="Other"), slug="taken")
    data = {"slug": slug, "title": "Demo", "submit_label": "Send", "thank_you_message": "Thanks"}
    response = admin_client.post(reverse("leads:channel_web_form", args=[channel.pk]), data)
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors["slug"])
    assert WebForm.objects.count() == 1


def test_bad_redirect_address_is_refused(admin_client, channel):
    data = {"slug": "x", "title": "Demo", "submit_label": "Send", "thank_you_message": "Thanks", "redirect_url": "nope"}
    response = admin_client.post(reverse("leads:channel_web_form", args=[channel.pk]), data)
    assert response.status_code == 400 and "redirect_url" in response.context["form"].errors


def test_a_token_is_shown_once_and_only_its_hash_is_kept(admin_client, channel, admin_user):
    response = admin_client.post(reverse("leads:channel_token_create", args=[channel.pk]), {"name": "Zapier"})
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    raw = response.context["raw_token"]
    assert raw.startswith("crm_") and raw in response.content.decode()
    token = ApiToken.objects.get()
    assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert token.channel == channel and token.created_by == admin_user and token.prefix == raw[:12]
    page = admin_client.get(reverse("leads:channel_edit", args=[channel.pk])).content.decode()
    assert raw not in page and token.prefix in page and "Zapier" in page


def test_a_token_needs_a_name(admin_client, channel):
    response = admin_client.post(reverse("leads:channel_token_create", args=[channel.pk]), {"name": ""})
    assert response.status_code == 400
    assert "Name the token" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_an_admin_revokes_a_token(admin_client, channel, token):
    api_token, _raw = token
    url = reverse("leads:channel_token_revoke", args=[channel.pk, api_token.pk])
    assert admin_client.post(url).status_code == 302
    api_token.refresh_from_db()
    first = api_token.revoked_at
    assert first is not None
    admin_client.post(url)
    api_token.refresh_from_db()
    assert api_token.revoked_at == first
    assert "revoked" in admin_client.get(reverse("leads:channel_edit", args=[channel.pk])).content.decode()


def test_a_token_of_another_channel_is_not_found_under_this_one(admin_client, channel, other_token):
    url = reverse("leads:channel_token_revoke", args=[channel.pk, other_token[0].pk])
    assert admin_client.post(url).status_code == 404
    assert ApiToken.objects.get().revoked_at is None
