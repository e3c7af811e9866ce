"""Event campaigns: public registration with the web form's protections, check-in at the door, follow-ups."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from campaigns import events, services
from campaigns.models import Campaign, Member
from leads.models import FollowUpTask, Interaction, Lead
from tests.factories import LeadFactory, ResponsePolicyFactory
from tests.threads import together

pytestmark = pytest.mark.django_db


@pytest.fixture
def expo(manager, channel):
    return services.campaign_save(
        user=manager,
        campaign=Campaign(
            name="Trade fair", channel=channel, kind="event", registration_slug="fair", registration_open=True
        ),
    )


def _register(client, **extra):
    data = {"name": "Grace Hopper", "email": "grace@example.com", "company": "Navy", **extra}
    return client.post("/e/fair/", data)


def test_a_visitor_registers_once_as_a_new_lead_with_its_response_clock(client, expo):
    ResponsePolicyFactory(target_minutes=60)
    page = client.get("/e/fair/?utm_source=linkedin")
    assert page.status_code == 200 and b"Trade fair" in page.content
    assert _register(client, utm_source="linkedin").status_code == 200
    assert _register(client).status_code == 200  # a double submission: one registration
    lead = Lead.objects.get(email="grace@example.com")
    member = Member.objects.get(campaign=expo, lead=lead)
    assert member.source == Member.Source.REGISTRATION and member.registered_at is not None
    assert lead.utm_source == "linkedin" and lead.channel_id == expo.channel_id
    assert lead.sla_clock is not None  # the speed-to-lead clock of a new lead


def test_registration_refuses_bots_bad_input_and_floods(client, expo, settings, one_rate_window):
    settings.EVENT_REGISTRATION_RATE_LIMIT = 4  # every POST counts, a bot's and a mistaken one's too
    assert _register(client, website="http://spam").status_code == 200
    assert not Lead.objects.exists()
    assert _register(client, email="not-an-email").status_code == 400
    assert _register(client, name="x" * 201, email="long@example.com").status_code == 400
    answers = [_register(client, email=f"p{i}@example.com").status_code for i in range(2)]
    assert answers == [200, 429] and Lead.objects.count() == 1
    expo.registration_open = False
    expo.save()
    assert client.get("/e/fair/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_check_in_is_one_tap_and_two_phones_record_one_attendance(client, expo, manager, rep):
    lead = LeadFactory(owner=rep, name="Grace Hopper")
    member = Member.objects.create(campaign=expo, lead=lead, registered_at=lead.created_at)
    client.force_login(manager)
    found = client.get(f"/campaigns/{expo.pk}/check-in/?q=grac", headers={"HX-Request": "true"})
    assert found.status_code == 200 and b"Grace Hopper" in found.content
    results, errors = together(
        lambda: events.attendance_mark(user=manager, member=member),
        lambda: events.attendance_mark(user=manager, member=member),
    )
    assert errors == [None, None] and sorted(results) == [False, True]
    assert Interaction.objects.filter(lead=lead, kind=Interaction.Kind.EVENT_ATTENDED).count() == 1
    tapped = client.post(f"/campaigns/{expo.pk}/check-in/{member.pk}/", headers={"HX-Request": "true"})
    assert tapped.status_code == 200 and "✓" in tapped.content.decode()


def test_follow_up_tasks_go_to_attendees_owners_once(client, expo, manager, rep):
    attended = [LeadFactory(owner=rep), LeadFactory(owner=None)]
    absent = LeadFactory(owner=rep)
    for lead in attended:
        Member.objects.create(campaign=expo, lead=lead, attended_at=lead.created_at)
    Member.objects.create(campaign=expo, lead=absent, registered_at=absent.created_at)
    client.force_login(manager)
    client.post(f"/campaigns/{expo.pk}/follow-up/")
    client.post(f"/campaigns/{expo.pk}/follow-up/")
    tasks = FollowUpTask.objects.all()
    assert [(task.lead_id, task.assignee_id) for task in tasks] == [(attended[0].pk, rep.pk)]
    assert tasks[0].reminder_next_at is not None


def test_attendance_from_a_csv_checks_in_the_members_it_names(client, expo, manager, rep, other_rep):
    mine = LeadFactory(owner=rep, email="Ada@Example.com", email_normalized="ada@example.com")
    theirs = LeadFactory(owner=other_rep, email="otto@example.com", email_normalized="otto@example.com")
    for lead in (mine, theirs):
        Member.objects.create(campaign=expo, lead=lead, registered_at=lead.created_at)
    client.force_login(manager)
    upload = SimpleUploadedFile(
        "scans.csv", b"Name,Email\nAda,ADA@example.com \nOtto,otto@example.com\nX,nobody@x.io\n"
    )
    response = client.post(f"/campaigns/{expo.pk}/attendance/", {"file": upload}, follow=True)
    assert "1 attendee checked in; 2 emails matched no member" in response.content.decode()
    attended = set(Member.objects.filter(attended_at__isnull=False).values_list("lead_id", flat=True))
    assert attended == {mine.pk}  # another team's lead is not the manager's to check in
    assert client.post(f"/campaigns/{expo.pk}/attendance/").status_code == 302  # no file: a message, nothing else
