"""Keyset ("seek") pagination: pages as fast at row 1,000,000 as at row 1, with no COUNT(*) of the table.

A page is asked for by a cursor, the sort values of the last row seen. The next page is the rows after it in
the sort order, found by an index range scan. The total is counted apart (`capped_count`), only up to a cap
("1,000+ leads"), so pages can show their rows first and the count when it comes.
"""

import base64
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import FieldDoesNotExist
from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_datetime


@dataclass(frozen=True)
class Sort:
    """Order by `key` (a field or annotation, never NULL), then by id, both in the same direction."""

    key: str
    descending: bool = True

    def order_by(self) -> list[str]:
        sign = "-" if self.descending else ""
        return [f"{sign}{self.key}", f"{sign}id"]


@dataclass
class Page:
    rows: list
    next_cursor: str | None
    is_first: bool


@dataclass(frozen=True)
class Count:
    value: int
    capped: bool

    @property
    def label(self) -> str:
        return f"{self.value:,}+" if self.capped else f"{self.value:,}"


def capped_count(qs: QuerySet, *, cap: int) -> Count:
    """How many rows `qs` has, counting no further than `cap` (a LIMITed subquery, never a full scan)."""
    found = qs.order_by()[: cap + 1].count()
    return Count(value=min(found, cap), capped=found > cap)


def _encode(value, pk: int) -> str:
    if isinstance(value, dt.datetime):
        value = {"dt": value.isoformat()}
    elif isinstance(value, Decimal):
        value = str(value)
    raw = json.dumps([value, pk], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# What a cursor may hold: ids and integer keys that PostgreSQL's bigint takes, text without NUL, at most this long.
_BIGINT = range(-(2**63), 2**63)
MAX_CURSOR_LENGTH = 512


def _decode(cursor: str, sort_field=None):
    """The (value, id) of a cursor, or None if it was tampered with or is from another sort: a bad cursor means
    the first page, never an error. `sort_field`, the field (or annotation's output field) sorted on, checks the
    value's type: a datetime for a date-time field, an integer for an integer one."""
    if len(cursor) > MAX_CURSOR_LENGTH:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, pk = json.loads(raw)
        if isinstance(value, dict):
            value = parse_datetime(value["dt"])
            if value is None or value.tzinfo is None:
                return None
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    if type(pk) is not int or pk not in _BIGINT:
        return None
    if isinstance(value, bool) or not isinstance(value, dt.datetime | int | str):
        return None
    if (isinstance(value, int) and value not in _BIGINT) or (isinstance(value, str) and "\x00" in value):
        return None
    if sort_field is not None:
        expected = dt.datetime if sort_field.get_internal_type() == "DateTimeField" else None
        if sort_field.get_internal_type() in ("IntegerField", "BigIntegerField", "SmallIntegerField", "BigAutoField"):
            expected = int
        if expected is not None and not isinstance(value, expected):
            return None
    return value, pk


def _after(qs: QuerySet, sort: Sort, value, pk: int) -> QuerySet:
    op = "lt" if sort.descending else "gt"
    near = "lte" if sort.descending else "gte"
    # `key <= v AND (key < v OR id < pk)`: the first half bounds the index range scan.
    return qs.filter(Q(**{f"{sort.key}__{near}": value}) & (Q(**{f"{sort.key}__{op}": value}) | Q(**{f"id__{op}": pk})))


def keyset_page(
    qs: QuerySet,
    *,
    sort: Sort,
    cursor: str | None,
    size: int,
    rest: QuerySet | None = None,
    rest_key=None,
    fetch: Callable[[QuerySet, int, Callable[[QuerySet], QuerySet]], list] | None = None,
) -> Page:
    """One page of `qs` in `sort` order after `cursor`; `qs` is already filtered by permission and filters.

    `rest`, when given, holds the rows that have no sort key (they are not in `qs`): they follow every row of
    `qs`, by id in the sort's direction, as if their key were `rest_key` (annotated on them under `sort.key`).
    Two indexed queries, so that `qs` can be ordered by an index of another table (a join) and still page
    through every row. `fetch(ordered, limit, seek)`, when given, reads the first `limit` rows of the ordered
    queryset in its own way (the leads search walks the index before it asks another, `leads.search`); `seek`
    applies the cursor to another queryset of the same model.
    """
    if sort.key in qs.query.annotations:
        sort_field = qs.query.annotations[sort.key].output_field
    else:
        try:
            sort_field = qs.model._meta.get_field(sort.key)
        except FieldDoesNotExist:
            sort_field = None
    decoded = _decode(cursor, sort_field) if cursor else None
    in_rest = rest is not None and decoded is not None and decoded[0] == rest_key
    rows = []
    if not in_rest:
        ordered = qs.order_by(*sort.order_by())
        if decoded is not None:
            ordered = _after(ordered, sort, *decoded)
        if fetch is not None:
            rows = fetch(ordered, size + 1, lambda other: _after(other, sort, *decoded) if decoded else other)
        else:
            rows = list(ordered[: size + 1])
    if rest is not None and len(rows) <= size:
        tail = rest.order_by(*sort.order_by())
        if in_rest:
            tail = tail.filter(**{f"id__{'lt' if sort.descending else 'gt'}": decoded[1]})
        rows += list(tail[: size + 1 - len(rows)])
    has_next = len(rows) > size
    rows = rows[:size]
    next_cursor = _encode(getattr(rows[-1], sort.key), rows[-1].pk) if has_next and rows else None
    return Page(rows=rows, next_cursor=next_cursor, is_first=decoded is None)
