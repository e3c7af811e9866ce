import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from crm import clock
from leads import services
from leads.models import Interaction, Lead, Stage, StageChange
from leads.signals import interaction_logged, lead_changed
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def test_rep_creating_a_lead_owns_it_and_its_contacts_are_normalised(rep, channel):
    lead = services.lead_create(
        user=rep, name="Grace Hopper", email="  Grace@Navy.MIL ", phone="(415) 555-0100", channel=channel
    )
    assert lead.owner == rep
    assert lead.team == rep.team
    assert lead.email_normalized == "grace@navy.mil"
    assert lead.phone_normalized == "+14155550100"
    assert lead.stage == Stage.NEW
    assert list(lead.stage_changes.values_list("from_stage", "to_stage")) == [("", "new")]
    lead.refresh_from_db()
    assert "grace hopper" in lead.search_text and "+14155550100" in lead.search_text


def test_manager_can_leave_a_new_lead_in_the_pool_or_give_it_to_a_teammate(manager, rep):
    pooled = services.lead_create(user=manager, name="A", email="a@example.com")
    given = services.lead_create(user=manager, owner=rep, name="B", email="b@example.com")
    assert pooled.owner is None
    assert given.owner == rep and given.assigned_at is not None


def test_manager_cannot_give_a_lead_to_another_teams_rep(manager, other_rep):
    with pytest.raises(PermissionDenied):
        services.lead_create(user=manager, owner=other_rep, name="A", email="a@example.com")
    assert not Lead.objects.exists()


def test_first_outbound_call_is_the_first_response_and_makes_a_new_lead_contacted(rep, channel):
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), tick=False):
        lead = services.lead_create(user=rep, name="Ada", email="ada@example.com", channel=channel)
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 4, 30, tzinfo=dt.UTC), tick=False):
        services.interaction_log(lead=lead, user=rep, kind="call", outcome="connected")
    lead.refresh_from_db()
    assert lead.first_response_at == dt.datetime(2026, 3, 2, 9, 4, 30, tzinfo=dt.UTC)
    assert lead.response_seconds == 270
    assert lead.stage == Stage.CONTACTED
    assert lead.last_activity_at == lead.first_response_at
    assert list(lead.stage_changes.order_by("changed_at").values_list("to_stage", flat=True)) == ["new", "contacted"]


def test_inbound_and_system_interactions_are_not_a_response(lead, rep):
    services.interaction_log(lead=lead, user=rep, kind="email", direction="inbound")
    services.interaction_log(lead=lead, user=None, kind="web_visit", direction="system", details={"pages": 3})
    lead.refresh_from_db()
    assert lead.first_response_at is None
    assert lead.stage == Stage.NEW


def test_an_earlier_response_logged_later_does_not_move_the_first_response_back(lead, rep):
    lead.created_at = clock.now() - dt.timedelta(hours=3)
    lead.save()
    first = services.interaction_log(lead=lead, user=rep, kind="call", outcome="no_answer")
    earlier = clock.now() - dt.timedelta(hours=2)
    services.interaction_log(lead=lead, user=rep, kind="email", occurred_at=earlier)
    lead.refresh_from_db()
    # The first response is the first one recorded, at the time it was recorded (tests/sla/test_recorded_time.py).
    assert lead.first_response_at == first.created_at
    assert lead.response_seconds == int((first.created_at - lead.created_at).total_seconds())


def test_outcome_is_kept_only_for_calls(lead, rep):
    interaction = services.interaction_log(lead=lead, user=rep, kind="email", outcome="connected")
    assert interaction.outcome == ""


def test_won_needs_a_deal_value_and_lost_needs_a_reason(lead, rep):
    with pytest.raises(ValidationError) as won_error:
        services.lead_change_stage(lead=lead, user=rep, stage=Stage.WON)
    assert "deal_value" in won_error.value.message_dict
    with pytest.raises(ValidationError) as lost_error:
        services.lead_change_stage(lead=lead, user=rep, stage=Stage.LOST)
    assert "lost_reason" in lost_error.value.message_dict
    lead.refresh_from_db()
    assert lead.stage == Stage.NEW
    assert not StageChange.objects.filter(lead=lead).exists()


