import pytest
from django.urls import reverse

from crm.models import Notification
from crm.services import Notice, notifications_send

pytestmark = pytest.mark.django_db


def test_the_same_notice_is_stored_once_however_often_it_is_sent(rep):
    notice = Notice(user_id=rep.pk, key="sla-reminder:lead:1", text="Answer Ada", url="/leads/1/")
    notifications_send(notices=[notice, notice])
    notifications_send(notices=[notice])
    assert Notification.objects.filter(user=rep).count() == 1


def test_bell_shows_the_unread_count(rep_client, rep, htmx):
    notifications_send(notices=[Notice(user_id=rep.pk, key=f"k{i}", text=f"N{i}") for i in range(3)])
    response = rep_client.get(reverse("crm:notification_bell"), headers=htmx)
    assert b'aria-label="3 unread"' in response.content


def test_opening_a_notice_marks_it_read_and_follows_its_link(rep_client, rep, lead):
    notifications_send(notices=[Notice(user_id=rep.pk, key="k", text="Call Ada", url=lead.get_absolute_url())])
    notification = Notification.objects.get()
    response = rep_client.post(reverse("crm:notification_open", args=[notification.pk]))
    assert response.status_code == 302 and response.url == lead.get_absolute_url()
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_a_notice_with_an_outside_link_stays_in_the_app(rep_client, rep):
    notifications_send(notices=[Notice(user_id=rep.pk, key="k", text="x", url="https://evil.example/")])
    response = rep_client.post(reverse("crm:notification_open", args=[Notification.objects.get().pk]))
    assert response.url == reverse("crm:notifications")


def test_nobody_opens_someone_elses_notice(client, rep, teammate):
    notifications_send(notices=[Notice(user_id=teammate.pk, key="k", text="secret")])
    client.force_login(rep)
    assert client.post(reverse("crm:notification_open", args=[Notification.objects.get().pk])).status_code == 404
    assert b"secret" not in client.get(reverse("crm:notifications")).content


def test_mark_all_read(rep_client, rep):
    notifications_send(notices=[Notice(user_id=rep.pk, key=f"k{i}", text="x") for i in range(2)])
    rep_client.post(reverse("crm:notifications_read_all"))
    assert not Notification.objects.filter(read_at__isnull=True).exists()
