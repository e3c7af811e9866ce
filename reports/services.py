"""Rebuilding the pre-aggregated report figures (`DailyLeadStats`) from leads and their stage history.

Set-based: each rebuild is a handful of GROUP BY queries over the leads created on the days being rebuilt, and
one INSERT ... SELECT per attribute dimension, whatever the number of leads. A rebuild replaces the rows of its
days in one transaction, so a report never sees half of a day.
"""

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count, DurationField, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, TruncDate

from crm import clock
from leads.filters import RESPONSE_BUCKETS, SIZE_BANDS, response_bucket_condition, size_band_condition
from leads.models import FUNNEL, OPEN_STAGES, Lead, LeadMerge, LostReason, Stage, StageChange
from reports.models import DailyAttributeStats, DailyLeadStats, StatsRefresh
from reports.periods import day_start, local_tz

# Leads changed this long before the last refresh started are looked at again: a transaction that saved a lead
# just before a refresh began but committed after it read the table is not missed.
CHANGE_OVERLAP = dt.timedelta(minutes=10)

RESPONSE_MEASURE = {
    "under-5m": "response_under_5m",
    "5-30m": "response_5_30m",
    "30-60m": "response_30_60m",
    "1-24h": "response_1_24h",
    "over-24h": "response_over_24h",
}
SPELL_STAGES = (Stage.NEW, Stage.CONTACTED, Stage.QUALIFIED, Stage.PROPOSAL)
COMPLETENESS_FIELDS = ("email", "phone", "company", "job_title", "industry", "region")
DIMENSIONS = ("industry", "region", "size", "grade", "response")


def _won() -> Q:
    return Q(stage=Stage.WON)


def lead_row_measures() -> dict:
    """Every measure read from the lead row itself, as aggregates over a queryset of leads."""
    measures = {
        "leads": Count("pk"),
        "won": Count("pk", filter=_won()),
        "lost": Count("pk", filter=Q(stage=Stage.LOST)),
        "won_value": Coalesce(Sum("deal_value", filter=_won()), Value(Decimal(0))),
        "responded": Count("pk", filter=Q(response_seconds__isnull=False)),
        "response_seconds_total": Coalesce(Sum("response_seconds"), 0),
        "with_company_size": Count("pk", filter=Q(company_size__isnull=False)),
    }
    for stage in OPEN_STAGES:
        measures[f"open_{stage}"] = Count("pk", filter=Q(stage=stage))
    for key, name in RESPONSE_MEASURE.items():
        measures[name] = Count("pk", filter=response_bucket_condition(key))
    for reason in LostReason:
        measures[f"lost_{reason.value}"] = Count("pk", filter=Q(stage=Stage.LOST, lost_reason=reason.value))
    for field in COMPLETENESS_FIELDS:
        measures[f"with_{field}"] = Count("pk", filter=~Q(**{field: ""}))
    return measures


def _days_condition(days: Iterable[dt.date], prefix: str = "") -> Q:
    """Leads created on any of these local days, as few index-friendly ranges as possible."""
    ordered = sorted(set(days))
    condition = Q()
    start = previous = None
    for day in [*ordered, None]:
        if start is not None and (day is None or day != previous + dt.timedelta(days=1)):
            condition |= Q(
                **{f"{prefix}created_at__gte": day_start(start), f"{prefix}created_at__lt": day_start(previous, 1)}
            )
            start = None
        if day is not None and start is None:
            start = day
        previous = day
    return condition


def _dimension_value(dimension: str):
    """The expression that gives a lead's value for an attribute dimension (its group in the report)."""
    from django.db.models import Case, When

    if dimension in ("industry", "region", "grade"):
        return F(dimension)
    if dimension == "size":
        whens = [When(size_band_condition(key), then=Value(key)) for key, *_ in SIZE_BANDS]
        return Case(*whens, default=Value("unknown"))
    if dimension == "response":
        whens = [When(response_bucket_condition(key), then=Value(key)) for key, *_ in RESPONSE_BUCKETS]
        return Case(*whens, default=Value("never"))
    raise ValueError(dimension)


