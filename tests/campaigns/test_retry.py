"""Retrying the messages the email backend refused: by a manager, from the page, once per member and step."""

import datetime as dt

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils.module_loading import import_string

from campaigns import sending, services
from campaigns.models import Campaign, Send, Unsubscribe
from crm import clock
from tests.campaigns.test_workers import _campaign
from tests.threads import together

REFUSING = "tests.campaigns.refusing_backend.RefusingBackend"


def _failed_campaign(manager, rep, channel, settings, members=6):
    campaign, step = _campaign(manager, rep, channel, members)
    services.campaign_schedule(user=manager, campaign=campaign)
    settings.EMAIL_BACKEND = REFUSING
    assert sending.sends_deliver(step_id=step.pk) == 0
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return campaign, step


@pytest.mark.django_db
def test_refused_messages_are_failed_retryable_and_shown_with_a_retry_button(client, manager, rep, channel, settings):
    campaign, step = _failed_campaign(manager, rep, channel, settings)
    failed = Send.objects.filter(step=step)
    assert set(failed.values_list("state", "retryable")) == {(Send.State.FAILED, True)}
    assert "SMTPDataError" in failed.first().reason
    client.force_login(manager)
    page = client.get(campaign.get_absolute_url()).content.decode()
    assert "6 messages failed" in page and "Retry email 1" in page
    client.force_login(rep)
    assert "Retry email 1" not in client.get(campaign.get_absolute_url()).content.decode()


@pytest.mark.django_db
def test_a_message_whose_connection_dropped_midway_may_have_gone_out_and_is_not_retried(
    client, manager, rep, channel, settings
):
    campaign, step = _campaign(manager, rep, channel, 3)
    services.campaign_schedule(user=manager, campaign=campaign)
    settings.EMAIL_BACKEND = "tests.campaigns.refusing_backend.DroppingBackend"
    assert sending.sends_deliver(step_id=step.pk) == 0
    failed = Send.objects.filter(step=step)
    assert set(failed.values_list("state", "retryable")) == {(Send.State.FAILED, False)}
    assert failed.first().reason.endswith("(it may have gone out; not retried)")
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert sending.sends_retry(campaign=campaign)["queued"] == 0
    client.force_login(manager)
    assert "Retry email 1" not in client.get(campaign.get_absolute_url()).content.decode()


@pytest.mark.django_db
def test_after_a_connection_dropped_midway_the_batch_goes_on_in_a_new_session(manager, rep, channel, settings):
    campaign, step = _campaign(manager, rep, channel, 3)
    services.campaign_schedule(user=manager, campaign=campaign)
    settings.EMAIL_BACKEND = "tests.campaigns.refusing_backend.DroppingOnceBackend"
    backend = import_string(settings.EMAIL_BACKEND)
    backend.drops, backend.sent = 1, []
    assert sending.sends_deliver(step_id=step.pk) == 2
    assert len(backend.sent) == 2
    states = sorted(Send.objects.filter(step=step).values_list("state", "retryable"))
    assert states == [(Send.State.FAILED, False), (Send.State.SENT, False), (Send.State.SENT, False)]


@pytest.mark.django_db
def test_a_manager_retries_unsubscribed_and_bounced_members_are_skipped_each_sent_once(
    client, manager, rep, channel, settings, django_capture_on_commit_callbacks
):
    campaign, step = _failed_campaign(manager, rep, channel, settings)
    sends = list(Send.objects.filter(step=step).select_related("member").order_by("pk"))
    Unsubscribe.objects.create(lead_id=sends[0].member.lead_id)
    # The second member's address bounced in another campaign's message.
    other, other_step = _campaign(manager, rep, channel, 0)
    bounced = services.member_add(user=manager, campaign=other, lead=sends[1].member.lead)[0]
    Send.objects.create(member=bounced, step=other_step, state="sent", sent_at=clock.now(), bounced_at=clock.now())

    client.force_login(manager)
    with django_capture_on_commit_callbacks() as queued:
        response = client.post(f"/campaigns/{campaign.pk}/retry/", {"step": "1"})
    assert response.status_code == 302
    assert queued  # the delivery tasks go to Celery once the retry commits
    states = dict(Send.objects.filter(step=step).values_list("pk", "state"))
    assert states[sends[0].pk] == states[sends[1].pk] == Send.State.SKIPPED
    assert [states[s.pk] for s in sends[2:]] == [Send.State.QUEUED] * 4
    assert set(Send.objects.filter(step=step).values_list("retries", flat=True)) == {1}

    assert sending.sends_deliver(step_id=step.pk) == 4
    assert sorted(m.to[0] for m in mail.outbox) == sorted(s.member.lead.email for s in sends[2:])
    again = client.post(f"/campaigns/{campaign.pk}/retry/", follow=True)
    assert "No failed message to retry" in again.content.decode()
    assert sending.sends_deliver(step_id=step.pk) == 0 and len(mail.outbox) == 4


