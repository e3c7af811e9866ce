"""Response clocks and the minute sweep, with a controlled clock from a lead's arrival to its first call."""

import datetime as dt

import pytest

from crm.models import Notification
from leads import services
from leads.models import Lead, ResponseClock, ResponsePolicy, SentNotice
from leads.sla import services as sla_services
from leads.sla.selectors import sla_breached_condition
from tests.factories import BusinessCalendarFactory, LeadFactory, ResponsePolicyFactory
from tests.sla.conftest import at, notices_of, sweep_at

pytestmark = pytest.mark.django_db


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def test_the_whole_path_reminder_at_the_reminder_point_escalation_at_breach_and_the_first_call_stops_the_clock(
    rep, manager, channel
):
    ResponsePolicyFactory(name="Everyone", target_minutes=10, reminder_percent=50)
    with at(2026, 5, 4, 9, 0):
        slow = services.lead_create(user=rep, name="Slow Sam", email="sam@example.com", channel=channel)
        quick = services.lead_create(user=rep, name="Quick Quinn", email="quinn@example.com", channel=channel)
    assert slow.sla_due_at == utc(2026, 5, 4, 9, 10)
    assert slow.sla_remind_at == utc(2026, 5, 4, 9, 5)

    sweep_at(2026, 5, 4, 9, 4, 59)
    assert notices_of(rep) == []

    sweep_at(2026, 5, 4, 9, 5)
    assert notices_of(rep) == [f"sla_reminder:lead:{slow.pk}", f"sla_reminder:lead:{quick.pk}"] or set(
        notices_of(rep)
    ) == {f"sla_reminder:lead:{slow.pk}", f"sla_reminder:lead:{quick.pk}"}
    reminder = Notification.objects.get(user=rep, key=f"sla_reminder:lead:{slow.pk}")
    assert reminder.text.startswith("Answer Slow Sam within 5 min")
    assert reminder.url == slow.get_absolute_url()
    assert notices_of(manager) == []

    sweep_at(2026, 5, 4, 9, 6)  # the next minute sends nothing again
    assert len(notices_of(rep)) == 2

    with at(2026, 5, 4, 9, 7):
        services.interaction_log(lead=quick, user=rep, kind="call", outcome="connected")
    quick.refresh_from_db()
    assert quick.sla_next_at is None and quick.response_seconds == 420

    sweep_at(2026, 5, 4, 9, 10)
    assert notices_of(manager) == [f"sla_breach:lead:{slow.pk}"]
    escalation = Notification.objects.get(user=manager)
    assert "Escalation" in escalation.text and "Slow Sam" in escalation.text and "10 min" in escalation.text
    assert f"sla_breach:lead:{slow.pk}" in notices_of(rep)
    assert f"sla_breach:lead:{quick.pk}" not in notices_of(rep) + notices_of(manager)

    sweep_at(2026, 5, 4, 9, 30)
    assert Notification.objects.count() == 4  # 2 reminders, the breach to the owner and to the manager
    assert SentNotice.objects.count() == 3
    slow.refresh_from_db()
    assert slow.sla_next_at is None and slow.sla_breached


def test_a_lead_arriving_on_friday_evening_is_not_breached_on_saturday(rep, manager, channel):
    office = BusinessCalendarFactory(time_zone="Europe/Berlin")  # Mon–Fri 09:00–17:00
    ResponsePolicyFactory(target_minutes=60, reminder_percent=50, calendar=office)
    with at(2026, 5, 8, 17, 30):  # Friday 19:30 in Berlin
        lead = services.lead_create(user=rep, name="Weekend Wanda", email="w@example.com", channel=channel)
    # Monday 09:00 Berlin is 07:00 UTC: reminder at 07:30, deadline at 08:00.
    assert lead.sla_remind_at == utc(2026, 5, 11, 7, 30)
    assert lead.sla_due_at == utc(2026, 5, 11, 8, 0)

    sweep_at(2026, 5, 9, 12, 0)  # Saturday noon
    assert Notification.objects.count() == 0
    with at(2026, 5, 9, 12, 0):
        assert not Lead.objects.get(pk=lead.pk).sla_breached
        assert lead not in _breached()

    sweep_at(2026, 5, 11, 7, 30)
    assert notices_of(rep) == [f"sla_reminder:lead:{lead.pk}"]
    sweep_at(2026, 5, 11, 8, 0)
    assert notices_of(manager) == [f"sla_breach:lead:{lead.pk}"]


def _breached():
    return list(Lead.objects.filter(sla_breached_condition()))


