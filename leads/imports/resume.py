"""Import jobs whose worker went away: found by their heartbeat and queued again.

A job's heartbeat moves when it is queued, when a worker takes it and with each committed chunk. A job still
queued or running whose heartbeat is older than BACKGROUND_STALL_SECONDS has lost its worker (killed, or the
task's retries ran out while the database was away). Queuing it again is safe: the run carries on after the last
committed chunk, and a second worker given the same job stops at its first chunk (`import_job_run`).
"""

import logging

from django.db import transaction
from django.db.models import Q

from crm import clock
from crm.queue import enqueue_on_commit, stalled_before
from leads.models import ImportJob

logger = logging.getLogger(__name__)


def import_jobs_resume_stalled() -> list[int]:
    """Queue again every queued or running import whose heartbeat stopped; returns the ids of the jobs queued.

    A job whose row is locked (a chunk committing) is skipped, and each job queued gets a fresh heartbeat, so the
    next sweeps leave it to its task for another stall period.
    """
    cutoff = stalled_before()
    with transaction.atomic():
        stalled = list(
            ImportJob.objects.select_for_update(skip_locked=True)
            .filter(status__in=[ImportJob.Status.QUEUED, ImportJob.Status.RUNNING])
            .filter(Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=cutoff))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        ImportJob.objects.filter(pk__in=stalled).update(heartbeat_at=clock.now())
        for job_id in stalled:
            enqueue_on_commit("leads.tasks.run_import", job_id)
    if stalled:
        logger.warning("Resuming stalled import jobs %s", stalled)
    return stalled
