"""The live countdown on the lead page and My day, and the leads list's SLA filters."""

import datetime as dt

import pytest
from django.urls import reverse

from leads import services
from leads.sla.services import response_clocks_recompute
from tests.factories import LeadFactory, ResponsePolicyFactory
from tests.sla.conftest import at

pytestmark = pytest.mark.django_db


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


@pytest.fixture
def five_minute_target(db):
    return ResponsePolicyFactory(name="Hot", target_minutes=5, reminder_percent=50)


def test_the_lead_page_counts_down_to_the_response_deadline(rep_client, rep, channel, five_minute_target):
    with at(2026, 5, 4, 9, 0):
        lead = services.lead_create(user=rep, name="Ada", email="ada@example.com", channel=channel)
    with at(2026, 5, 4, 9, 2):
        html = rep_client.get(lead.get_absolute_url()).content.decode()
    assert 'data-sla-left="180"' in html and "answer within 3 min 00 s" in html
    assert 'data-sla-remind-left="30"' in html
    assert "/static/js/app.js" in html  # the app's own script ticks it (no inline script, no third-party file)
    with at(2026, 5, 4, 9, 4):
        html = rep_client.get(lead.get_absolute_url()).content.decode()
    assert "chip-warn" in html and "answer within 1 min 00 s" in html
    with at(2026, 5, 4, 9, 8):
        html = rep_client.get(lead.get_absolute_url()).content.decode()
    assert "chip-bad" in html and "overdue 3 min 00 s" in html


def test_after_the_first_call_the_lead_page_says_whether_the_target_was_met(
    rep_client, rep, channel, five_minute_target
):
    with at(2026, 5, 4, 9, 0):
        on_time = services.lead_create(user=rep, name="On time", email="a@example.com", channel=channel)
        late = services.lead_create(user=rep, name="Late", email="b@example.com", channel=channel)
    with at(2026, 5, 4, 9, 3):
        services.interaction_log(lead=on_time, user=rep, kind="call", outcome="connected")
    with at(2026, 5, 4, 9, 12):
        services.interaction_log(lead=late, user=rep, kind="email")
        assert "within target" in rep_client.get(on_time.get_absolute_url()).content.decode()
        html = rep_client.get(late.get_absolute_url()).content.decode()
    assert "answered in 12 min" in html and "missed the target" in html and 'data-sla-left="' not in html


def test_a_deadline_far_away_reads_as_a_time(rep_client, rep, channel):
    from tests.factories import BusinessCalendarFactory

    ResponsePolicyFactory(target_minutes=60, calendar=BusinessCalendarFactory(time_zone="UTC"))
    with at(2026, 5, 8, 18, 0):  # Friday evening
        lead = services.lead_create(user=rep, name="Weekend", email="w@example.com", channel=channel)
        html = rep_client.get(lead.get_absolute_url()).content.decode()
    assert "answer by Mon 10:00" in html


def test_my_day_lists_waiting_leads_most_urgent_first_with_their_countdown(
    rep_client, rep, channel, five_minute_target, django_assert_max_num_queries
):
    ResponsePolicyFactory(name="Slow", grade="D", target_minutes=120, reminder_percent=None)
    with at(2026, 5, 4, 9, 0):
        relaxed = LeadFactory(owner=rep, channel=channel, grade="D", name="Relaxed Rita")
        urgent = LeadFactory(owner=rep, channel=channel, name="Urgent Ulla", created_at=utc(2026, 5, 4, 8, 58))
        LeadFactory.create_batch(10, owner=rep, channel=channel)
        response_clocks_recompute()
    with at(2026, 5, 4, 9, 1), django_assert_max_num_queries(9):  # 8, and the at-risk list
        html = rep_client.get("/").content.decode()
    assert html.index(urgent.name) < html.index(relaxed.name)
    assert "answer within 2 min 00 s" in html and "answer within 1 h 59 min" in html


def test_the_list_filters_leads_awaiting_a_response_and_those_past_their_target(
    client, manager, rep, channel, five_minute_target, django_assert_max_num_queries
):
    with at(2026, 5, 4, 9, 0):
        breached = LeadFactory(owner=rep, channel=channel, name="Breached Bea", created_at=utc(2026, 5, 4, 8, 0))
        running = LeadFactory(owner=rep, channel=channel, name="Running Ron")
        answered = LeadFactory(owner=rep, channel=channel, name="Answered Al", created_at=utc(2026, 5, 4, 8, 0))
        LeadFactory.create_batch(8, owner=rep, channel=channel, created_at=utc(2026, 5, 4, 7, 0))
        response_clocks_recompute()
        services.interaction_log(lead=answered, user=rep, kind="call", occurred_at=utc(2026, 5, 4, 8, 30))
    client.force_login(manager)
    with at(2026, 5, 4, 9, 2), django_assert_max_num_queries(9):
        html = client.get(reverse("leads:list"), {"breached": "on"}).content.decode()
    assert breached.name in html and running.name not in html and answered.name not in html
    assert "overdue 57 min" in html
    with at(2026, 5, 4, 9, 2):
        html = client.get(reverse("leads:list"), {"awaiting": "on"}).content.decode()
    assert breached.name in html and running.name in html and answered.name not in html
    assert "answer within 3 min 00 s" in html


def test_my_day_puts_leads_still_answerable_in_time_before_missed_ones(rep_client, rep, channel, five_minute_target):
    with at(2026, 5, 4, 9, 0):
        LeadFactory(owner=rep, channel=channel, name="Missed Mo", created_at=utc(2026, 4, 1, 9, 0))
        LeadFactory(owner=rep, channel=channel, name="Fresh Fay", created_at=utc(2026, 5, 4, 8, 59))
        response_clocks_recompute()
        html = rep_client.get("/").content.decode()
    assert html.index("Fresh Fay") < html.index("Missed Mo")
