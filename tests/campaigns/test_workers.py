"""Exactly once with real Celery workers on Redis: two workers sharing a campaign's sends, and a worker killed
between claiming a message and sending it."""

import datetime as dt
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core import mail
from django.db import connection
from django.db.models import Count

from campaigns import sending, services
from campaigns.models import Campaign, Send
from campaigns.tasks import deliver_step
from crm import clock
from tests.factories import LeadFactory
from tests.workers import own_queue, wait_for, worker_on

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db(transaction=True)


def _campaign(manager, rep, channel, members: int):
    campaign = services.campaign_save(
        user=manager, campaign=Campaign(name="Workers", channel=channel, kind=Campaign.Kind.EMAIL)
    )
    for lead in LeadFactory.create_batch(members, owner=rep, channel=channel):
        services.member_add(user=manager, campaign=campaign, lead=lead)
    step = services.step_save(user=manager, campaign=campaign, position=1, subject_a="Hi", body_a="Hello")
    return campaign, step


def _env(tmp_path, **extra) -> dict:
    """A worker process's environment: this test's database and broker; what it sends is written to files."""
    db = connection.settings_dict
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
        "CELERY_BROKER_URL": django_settings.CELERY_BROKER_URL,
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(tmp_path / "mail"),
        **extra,
    }


def _worker(app: str, queue: str, env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", app, "worker", "--pool=solo", "--concurrency=1", "-Q", queue,
         "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=info"],
        cwd=REPO, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip


def _files_sent(tmp_path) -> list[int]:
    """The send ids of the messages the worker processes handed to their (file) email backend."""
    folder = tmp_path / "mail"
    if not folder.exists():
        return []
    text = "".join(path.read_text() for path in folder.iterdir())
    return [int(found) for found in re.findall(r"^Message-ID: <campaign-send-(\d+)@", text, flags=re.MULTILINE)]


def test_two_real_workers_send_every_message_exactly_once(manager, rep, channel, tmp_path, settings):
    settings.CAMPAIGN_SEND_BATCH = 10  # scheduling queues a batch task per 10 messages
    campaign, step = _campaign(manager, rep, channel, 120)
    queue = "campaigns-two-workers"
    env = _env(tmp_path, CAMPAIGN_SEND_BATCH="10")  # many small batch tasks, shared by both workers
    with own_queue(queue):
        workers = [_worker("crm", queue, env, tmp_path / f"worker{i}.log") for i in (1, 2)]
        try:
            services.campaign_schedule(user=manager, campaign=campaign)  # commits, and queues the batch tasks
            for _ in range(4):
                deliver_step.delay(step.pk)  # more tasks than work: redelivered or repeated tasks find nothing
            try:
                wait_for(
                    lambda: Send.objects.filter(state=Send.State.SENT).count() == 120, timeout=120, what="120 sent"
                )
            except AssertionError:
                states = dict(Send.objects.values_list("state").annotate(n=Count("pk")).order_by())
                logs = "".join((tmp_path / f"worker{i}.log").read_text()[-2000:] for i in (1, 2))
                raise AssertionError(f"{states}\n{logs}") from None
            wait_for(lambda: len(_files_sent(tmp_path)) >= 120, what="the messages on file")
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                worker.wait(30)
    sent = _files_sent(tmp_path)
    assert len(sent) == 120 and set(sent) == set(Send.objects.values_list("pk", flat=True))
    assert not Send.objects.exclude(state=Send.State.SENT).exists()


def test_a_worker_killed_between_claim_and_send_never_causes_a_second_message(manager, rep, channel, tmp_path):
    campaign, step = _campaign(manager, rep, channel, 8)
    services.campaign_set_status(user=manager, campaign=campaign, status=Campaign.Status.ACTIVE)
    marker = tmp_path / "claimed"
    env = _env(tmp_path, CAMPAIGN_STALL_MARKER=str(marker))  # whatever the killed worker might send lands on file
    queue = "campaigns-stalling"
    with own_queue(queue):
        sending.step_release(step=step)  # queued; the tasks it asks for wait for the commit, in the test's queue
        worker = _worker("tests.campaigns.stalling_worker", queue, env, tmp_path / "worker.log")
        try:
            deliver_step.apply_async(args=[step.pk], queue=queue)
            try:
                wait_for(marker.exists, timeout=120, what="the worker to claim a message")
            except AssertionError:
                raise AssertionError((tmp_path / "worker.log").read_text()[-3000:]) from None
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(10)
        finally:
            if worker.poll() is None:
                worker.kill()
        claimed = int(marker.read_text())
        assert Send.objects.get(pk=claimed).state == Send.State.SENDING  # the claim was committed before sending

        # Another worker carries on, and the killed worker's task comes back (redelivered): the claimed message is
        # neither sent by them nor ever after.
        with worker_on(queue):
            deliver_step.delay(step.pk)
            deliver_step.delay(step.pk)
            wait_for(lambda: Send.objects.filter(state=Send.State.SENT).count() == 7, what="the other 7 messages")
    with time_machine.travel(clock.now() + dt.timedelta(seconds=django_settings.CAMPAIGN_SEND_LEASE_SECONDS + 60)):
        sending.sending_tick()
    assert Send.objects.get(pk=claimed).state == Send.State.FAILED
    assert sending.sends_deliver(step_id=step.pk) == 0
    assert len(mail.outbox) == 7
    assert claimed not in Send.objects.filter(member__lead__email__in=[m.to[0] for m in mail.outbox]).values_list(
        "pk", flat=True
    )
    assert _files_sent(tmp_path) == []


def test_failed_messages_retried_by_a_manager_are_sent_once_by_two_real_workers(manager, rep, channel, tmp_path,
                                                                                 settings):  # fmt: skip
    campaign, step = _campaign(manager, rep, channel, 40)
    services.campaign_schedule(user=manager, campaign=campaign)
    settings.EMAIL_BACKEND = "tests.campaigns.refusing_backend.RefusingBackend"  # the mail server refuses them all
    assert sending.sends_deliver(step_id=step.pk, limit=100) == 0
    assert Send.objects.filter(state=Send.State.FAILED, retryable=True).count() == 40
    queue = "campaigns-retry"
    env = _env(tmp_path, CAMPAIGN_SEND_BATCH="5")
    with own_queue(queue):
        workers = [_worker("crm", queue, env, tmp_path / f"worker{i}.log") for i in (1, 2)]
        try:
            settings.CAMPAIGN_SEND_BATCH = 5  # the retry queues a batch task per 5 messages, for both workers
            assert services.sends_retry(user=manager, campaign=campaign) == {"queued": 40, "skipped": 0}
            deliver_step.delay(step.pk)  # a repeated task finds nothing more
            wait_for(lambda: Send.objects.filter(state=Send.State.SENT).count() == 40, timeout=120, what="40 sent")
            wait_for(lambda: len(_files_sent(tmp_path)) >= 40, what="the messages on file")
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                worker.wait(30)
    sent = _files_sent(tmp_path)
    assert sorted(sent) == sorted(Send.objects.values_list("pk", flat=True))  # each exactly once
