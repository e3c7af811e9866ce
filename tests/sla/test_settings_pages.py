"""The admins' response-target and calendar pages: who may use them, and what bad input looks like."""

import datetime as dt

import pytest
from django.urls import reverse

from crm.models import BusinessCalendar
from leads.models import ResponseClock, ResponsePolicy
from tests.factories import BusinessCalendarFactory, LeadFactory, ResponsePolicyFactory
from tests.sla.conftest import at

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def _policy_data(**overrides):
    data = {
        "name": "Hot web leads",
        "grade": "A",
        "channel": "",
        "target_minutes": "5",
        "reminder_percent": "50",
        "calendar": "",
        "escalate_to_manager": "on",
        "pool_leads": "manager",
        "pool_team": "",
        "active": "on",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize("who", ["rep", "manager"])
def test_reps_and_managers_cannot_see_or_change_response_targets(client, request, who, channel):
    client.force_login(request.getfixturevalue(who))
    policy = ResponsePolicyFactory()
    calendar = BusinessCalendarFactory()
    assert client.get(reverse("leads:sla_policies")).status_code == 403
    assert client.get(reverse("leads:sla_policy_create")).status_code == 403
    assert client.post(reverse("leads:sla_policy_create"), _policy_data()).status_code == 403
    assert client.post(reverse("leads:sla_policy_edit", args=[policy.pk]), _policy_data()).status_code == 403
    assert client.post(reverse("leads:sla_policy_delete", args=[policy.pk])).status_code == 403
    assert client.post(reverse("leads:sla_calendar_create"), {"name": "x"}).status_code == 403
    assert client.post(reverse("leads:sla_calendar_delete", args=[calendar.pk])).status_code == 403
    assert ResponsePolicy.objects.get().name == policy.name
    assert BusinessCalendar.objects.count() == 1
    assert b"Response SLA" not in client.get("/").content


def test_the_settings_page_lists_targets_with_their_precedence(admin_client, channel):
    ResponsePolicyFactory(name="Everyone", target_minutes=60)
    ResponsePolicyFactory(name="Hot Google", grade="A", channel=channel, target_minutes=5)
    html = admin_client.get(reverse("leads:sla_policies")).content.decode()
    assert "Everyone" in html and "catch-all" in html and "1 h" in html
    assert "Hot Google" in html and "grade + channel" in html and "A-grade leads from Google Ads" in html
    assert "How a lead's target is chosen" in html


def test_an_admin_creates_a_target_with_htmx_and_running_clocks_are_timed(admin_client, rep, channel, htmx, retimed):
    with at(2026, 5, 4, 9, 0):
        lead = LeadFactory(owner=rep, grade="A", channel=channel)
    with at(2026, 5, 4, 9, 1), retimed() as queued:
        response = admin_client.post(reverse("leads:sla_policy_create"), _policy_data(), headers=htmx)
    # The re-timing, queued for when the save commits, and the policies' new generation (`crm.generations`).
    assert len(queued) == 2
    assert response.status_code == 200 and response["HX-Redirect"] == reverse("leads:sla_policies")
    lead.refresh_from_db()
    assert lead.sla_policy.name == "Hot web leads"
    assert lead.sla_due_at == dt.datetime(2026, 5, 4, 9, 5, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"target_minutes": "0"}, "target_minutes", "A target is at least 1 minute."),
        ({"target_minutes": "50000"}, "target_minutes", "at most 30 days"),
        ({"target_minutes": "soon"}, "target_minutes", "whole number of minutes"),
        ({"target_minutes": ""}, "target_minutes", "Say how many minutes"),
        ({"reminder_percent": "150"}, "reminder_percent", "at most 99%"),
        ({"reminder_percent": "-5"}, "reminder_percent", "1% of the target or later"),
        ({"name": ""}, "name", "Give the target a name"),
        ({"grade": "Z"}, "grade", "Select a valid choice"),
    ],
)
def test_bad_target_input_shows_errors_next_to_the_fields_and_saves_nothing(
    admin_client, htmx, overrides, field, message
):
    response = admin_client.post(reverse("leads:sla_policy_create"), _policy_data(**overrides), headers=htmx)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="id_{field}_error"' in html and message in html
    assert 'id="policy-form"' in html and "<html" not in html  # the form partial, swapped in place
    assert not ResponsePolicy.objects.exists()


def test_a_second_target_for_the_same_grade_and_channel_is_refused_by_name(admin_client, channel):
    ResponsePolicyFactory(name="Hot Google", grade="A", channel=channel)
    response = admin_client.post(reverse("leads:sla_policy_create"), _policy_data(channel=channel.pk))
    html = response.content.decode()
    assert 'id="id_channel_error"' in html and "“Hot Google” already sets the target" in html
    assert ResponsePolicy.objects.count() == 1


