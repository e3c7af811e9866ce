import datetime as dt

import pytest
import time_machine

from crm import clock
from tests.factories import LeadFactory, TaskFactory

pytestmark = pytest.mark.django_db


def test_my_day_shows_overdue_and_todays_tasks_but_not_later_or_done_ones(rep_client, rep, lead):
    with time_machine.travel(dt.datetime(2026, 5, 4, 9, 0, tzinfo=dt.UTC), tick=False):
        now = clock.now()
        TaskFactory(lead=lead, assignee=rep, title="Overdue call", due_at=now - dt.timedelta(days=1))
        TaskFactory(lead=lead, assignee=rep, title="This afternoon", due_at=now + dt.timedelta(hours=5))
        TaskFactory(lead=lead, assignee=rep, title="Next week", due_at=now + dt.timedelta(days=7))
        TaskFactory(lead=lead, assignee=rep, title="Already done", due_at=now, done_at=now)
        response = rep_client.get("/")
    html = response.content.decode()
    assert "Overdue call" in html and "This afternoon" in html
    assert "Next week" not in html and "Already done" not in html
    assert html.index("Overdue call") < html.index("This afternoon")
    assert "task-overdue" in html


def test_my_day_lists_unanswered_new_leads_longest_waiting_first(rep_client, rep, teammate):
    now = clock.now()
    LeadFactory(owner=rep, name="Waited an hour", created_at=now - dt.timedelta(hours=1))
    LeadFactory(owner=rep, name="Waited a day", created_at=now - dt.timedelta(days=1))
    LeadFactory(owner=rep, name="Answered", first_response_at=now, stage="contacted")
    LeadFactory(owner=teammate, name="Teammate's")
    html = rep_client.get("/").content.decode()
    assert html.index("Waited a day") < html.index("Waited an hour")
    assert "waiting 1 d" in html
    assert "Teammate's" not in html
    assert "Answered" in html  # under "recently active", not "waiting"
    assert html.count("Answered") == 1


def test_my_day_issues_a_bounded_number_of_queries(rep_client, rep, django_assert_max_num_queries):
    for _ in range(15):
        lead = LeadFactory(owner=rep)
        TaskFactory(lead=lead, assignee=rep, due_at=clock.now())
    with django_assert_max_num_queries(9):  # 8, and the at-risk list's reclaim rules (none here)
        rep_client.get("/")
