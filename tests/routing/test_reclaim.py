"""Reclaim: warn the owner, then take the lead back; never won or lost leads; exactly once under concurrency."""

import datetime as dt
import threading

import pytest
from django.db import connections
from django.urls import reverse

from crm.models import Notification
from leads import services
from leads.models import Lead, LeadHistory, ReclaimRecord, ReclaimRule, ReclaimWarning
from leads.routing import reclaim as reclaim
from tests.routing.conftest import at, make_rule, notice_keys

pytestmark = pytest.mark.django_db


def _rule(admin, **fields) -> ReclaimRule:
    fields = {"name": "Untouched 3 days", "kind": "no_outbound", "days": 3, "warn_hours": 24, **fields}
    return reclaim.reclaim_rule_save(user=admin, rule=ReclaimRule(**fields))


def _assigned_lead(owner, *args, name="Ada"):
    with at(*args):
        return services.lead_create(user=owner, name=name)


def test_the_owner_is_warned_once_then_the_lead_returns_to_the_pool(admin_user, rep, manager):
    rule = _rule(admin_user)
    lead = _assigned_lead(rep, 2026, 5, 4, 9, 0)
    with at(2026, 5, 5, 9, 0):
        assert reclaim.reclaim_sweep() == reclaim.ReclaimSweepResult(0, 0, 0)  # too early to warn
    with at(2026, 5, 6, 9, 15):
        assert reclaim.reclaim_sweep().warned == 1
        assert reclaim.reclaim_sweep().warned == 0  # a warning goes out once
    (warning,) = Notification.objects.filter(user=rep, key__startswith="reclaim-warning:")
    assert "Ada goes back to the pool on 07 May at 09:15 unless you log a call" in warning.text
    with at(2026, 5, 7, 9, 14):
        assert reclaim.reclaim_sweep().reclaimed == 0  # due, but warned less than 24 hours ago
    with at(2026, 5, 7, 9, 15):
        assert reclaim.reclaim_sweep().reclaimed == 1
        assert reclaim.reclaim_sweep().reclaimed == 0
    lead.refresh_from_db()
    assert lead.owner is None and lead.team_id == rep.team_id
    record = ReclaimRecord.objects.get()
    assert (record.lead, record.from_user, record.to_user, record.rule, record.rule_name, record.warned) == (
        lead,
        rep,
        None,
        rule,
        "Untouched 3 days",
        True,
    )
    assert notice_keys(rep)[-1].startswith("reclaimed:")


def test_an_outbound_interaction_since_assignment_keeps_the_lead(admin_user, rep):
    _rule(admin_user)
    lead = _assigned_lead(rep, 2026, 5, 4, 9, 0)
    with at(2026, 5, 4, 10, 0):
        services.interaction_log(lead=lead, user=rep, kind="call", outcome="no_answer")
    with at(2026, 5, 9, 9, 0):
        assert reclaim.reclaim_sweep() == reclaim.ReclaimSweepResult(0, 0, 0)
    assert Lead.objects.get(pk=lead.pk).owner == rep


def test_inbound_and_marketing_interactions_do_not_count_as_follow_up(admin_user, rep):
    _rule(admin_user, warn_hours=0)
    lead = _assigned_lead(rep, 2026, 5, 4, 9, 0)
    with at(2026, 5, 4, 10, 0):
        services.interaction_log(lead=lead, user=None, kind="web_visit", direction="inbound")
    with at(2026, 5, 7, 9, 1):
        assert reclaim.reclaim_sweep().reclaimed == 1


def test_won_and_lost_leads_are_never_reclaimed(admin_user, rep):
    _rule(admin_user, warn_hours=0)
    won = _assigned_lead(rep, 2026, 5, 4, 9, 0, name="Won")
    lost = _assigned_lead(rep, 2026, 5, 4, 9, 0, name="Lost")
    with at(2026, 5, 4, 9, 30):
        services.lead_change_stage(lead=won, user=rep, stage="won", deal_value=100)
        services.lead_change_stage(lead=lost, user=rep, stage="lost", lost_reason="no_need")
    with at(2026, 6, 30, 9, 0):
        assert reclaim.reclaim_sweep() == reclaim.ReclaimSweepResult(0, 0, 0)
    assert set(Lead.objects.values_list("owner", flat=True)) == {rep.pk}


