"""Fixtures: a team with a manager and two reps, a rep of another team, an admin; each test can check refusals."""

import pytest

from crm.roles import Role
from tests.factories import ChannelFactory, LeadFactory, TeamFactory, UserFactory


@pytest.fixture(autouse=True)
def _no_counts_from_other_tests():
    """Limits count in the cache (this run's own Redis database): every test starts with none counted."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The real hasher is slow by design; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def team(db):
    return TeamFactory(name="Inside Sales")


@pytest.fixture
def other_team(db):
    return TeamFactory(name="Field Sales")


@pytest.fixture
def manager(team):
    user = UserFactory(username="manager", role=Role.MANAGER)
    team.manager = user
    team.save()
    return user


@pytest.fixture
def rep(team, manager):
    return UserFactory(username="rep", role=Role.REP, team=team)


@pytest.fixture
def teammate(team, manager):
    return UserFactory(username="teammate", role=Role.REP, team=team)


@pytest.fixture
def other_manager(other_team):
    user = UserFactory(username="other_manager", role=Role.MANAGER)
    other_team.manager = user
    other_team.save()
    return user


@pytest.fixture
def other_rep(other_team, other_manager):
    return UserFactory(username="other_rep", role=Role.REP, team=other_team)


@pytest.fixture
def admin_user(db):
    return UserFactory(username="admin", role=Role.ADMIN)


@pytest.fixture
def channel(db):
    return ChannelFactory(name="Google Ads")


@pytest.fixture
def lead(rep, channel):
    return LeadFactory(owner=rep, channel=channel, name="Ada Lovelace", company="Analytical Engines")


@pytest.fixture
def pool_lead(channel):
    return LeadFactory(owner=None, channel=channel, name="Pooled Person")


@pytest.fixture
def rep_client(client, rep):
    client.force_login(rep)
    return client


@pytest.fixture
def htmx():
    """Headers of an htmx request, for `client.get(url, headers=htmx)`."""
    return {"HX-Request": "true"}


def beat_start() -> None:
    """What Celery beat's DatabaseScheduler does first when it starts: write each entry of
    settings.CELERY_BEAT_SCHEDULE into its tables, by name, with its own `ModelEntry.from_entry`. (The whole
    scheduler closes the database connection, which only transactional tests survive; those build it.)"""
    from django.conf import settings
    from django_celery_beat.schedulers import ModelEntry

    from crm.celery import app

    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        ModelEntry.from_entry(name, app=app, **entry)


@pytest.fixture
def beat(db):
    beat_start()


@pytest.fixture
def one_rate_window():
    """Rate limits count in fixed windows of wall-clock time: a test counting up to a limit runs inside one window,
    whatever the moment it runs (the clock stands still at the start of a minute)."""
    import datetime as dt

    import time_machine

    with time_machine.travel(dt.datetime(2026, 5, 4, 10, 0, 1, tzinfo=dt.UTC), tick=False):
        yield
