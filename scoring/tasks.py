"""Celery tasks of scoring: thin wrappers (ids in, one service call), idempotent, retried on database trouble."""

from celery import shared_task

from crm.queue import TASK_OPTIONS
from scoring import services


@shared_task(**TASK_OPTIONS)
def rescore_dirty_leads() -> int:
    """Rescore every lead marked dirty by an event. Many queued sweeps cost one pass: later ones find nothing."""
    return services.dirty_leads_rescore()


@shared_task(**TASK_OPTIONS)
def scoring_run_task(run_id: int) -> None:
    """Rescore all leads for a run (publish, rollback, recalculate), chunk by chunk; resumes where it stopped."""
    services.scoring_run_execute(run_id=run_id)


@shared_task(**TASK_OPTIONS)
def scores_decay_task() -> None:
    """Nightly: rescore every lead so engagement points fade with age."""
    services.scores_decay()


@shared_task(**TASK_OPTIONS)
def resume_stalled_runs() -> list[int]:
    """Run by Celery beat every minute: queue again the scoring runs whose heartbeat stopped (a killed worker, or
    retries that ran out while the database was away). Safe to run twice at once: runs are taken SKIP LOCKED."""
    return services.scoring_runs_resume_stalled()
