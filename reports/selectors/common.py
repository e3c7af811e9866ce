"""Reads every report shares: sums of the pre-aggregated rows, and exact percentiles."""

import datetime as dt
import math
from collections.abc import Sequence

from django.db.models import Count, F, Model, Q, QuerySet, Sum, Window
from django.db.models.functions import RowNumber

from reports.models import DailyAttributeStats, DailyLeadStats
from reports.scope import ReportScope

KEYS = {"id", "day", "channel", "owner", "team"}
MEASURES = tuple(f.name for f in DailyLeadStats._meta.concrete_fields if f.name not in KEYS)


def _sums(measures: Sequence[str] | None) -> dict:
    return {name: Sum(name) for name in (measures or MEASURES)}


def _clean(row: dict, measures: Sequence[str] | None) -> dict:
    for name in measures or MEASURES:
        row[name] = row.get(name) or 0
    return row


def _rows(scope: ReportScope, dimension: str, all_time: bool) -> QuerySet:
    if dimension:
        return DailyAttributeStats.objects.filter(scope.stats_q(all_time=all_time), dimension=dimension)
    return DailyLeadStats.objects.filter(scope.stats_q(all_time=all_time))


def stats_total(scope: ReportScope, *, dimension: str = "", all_time: bool = False, measures=None) -> dict:
    """Every measure summed over the scope (and period): one query, one row."""
    rows = _rows(scope, dimension, all_time)
    return _clean(rows.aggregate(**_sums(measures)), measures)


def stats_by(
    scope: ReportScope, group: str | dict, *, dimension: str = "", all_time: bool = False, measures=None
) -> dict:
    """Measures summed per group: `group` is a field ("channel", "value") or {"name": expression}. Keyed by group."""
    rows = _rows(scope, dimension, all_time)
    if isinstance(group, dict):
        rows = rows.annotate(**group)
        name = next(iter(group))
    else:
        name = group
    grouped = rows.values(name).annotate(**_sums(measures)).order_by()
    return {row.pop(name): _clean(row, measures) for row in grouped}


def names_of(model: type[Model], ids) -> dict:
    ids = [pk for pk in ids if pk is not None]
    return {obj.pk: str(obj) for obj in model.objects.filter(pk__in=ids)} if ids else {}


def _number(value) -> float:
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


def percentiles(
    rows: QuerySet, column: str, fractions: Sequence[float], *, n: int | None = None
) -> tuple[int, dict[float, float | None]]:
    """Exact percentiles of `column` (a field or annotation, never NULL in `rows`); durations in seconds.

    The same definition as PostgreSQL's percentile_cont: for a fraction p of n values sorted ascending, the
    value at position p·(n−1), interpolated between the two neighbours. Computed in the database: a COUNT, then for each fraction the one or two rows at that position of the sorted
    column (ORDER BY … LIMIT 2 OFFSET k), which an index on the column serves without sorting. Positions past
    the middle are read from the other end, so a 90th percentile walks a tenth of the rows, not nine tenths.
    `n`: the number of rows, when a query the caller makes anyway has counted them (saves the COUNT).
    """
    values = rows.values_list(column, flat=True)
    if n is None:
        n = rows.count()
    result: dict[float, float | None] = {}
    for fraction in fractions:
        if n == 0:
            result[fraction] = None
            continue
        position = fraction * (n - 1)
        low, high = math.floor(position), math.ceil(position)
        if low > (n - 1) / 2:
            # From the top: the row at ascending position i is at descending position n-1-i.
            picked = list(values.order_by(f"-{column}")[n - 1 - high : n - low])
            picked.reverse()
        else:
            picked = list(values.order_by(column)[low : high + 1])
        result[fraction] = _interpolate(picked[0], picked[-1], position - low)
    return n, result


def _interpolate(lower, upper, weight: float) -> float:
    lower, upper = _number(lower), _number(upper)
    return lower + (upper - lower) * weight


def medians_by(rows: QuerySet, column: str, groups: Sequence[str | None]) -> list[dict[object, tuple[int, float]]]:
    """Per value of each field of `groups` (None: all the rows as one group), how many rows have a value of
    `column` (not NULL) and the exact median of those values, all in one query. One dict per entry of `groups`:
    group value → (count, median) (durations in seconds); a group without a value is absent.

    Each median is `percentiles(rows.filter(field=value), column, (0.5,))`, without a COUNT and a read per
    group: window functions number each row within its group in order of
    `column` (ROW_NUMBER) and count the group (COUNT … OVER); only the one or two middle rows of each group come
    back — ranks ⌊(n+1)/2⌋ and ⌊(n+2)/2⌋ of n, i.e. positions ⌊p⌋ and ⌈p⌉ of p = (n−1)/2 counted from 0 — and
    are interpolated as percentile_cont does. `column` appears only in the filter and the windows' order, so an
    expensive one (a subquery) is computed once a row.
    """
    annotations: dict[str, Window] = {}
    names: dict[str, str] = {}  # figure → its annotation: the first of equal windows (Django cannot select both)

    def window(name: str, expression, partition, **order) -> None:
        made = Window(expression, partition_by=partition, **order)
        names[name] = next((known for known, other in annotations.items() if other == made), name)
        annotations.setdefault(names[name], made)

    keep = Q()
    for i, group in enumerate(groups):
        partition = [F(group)] if group else None
        window(f"g{i}_rank", RowNumber(), partition, order_by=F(column).asc())
        window(f"g{i}_n", Count("pk"), partition)
        for offset in (1, 2):
            keep |= Q(**{names[f"g{i}_rank"]: (F(names[f"g{i}_n"]) + offset) / 2})
    fields = [group for group in dict.fromkeys(groups) if group]
    valued = rows.filter(**{f"{column}__isnull": False})
    middle: list[dict] = [{} for _ in groups]  # per grouping: group value → (n, {rank: value})
    for row in valued.annotate(**annotations).filter(keep).values(*fields, column, *annotations).order_by():
        for i, group in enumerate(groups):
            rank, n = row[names[f"g{i}_rank"]], row[names[f"g{i}_n"]]
            if rank in ((n + 1) // 2, (n + 2) // 2):
                middle[i].setdefault(row[group] if group else None, (n, {}))[1][rank] = row[column]
    result = []
    for found in middle:
        medians = {}
        for key, (n, values) in found.items():
            position = 0.5 * (n - 1)
            low, high = math.floor(position), math.ceil(position)
            medians[key] = (n, _interpolate(values[low + 1], values[high + 1], position - low))
        result.append(medians)
    return result


def linker(scope: ReportScope, filters: dict | None):
    """A function giving the leads-list link of one group plus extra filters; links nowhere when `filters` is None
    (a group the list cannot show exactly, e.g. "not scored")."""
    if filters is None:
        return lambda **extra: None
    return lambda **extra: scope.leads_url(**filters, **extra)