def _day():
    return TruncDate("created_at", tzinfo=local_tz())


GROUP = ("day", "channel", "owner", "team")


def _base_rows(leads: QuerySet) -> dict[tuple, dict]:
    """Rows without a dimension: the lead-row measures plus the stage-history ones, keyed by GROUP."""
    rows: dict[tuple, dict] = {}
    won_time = Sum(F("won_at") - F("created_at"), filter=_won(), output_field=DurationField())
    for row in leads.annotate(day=_day()).values(*GROUP).annotate(**lead_row_measures(), won_time=won_time):
        won_time_value = row.pop("won_time")
        row["won_seconds"] = int(won_time_value.total_seconds()) if won_time_value else 0
        rows[tuple(row[k] for k in GROUP)] = row

    changes = StageChange.objects.filter(lead__in=leads.values("pk"))
    day = TruncDate("lead__created_at", tzinfo=local_tz())
    history_group = {"day": day, "channel": F("lead__channel"), "owner": F("lead__owner"), "team": F("lead__team")}
    reached = {
        f"reached_{stage}": Count("lead", distinct=True, filter=Q(to_stage__in=FUNNEL[FUNNEL.index(stage) :]))
        for stage in (Stage.CONTACTED, Stage.QUALIFIED, Stage.PROPOSAL, Stage.WON)
    }
    for row in changes.annotate(**history_group).values(*GROUP).annotate(**reached):
        key = tuple(row[k] for k in GROUP)
        rows.setdefault(key, dict(zip(GROUP, key, strict=True))).update({k: row[k] for k in reached})

    # A spell in a stage runs from the change into it to the lead's next change (same time: the later id).
    following = StageChange.objects.filter(lead=OuterRef("lead")).filter(
        Q(changed_at__gt=OuterRef("changed_at")) | Q(changed_at=OuterRef("changed_at"), pk__gt=OuterRef("pk"))
    )
    spells = (
        changes.filter(to_stage__in=SPELL_STAGES)
        .annotate(left_at=Subquery(following.order_by("changed_at", "pk").values("changed_at")[:1]))
        .filter(left_at__isnull=False)
        .annotate(**history_group)
        .values(*GROUP, "to_stage")
        .annotate(spells=Count("pk"), spent=Sum(F("left_at") - F("changed_at"), output_field=DurationField()))
    )
    for row in spells:
        key = tuple(row[k] for k in GROUP)
        target = rows.setdefault(key, dict(zip(GROUP, key, strict=True)))
        target[f"spells_{row['to_stage']}"] = row["spells"]
        target[f"spent_{row['to_stage']}"] = int(row["spent"].total_seconds()) if row["spent"] else 0
    return rows


ATTRIBUTE_MEASURES = ("leads", "won", "lost", "won_value")


def _insert_dimension_rows(leads: QuerySet, dimension: str) -> None:
    """INSERT ... SELECT of one attribute dimension's rows, compiled by the ORM for the database in use."""
    all_measures = lead_row_measures()
    measures = {name: all_measures[name] for name in ATTRIBUTE_MEASURES}
    grouped = (
        leads.annotate(day=_day(), dimension=Value(dimension), value=Coalesce(_dimension_value(dimension), Value("")))
        .values(*GROUP, "dimension", "value")
        .annotate(**measures)
        .order_by()
    )
    select_sql, params = grouped.query.sql_with_params()
    qn = connection.ops.quote_name
    fields = ["day", "channel_id", "owner_id", "team_id", "dimension", "value", *measures]
    sub_columns = ["day", "channel", "owner", "team", "dimension", "value", *measures]
    columns = ", ".join(qn(f) for f in fields)
    picked = ", ".join(f"sub.{qn(c)}" for c in sub_columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {qn(DailyAttributeStats._meta.db_table)} ({columns}) SELECT {picked} FROM ({select_sql}) sub",
            params,
        )