def test_winning_records_value_date_and_the_change(lead, rep):
    services.lead_change_stage(lead=lead, user=rep, stage=Stage.WON, deal_value=Decimal("4200.00"))
    lead.refresh_from_db()
    assert lead.stage == Stage.WON and lead.deal_value == Decimal("4200.00") and lead.won_at is not None
    change = StageChange.objects.get(lead=lead)
    assert (change.from_stage, change.to_stage, change.user) == ("new", "won", rep)


def test_reopening_a_lost_lead_clears_the_reason(lead, rep):
    services.lead_change_stage(lead=lead, user=rep, stage=Stage.LOST, lost_reason="no_budget")
    services.lead_change_stage(lead=lead, user=rep, stage=Stage.CONTACTED)
    lead.refresh_from_db()
    assert lead.lost_reason == "" and lead.stage == Stage.CONTACTED


def test_database_refuses_a_won_lead_without_value_even_past_the_service(lead):
    with pytest.raises(IntegrityError), transaction.atomic():
        Lead.objects.filter(pk=lead.pk).update(stage=Stage.WON)


def test_claiming_a_pool_lead_succeeds_once(pool_lead, rep, teammate):
    assert services.lead_claim(lead=pool_lead, user=rep) is True
    assert services.lead_claim(lead=Lead.objects.get(pk=pool_lead.pk), user=teammate) is False
    pool_lead.refresh_from_db()
    assert pool_lead.owner == rep and pool_lead.team == rep.team


def test_bulk_reassign_only_touches_leads_the_manager_may_see(manager, rep, teammate, other_rep):
    mine = LeadFactory.create_batch(3, owner=rep)
    foreign = LeadFactory(owner=other_rep)
    count = services.leads_bulk_reassign(user=manager, lead_ids=[lead.pk for lead in [*mine, foreign]], owner=teammate)
    assert count == 3
    assert set(Lead.objects.filter(owner=teammate).values_list("pk", flat=True)) == {lead.pk for lead in mine}
    foreign.refresh_from_db()
    assert foreign.owner == other_rep


def test_reps_cannot_use_bulk_actions(rep, lead):
    with pytest.raises(PermissionDenied):
        services.leads_bulk_reassign(user=rep, lead_ids=[lead.pk], owner=rep)
    with pytest.raises(PermissionDenied):
        services.leads_bulk_change_stage(user=rep, lead_ids=[lead.pk], stage=Stage.LOST, lost_reason="no_need")


def test_bulk_stage_change_records_every_change_and_refuses_won(manager, rep):
    leads = LeadFactory.create_batch(3, owner=rep)
    with pytest.raises(ValidationError):
        services.leads_bulk_change_stage(user=manager, lead_ids=[lead.pk for lead in leads], stage=Stage.WON)
    moved = services.leads_bulk_change_stage(
        user=manager, lead_ids=[lead.pk for lead in leads], stage=Stage.LOST, lost_reason="no_response"
    )
    assert moved == 3
    assert StageChange.objects.filter(to_stage=Stage.LOST, user=manager).count() == 3
    assert set(Lead.objects.values_list("lost_reason", flat=True)) == {"no_response"}


def test_task_completion_is_idempotent(lead, rep):
    task = services.task_create(lead=lead, user=rep, title="Call back", due_at=clock.now())
    with time_machine.travel(clock.now() + dt.timedelta(minutes=5)):
        services.task_complete(task=task, user=rep)
    first_done = task.done_at
    services.task_complete(task=task, user=rep)
    assert task.done_at == first_done


def test_signals_are_sent_only_after_commit(lead, rep, django_capture_on_commit_callbacks):
    received = []

    def receiver(sender, **kwargs):
        received.append(kwargs)

    interaction_logged.connect(receiver)
    lead_changed.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            services.interaction_log(lead=lead, user=rep, kind="call", outcome="connected")
        assert received == []
        for callback in callbacks:
            callback()
    finally:
        interaction_logged.disconnect(receiver)
        lead_changed.disconnect(receiver)
    interaction = Interaction.objects.get(lead=lead)
    assert {"lead_id": lead.pk, "interaction_id": interaction.pk, "signal": interaction_logged} in received
    assert any(r.get("fields") == ["stage"] for r in received)
