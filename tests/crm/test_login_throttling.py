"""Login throttling (django-axes): wrong passwords for one username from one address lock that pair out for the
cool-off, on the app's login page and the Django admin's alike; everyone else keeps logging in."""

import datetime as dt

import pytest
import time_machine
from axes.models import AccessAttempt
from django.core.management import call_command
from django.test import RequestFactory

from crm.addresses import client_ip

pytestmark = pytest.mark.django_db

LOGIN, ADMIN_LOGIN = "/login/", "/admin/login/"
ADDRESS, OTHER_ADDRESS = "198.51.100.7", "198.51.100.8"
PASSWORD = "demo"  # tests.factories.UserFactory's
START = dt.datetime(2026, 5, 4, 9, 0, tzinfo=dt.UTC)


def _log_in(client, username, password=PASSWORD, *, path=LOGIN, address=ADDRESS, **headers):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=address, **headers)


def _fail(client, username, times, *, path=LOGIN, address=ADDRESS, **headers):
    return [_log_in(client, username, "wrong", path=path, address=address, **headers) for _ in range(times)]


def _logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def _assert_locked_out_page(response, settings):
    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many failed logins" in page
    assert f"Wait {settings.AXES_COOLOFF_TIME // dt.timedelta(minutes=1)} minutes" in page
    assert 'class="main"' in page and "· Mini CRM</title>" in page  # the app's layout, not a bare text
    assert int(response["Retry-After"]) == settings.AXES_COOLOFF_TIME.total_seconds()


@pytest.fixture(autouse=True)
def _limits(settings):
    # The defaults (LOGIN_FAILURE_LIMIT=5, LOGIN_COOLOFF_MINUTES=15), whatever the environment running the tests says.
    settings.AXES_FAILURE_LIMIT = 5
    settings.AXES_COOLOFF_TIME = dt.timedelta(minutes=15)


@pytest.mark.parametrize("path", [LOGIN, ADMIN_LOGIN])
def test_after_the_limit_of_wrong_passwords_the_right_one_is_refused(client, admin_user, settings, path):
    answers = _fail(client, "admin", settings.AXES_FAILURE_LIMIT, path=path)

    assert [answer.status_code for answer in answers[:-1]] == [200] * (settings.AXES_FAILURE_LIMIT - 1)
    _assert_locked_out_page(answers[-1], settings)
    right = _log_in(client, "admin", path=path)
    _assert_locked_out_page(right, settings)
    assert not _logged_in(client)
    attempt = AccessAttempt.objects.get()
    assert (attempt.username, attempt.ip_address) == ("admin", ADDRESS)


def test_wrong_passwords_on_the_app_login_lock_the_admin_login_too(client, admin_user, settings):
    _fail(client, "admin", settings.AXES_FAILURE_LIMIT, path=LOGIN)

    _assert_locked_out_page(_log_in(client, "admin", path=ADMIN_LOGIN), settings)
    assert not _logged_in(client)


def test_below_the_limit_the_right_password_logs_in(client, rep, settings):
    _fail(client, "rep", settings.AXES_FAILURE_LIMIT - 1)

    response = _log_in(client, "rep")

    assert response.status_code == 302 and _logged_in(client)


def test_another_user_from_the_same_address_can_still_log_in(client, rep, teammate, settings):
    _fail(client, "rep", settings.AXES_FAILURE_LIMIT)

    response = _log_in(client, "teammate")

    assert response.status_code == 302 and _logged_in(client)


def test_the_same_user_from_another_address_can_still_log_in(client, rep, settings):
    _fail(client, "rep", settings.AXES_FAILURE_LIMIT)

    response = _log_in(client, "rep", address=OTHER_ADDRESS)

    assert response.status_code == 302 and _logged_in(client)


def test_after_the_cool_off_the_user_logs_in(client, rep, settings):
    with time_machine.travel(START, tick=False) as traveller:
        _fail(client, "rep", settings.AXES_FAILURE_LIMIT)
        traveller.shift(settings.AXES_COOLOFF_TIME - dt.timedelta(seconds=1))
        _assert_locked_out_page(_log_in(client, "rep"), settings)

        # That try, while locked out, started the cool-off again.
        traveller.shift(settings.AXES_COOLOFF_TIME - dt.timedelta(seconds=1))
        _assert_locked_out_page(_log_in(client, "rep"), settings)

        traveller.shift(settings.AXES_COOLOFF_TIME + dt.timedelta(seconds=1))
        response = _log_in(client, "rep")

        assert response.status_code == 302 and _logged_in(client)  # (the session would expire back in real time)