def test_no_stage_progress_counts_from_the_later_of_assignment_and_the_last_stage_change(admin_user, rep):
    _rule(admin_user, kind="no_progress", days=5, warn_hours=0)
    lead = _assigned_lead(rep, 2026, 5, 4, 9, 0)
    with at(2026, 5, 8, 9, 0):
        services.lead_change_stage(lead=lead, user=rep, stage="qualified")
    with at(2026, 5, 12, 9, 0):
        assert reclaim.reclaim_sweep().reclaimed == 0  # progress 4 days ago
    with at(2026, 5, 13, 9, 1):
        assert reclaim.reclaim_sweep().reclaimed == 1


def test_a_new_rule_warns_long_neglected_leads_before_taking_them(admin_user, rep):
    lead = _assigned_lead(rep, 2026, 1, 5, 9, 0)
    _rule(admin_user, warn_hours=12)
    with at(2026, 5, 4, 9, 0):
        result = reclaim.reclaim_sweep()
    assert (result.warned, result.reclaimed) == (1, 0)
    with at(2026, 5, 4, 21, 0):
        assert reclaim.reclaim_sweep().reclaimed == 1
    assert ReclaimWarning.objects.get().lead == lead


def test_a_rerouting_rule_gives_the_lead_to_another_rep_never_back_to_the_same(admin_user, team, rep, teammate):
    make_rule(admin_user, team)
    _rule(admin_user, warn_hours=0, action="reroute")
    with at(2026, 5, 4, 9, 0):
        lead = services.lead_create(user=None, name="Routed")
    assert lead.owner == rep
    with at(2026, 5, 7, 9, 1):
        assert reclaim.reclaim_sweep() == reclaim.ReclaimSweepResult(warned=0, reclaimed=1, rerouted=1)
    lead.refresh_from_db()
    assert lead.owner == teammate
    assert (ReclaimRecord.objects.get().from_user, ReclaimRecord.objects.get().to_user) == (rep, teammate)
    # The new owner gets a fresh start: counted from the new assignment.
    with at(2026, 5, 9, 9, 0):
        assert reclaim.reclaim_sweep().reclaimed == 0


def test_a_reclaim_leaves_history_and_a_rerouted_leads_follow_ups_go_with_it(admin_user, team, rep, teammate):
    make_rule(admin_user, team)
    _rule(admin_user, warn_hours=0, action="reroute")
    with at(2026, 5, 4, 9, 0):
        lead = services.lead_create(user=None, name="Routed")
        task = services.task_create(
            lead=lead, user=rep, title="Send the quote", due_at=dt.datetime(2026, 5, 8, 9, 0, tzinfo=dt.UTC)
        )
        done = services.task_create(
            lead=lead, user=rep, title="Intro call", due_at=dt.datetime(2026, 5, 4, 10, 0, tzinfo=dt.UTC)
        )
        services.task_complete(task=done, user=rep)
    with at(2026, 5, 7, 9, 1):
        assert reclaim.reclaim_sweep().rerouted == 1
    (entry,) = LeadHistory.objects.filter(lead=lead, kind="assign")
    assert (entry.old_value, entry.new_value, entry.user) == (str(rep.pk), str(teammate.pk), None)
    assert "Untouched 3 days" in entry.note
    task.refresh_from_db()
    done.refresh_from_db()
    assert task.assignee == teammate and done.assignee == rep  # the open one moves; what was done stays done


def test_a_lead_reclaimed_to_the_pool_says_so_in_its_history_and_keeps_its_follow_ups_workable(admin_user, rep):
    _rule(admin_user, warn_hours=0)
    lead = _assigned_lead(rep, 2026, 5, 4, 9, 0)
    with at(2026, 5, 4, 9, 0):
        task = services.task_create(
            lead=lead, user=rep, title="Call back", due_at=dt.datetime(2026, 5, 8, tzinfo=dt.UTC)
        )
    with at(2026, 5, 7, 9, 1):
        assert reclaim.reclaim_sweep().reclaimed == 1
    (entry,) = LeadHistory.objects.filter(lead=lead, kind="assign")
    assert (entry.old_value, entry.new_value) == (str(rep.pk), None)
    task.refresh_from_db()
    assert task.assignee == rep


