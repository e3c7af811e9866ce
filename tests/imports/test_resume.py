"""Import jobs resume by themselves: a heartbeat per chunk, and a sweep that queues jobs whose heartbeat stopped
(issue 12, item 2); the resumed job carries on after its last committed chunk and creates each lead once."""

import datetime as dt

import pytest
import time_machine
from django.db import OperationalError, transaction
from django.db.models import Count

from leads import tasks
from leads.imports import resume
from leads.imports import services as imports
from leads.models import ImportJob, Lead, StageChange
from leads.signals import leads_bulk_created
from tests.workers import own_queue, purge, transient_database_fault, wait_for, worker_on

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)


def _job(user, rows: int, **options) -> ImportJob:
    lines = ["name,email"] + [f"Person {i},p{i}@example.com" for i in range(rows)]
    job = imports.import_job_create(user=user, file_name="people.csv", data="\n".join(lines).encode())
    imports.import_job_configure(job=job, user=user, mapping=job.mapping, options=imports.ImportOptions(**options))
    return job


@pytest.mark.django_db
def test_the_sweep_queues_queued_or_running_imports_whose_heartbeat_stopped_and_nothing_else(
    admin_user, settings, django_capture_on_commit_callbacks
):
    settings.BACKGROUND_STALL_SECONDS = 300

    def job(status, *, heartbeat_minutes_ago=None, created_minutes_ago=30):
        made = _job(admin_user, 2)
        ImportJob.objects.filter(pk=made.pk).update(
            status=status,
            created_at=NOW - dt.timedelta(minutes=created_minutes_ago),
            heartbeat_at=None if heartbeat_minutes_ago is None else NOW - dt.timedelta(minutes=heartbeat_minutes_ago),
        )
        return made

    stalled = job("running", heartbeat_minutes_ago=6)
    lost_in_the_queue = job("queued", heartbeat_minutes_ago=10)
    job("running", heartbeat_minutes_ago=2)  # beating
    job("draft", created_minutes_ago=60)  # not started by its owner: not ours to start
    job("done", heartbeat_minutes_ago=60)
    job("failed", heartbeat_minutes_ago=60)
    with time_machine.travel(NOW, tick=False):
        with django_capture_on_commit_callbacks() as queued:
            assert tasks.resume_stalled_imports() == [stalled.pk, lost_in_the_queue.pk]
        assert len(queued) == 2
        assert resume.import_jobs_resume_stalled() == []  # each has a fresh heartbeat with its new task


@pytest.mark.django_db(transaction=True)
def test_starting_taking_and_each_chunk_of_a_job_move_its_heartbeat(admin_user, settings):
    settings.IMPORT_CHUNK_SIZE = 2
    job = _job(admin_user, 5)
    beats = []
    with own_queue("imports-heartbeat"), time_machine.travel(NOW, tick=False) as traveller:
        imports.import_job_start(job=job, user=admin_user)
        assert ImportJob.objects.get(pk=job.pk).heartbeat_at == NOW

        def chunk_committed(**kwargs):
            beats.append(ImportJob.objects.get(pk=job.pk).heartbeat_at)
            traveller.shift(dt.timedelta(minutes=1))

        traveller.shift(dt.timedelta(minutes=1))
        leads_bulk_created.connect(chunk_committed, weak=False, dispatch_uid="test-heartbeat")
        try:
            imports.import_job_run(job_id=job.pk)
        finally:
            leads_bulk_created.disconnect(dispatch_uid="test-heartbeat")
    assert beats == [NOW + dt.timedelta(minutes=n) for n in (1, 2, 3)]
    assert ImportJob.objects.get(pk=job.pk).status == "done"


@pytest.mark.django_db(transaction=True)
def test_an_import_whose_heartbeat_stopped_is_resumed_by_the_sweep_and_creates_each_lead_once(admin_user, settings):
    settings.BACKGROUND_STALL_SECONDS = 300
    settings.IMPORT_CHUNK_SIZE = 50
    queue = "imports-resume"
    with own_queue(queue):
        # `create`: a chunk written twice would show as two leads of the same person.
        job = _job(admin_user, 240, on_duplicate="create")
        with time_machine.travel(NOW, tick=False):
            with transaction.atomic():
                imports.import_job_start(job=job, user=admin_user)
            # The worker takes it; in its third chunk the database goes away for longer than the task's retries.
            fault = transient_database_fault(table="leads_lead", when="NEW.email = 'p120@example.com'", event="INSERT")
            with fault, pytest.raises(OperationalError):
                imports.import_job_run(job_id=job.pk)
        job.refresh_from_db()
        assert (job.status, job.rows_done, job.created, job.heartbeat_at) == ("running", 100, 100, NOW)
        assert Lead.objects.count() == 100
        purge(queue)  # and its queued task went with the worker
        # Later the database is back and beat fires the sweep, which queues the job for a real worker.
        with time_machine.travel(NOW + dt.timedelta(minutes=6), tick=False):
            assert tasks.resume_stalled_imports() == [job.pk]
        with worker_on(queue):
            wait_for(lambda: ImportJob.objects.get(pk=job.pk).is_finished, what="the resumed import")
    job.refresh_from_db()
    assert (job.status, job.rows_done, job.created, job.rejected) == ("done", 240, 240, 0)
    assert Lead.objects.count() == 240
    assert not Lead.objects.values("email").annotate(n=Count("id")).filter(n__gt=1).exists()
    assert StageChange.objects.count() == 240  # one "created" row each
