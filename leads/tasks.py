"""Celery tasks of `leads`: thin wrappers that call one service each, safe to run twice (crm.queue.TASK_OPTIONS)."""

from celery import shared_task

from crm.queue import TASK_OPTIONS
from leads.imports import resume as imports_resume
from leads.imports import services as imports
from leads.intake import services as intake
from leads.sla import services as sla_services


@shared_task(**TASK_OPTIONS)
def sweep_reminders() -> dict:
    """Run by Celery beat every minute (settings.CELERY_BEAT_SCHEDULE).

    Safe to run twice at once, to retry, or to redeliver after a worker died: every notice is recorded under
    a unique constraint in the transaction that stores it.
    """
    result = sla_services.reminders_sweep()
    return {"leads": result.leads, "tasks": result.tasks, "notices": result.notices, "emails": result.emails}


@shared_task(**TASK_OPTIONS)
def retime_response_clocks() -> int:
    """Queued on commit when a response target or a business-hours calendar changes: re-times every running
    clock, set-based. Idempotent: running it twice gives the same deadlines."""
    return sla_services.response_clocks_recompute()


@shared_task(**TASK_OPTIONS)
def purge_idempotency_keys() -> int:
    """Run hourly by Celery beat (settings.CELERY_BEAT_SCHEDULE): forget API idempotency keys past their retention."""
    return intake.idempotency_keys_purge()


@shared_task(**TASK_OPTIONS)
def run_import(job_id: int) -> None:
    """Queued on commit when a person starts a CSV import. A redelivered or retried task carries on after the last
    committed chunk (see `leads.imports.services.import_job_run`); a finished job is left alone."""
    imports.import_job_run(job_id=job_id)


@shared_task(**TASK_OPTIONS)
def reclaim_sweep() -> dict:
    """Run by Celery beat every 15 minutes (settings.CELERY_BEAT_SCHEDULE).

    Safe to run twice at once or to redeliver: warnings are unique per (lead, rule, anchor), and due leads are
    locked (SKIP LOCKED) and taken with a conditional UPDATE, so each is reclaimed once.
    """
    from leads.routing import reclaim as reclaim

    result = reclaim.reclaim_sweep()
    return {"warned": result.warned, "reclaimed": result.reclaimed, "rerouted": result.rerouted}


@shared_task(**TASK_OPTIONS)
def resume_stalled_imports() -> list[int]:
    """Run by Celery beat every minute: queue again the import jobs whose heartbeat stopped (a killed worker, or
    retries that ran out while the database was away). Safe to run twice at once: jobs are taken SKIP LOCKED."""
    return imports_resume.import_jobs_resume_stalled()