@pytest.mark.django_db
def test_retry_is_for_managers_of_an_active_campaign_and_its_input_is_checked(client, manager, admin_user, rep,
                                                                              channel, settings):  # fmt: skip
    campaign, _ = _failed_campaign(manager, rep, channel, settings, members=2)
    url = f"/campaigns/{campaign.pk}/retry/"
    assert client.post(url).status_code == 302 and "/login" in client.post(url)["Location"]  # anonymous
    client.force_login(rep)
    assert client.post(url).status_code == 403
    client.force_login(manager)
    assert client.get(url).status_code == 405
    for bad in ("x", "0", "21", "1; drop", "9" * 30):
        assert client.post(url, {"step": bad}).status_code == 400
    assert client.post("/campaigns/999999/retry/").status_code == 404
    services.campaign_set_status(user=manager, campaign=campaign, status=Campaign.Status.COMPLETED)
    page = client.post(url, follow=True).content.decode()
    assert "Set the campaign active" in page
    assert not Send.objects.filter(state=Send.State.QUEUED).exists()
    services.campaign_set_status(user=manager, campaign=campaign, status=Campaign.Status.ACTIVE)
    client.force_login(admin_user)
    assert client.post(url, {"step": "1"}).status_code == 302
    assert Send.objects.filter(state=Send.State.QUEUED).count() == 2


@pytest.mark.django_db
def test_a_claim_whose_worker_died_is_not_retried(manager, rep, channel):
    campaign, step = _campaign(manager, rep, channel, 1)
    services.campaign_schedule(user=manager, campaign=campaign)
    send_id = sending._claim_next(step.pk)
    later = clock.now() + dt.timedelta(seconds=django_settings.CAMPAIGN_SEND_LEASE_SECONDS + 60)
    with time_machine.travel(later):
        sending.sending_tick()
    assert Send.objects.get(pk=send_id).state == Send.State.FAILED
    with pytest.raises(ValidationError):
        services.sends_retry(user=manager, campaign=campaign)
    assert Send.objects.get(pk=send_id).state == Send.State.FAILED


@pytest.mark.django_db(transaction=True)
def test_two_managers_retrying_at_once_and_two_workers_sending_send_each_message_once(manager, admin_user, rep,
                                                                                      channel, settings):  # fmt: skip
    campaign, step = _failed_campaign(manager, rep, channel, settings, members=30)

    def retry(user):
        return lambda: services.sends_retry(user=user, campaign=Campaign.objects.get(pk=campaign.pk))

    results, errors = together(retry(manager), retry(admin_user))
    # One of them queued all 30; the other found none left failed (or raised "No failed message to retry").
    assert sorted((r or {"queued": 0})["queued"] for r in results) == [0, 30]
    assert all(e is None or "No failed message" in str(e) for e in errors)
    assert set(Send.objects.filter(step=step).values_list("retries", flat=True)) == {1}

    sent, errors = together(*(lambda: sending.sends_deliver(step_id=step.pk, limit=100) for _ in range(2)))
    assert errors == [None, None] and sum(sent) == 30
    assert len(mail.outbox) == 30 and len({m.extra_headers["Message-ID"] for m in mail.outbox}) == 30
    assert set(Send.objects.filter(step=step).values_list("state", flat=True)) == {Send.State.SENT}
