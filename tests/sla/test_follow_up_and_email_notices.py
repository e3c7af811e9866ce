"""Follow-up task reminders, and email digests: one per person per sweep, never twice."""

import datetime as dt

import pytest
from django.core import mail

from crm.models import Notification
from crm.services import Notice, notifications_email_digest, notifications_send
from leads import services
from leads.models import SentNotice
from tests.factories import ResponsePolicyFactory
from tests.sla.conftest import at, notices_of, sweep_at

pytestmark = pytest.mark.django_db


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


@pytest.fixture
def task(rep, lead):
    with at(2026, 5, 4, 9, 0):
        return services.task_create(lead=lead, user=rep, title="Send the proposal", due_at=utc(2026, 5, 4, 15, 0))


def test_a_follow_up_is_reminded_when_due_soon_and_again_when_overdue_once_each(rep, task, settings):
    assert settings.TASK_REMINDER_MINUTES == 15
    sweep_at(2026, 5, 4, 14, 44)
    assert notices_of(rep) == []
    sweep_at(2026, 5, 4, 14, 45)
    assert notices_of(rep) == [f"task_due_soon:task:{task.pk}"]
    due_soon = Notification.objects.get(user=rep)
    assert due_soon.text == "Follow-up due at 15:00: “Send the proposal” for Ada Lovelace (Analytical Engines)."
    assert due_soon.url == f"{task.lead.get_absolute_url()}#task-{task.pk}"
    sweep_at(2026, 5, 4, 14, 50)
    sweep_at(2026, 5, 4, 15, 0)
    sweep_at(2026, 5, 4, 15, 30)
    assert notices_of(rep) == [f"task_due_soon:task:{task.pk}", f"task_overdue:task:{task.pk}"]
    assert "Overdue follow-up" in Notification.objects.get(key__startswith="task_overdue").text


def test_a_done_follow_up_is_not_reminded_and_reopening_it_brings_back_what_is_still_ahead(rep, task):
    with at(2026, 5, 4, 10, 0):
        services.task_complete(task=task, user=rep)
    sweep_at(2026, 5, 4, 15, 0)
    assert notices_of(rep) == []
    with at(2026, 5, 4, 16, 0):
        services.task_reopen(task=task, user=rep)  # already overdue when reopened: no late notice
    sweep_at(2026, 5, 4, 16, 1)
    assert notices_of(rep) == []


def test_a_follow_up_created_within_the_reminder_window_is_reminded_at_once(rep, lead):
    with at(2026, 5, 4, 14, 55):
        task = services.task_create(lead=lead, user=rep, title="Quick call", due_at=utc(2026, 5, 4, 15, 0))
    sweep_at(2026, 5, 4, 14, 56)
    assert notices_of(rep) == [f"task_due_soon:task:{task.pk}"]


def test_the_sweep_emails_one_digest_per_person_with_all_their_new_notices(rep, manager, channel):
    ResponsePolicyFactory(target_minutes=10, reminder_percent=None)
    with at(2026, 5, 4, 9, 0):
        for name in ("Ann", "Bob", "Cy"):
            services.lead_create(user=rep, name=name, email=f"{name}@example.com", channel=channel)
    result = sweep_at(2026, 5, 4, 9, 10)
    assert result.emails == 2  # the rep (3 breaches) and the manager (3 escalations)
    by_person = {message.to[0]: message for message in mail.outbox}
    assert set(by_person) == {rep.email, manager.email}
    body = by_person[rep.email].body
    assert by_person[rep.email].subject.startswith("[Mini CRM] 3 new notices")
    assert all(name in body for name in ("Ann", "Bob", "Cy"))
    assert "http://127.0.0.1:8000/leads/" in body and "/notifications/settings/" in body
    sweep_at(2026, 5, 4, 9, 11)
    assert len(mail.outbox) == 2  # nothing new, nothing re-sent
    assert not Notification.objects.filter(emailed_at__isnull=True).exists()


def test_people_who_turned_email_off_get_none(rep, manager, channel):
    rep.email_notifications = False
    rep.save()
    ResponsePolicyFactory(target_minutes=10, reminder_percent=None, escalate_to_manager=False)
    with at(2026, 5, 4, 9, 0):
        services.lead_create(user=rep, name="Ann", email="ann@example.com", channel=channel)
    sweep_at(2026, 5, 4, 9, 10)
    assert notices_of(rep) != [] and mail.outbox == []


def test_a_digest_run_twice_emails_each_notice_once(rep):
    with at(2026, 5, 4, 9, 0):
        notifications_send(notices=[Notice(user_id=rep.pk, key="k1", text="One", url="/leads/1/")])
        assert notifications_email_digest() == 1
        assert notifications_email_digest() == 0
    assert len(mail.outbox) == 1


def test_read_and_old_notices_are_not_emailed(rep):
    with at(2026, 5, 1, 9, 0):
        notifications_send(notices=[Notice(user_id=rep.pk, key="old", text="Old news")])
    with at(2026, 5, 4, 9, 0):
        notifications_send(notices=[Notice(user_id=rep.pk, key="read", text="Seen it")])
        Notification.objects.filter(key="read").update(read_at=utc(2026, 5, 4, 9, 0))
        assert notifications_email_digest() == 0


def test_a_failed_send_gives_the_notices_back_for_the_next_run(rep, settings):
    settings.EMAIL_BACKEND = "tests.sla.failing_email.FailingBackend"
    with at(2026, 5, 4, 9, 0):
        notifications_send(notices=[Notice(user_id=rep.pk, key="k", text="Call Ada")])
        assert notifications_email_digest() == 0
        assert Notification.objects.get().emailed_at is None
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        assert notifications_email_digest() == 1
    assert mail.outbox[0].subject == "[Mini CRM] Call Ada"


def test_sent_notices_record_each_lead_and_task_once(rep, task, channel):
    ResponsePolicyFactory(target_minutes=10)
    with at(2026, 5, 4, 9, 0):
        services.lead_create(user=rep, name="Ann", email="ann@example.com", channel=channel)
    for minutes in range(0, 7 * 60, 5):  # every 5 minutes from 9:00 to 16:00
        sweep_at(2026, 5, 4, 9 + minutes // 60, minutes % 60)
    kinds = sorted(SentNotice.objects.values_list("kind", flat=True))
    assert kinds == ["sla_breach", "sla_reminder", "task_due_soon", "task_overdue"]