def test_editing_a_target_re_times_running_clocks(admin_client, rep, channel, retimed):
    policy = ResponsePolicyFactory(name="Everyone", target_minutes=60)
    with at(2026, 5, 4, 9, 0):
        lead = LeadFactory(owner=rep, channel=channel)
    with at(2026, 5, 4, 9, 1), retimed():
        admin_client.post(
            reverse("leads:sla_policy_edit", args=[policy.pk]),
            _policy_data(name="Everyone", grade="", target_minutes="30"),
        )
    lead.refresh_from_db()
    assert lead.sla_due_at == dt.datetime(2026, 5, 4, 9, 30, tzinfo=dt.UTC)


def test_deleting_a_target_stops_the_clocks_it_timed(admin_client, rep, channel, retimed):
    policy = ResponsePolicyFactory(target_minutes=60)
    with at(2026, 5, 4, 9, 0):
        lead = LeadFactory(owner=rep, channel=channel)
        from leads.sla.services import response_clocks_recompute

        response_clocks_recompute()
    with at(2026, 5, 4, 9, 1), retimed():
        response = admin_client.post(reverse("leads:sla_policy_delete", args=[policy.pk]))
    assert response.status_code == 302
    assert not ResponseClock.objects.filter(lead_id=lead.pk).exists()


def test_an_admin_creates_a_calendar_with_holidays(admin_client):
    response = admin_client.post(
        reverse("leads:sla_calendar_create"),
        {
            "name": "Berlin office",
            "time_zone": "Europe/Berlin",
            "opens_at": "08:30",
            "closes_at": "18:00",
            "working_days": ["0", "1", "2", "3", "4"],
            "holidays": "2026-12-25 Christmas Day\n\n2026-12-26",
        },
    )
    assert response.status_code == 302
    calendar = BusinessCalendar.objects.get()
    assert calendar.working_weekdays == {0, 1, 2, 3, 4}
    assert calendar.summary == "Mon–Fri 08:30–18:00 Europe/Berlin"
    assert list(calendar.holidays.values_list("date", "name")) == [
        (dt.date(2026, 12, 25), "Christmas Day"),
        (dt.date(2026, 12, 26), ""),
    ]


def test_bad_calendar_input_shows_errors_next_to_the_fields(admin_client, htmx):
    response = admin_client.post(
        reverse("leads:sla_calendar_create"),
        {
            "name": "Broken",
            "time_zone": "Mars/Olympus_Mons",
            "opens_at": "18:00",
            "closes_at": "09:00",
            "holidays": "2026-12-25 Christmas\n25/12/2026 Boxing day",
        },
        headers=htmx,
    )
    html = response.content.decode()
    assert 'id="id_time_zone_error"' in html
    assert 'id="id_closes_at_error"' in html and "Closing time must be after opening time" in html
    assert "Tick at least one working day" in html
    assert 'id="id_holidays_error"' in html and "Line 2: “25/12/2026” is not a date" in html
    assert not BusinessCalendar.objects.exists()


def test_a_calendar_in_use_cannot_be_deleted(admin_client):
    calendar = BusinessCalendarFactory()
    ResponsePolicyFactory(name="Office target", calendar=calendar)
    response = admin_client.post(reverse("leads:sla_calendar_delete", args=[calendar.pk]), follow=True)
    assert "Response targets use this calendar: Office target" in response.content.decode()
    assert BusinessCalendar.objects.exists()


def test_changing_a_calendar_re_times_the_clocks_that_follow_it(admin_client, rep, channel, retimed):
    calendar = BusinessCalendarFactory(time_zone="UTC")
    ResponsePolicyFactory(target_minutes=60, calendar=calendar, reminder_percent=None)
    with at(2026, 5, 4, 16, 30):  # Monday, 30 minutes before closing
        lead = LeadFactory(owner=rep, channel=channel)
        from leads.sla.services import response_clocks_recompute

        response_clocks_recompute()
    lead.refresh_from_db()
    assert lead.sla_due_at == dt.datetime(2026, 5, 5, 9, 30, tzinfo=dt.UTC)
    with at(2026, 5, 4, 16, 40), retimed():
        admin_client.post(
            reverse("leads:sla_calendar_edit", args=[calendar.pk]),
            {
                "name": calendar.name,
                "time_zone": "UTC",
                "opens_at": "09:00",
                "closes_at": "17:00",
                "working_days": ["0", "1", "2", "3", "4"],
                "holidays": "2026-05-05 Bank holiday",
            },
        )
    lead.refresh_from_db()
    assert lead.sla_due_at == dt.datetime(2026, 5, 6, 9, 30, tzinfo=dt.UTC)


def test_everyone_sets_their_own_email_preference(rep_client, rep, htmx):
    url = reverse("crm:notification_settings")
    assert "Email me a digest" in rep_client.get(url).content.decode()
    response = rep_client.post(url, {}, headers=htmx)
    assert "Saved" in response.content.decode()
    rep.refresh_from_db()
    assert rep.email_notifications is False
    rep_client.post(url, {"email_notifications": "on"})
    rep.refresh_from_db()
    assert rep.email_notifications is True