def test_inactive_rules_do_nothing(admin_user, rep):
    _rule(admin_user, warn_hours=0, active=False)
    _assigned_lead(rep, 2026, 5, 4, 9, 0)
    with at(2026, 6, 4, 9, 0):
        assert reclaim.reclaim_sweep() == reclaim.ReclaimSweepResult(0, 0, 0)


def test_the_lead_page_shows_its_reclaim_history(admin_user, rep, manager, client):
    _rule(admin_user, warn_hours=0)
    lead = _assigned_lead(rep, 2026, 5, 4, 9, 0)
    with at(2026, 5, 7, 9, 1):
        reclaim.reclaim_sweep()
    client.force_login(manager)
    page = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "Reclaimed" in page and "Untouched 3 days" in page and str(rep) in page and "to the pool" in page


def test_the_sweep_is_set_based(admin_user, rep, teammate, django_assert_max_num_queries):
    _rule(admin_user)
    for i in range(40):
        _assigned_lead(rep if i % 2 else teammate, 2026, 5, 4, 9, 0, name=f"Lead {i}")
    with at(2026, 5, 6, 9, 30), django_assert_max_num_queries(10):
        assert reclaim.reclaim_sweep().warned == 40
    with at(2026, 5, 7, 9, 30), django_assert_max_num_queries(16):
        assert reclaim.reclaim_sweep().reclaimed == 40
    assert ReclaimRecord.objects.count() == 40


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_reclaim_and_warn_each_lead_exactly_once(admin_user, rep, teammate, monkeypatch):
    _rule(admin_user, name="Warned", warn_hours=24)
    _rule(admin_user, name="Straight", kind="no_progress", days=10, warn_hours=0)
    for i in range(60):
        _assigned_lead(rep if i % 2 else teammate, 2026, 5, 4, 9, 0, name=f"Lead {i}")
    with at(2026, 5, 6, 9, 30):  # both sweeps warn at once
        results = _concurrently(reclaim.reclaim_sweep)
    assert sum(r.warned for r in results) == 60 and ReclaimWarning.objects.count() == 60
    assert Notification.objects.filter(key__startswith="reclaim-warning:").count() == 60
    monkeypatch.setattr(reclaim, "RECLAIM_BATCH_SIZE", 7)  # many small batches, so the sweeps interleave
    with at(2026, 5, 7, 9, 30):
        results = _concurrently(reclaim.reclaim_sweep)
    assert sum(r.reclaimed for r in results) == 60
    assert ReclaimRecord.objects.count() == ReclaimRecord.objects.values("lead").distinct().count() == 60
    assert not Lead.objects.filter(owner__isnull=False).exists()


def _concurrently(target):
    barrier = threading.Barrier(2)
    results = [None, None]

    def run(index):
        try:
            barrier.wait()
            results[index] = target()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_reclaim_deadlines_use_dates_not_a_fixed_sweep_time(admin_user, rep):
    """Only the lead's own clock counts: a sweep that ran late still takes what is due, once."""
    _rule(admin_user, warn_hours=0)
    _assigned_lead(rep, 2026, 5, 4, 9, 0)
    with at(2026, 5, 20, 0, 0):
        assert reclaim.reclaim_sweep().reclaimed == 1
    assert ReclaimRecord.objects.get().reclaimed_at == dt.datetime(2026, 5, 20, tzinfo=dt.UTC)


def test_a_reassigned_lead_counts_from_its_new_assignment_even_if_answered_before(admin_user, rep, teammate, manager):
    _rule(admin_user, warn_hours=0)
    lead = _assigned_lead(rep, 2026, 5, 4, 9, 0)
    with at(2026, 5, 4, 10, 0):
        services.interaction_log(lead=lead, user=rep, kind="call", outcome="connected")
    with at(2026, 5, 5, 9, 0):
        services.lead_assign(lead=Lead.objects.get(pk=lead.pk), owner=teammate, user=manager)
    with at(2026, 5, 8, 8, 59):
        assert reclaim.reclaim_sweep().reclaimed == 0
    with at(2026, 5, 8, 9, 1):
        assert reclaim.reclaim_sweep().reclaimed == 1
    assert ReclaimRecord.objects.get().from_user == teammate
