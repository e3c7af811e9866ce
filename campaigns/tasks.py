"""Celery tasks of `campaigns`: thin, ids in, one service call each, safe to run twice (crm.queue.TASK_OPTIONS)."""

from celery import shared_task

from campaigns import counts, sending
from crm.queue import TASK_OPTIONS


@shared_task(**TASK_OPTIONS)
def deliver_step(step_id: int) -> int:
    """Send a batch of a step's queued messages. Any number may run at once: each message is claimed by one."""
    return sending.sends_deliver(step_id=step_id)


@shared_task(**TASK_OPTIONS)
def sending_tick() -> dict:
    """Run every minute by beat: release due steps and sequences, fail stalled claims, keep backlogs moving."""
    return sending.sending_tick()


@shared_task(**TASK_OPTIONS)
def counts_refresh_task() -> int:
    """Run by beat: roll up every campaign's report figures again (campaigns.counts). Safe to run twice."""
    return counts.counts_refresh()


@shared_task(**TASK_OPTIONS)
def counts_refresh_campaign_task(campaign_id: int) -> int | None:
    """Roll up one campaign's figures now (queued when many members join or an email is released, so a large
    campaign's page need not wait for beat). Safe to run twice: one refresh of a campaign at a time."""
    return counts.counts_refresh([campaign_id])