def test_a_successful_login_resets_the_count(client, rep, settings):
    _fail(client, "rep", settings.AXES_FAILURE_LIMIT - 1)
    assert _log_in(client, "rep").status_code == 302
    assert not AccessAttempt.objects.exists()
    client.post("/logout/")

    _fail(client, "rep", settings.AXES_FAILURE_LIMIT - 1)
    response = _log_in(client, "rep")

    assert response.status_code == 302 and _logged_in(client)


def test_an_admin_unlocks_a_user_with_the_management_command(client, rep, settings):
    _fail(client, "rep", settings.AXES_FAILURE_LIMIT)

    call_command("axes_reset_username", "rep")

    assert _log_in(client, "rep").status_code == 302 and _logged_in(client)


def test_an_admin_unlocks_a_user_in_the_django_admin(client, rep, admin_user, settings):
    _fail(client, "rep", settings.AXES_FAILURE_LIMIT)
    attempt = AccessAttempt.objects.get(username="rep")
    admin_client = type(client)()
    admin_client.force_login(admin_user)

    listed = admin_client.get("/admin/axes/accessattempt/")
    deleted = admin_client.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})

    assert listed.status_code == 200 and "rep" in listed.content.decode()
    assert deleted.status_code == 302 and not AccessAttempt.objects.exists()
    assert _log_in(client, "rep").status_code == 302 and _logged_in(client)


def test_force_login_is_not_throttled(client, rep, settings):
    _fail(client, "rep", settings.AXES_FAILURE_LIMIT)

    client.force_login(rep)

    assert client.get("/my-day/").status_code == 200


def test_behind_a_proxy_the_forwarded_address_counts_and_forged_entries_do_not_help(client, rep, settings):
    settings.WEBFORM_TRUST_X_FORWARDED_FOR = True
    proxy = "10.0.0.1"
    for n in range(settings.AXES_FAILURE_LIMIT):
        _fail(client, "rep", 1, address=proxy, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, 203.0.113.9")

    forged = _log_in(client, "rep", address=proxy, HTTP_X_FORWARDED_FOR="192.0.2.200, 203.0.113.9")
    elsewhere = _log_in(client, "rep", address=proxy, HTTP_X_FORWARDED_FOR="203.0.113.10")

    _assert_locked_out_page(forged, settings)
    assert elsewhere.status_code == 302 and _logged_in(client)
    assert AccessAttempt.objects.get().ip_address == "203.0.113.9"


def test_a_failed_login_with_an_unreadable_address_is_still_counted(client, rep, settings):
    settings.WEBFORM_TRUST_X_FORWARDED_FOR = True
    answers = _fail(client, "rep", settings.AXES_FAILURE_LIMIT, HTTP_X_FORWARDED_FOR="not-an-address")

    _assert_locked_out_page(answers[-1], settings)
    assert AccessAttempt.objects.get().ip_address is None


@pytest.mark.parametrize(
    ("trust", "meta", "expected"),
    [
        (False, {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.5"}, "10.0.0.1"),
        (True, {"REMOTE_ADDR": "10.0.0.1"}, "10.0.0.1"),
        (True, {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.5"}, "203.0.113.5"),
        (True, {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "1.2.3.4, 203.0.113.5 "}, "203.0.113.5"),
        (True, {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "2001:DB8::0:1"}, "2001:db8::1"),
        (True, {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "1.2.3.4, garbage"}, None),
        (False, {"REMOTE_ADDR": ""}, None),
    ],
)
def test_the_client_address_is_the_last_forwarded_entry_only_behind_a_trusted_proxy(settings, trust, meta, expected):
    settings.WEBFORM_TRUST_X_FORWARDED_FOR = trust
    request = RequestFactory().get("/", **meta)

    assert client_ip(request) == expected
