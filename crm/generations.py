"""Things a process remembers between requests, checked against a generation number in the shared cache.

A hot path (an API call creating a lead) must not pay a query for what rarely changes: its token, the routing
rules. Each process keeps such a value with the generation it was read under; any change writes a new generation
to the cache (Redis, shared by every process), at once and again when the change commits, so every process reads
the value again on its next use. Without the cache (away, flushed, or the key lost) nothing can vouch for a
remembered value: it is read from the database, which is always the truth. However the generations go, a value is
read again after `seconds` (a change made by raw SQL, or one whose renewal the cache missed while it was away).

An API call reads the generations it needs in the same round trip to Redis as its rate-limit count
(`crm.limits.rate_limit_hit_reading`) and hands them to the code it runs with `read_together`; elsewhere a
`Remembered` value reads its generation with one GET.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Generic, TypeVar

from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)

T = TypeVar("T")

# The generations read for the current call (key → value, None when absent, AWAY when the cache was
# unreachable), set by `read_together`.
_read: ContextVar[dict[str, object] | None] = ContextVar("generations_read", default=None)
AWAY = object()


def renew(key: str) -> None:
    """What `key` names changed: every process reads it again (now, and once the change commits)."""
    write_new(key)
    transaction.on_commit(lambda: write_new(key))


def write_new(key: str) -> str | None:
    """A new generation under `key`, now only: its value, or None when the cache is unreachable."""
    value = uuid.uuid4().hex
    try:
        cache.set(key, value, timeout=None)
    except Exception:
        # The processes read it again within their `seconds` anyway.
        logger.warning("Generation %s not renewed: the cache is unreachable", key, exc_info=True)
        return None
    return value


@contextlib.contextmanager
def read_together(values: dict[str, object]) -> Iterator[None]:
    """Within this block, `current(key)` answers from `values` (read by the caller with something else) for
    the keys they hold, without asking the cache again."""
    token = _read.set(values)
    try:
        yield
    finally:
        _read.reset(token)


def current(key: str) -> str | None:
    """The generation under `key`: as read for this call, else from the cache. None when the cache is away
    (nothing can be trusted then). A missing one is started and returned: whatever is read from the database after
    it is as new as it, and any later change renews it."""
    noted = _read.get()
    if noted is not None and key in noted:
        value = noted[key]
        if value is AWAY:  # no new one is written either: the cache was unreachable a moment ago
            return None
    else:
        try:
            value = cache.get(key)
        except Exception:
            return None
    if not isinstance(value, str):
        return write_new(key)
    return value


class Remembered(Generic[T]):
    """A value loaded from the database, remembered per process under the generation in `key`."""

    def __init__(self, key: str, load: Callable[[], T], *, seconds: float = 60) -> None:
        self.key, self.load, self.seconds = key, load, seconds
        # (value, generation, read again after): one tuple, so a thread never sees one read's value with
        # another's generation.
        self._state: tuple[T | None, str | None, float] = (None, None, 0.0)

    def get(self) -> T:
        # The generation is read before the database: a change committed in between renews it after our read.
        generation = current(self.key)
        value, remembered_under, until = self._state
        if generation is not None and generation == remembered_under and time.monotonic() < until:
            return value  # type: ignore[return-value]
        value = self.load()
        if generation is not None:
            self._state = (value, generation, time.monotonic() + self.seconds)
        return value

    def forget(self) -> None:
        self._state = (None, None, 0.0)

    def changed(self) -> None:
        """The value changed (in this transaction): this process forgets it, every process reads it again."""
        self.forget()
        renew(self.key)
