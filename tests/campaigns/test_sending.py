"""Campaign email: released once, sent once per member and step, throttled, honouring unsubscribes."""

import datetime as dt

import pytest
import time_machine
from django.core import mail

from campaigns import sending, services, tracking
from campaigns.models import Send, Unsubscribe
from crm import clock
from tests.factories import LeadFactory
from tests.threads import together


def _sent_to() -> list[str]:
    return sorted(address for message in mail.outbox for address in message.to)


def test_releasing_a_step_queues_one_send_per_member_once(campaign, members, first_email, manager):
    no_email = LeadFactory(owner=members[0].owner, email="", email_normalized="")
    services.member_add(user=manager, campaign=campaign, lead=no_email)
    Unsubscribe.objects.create(lead=members[0])

    assert sending.step_release(step=first_email) == 6
    assert sending.step_release(step=first_email) == 0  # released already: nothing more

    states = dict(Send.objects.values_list("member__lead_id", "state"))
    assert states[no_email.pk] == states[members[0].pk] == Send.State.SKIPPED
    assert sorted(lead.pk for lead in members[1:]) == sorted(k for k, v in states.items() if v == Send.State.QUEUED)
    reasons = set(Send.objects.filter(state=Send.State.SKIPPED).values_list("reason", flat=True))
    assert reasons == {"No email address", "Unsubscribed"}


def test_each_member_gets_the_email_once_with_unsubscribe_headers_and_tracked_links(
    campaign, members, first_email, manager
):
    services.campaign_schedule(user=manager, campaign=campaign)  # now: released at once

    assert sending.sends_deliver(step_id=first_email.pk) == 5
    assert sending.sends_deliver(step_id=first_email.pk) == 0  # a second run finds nothing to send
    assert _sent_to() == sorted(lead.email for lead in members)
    message = mail.outbox[0]
    send = Send.objects.get(member__lead__email=message.to[0])
    assert send.state == Send.State.SENT and send.sent_at is not None
    assert message.extra_headers["List-Unsubscribe"] == f"<{tracking.unsubscribe_url(send.pk)}>"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.extra_headers["Message-ID"] == send.message_id
    html = message.alternatives[0].content
    assert tracking.click_url(send.pk, 0) in html and tracking.open_url(send.pk) in html
    assert "https://example.com/spring?x=1" not in message.body.replace(tracking.click_url(send.pk, 0), "")
    assert message.subject == f"Spring for {send.member.lead.company}"


def test_merge_values_are_escaped_in_the_html_and_never_run_as_a_template(campaign, first_email, manager, rep):
    lead = LeadFactory(owner=rep, name="<script>alert(1)</script> {{ company }}", company="{% debug %}")
    services.member_add(user=manager, campaign=campaign, lead=lead)
    services.campaign_schedule(user=manager, campaign=campaign)
    sending.sends_deliver(step_id=first_email.pk)

    html = mail.outbox[0].alternatives[0].content
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert mail.outbox[0].subject == "Spring for {% debug %}"


@pytest.mark.django_db(transaction=True)
def test_two_senders_at_once_send_every_message_exactly_once(manager, rep, channel):
    from campaigns.models import Campaign

    campaign = services.campaign_save(
        user=manager, campaign=Campaign(name="Race", channel=channel, kind=Campaign.Kind.EMAIL)
    )
    for lead in LeadFactory.create_batch(60, owner=rep, channel=channel):
        services.member_add(user=manager, campaign=campaign, lead=lead)
    step = services.step_save(user=manager, campaign=campaign, position=1, subject_a="Hi", body_a="Hello")
    services.campaign_schedule(user=manager, campaign=campaign)

    results, errors = together(
        lambda: sending.sends_deliver(step_id=step.pk, limit=100),
        lambda: sending.sends_deliver(step_id=step.pk, limit=100),
    )
    assert errors == [None, None]
    assert sum(results) == 60
    assert len(mail.outbox) == 60 and len(set(_sent_to())) == 60
    assert Send.objects.filter(state=Send.State.SENT).count() == 60


def test_sending_stops_at_the_rate_and_leaves_the_rest_queued(
    campaign, members, first_email, manager, settings, one_rate_window
):
    settings.CAMPAIGN_SEND_RATE = 3
    services.campaign_schedule(user=manager, campaign=campaign)

    assert sending.sends_deliver(step_id=first_email.pk) == 3
    assert sending.sends_deliver(step_id=first_email.pk) == 0  # the same minute: nothing more
    assert Send.objects.filter(state=Send.State.QUEUED).count() == 2
    assert not Send.objects.filter(state=Send.State.SENDING).exists()  # the claim over the rate was handed back


def test_an_unsubscribed_lead_is_skipped_even_when_its_send_was_queued_before(campaign, members, first_email, manager):
    services.campaign_schedule(user=manager, campaign=campaign)
    # Unsubscribed from another campaign's email after this step was queued.
    Unsubscribe.objects.create(lead=members[0])

    assert sending.sends_deliver(step_id=first_email.pk) == 4
    assert members[0].email not in _sent_to()
    assert Send.objects.get(member__lead=members[0]).reason == "Unsubscribed"


def test_a_claim_whose_worker_died_is_failed_by_the_sweep_and_never_sent(campaign, members, first_email, manager):
    services.campaign_schedule(user=manager, campaign=campaign)
    claimed = sending._claim_next(first_email.pk)  # claimed, then the worker is gone before sending

    assert sending.sends_deliver(step_id=first_email.pk) == 4
    assert sending.sends_sweep_stalled() == 0  # within the lease: maybe still sending
    with time_machine.travel(clock.now() + dt.timedelta(minutes=11)):
        assert sending.sends_sweep_stalled() == 1
    assert Send.objects.get(pk=claimed).state == Send.State.FAILED
    assert sending.sends_deliver(step_id=first_email.pk) == 0
    assert len(mail.outbox) == 4


def test_a_scheduled_step_goes_out_when_its_time_comes(campaign, members, first_email, manager):
    later = clock.now() + dt.timedelta(hours=2)
    services.campaign_schedule(user=manager, campaign=campaign, send_at=later)
    assert sending.sending_tick()["released"] == 0
    with time_machine.travel(later + dt.timedelta(minutes=1)):
        assert sending.sending_tick()["released"] == 5
    assert Send.objects.filter(state=Send.State.QUEUED).count() == 5


def test_a_mail_server_that_cannot_be_reached_leaves_the_messages_queued(
    campaign, members, first_email, manager, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2  # nothing listens there
    services.campaign_schedule(user=manager, campaign=campaign)
    with pytest.raises(OSError):
        sending.sends_deliver(step_id=first_email.pk)
    assert set(Send.objects.values_list("state", flat=True)) == {Send.State.QUEUED}
