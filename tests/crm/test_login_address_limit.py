"""One address guessing a few passwords on every account ("spraying") is stopped too, not only one account's
guesser: after LOGIN_ADDRESS_FAILURE_LIMIT wrong passwords across usernames, that address may not log in for the
rest of the window; other addresses may."""

import pytest
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _log_in(client, username, password, address="203.0.113.7", path=None):
    return client.post(path or reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


@pytest.mark.parametrize("path", ["/login/", "/admin/login/"])
def test_an_address_that_fails_on_many_accounts_is_paused(client, settings, one_rate_window, path):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 3
    UserFactory(username="ada", is_staff=True)  # password "demo"; staff, so the admin login takes it too
    for name in ("bob", "carol", "dave"):  # one wrong password each: below the per-account limit
        assert _log_in(client, name, "guess", path=path).status_code == 200
    refused = _log_in(client, "ada", "demo", path=path)
    assert refused.status_code == 429 and "Too many failed logins" in refused.content.decode()
    assert int(refused["Retry-After"]) > 0
    # Another address is not affected.
    assert _log_in(client, "ada", "demo", address="198.51.100.2", path=path).status_code == 302


def test_below_the_address_limit_logins_work(client, settings, one_rate_window):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 3
    UserFactory(username="ada")
    for name in ("bob", "carol"):
        _log_in(client, name, "guess")
    assert _log_in(client, "ada", "demo").status_code == 302
