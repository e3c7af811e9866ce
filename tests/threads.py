"""Two (or more) things at the same moment, in real concurrent PostgreSQL transactions: threads, own connections."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import close_old_connections, connection, transaction


def together(*calls, timeout: float = 60) -> tuple[list, list]:
    """Run the calls in threads released at the same instant; return (results, errors), each in call order.

    A call that raises leaves its error in `errors` (tests assert there were none, or which). Every thread closes
    its own database connection; one that never finishes (a deadlock) fails the test.
    """
    barrier = threading.Barrier(len(calls))
    results, errors = [None] * len(calls), [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            results[index] = call()
        except Exception as error:
            errors[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a call never finished (a deadlock?)"
    return results, errors


def in_thread(target, errors: list) -> threading.Thread:
    """A thread (not started) running `target` on its own connection; what it raises is appended to `errors`.

    For tests that hold a lock in one thread while another waits on it, so the threads start when the test says.
    """

    def body():
        try:
            target()
        except BaseException as error:  # reported by the test, not lost in the thread
            errors.append(error)
        finally:
            close_old_connections()
            connection.close()

    return threading.Thread(target=body)


@contextmanager
def rows_locked(queryset, errors: list) -> Iterator[None]:
    """Within the block, another transaction (its own thread and connection) holds `queryset`'s rows FOR UPDATE;
    it commits, and its thread is joined, when the block ends."""
    holding, release = threading.Event(), threading.Event()

    def hold():
        with transaction.atomic():
            list(queryset.select_for_update().values_list("pk"))
            holding.set()
            release.wait(60)

    holder = in_thread(hold, errors)
    holder.start()
    assert holding.wait(30), errors
    try:
        yield
    finally:
        release.set()
        holder.join(60)