def test_the_most_specific_policy_times_a_lead(rep, channel, web):
    catch_all = ResponsePolicyFactory(name="Everyone", target_minutes=60)
    a_grade = ResponsePolicyFactory(name="Hot leads", grade="A", target_minutes=15)
    web_any = ResponsePolicyFactory(name="Web", channel=web, target_minutes=30)
    web_a = ResponsePolicyFactory(name="Hot web", grade="A", channel=web, target_minutes=5)
    ResponsePolicyFactory(name="Switched off", grade="B", channel=web, target_minutes=1, active=False)
    cases = {
        ("A", web): web_a,
        ("B", web): web_any,
        ("A", channel): a_grade,
        ("", web): web_any,
        ("C", channel): catch_all,
        ("", None): catch_all,
    }
    with at(2026, 5, 4, 9, 0):
        leads = {key: LeadFactory(owner=rep, grade=key[0], channel=key[1]) for key in cases}
        sla_services.response_clocks_recompute()
    for key, lead in leads.items():
        lead.refresh_from_db()
        assert lead.sla_policy == cases[key], key
        assert lead.sla_due_at == utc(2026, 5, 4, 9, 0) + dt.timedelta(minutes=cases[key].target_minutes)


def test_a_lead_no_policy_matches_has_no_clock(rep, channel, web):
    ResponsePolicyFactory(channel=web, target_minutes=5)
    lead = services.lead_create(user=rep, name="Nobody's target", email="n@example.com", channel=channel)
    assert lead.sla_policy is None and lead.sla_due_at is None and lead.sla_next_at is None


def test_changing_a_leads_channel_re_times_its_running_clock(rep, channel, web):
    ResponsePolicyFactory(target_minutes=60)
    ResponsePolicyFactory(channel=web, target_minutes=5)
    with at(2026, 5, 4, 9, 0):
        lead = services.lead_create(user=rep, name="Moved", email="m@example.com", channel=channel)
    with at(2026, 5, 4, 9, 1):
        services.lead_update(lead=lead, user=rep, data={"channel": web})
    assert lead.sla_due_at == utc(2026, 5, 4, 9, 5)


def test_a_policy_change_re_times_running_clocks_but_not_missed_ones(admin_user, rep, channel, retimed):
    policy = ResponsePolicyFactory(target_minutes=60, reminder_percent=None)
    with at(2026, 5, 4, 8, 0):
        missed = services.lead_create(user=rep, name="Missed", email="a@example.com", channel=channel)
    with at(2026, 5, 4, 9, 30):
        running = services.lead_create(user=rep, name="Running", email="b@example.com", channel=channel)
    with at(2026, 5, 4, 9, 40), retimed():
        policy.target_minutes = 30
        policy.reminder_percent = 50
        sla_services.response_policy_save(user=admin_user, policy=policy)
    running.refresh_from_db()
    missed.refresh_from_db()
    assert running.sla_due_at == utc(2026, 5, 4, 10, 0)
    assert running.sla_remind_at == utc(2026, 5, 4, 9, 45)
    assert running.sla_next_at == running.sla_remind_at
    assert missed.sla_due_at == utc(2026, 5, 4, 9, 0)  # history stays what it was


def test_a_clock_timed_after_its_deadline_sends_nothing_but_shows_breached(admin_user, rep, manager, channel, retimed):
    with at(2026, 5, 4, 9, 0):
        lead = services.lead_create(user=rep, name="Old", email="o@example.com", channel=channel)
    assert lead.sla_due_at is None
    with at(2026, 5, 4, 12, 0):
        with retimed():
            sla_services.response_policy_save(user=admin_user, policy=ResponsePolicy(name="All", target_minutes=60))
        lead.refresh_from_db()
        assert lead.sla_due_at == utc(2026, 5, 4, 10, 0) and lead.sla_next_at is None
        assert lead.sla_breached
    sweep_at(2026, 5, 4, 12, 1)
    assert Notification.objects.count() == 0


def test_a_clock_timed_between_reminder_point_and_deadline_reminds_at_once(admin_user, rep, channel, retimed):
    with at(2026, 5, 4, 9, 0):
        lead = services.lead_create(user=rep, name="Late policy", email="o@example.com", channel=channel)
    with at(2026, 5, 4, 9, 40), retimed():
        sla_services.response_policy_save(
            user=admin_user, policy=ResponsePolicy(name="All", target_minutes=60, reminder_percent=50)
        )
    sweep_at(2026, 5, 4, 9, 41)
    assert notices_of(rep) == [f"sla_reminder:lead:{lead.pk}"]


def test_a_pool_lead_of_no_team_alerts_the_manager_of_the_policys_pool_team(
    manager, other_manager, other_team, channel
):
    ResponsePolicyFactory(target_minutes=10, reminder_percent=50, pool_team=other_team)
    with at(2026, 5, 4, 9, 0):
        orphan = services.lead_create(user=manager, name="Orphan", email="o@example.com", channel=channel)
    assert orphan.owner is None and orphan.team is None
    sweep_at(2026, 5, 4, 9, 5)
    assert notices_of(other_manager) == [f"sla_reminder:lead:{orphan.pk}"]
    assert notices_of(manager) == []
    assert "Pool lead Orphan is unclaimed" in Notification.objects.get(user=other_manager).text
    sweep_at(2026, 5, 4, 9, 10)
    assert notices_of(other_manager) == [f"sla_reminder:lead:{orphan.pk}", f"sla_breach:lead:{orphan.pk}"]


