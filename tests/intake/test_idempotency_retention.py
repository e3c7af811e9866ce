"""Idempotency keys are remembered for API_IDEMPOTENCY_HOURS, then forgotten by an hourly beat task."""

import datetime as dt
import json

import pytest
import time_machine
from django_celery_beat.models import PeriodicTask

from leads.models import IdempotencyKey, Lead
from leads.tasks import purge_idempotency_keys

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 5, 4, 9, 0, tzinfo=dt.UTC)


def _create(client, raw, email, key):
    return client.post(
        "/api/v1/leads/",
        json.dumps({"name": "Ada", "email": email}),
        "application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
        HTTP_IDEMPOTENCY_KEY=key,
    )


def test_keys_past_their_retention_are_forgotten_and_recent_ones_kept(client, token, settings):
    settings.API_IDEMPOTENCY_HOURS = 24
    with time_machine.travel(START, tick=False):
        assert _create(client, token[1], "old@example.com", "old").status_code == 201
    with time_machine.travel(START + dt.timedelta(hours=20), tick=False):
        assert _create(client, token[1], "new@example.com", "new").status_code == 201
    with time_machine.travel(START + dt.timedelta(hours=25), tick=False):
        assert purge_idempotency_keys() == 1
        assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]
        # A forgotten key is a new request again; a remembered one still replays.
        replay = _create(client, token[1], "new@example.com", "new")
        assert replay["Idempotent-Replayed"] == "true"
        again = _create(client, token[1], "old2@example.com", "old")
        assert again.status_code == 201 and "Idempotent-Replayed" not in again
    assert Lead.objects.count() == 3


def test_the_purge_runs_hourly_in_celery_beat(beat):
    task = PeriodicTask.objects.get(task="leads.tasks.purge_idempotency_keys")
    assert task.enabled and task.interval.schedule.run_every == dt.timedelta(hours=1)
