"""Background work: one way to queue a task, one retry policy for every task.

Services never import task modules (tasks import services, never the reverse): they queue a task by its name
with `enqueue_on_commit`. The task is sent once the transaction that asked for it commits, so a worker never
sees data that is not there yet, and a rolled-back change queues nothing.

A broker outage must not fail a request whose data is committed: sending is tried briefly, and a failure is
logged, not raised. The work is not lost: every task queued here is also reached by a periodic sweep (dirty
leads, stuck runs and imports, running clocks), which picks it up once the broker is back.
"""

import contextlib
import datetime as dt
import importlib
import logging

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import InterfaceError, OperationalError, transaction

from crm import clock

logger = logging.getLogger(__name__)

# Every task: acknowledged after it ran (a killed worker's task is redelivered), retried with backoff while the
# database is away (about 10 minutes in all before it gives up and a sweep takes over).
TASK_OPTIONS = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 5,
    "retry_backoff_max": 120,
    "retry_jitter": True,
    "max_retries": 8,
    "ignore_result": True,
}

# How long a request waits for a broker that does not answer before it gives up sending (seconds in all).
_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 0.5}


def task_named(task_name: str):
    """The registered Celery task `app.module.function`. A web process has not imported the task modules (Celery
    discovers them when a worker starts), so the task's module is imported on first use."""
    if task_name not in current_app.tasks:
        importlib.import_module(task_name.rpartition(".")[0])
    return current_app.tasks[task_name]


def enqueue(task_name: str, *args, **kwargs) -> bool:
    """Send the task named `task_name` now. True if the broker took it; False (logged) if it could not."""
    return _send(task_name, args, kwargs)


# A coalesced task runs this long after its window closes: by then the window's claim has expired in Redis, so
# whoever comes after the task's start sends the next one (a margin for the clocks of Redis and the worker).
_COALESCE_MARGIN_SECONDS = 0.5


def enqueue_coalesced(task_name: str, *, window: int = 1) -> bool:
    """Send the argument-less task `task_name` at most once per `window` seconds across every process, to run
    when that window has closed: for a sweep that does all the waiting work (e.g. rescoring the leads marked
    dirty), so a burst of requests costs one message, not one each. The caller has written down the work
    before calling, so the task sent (or the one already on its way) finds it. Without the cache, every call
    sends. True if a task is on its way."""
    try:
        first = cache.add(f"coalesce:{task_name}", 1, timeout=window)
    except Exception:
        first = True
    if not first:
        return True
    sent = _send(task_name, (), {}, countdown=window + _COALESCE_MARGIN_SECONDS)
    if not sent:  # the next caller tries again
        with contextlib.suppress(Exception):
            cache.delete(f"coalesce:{task_name}")
    return sent


def _send(task_name: str, args, kwargs, countdown: float | None = None) -> bool:
    try:
        task = task_named(task_name)
        task.apply_async(args=args, kwargs=kwargs, countdown=countdown, retry=True, retry_policy=_PUBLISH_RETRY_POLICY)
    except Exception:
        # The data is committed; the periodic sweeps find what this task would have done.
        logger.exception("Could not queue %s; a periodic sweep will pick the work up", task_name)
        return False
    return True


def enqueue_on_commit(task_name: str, *args, **kwargs) -> None:
    """Queue `task_name(*args, **kwargs)` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: enqueue(task_name, *args, **kwargs))


def stalled_before() -> dt.datetime:
    """Background jobs (scoring runs, imports) beat a heartbeat per chunk: one still queued or running whose
    heartbeat is older than this moment has lost its worker (killed, or its retries ran out) and must be resumed."""
    return clock.now() - dt.timedelta(seconds=settings.BACKGROUND_STALL_SECONDS)
