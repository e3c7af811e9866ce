"""Passwords: a user changes theirs; a forgotten one is reset by an emailed one-time link (Django's own views)."""

import re

import pytest
from django.core import mail
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_a_user_changes_their_password(client, rep):
    rep.set_password("old-Secret-123")
    rep.save()
    client.force_login(rep)
    page = client.get(reverse("password_change"))
    assert page.status_code == 200 and 'class="topbar"' in page.content.decode()
    response = client.post(
        reverse("password_change"),
        {"old_password": "old-Secret-123", "new_password1": "new-Secret-456!", "new_password2": "new-Secret-456!"},
    )
    assert response.status_code == 302 and response["Location"] == reverse("password_change_done")
    rep.refresh_from_db()
    assert rep.check_password("new-Secret-456!")


def test_a_wrong_old_password_changes_nothing(client, rep):
    rep.set_password("old-Secret-123")
    rep.save()
    client.force_login(rep)
    response = client.post(
        reverse("password_change"),
        {"old_password": "guess", "new_password1": "new-Secret-456!", "new_password2": "new-Secret-456!"},
    )
    assert response.status_code == 200 and "incorrectly" in response.content.decode()
    rep.refresh_from_db()
    assert rep.check_password("old-Secret-123")


def test_a_forgotten_password_is_reset_by_an_emailed_link(client, rep):
    rep.email = "rep@example.com"
    rep.save()
    login_page = client.get(reverse("login")).content.decode()
    assert reverse("password_reset") in login_page
    response = client.post(reverse("password_reset"), {"email": "rep@example.com"})
    assert response.status_code == 302 and response["Location"] == reverse("password_reset_done")
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["rep@example.com"]
    link = re.search(r"https?://[^/]+(/password/reset/\S+/)", mail.outbox[0].body).group(1)
    form = client.get(link, follow=True)
    assert form.status_code == 200 and "Choose a new password" in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0], {"new_password1": "brand-New-789!", "new_password2": "brand-New-789!"}
    )
    assert done.status_code == 302 and done["Location"] == reverse("password_reset_complete")
    rep.refresh_from_db()
    assert rep.check_password("brand-New-789!")
    # The link works once.
    again = client.get(link, follow=True)
    assert "has been used already" in again.content.decode()


def test_an_unknown_address_sends_nothing_and_says_the_same(client):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"})
    assert response.status_code == 302 and response["Location"] == reverse("password_reset_done")
    assert mail.outbox == []
