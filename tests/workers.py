"""Real Celery workers for tests, each on a queue of its own: tasks sent meanwhile (by the code under test, or by
the worker itself) go to that queue only, so nothing left over from another test is run, and nothing a test
leaves behind is run by the next one."""

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.db import connection

from crm.celery import app


def purge(queue: str) -> None:
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(queue)


@contextmanager
def own_queue(queue: str) -> Iterator[None]:
    """Send every task to `queue` while in the block (on Redis); empty it before and after."""
    previous = app.conf.task_default_queue
    purge(queue)
    app.conf.task_default_queue = queue  # read by Celery's router for every task sent without a queue
    try:
        yield
    finally:
        app.conf.task_default_queue = previous
        purge(queue)


@contextmanager
def worker_on(queue: str) -> Iterator[None]:
    """A real worker (threads, in this process) consuming only `queue`; use inside `own_queue(queue)`."""
    try:
        with start_worker(
            app, perform_ping_check=False, concurrency=1, pool="threads", queues=[queue], shutdown_timeout=30
        ):
            yield
    finally:
        # The worker selected its queue on the app's queue table; later workers start from the default again.
        app.amqp.queues._consume_from = None


@contextmanager
def tasks_finished(task_name: str) -> Iterator[Callable[[], int]]:
    """Count the runs of `task_name` that a worker in this process finished (raised or not) while in the block:
    what a test waits for instead of sleeping when the proof is that a task changed nothing."""
    finished: list[str] = []

    def on_postrun(sender=None, task_id=None, **kwargs):
        if sender is not None and sender.name == task_name:
            finished.append(task_id)

    task_postrun.connect(on_postrun, weak=False)
    try:
        yield lambda: len(finished)
    finally:
        task_postrun.disconnect(on_postrun)


def wait_for(condition, *, timeout: float = 30, what: str = "the condition") -> None:
    """Poll `condition` until it holds; fail after `timeout` seconds (a bound, never a timing assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} did not happen within {timeout} s")


def backends_waiting_on_locks() -> int:
    """How many sessions of this test database wait for a lock held by another (PostgreSQL)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # inside a transaction the view is otherwise read once
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


@contextmanager
def transient_database_fault(*, table: str, when: str, event: str = "INSERT OR UPDATE") -> Iterator[None]:
    """Make writes to `table` of rows matching `when` (SQL about NEW) fail as if the database were shutting down (SQLSTATE 57P01, an
    OperationalError to Django): the error a job meets when its database goes away mid-chunk. A PostgreSQL
    trigger, dropped on leaving (a transactional test's flush would not)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""CREATE OR REPLACE FUNCTION test_fault() RETURNS trigger AS $$ BEGIN
                 IF {when} THEN RAISE EXCEPTION 'database going away' USING ERRCODE = '57P01';
                 END IF; RETURN NEW; END $$ LANGUAGE plpgsql"""
        )
        cursor.execute(
            f"CREATE TRIGGER test_fault BEFORE {event} ON {table} FOR EACH ROW EXECUTE FUNCTION test_fault()"
        )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TRIGGER IF EXISTS test_fault ON {table}")
            cursor.execute("DROP FUNCTION IF EXISTS test_fault()")
