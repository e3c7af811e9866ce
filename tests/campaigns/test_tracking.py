"""Opens, clicks, unsubscribes and bounces: signed URLs, the campaign's own links only, facts on the timeline."""

import io

import pytest
from django.core import mail
from django.core.management import call_command

from campaigns import sending, services, tracking
from campaigns.models import Send, Unsubscribe
from leads.models import Interaction

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(campaign, members, first_email, manager):
    services.campaign_schedule(user=manager, campaign=campaign)
    sending.sends_deliver(step_id=first_email.pk)
    return Send.objects.select_related("member__lead").order_by("pk").first()


def _path(url: str) -> str:
    return url.split("://", 1)[1].split("/", 1)[1].join(["/", ""])


def test_the_open_pixel_records_the_first_open_once_on_the_send_and_the_timeline(client, sent):
    url = _path(tracking.open_url(sent.pk))
    for _ in range(3):
        response = client.get(url)
        assert response.status_code == 200 and response["Content-Type"] == "image/gif"
    sent.refresh_from_db()
    assert sent.opened_at is not None
    opens = Interaction.objects.filter(lead=sent.member.lead, kind=Interaction.Kind.EMAIL_OPEN)
    assert opens.count() == 1 and opens.get().details["send"] == sent.pk


def test_a_tampered_tracking_url_is_refused(client, sent):
    url = _path(tracking.open_url(sent.pk))
    value, signature = url.strip("/").rsplit("/", 1)[1].split(":", 1)
    other = Send.objects.exclude(pk=sent.pk).first()
    assert client.get(f"/c/o/{other.pk}:{signature}/").status_code == 404  # another send, the same signature
    assert client.get(f"/c/o/{value}:{signature[:-1]}x/").status_code == 404
    assert client.get(f"/c/c/{value}:{signature}/").status_code == 404  # an open's signature is no click
    assert client.get(f"/c/u/{value}:{signature}/").status_code == 404
    sent.refresh_from_db()
    assert sent.opened_at is None


def test_a_click_redirects_to_the_campaigns_own_link_and_nowhere_else(client, sent):
    response = client.get(_path(tracking.click_url(sent.pk, 0)))
    assert response.status_code == 302 and response["Location"] == "https://example.com/spring?x=1"
    sent.refresh_from_db()
    assert sent.clicked_at is not None and sent.opened_at is not None  # a click is an open the pixel missed
    assert Interaction.objects.filter(lead=sent.member.lead, kind=Interaction.Kind.EMAIL_CLICK).count() == 1
    # A signed URL for a link the email does not have, and any attempt to name a target, are refused.
    assert client.get(_path(tracking.click_url(sent.pk, 1))).status_code == 404
    token = tracking.click_url(sent.pk, 0).rstrip("/").rsplit("/", 1)[1]
    assert client.get(f"/c/c/{token}/?next=https://evil.example/").get("Location") == "https://example.com/spring?x=1"
    assert client.get("/c/c/" + token.replace(f"{sent.pk}.0", f"{sent.pk}.1") + "/").status_code == 404


def test_one_click_unsubscribe_is_recorded_once_and_honoured_by_every_later_send(client, sent, campaign, manager):
    url = _path(tracking.unsubscribe_url(sent.pk))
    page = client.get(url)
    assert page.status_code == 200 and b"Unsubscribe" in page.content
    assert not Unsubscribe.objects.exists()  # a GET (a link scanner) changes nothing

    # What a mail client sends for List-Unsubscribe-Post (RFC 8058): no CSRF token, no session.
    response = client.post(url, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    client.post(url, {"List-Unsubscribe": "One-Click"})
    lead = sent.member.lead
    assert Unsubscribe.objects.filter(lead=lead).count() == 1
    assert Interaction.objects.filter(lead=lead, kind=Interaction.Kind.UNSUBSCRIBE).count() == 1

    step_two = services.step_save(
        user=manager, campaign=campaign, position=2, subject_a="Again", body_a="Hi", delay_days=0, stop_if_engaged=False
    )
    mail.outbox.clear()
    sending.later_steps_release()
    sending.sends_deliver(step_id=step_two.pk)
    assert len(mail.outbox) == 4 and lead.email not in [m.to[0] for m in mail.outbox]
    assert Send.objects.get(step=step_two, member__lead=lead).reason == "Unsubscribed"


def test_bounces_from_the_command_mark_their_sends_once(sent):
    other = Send.objects.exclude(pk=sent.pk).order_by("pk").first()
    out = io.StringIO()
    lines = f"{sent.message_id}\ncampaign-send-{other.pk}@crm.localhost\nnot a message id\n{sent.message_id}\n"
    call_command("campaign_bounces", stdin=io.StringIO(lines), stdout=out)
    assert Send.objects.filter(bounced_at__isnull=False).count() == 2
    assert "2 bounces recorded" in out.getvalue() and "1 line not understood" in out.getvalue()
