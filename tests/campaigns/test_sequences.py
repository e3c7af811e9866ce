"""Sequences: email 2 goes to each member some days after email 1 reached them, unless they replied, clicked or
became Contacted meanwhile."""

import datetime as dt

import time_machine

from campaigns import sending, services, tracking
from campaigns.models import Send
from crm import clock
from leads.models import Interaction, Stage
from leads.services import interaction_log, lead_change_stage


def test_the_next_email_waits_its_days_and_skips_who_engaged(campaign, members, first_email, manager, rep):
    services.step_save(user=manager, campaign=campaign, position=2, subject_a="Still there?", body_a="Hi", delay_days=3)
    services.campaign_schedule(user=manager, campaign=campaign)
    sending.sends_deliver(step_id=first_email.pk)
    sent = {send.member.lead_id: send for send in Send.objects.select_related("member", "step", "variant")}
    clicker, replier, contacted = members[0], members[1], members[2]

    assert sending.later_steps_release() == 0  # not three days yet
    later = clock.now() + dt.timedelta(days=1)
    with time_machine.travel(later, tick=False):
        tracking.click_record(send=sent[clicker.pk], link="https://example.com/spring?x=1")
        interaction_log(
            lead=replier, user=None, kind=Interaction.Kind.EMAIL, direction=Interaction.Direction.INBOUND, body="Yes!"
        )
        lead_change_stage(lead=contacted, user=rep, stage=Stage.CONTACTED)
    with time_machine.travel(clock.now() + dt.timedelta(days=3, minutes=1), tick=False):
        assert sending.later_steps_release() == 5
        assert sending.later_steps_release() == 0  # once per member

    second = dict(Send.objects.filter(step__position=2).values_list("member__lead_id", "state"))
    assert second[clicker.pk] == second[replier.pk] == second[contacted.pk] == Send.State.SKIPPED
    assert second[members[3].pk] == second[members[4].pk] == Send.State.QUEUED
