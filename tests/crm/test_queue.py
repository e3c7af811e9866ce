"""Queueing background work: a broker that is down never fails a request whose data is committed."""

import logging
import os
import subprocess
import sys

import pytest
from django.urls import reverse

from crm.celery import app
from crm.queue import enqueue
from leads.models import ResponsePolicy
from tests.workers import own_queue


@pytest.fixture
def broker_down(monkeypatch):
    """Point Celery at a port nothing listens on (a real connection, refused), then put the broker back."""
    monkeypatch.setitem(app.conf, "broker_write_url", "redis://127.0.0.1:9/0")
    # Forget the pools of connections (and of producers on them) that earlier tests' workers left open.
    app._pool = app.amqp._producer_pool = None
    yield
    app._pool = app.amqp._producer_pool = None


def test_enqueue_says_whether_the_broker_took_the_task(broker_down, caplog):
    with caplog.at_level(logging.ERROR, logger="crm.queue"):
        assert enqueue("leads.tasks.retime_response_clocks") is False
    assert "Could not queue leads.tasks.retime_response_clocks" in caplog.text


def test_a_task_is_found_by_name_in_a_process_that_never_imported_its_module():
    # A web process: Django set up, no worker started, so Celery has discovered no task module yet.
    code = (
        "import django; django.setup()\n"
        "from celery import current_app\n"
        "assert 'scoring.tasks.rescore_dirty_leads' not in current_app.tasks\n"
        "from crm.queue import task_named\n"
        "print(task_named('scoring.tasks.rescore_dirty_leads').name)\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "crm.settings"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "scoring.tasks.rescore_dirty_leads"


def test_an_unknown_task_name_is_a_logged_failure_too(caplog):
    assert enqueue("leads.tasks.no_such_task") is False


@pytest.mark.django_db(transaction=True)
def test_a_save_that_queues_work_answers_normally_while_the_broker_is_down(client, admin_user, broker_down):
    client.force_login(admin_user)
    response = client.post(
        reverse("leads:sla_policy_create"),
        {"name": "Hot", "grade": "A", "target_minutes": "5", "reminder_percent": "50", "pool_leads": "manager"},
    )
    assert response.status_code == 302
    assert ResponsePolicy.objects.filter(name="Hot").exists()


def _queued(task_name: str) -> int:
    with app.connection_for_write() as connection:
        client = connection.default_channel.client
        return sum(task_name.encode() in message for message in client.lrange(app.conf.task_default_queue, 0, -1))


def test_a_coalesced_task_is_sent_once_per_window_and_runs_after_it():
    """A burst of calls (an API creating hundreds of leads a second) sends one sweep; once the window's claim has
    expired, the next call sends the next one."""
    from django.core.cache import cache

    from crm.queue import enqueue_coalesced

    name = "scoring.tasks.rescore_dirty_leads"
    with own_queue("queue-coalesced"):  # counted on its own queue, emptied before and after
        assert all(enqueue_coalesced(name, window=30) for _ in range(5))
        assert _queued(name) == 1
        cache.delete(f"coalesce:{name}")  # the window is over
        assert enqueue_coalesced(name, window=30)
        assert _queued(name) == 2


def test_a_coalesced_task_the_broker_refused_is_tried_again_by_the_next_call(broker_down):
    from django.core.cache import cache

    from crm.queue import enqueue_coalesced

    assert enqueue_coalesced("scoring.tasks.rescore_dirty_leads", window=30) is False
    assert cache.get("coalesce:scoring.tasks.rescore_dirty_leads") is None