@transaction.atomic
def stats_rebuild_days(*, days: Iterable[dt.date] | None) -> int:
    """Rebuild the figures of these local days (None: every day). Returns how many base rows were written."""
    if days is None:
        leads = Lead.objects.all()
        DailyLeadStats.objects.all().delete()
        DailyAttributeStats.objects.all().delete()
    else:
        days = sorted(set(days))
        if not days:
            return 0
        leads = Lead.objects.filter(_days_condition(days))
        DailyLeadStats.objects.filter(day__in=days).delete()
        DailyAttributeStats.objects.filter(day__in=days).delete()
    leads = leads.order_by()
    base = _base_rows(leads)
    ids = {"channel": "channel_id", "owner": "owner_id", "team": "team_id"}
    DailyLeadStats.objects.bulk_create(
        (DailyLeadStats(**{ids.get(k, k): v for k, v in row.items()}) for row in base.values()), batch_size=2000
    )
    for dimension in DIMENSIONS:
        _insert_dimension_rows(leads, dimension)
    return len(base)


def _changed_days(since: dt.datetime) -> list[dt.date]:
    days = set(Lead.objects.filter(updated_at__gte=since).annotate(day=_day()).values_list("day", flat=True).distinct())
    return sorted(days | _merged_days(since))


def _merged_days(since: dt.datetime) -> set[dt.date]:
    """Days that lost leads to a merge (the merged leads are deleted, so no changed row points to them), and the
    survivor's day before the merge moved its arrival. Merges are few: their records are read, not aggregated."""
    days: set[dt.date] = set()
    merges = LeadMerge.objects.filter(merged_at__gte=since).values_list("snapshot", "survivor_arrived_at")
    for snapshot, survivor_arrived_at in merges:
        arrivals = [dt.datetime.fromisoformat(facts["created_at"]) for facts in snapshot if facts.get("created_at")]
        if survivor_arrived_at:
            arrivals.append(survivor_arrived_at)
        days.update(arrival.astimezone(local_tz()).date() for arrival in arrivals)
    return days


def stats_refresh(*, full: bool = False) -> int:
    """Bring the figures up to date: the days whose leads changed since the last refresh, or all of them.

    Idempotent and safe to run twice at once: the refresh row is locked for the duration, so a second run waits
    and then finds little left to do.
    """
    started = clock.now()
    with transaction.atomic():
        state, _ = StatsRefresh.objects.get_or_create(pk=1)
        state = StatsRefresh.objects.select_for_update().get(pk=1)
        if full or state.changes_seen_until is None:
            written = stats_rebuild_days(days=None)
            state.full_rebuild_at = started
        else:
            written = stats_rebuild_days(days=_changed_days(state.changes_seen_until))
        state.refreshed_at = started
        state.changes_seen_until = started - CHANGE_OVERLAP
        state.save()
    return written


def stats_refresh_days(*, days: Iterable[dt.date]) -> int:
    """Rebuild the figures of these days now (after an import wrote leads on them); returns the base rows written.

    Under the refresh row's lock, as `stats_refresh`, so a periodic refresh and this one never rebuild a day at
    the same time (both would delete its rows, then both insert theirs). The periodic refresh's own bookmark is
    left alone: it still looks at everything changed since its last run.
    """
    days = sorted(set(days))
    if not days:
        return 0
    with transaction.atomic():
        StatsRefresh.objects.get_or_create(pk=1)
        StatsRefresh.objects.select_for_update().get(pk=1)
        return stats_rebuild_days(days=days)


def stats_refreshed_at() -> dt.datetime | None:
    return StatsRefresh.objects.filter(pk=1).values_list("refreshed_at", flat=True).first()
