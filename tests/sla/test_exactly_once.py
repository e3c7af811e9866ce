"""Exactly once under concurrency and crashes, on PostgreSQL, with real threads, Redis and Celery workers."""

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from crm import clock
from crm.celery import app as celery_app
from crm.models import Notification
from leads.models import Lead, ResponseClock, ResponsePolicy, SentNotice
from leads.sla import services as sla_services
from leads.tasks import sweep_reminders
from tests.factories import LeadFactory, ResponsePolicyFactory
from tests.threads import in_thread, together
from tests.workers import backends_waiting_on_locks, own_queue, purge, tasks_finished, wait_for, worker_on

REPO = Path(__file__).resolve().parents[2]
SWEEP_TASK_NAME = "Speed to lead: reminders, escalations and follow-up notices"


def _due_leads(owner, channel, count: int) -> list[Lead]:
    """Leads whose reminder point has just passed (6 of 10 minutes gone), deadline still ahead."""
    ResponsePolicyFactory(target_minutes=10, reminder_percent=50)
    leads = LeadFactory.create_batch(
        count, owner=owner, channel=channel, created_at=clock.now() - dt.timedelta(minutes=6)
    )
    sla_services.response_clocks_recompute()
    assert ResponseClock.objects.filter(next_at__lte=clock.now()).count() == count
    return leads


def _duplicates() -> int:
    """Notices stored more than once for the same (user, lead/task, kind): must always be zero."""
    repeated = Notification.objects.values("user_id", "key").annotate(n=Count("id")).filter(n__gt=1)
    return sum(row["n"] - 1 for row in repeated)


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_send_every_reminder_exactly_once(rep, channel, monkeypatch):
    leads = _due_leads(rep, channel, 300)
    monkeypatch.setattr(sla_services, "SWEEP_BATCH_SIZE", 20)  # many small batches, so the sweeps interleave
    results, errors = together(sla_services.sla_sweep, sla_services.sla_sweep)
    assert errors == [None, None], errors
    (handled_a, sent_a), (handled_b, sent_b) = results
    assert handled_a + handled_b == 300  # SKIP LOCKED: each lead handled by one sweep or the other
    assert sent_a + sent_b == 300
    assert _duplicates() == 0
    assert Notification.objects.filter(user=rep, key__startswith="sla_reminder:").count() == len(leads)
    assert SentNotice.objects.count() == 300


@pytest.mark.django_db(transaction=True)
def test_the_unique_constraint_lets_only_one_of_two_racing_transactions_record_a_notice(rep, channel):
    """Even without SKIP LOCKED keeping sweeps apart, the database refuses the second record."""
    (lead,) = _due_leads(rep, channel, 1)
    kinds = [(lead.pk, SentNotice.Kind.SLA_REMINDER)]
    barrier, second_waiting = threading.Barrier(2), threading.Event()
    results, errors = [None, None], []

    def first():
        with transaction.atomic():
            results[0] = sla_services._claim_notices(kinds=kinds, field="lead", now=clock.now())
            barrier.wait()
            assert second_waiting.wait(30)  # commits only once the second transaction waits on the unique index

    def second():
        barrier.wait()
        with transaction.atomic():
            results[1] = sla_services._claim_notices(kinds=kinds, field="lead", now=clock.now())

    threads = [in_thread(first, errors), in_thread(second, errors)]
    for thread in threads:
        thread.start()
    wait_for(lambda: backends_waiting_on_locks() >= 1, what="the second transaction waiting on the unique index")
    second_waiting.set()
    for thread in threads:
        thread.join(30)
    assert not errors
    assert results == [set(kinds), set()]
    assert SentNotice.objects.count() == 1


def test_beat_schedules_the_sweep_every_minute(beat):
    periodic = PeriodicTask.objects.get(name=SWEEP_TASK_NAME)
    assert periodic.task == "leads.tasks.sweep_reminders" and periodic.enabled
    assert periodic.interval.schedule.run_every == dt.timedelta(minutes=1)
    assert periodic.expire_seconds == 55
    assert sweep_reminders.acks_late and "leads.tasks.sweep_reminders" in celery_app.tasks


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_sweep_when_beat_fires_the_periodic_task(rep, manager, channel):
    """The PeriodicTask of the settings' schedule, fired the way beat fires it, run by a Celery worker on Redis."""
    leads = _due_leads(rep, channel, 5)
    with own_queue("sla-beat"), worker_on("sla-beat"), tasks_finished(sweep_reminders.name) as sweeps:
        scheduler = DatabaseScheduler(app=celery_app)
        entry = scheduler.schedule[SWEEP_TASK_NAME]
        scheduler.apply_entry(entry, producer=scheduler.producer)
        wait_for(lambda: sweeps() == 1, what="the worker's first sweep")
        assert Notification.objects.filter(user=rep).count() == 5
        # Beat fires again a minute later: nothing new is due, nothing is sent twice.
        scheduler.apply_entry(entry, producer=scheduler.producer)
        wait_for(lambda: sweeps() == 2, what="the worker's second sweep")
    assert set(Notification.objects.values_list("key", flat=True)) == {f"sla_reminder:lead:{lead.pk}" for lead in leads}
    assert _duplicates() == 0


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_sweep_loses_nothing_and_the_rerun_duplicates_nothing(rep, channel, tmp_path):
    leads = _due_leads(rep, channel, 20)
    marker = tmp_path / "claimed"
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
        "?application_name=sla-stalling-worker",
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "SLA_STALL_MARKER": str(marker),
    }
    queue = "sla-stalling"
    purge(queue)
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "tests.sla.stalling_worker",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "-Q",
            queue,
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=info",
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        sweep_reminders.apply_async(queue=queue)
        try:
            wait_for(marker.exists, timeout=120, what="the worker to claim the due leads")
        except AssertionError:
            log.flush()
            raise AssertionError(Path(log.name).read_text()[-3000:]) from None
        # It holds the rows (locked) and has stored its notices, uncommitted.
        with transaction.atomic():
            assert not ResponseClock.objects.filter(next_at__isnull=False).select_for_update(skip_locked=True).exists()
        assert Notification.objects.count() == 0
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
    with connection.cursor() as cursor:

        def backend_gone():
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'sla-stalling-worker'")
            return cursor.fetchone()[0] == 0

        wait_for(backend_gone, what="PostgreSQL to roll back the killed worker's transaction")
    assert Notification.objects.count() == 0 and SentNotice.objects.count() == 0  # nothing half-done

    with own_queue("sla-rerun"), worker_on("sla-rerun"):
        sweep_reminders.delay()  # beat's next tick
        wait_for(lambda: Notification.objects.count() == 20, what="the rerun's reminders")
    assert _duplicates() == 0
    assert set(Notification.objects.values_list("key", flat=True)) == {f"sla_reminder:lead:{lead.pk}" for lead in leads}
    purge(queue)


@pytest.mark.django_db(transaction=True)
def test_a_policy_saved_by_an_admin_is_applied_to_running_clocks_by_a_real_worker(admin_user, rep, channel):
    lead = LeadFactory(owner=rep, channel=channel, created_at=clock.now() - dt.timedelta(minutes=1))
    with own_queue("sla-policy"), worker_on("sla-policy"):
        sla_services.response_policy_save(
            user=admin_user, policy=ResponsePolicy(name="Everyone", target_minutes=30, reminder_percent=None)
        )  # commits, and queues the re-timing on Redis
        wait_for(lambda: ResponseClock.objects.filter(lead=lead, due_at__isnull=False).exists(), what="re-timing")
    assert ResponseClock.objects.get(lead=lead).due_at == lead.created_at + dt.timedelta(minutes=30)