def test_a_pool_lead_of_no_team_without_a_pool_team_alerts_nobody(manager, channel):
    ResponsePolicyFactory(target_minutes=10)
    with at(2026, 5, 4, 9, 0):
        services.lead_create(user=manager, name="Orphan", email="o@example.com", channel=channel)
    sweep_at(2026, 5, 4, 9, 10)
    assert Notification.objects.count() == 0


def test_pool_leads_with_a_team_alert_that_teams_manager(manager, team, channel):
    ResponsePolicyFactory(target_minutes=10, reminder_percent=None)
    with at(2026, 5, 4, 9, 0):
        lead = LeadFactory(owner=None, team=team, channel=channel)
        sla_services.response_clocks_recompute()
    sweep_at(2026, 5, 4, 9, 10)
    assert notices_of(manager) == [f"sla_breach:lead:{lead.pk}"]


def test_a_policy_can_leave_pool_leads_alone_and_skip_escalation(rep, manager, team, channel):
    ResponsePolicyFactory(target_minutes=10, pool_leads="ignore", escalate_to_manager=False)
    with at(2026, 5, 4, 9, 0):
        pooled = LeadFactory(owner=None, team=team, channel=channel)
        owned = services.lead_create(user=rep, name="Owned", email="o@example.com", channel=channel)
        sla_services.response_clocks_recompute(lead_ids=[pooled.pk])
    sweep_at(2026, 5, 4, 9, 10)
    assert notices_of(manager) == []
    breach = Notification.objects.get(user=rep, key=f"sla_breach:lead:{owned.pk}")
    assert "manager" not in breach.text


def test_closing_a_lead_stops_its_clock_and_reopening_it_restarts_it(rep, channel):
    ResponsePolicyFactory(target_minutes=60, reminder_percent=None)
    with at(2026, 5, 4, 9, 0):
        lead = services.lead_create(user=rep, name="Lost soul", email="l@example.com", channel=channel)
    with at(2026, 5, 4, 9, 10):
        services.lead_change_stage(lead=lead, user=rep, stage="lost", lost_reason="bad_data")
    lead.refresh_from_db()
    assert lead.sla_next_at is None
    sweep_at(2026, 5, 4, 10, 0)
    assert notices_of(rep) == []
    with at(2026, 5, 4, 9, 20):
        services.lead_change_stage(lead=lead, user=rep, stage="new")
    lead.refresh_from_db()
    assert lead.sla_next_at == utc(2026, 5, 4, 10, 0)


def test_a_sweep_rerun_after_its_work_was_undone_sends_nothing_twice(rep, channel):
    """The SentNotice constraint, not the lead's state, is what makes a notice exactly-once."""
    ResponsePolicyFactory(target_minutes=10, reminder_percent=50)
    with at(2026, 5, 4, 9, 0):
        lead = services.lead_create(user=rep, name="Again", email="a@example.com", channel=channel)
    sweep_at(2026, 5, 4, 9, 5)
    ResponseClock.objects.filter(lead=lead).update(next_at=lead.sla_remind_at)  # as if the advance was lost
    result = sweep_at(2026, 5, 4, 9, 6)
    assert result.leads == 1 and result.notices == 0
    assert notices_of(rep) == [f"sla_reminder:lead:{lead.pk}"]


def test_the_sweep_is_set_based(rep, manager, channel, django_assert_max_num_queries):
    ResponsePolicyFactory(target_minutes=10, reminder_percent=50)
    with at(2026, 5, 4, 9, 0):
        LeadFactory.create_batch(40, owner=rep, channel=channel)
        sla_services.response_clocks_recompute()
    with at(2026, 5, 4, 9, 5), django_assert_max_num_queries(12):
        leads, notices = sla_services.sla_sweep()
    assert (leads, notices) == (40, 40)


def test_re_timing_many_clocks_takes_a_few_statements_whatever_their_number(
    rep, channel, django_assert_max_num_queries
):
    office = BusinessCalendarFactory()
    ResponsePolicyFactory(target_minutes=60, calendar=office)
    with at(2026, 5, 4, 9, 0):
        for hour in range(0, 48, 2):
            LeadFactory.create_batch(
                3, owner=rep, channel=channel, created_at=utc(2026, 5, 4, 9) - dt.timedelta(hours=hour)
            )
    with at(2026, 5, 4, 9, 0), django_assert_max_num_queries(20):
        sla_services.response_clocks_recompute()
    assert ResponseClock.objects.filter(due_at__isnull=False).count() == 72


def test_a_calendar_made_with_its_defaults_keeps_office_hours_at_once():
    from crm.business_hours import clock_for
    from crm.models import BusinessCalendar

    calendar = BusinessCalendar.objects.create(name="Defaults", time_zone="UTC")
    assert clock_for(calendar).add(utc(2026, 5, 8, 16, 30), dt.timedelta(hours=1)) == utc(2026, 5, 11, 9, 30)
