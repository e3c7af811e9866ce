import datetime as dt
from contextlib import contextmanager

import pytest
import time_machine

from crm.models import Notification
from leads.sla.services import reminders_sweep


@contextmanager
def at(*args):
    """Freeze the CRM's clock at a UTC moment: `with at(2026, 5, 4, 9, 0): ...`."""
    with time_machine.travel(dt.datetime(*args, tzinfo=dt.UTC), tick=False):
        yield


def sweep_at(*args):
    with at(*args):
        return reminders_sweep()


def notices_of(user) -> list[str]:
    return list(Notification.objects.filter(user=user).order_by("created_at", "id").values_list("key", flat=True))


@pytest.fixture
def web(db):
    from tests.factories import ChannelFactory

    return ChannelFactory(name="Web form")


@pytest.fixture
def retimed(django_capture_on_commit_callbacks, monkeypatch):
    """`with retimed(): <save a policy>`: the background re-timing the save queues runs when it commits.

    In-process (Celery's eager mode) because what matters here is the re-timing; tests/sla/test_exactly_once.py
    has a real worker run the same task from Redis.
    """
    from crm.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", True)
    return lambda: django_capture_on_commit_callbacks(execute=True)
