"""Writing scores: set-based for many leads (chunks of an id range, or a list of ids), per lead for one.

Bulk writes go in three statements per chunk, in one transaction, so a failure leaves no lead half-updated:
1. upsert `LeadScore` (scoring's own record: model version, score, grade) from the ONE scoring query, rewriting
   only rows whose version, score or grade changed (a quiet night's decay rewrites few rows);
2. append `ScoreChange` history where the grade changed (or, for events, the score);
3. copy score and grade onto the lead rows where they changed (`UPDATE ... FROM`).

A bulk run writes several chunks at once (`SCORING_PARALLEL_CHUNKS` threads, each with its own connection), taken
from the run's chunk rows `FOR UPDATE SKIP LOCKED` (`scoring_run_execute`).
"""

import contextlib
import datetime as dt
import logging
import threading
import time

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Max, Min, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, Greatest
from django.db.utils import DatabaseError
from psycopg.errors import DeadlockDetected

from crm import clock
from crm.models import User
from crm.queue import enqueue_on_commit, stalled_before
from leads.models import Lead
from leads.scores import lead_score_set, leads_grade_changed, leads_scores_copy
from scoring.engine import ScoreResult, grade_case_sql, interactions_for_scoring, score_lead, scored_leads
from scoring.models import DirtyLead, LeadScore, ScoreChange, ScoringModel, ScoringRun, ScoringRunChunk
from scoring.selectors import published_model
from scoring.spec import ModelSpec, model_spec

logger = logging.getLogger(__name__)

# Leads per chunk of a bulk run: big enough that the per-statement cost vanishes, small enough that a chunk's
# transaction stays short and the progress bar moves.
CHUNK_SIZE = 10_000
# A sweep of dirty leads scores up to this many one by one (the per-lead path); more go through the bulk path.
PER_LEAD_LIMIT = 20


# Each chunk's scores land first in this temporary table (the session's own, never logged): the three writes then
# read it instead of scoring again or joining the lead rows a second time.
_CHUNK_TABLE = "scoring_chunk"


def _scoring_sql(
    *, spec: ModelSpec, leads: QuerySet[Lead], now: dt.datetime, id_range: tuple[int, int] | None = None
) -> tuple[str, list]:
    """The scoring query of `leads` (values: id, new_score, current_score, current_grade) as SQL and params.

    It ends with `OFFSET 0`, which keeps PostgreSQL from merging it into the statement around it: the grade's
    CASE reads the new score once per band, and merged, each of those reads would compute the whole score again.
    """
    sql, params = scored_leads(
        spec=spec, leads=leads, now=now, id_range=id_range, with_current=True
    ).query.sql_with_params()
    return f"{sql} OFFSET 0", params


class _RangeQuery:
    """The scoring query of a range of lead ids, built by the ORM once per run and then only re-bound: building
    this big expression costs tens of milliseconds, which over a hundred chunks is seconds."""

    # Stand-ins for the range's ends while the query is built; no lead id is negative.
    _START, _END = -(2**62) + 1, -(2**62) + 2

    def __init__(self, *, spec: ModelSpec, now: dt.datetime):
        bounds = (self._START, self._END)
        leads = Lead.objects.filter(id__gte=self._START, id__lt=self._END)
        self.sql, self.params = _scoring_sql(spec=spec, leads=leads, now=now, id_range=bounds)
        if not {self._START, self._END} <= {p for p in self.params if type(p) is int}:
            raise RuntimeError("The scoring query does not take its id range as parameters.")

    def bind(self, start: int, end: int) -> tuple[str, list]:
        ends = {self._START: start, self._END: end}
        return self.sql, [ends.get(p, p) if type(p) is int else p for p in self.params]


def _write_scores(
    *,
    spec: ModelSpec,
    inner: tuple[str, list],
    reason: str,
    now: dt.datetime,
    id_range: tuple[int, int] | None = None,
    ids: list[int] = (),
    timings: dict | None = None,
) -> tuple[int, int]:
    """Score leads in the database and store the results; returns how many leads were scored and how many of
    them changed score or grade.

    `inner` is the scoring query (`_scoring_sql`); `id_range` (start, end) or `ids` name the same leads, which
    bounds the copy onto the lead rows (a `leads` service: `leads.scores.leads_scores_copy`). `timings`, when given, collects the seconds spent in each
    step (for the benchmark).
    """
    inner_sql, inner_params = inner
    grade_sql, grade_params = grade_case_sql(spec, "s.new_score")
    # Bulk runs leave unchanged records alone; after an event the record says "computed now" (the lead page
    # waits for that to stop showing "Rescoring…"). A bulk run also leaves alone the records an event wrote with
    # the same model after the run's moment: their data is at least as fresh as this chunk's (a later change
    # marks the lead dirty again). ON CONFLICT locks every existing record it considers, written or not, so the
    # records read again below to drop those leads from the chunk cannot change before the chunk commits.
    bulk = reason != ScoreChange.Reason.EVENT
    only_changes = (
        """WHERE (scoring_leadscore.model_id <> excluded.model_id OR scoring_leadscore.score <> excluded.score
                     OR scoring_leadscore.grade <> excluded.grade)
                 AND NOT (scoring_leadscore.model_id = excluded.model_id AND scoring_leadscore.computed_at > %s)"""
        if bulk
        else ""
    )
    changed_history = "c.current_score IS NULL OR c.current_grade <> c.grade"
    if reason == ScoreChange.Reason.EVENT:
        changed_history += " OR c.current_score <> c.score"
    clock_started = time.monotonic()

    def lap(step: str) -> None:
        nonlocal clock_started
        if timings is not None:
            timings[step] = timings.get(step, 0.0) + time.monotonic() - clock_started
        clock_started = time.monotonic()

    with connection.cursor() as cursor:
        # Settings for this transaction, not another code path. JIT: compiling this big expression costs
        # more than it saves on a chunk. synchronous_commit: the commit does not wait for the disk; a crash
        # may lose the last chunks' commits, and with them the run's record of having done them, so the
        # retried task scores those chunks again (the data is never inconsistent, only older).
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute(f"DROP TABLE IF EXISTS {_CHUNK_TABLE}")
        cursor.execute(
            f"""CREATE TEMPORARY TABLE {_CHUNK_TABLE} AS
                SELECT s.id, s.new_score AS score, {grade_sql} AS grade, s.current_score, s.current_grade
                FROM ({inner_sql}) s""",
            [*grade_params, *inner_params],
        )
        cursor.execute(f"SELECT COUNT(*) FROM {_CHUNK_TABLE}")
        scored = cursor.fetchone()[0]
        lap("compute")
        cursor.execute(
            f"""INSERT INTO scoring_leadscore (lead_id, model_id, score, grade, computed_at)
                SELECT c.id, %s, c.score, c.grade, %s FROM {_CHUNK_TABLE} c WHERE true
                ON CONFLICT (lead_id) DO UPDATE SET model_id = excluded.model_id, score = excluded.score,
                    grade = excluded.grade, computed_at = excluded.computed_at {only_changes}""",
            [spec.id, now, *([now] if bulk else [])],
        )
        if bulk:
            # The records are read by the chunk's own ids: without that bound, PostgreSQL (which has no statistics
            # of the fresh chunk table and expects few fresher records) read the whole table for every chunk, 87 ms
            # a chunk at 1,000,000 leads against 5 ms.
            chunk_ids, chunk_params = (
                ("s.lead_id >= %s AND s.lead_id < %s", list(id_range)) if id_range else ("s.lead_id = ANY(%s)", [ids])
            )
            cursor.execute(
                f"""DELETE FROM {_CHUNK_TABLE} c USING scoring_leadscore s
                    WHERE s.lead_id = c.id AND {chunk_ids} AND s.model_id = %s AND s.computed_at > %s""",
                [*chunk_params, spec.id, now],
            )
        lap("record")
        cursor.execute(
            f"""INSERT INTO scoring_scorechange
                    (lead_id, model_id, score, grade, previous_score, previous_grade, reason, recorded_at)
                SELECT c.id, %s, c.score, c.grade, c.current_score, c.current_grade, %s, %s
                FROM {_CHUNK_TABLE} c WHERE {changed_history}""",
            [spec.id, reason, now],
        )
        lap("history")
        changed = leads_scores_copy(scores_table=_CHUNK_TABLE, scored_at=now, id_range=id_range, ids=ids)
        cursor.execute(f"DROP TABLE {_CHUNK_TABLE}")
        lap("copy to leads")
        return scored, changed


def leads_rescore(*, lead_ids: list[int], model: ScoringModel | None = None, reason: str = "event") -> int:
    """Rescore a list of leads set-based, in one transaction. Returns how many changed."""
    model = model or published_model()
    if model is None or not lead_ids:
        return 0
    spec, now = model_spec(model), clock.now()
    ids = sorted(set(lead_ids))
    with transaction.atomic():
        _, changed = _write_scores(
            spec=spec,
            inner=_scoring_sql(spec=spec, leads=Lead.objects.filter(id__in=ids), now=now),
            ids=ids,
            reason=reason,
            now=now,
        )
        leads_grade_changed(lead_ids=ids)
        return changed


def lead_rescore(*, lead_id: int, model: ScoringModel | None = None, reason: str = "event") -> ScoreResult | None:
    """Rescore one lead through the per-lead path (Python), and store it like the bulk path does."""
    model = model or published_model()
    if model is None:
        return None
    spec, now = model_spec(model), clock.now()
    with transaction.atomic():
        lead = Lead.objects.select_for_update(of=("self",)).select_related("channel").filter(pk=lead_id).first()
        if lead is None:
            return None
        result = score_lead(
            spec=spec, lead=lead, interactions=interactions_for_scoring(spec=spec, lead_id=lead.pk, now=now), now=now
        )
        LeadScore.objects.update_or_create(
            lead_id=lead.pk,
            defaults={"model_id": model.pk, "score": result.score, "grade": result.grade, "computed_at": now},
        )
        score_changed = lead.score != result.score
        if lead.score is None or lead.grade != result.grade or (reason == ScoreChange.Reason.EVENT and score_changed):
            ScoreChange.objects.create(
                lead_id=lead.pk,
                model_id=model.pk,
                score=result.score,
                grade=result.grade,
                previous_score=lead.score,
                previous_grade=lead.grade,
                reason=reason,
                recorded_at=now,
            )
        lead_score_set(lead_id=lead.pk, score=result.score, grade=result.grade, scored_at=now)
        if lead.grade != result.grade:
            leads_grade_changed(lead_ids=[lead.pk])
    return result


# --- events: dirty leads, swept by a Celery task -------------------------------------------------------------------


def lead_mark_dirty(*, lead_id: int) -> bool:
    """Note that a lead needs rescoring. True when it was not already waiting (then a sweep must be queued)."""
    return leads_mark_dirty(lead_ids=[lead_id]) > 0


def leads_mark_dirty(*, lead_ids: list[int]) -> int:
    """Note that many leads need rescoring (one INSERT; leads already waiting are left as they are). Returns how
    many were newly marked (when any, a sweep must be queued)."""
    if not lead_ids:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(*leads_mark_dirty_statement(lead_ids=lead_ids))
        return len(cursor.fetchall())


def leads_mark_dirty_statement(*, lead_ids: list[int]) -> tuple[str, list]:
    """`leads_mark_dirty`'s INSERT (sql, params), for a caller that sends it with others (`crm.db.Batch`): its
    rows are the leads newly marked."""
    table = connection.ops.quote_name(DirtyLead._meta.db_table)
    return (
        f"INSERT INTO {table} (lead_id, marked_at) SELECT unnest(%s::bigint[]), %s "
        "ON CONFLICT (lead_id) DO NOTHING RETURNING lead_id",
        [sorted(set(lead_ids)), clock.now()],
    )


def dirty_leads_rescore(*, limit: int = 10_000) -> int:
    """Rescore every lead marked dirty. The claim commits first, so an event arriving while we score marks the
    lead again (and queues another sweep) instead of being lost; if scoring fails the claim is put back."""
    done = 0
    while True:
        with transaction.atomic():
            ids = list(
                DirtyLead.objects.select_for_update(skip_locked=True)
                .order_by("lead_id")
                .values_list("lead_id", flat=True)[:limit]
            )
            DirtyLead.objects.filter(lead_id__in=ids).delete()
        if not ids:
            return done
        try:
            if len(ids) <= PER_LEAD_LIMIT:
                for lead_id in ids:
                    lead_rescore(lead_id=lead_id)
            else:
                leads_rescore(lead_ids=ids)
        except Exception:
            now = clock.now()
            DirtyLead.objects.bulk_create([DirtyLead(lead_id=i, marked_at=now) for i in ids], ignore_conflicts=True)
            raise
        done += len(ids)
        if len(ids) < limit:
            return done


# --- bulk runs: publish, rollback, recalculate, nightly decay ------------------------------------------------------


_ACTIVE = (ScoringRun.Status.QUEUED, ScoringRun.Status.RUNNING)


def scoring_run_start(*, model: ScoringModel, reason: str, user: User | None = None, queue: bool = True) -> ScoringRun:
    """Record a run over every lead and (after commit) queue the Celery task that executes it."""
    bounds = Lead.objects.aggregate(low=Min("id"), high=Max("id"))
    low, high = bounds["low"] or 0, bounds["high"] or 0
    run = ScoringRun.objects.create(
        model=model,
        reason=reason,
        requested_by=user,
        first_lead_id=low,
        end_lead_id=high + 1 if high else 0,
        last_lead_id=low,
        leads_total=Lead.objects.count(),
    )
    if queue:
        enqueue_on_commit("scoring.tasks.scoring_run_task", run.pk)
    return run


def scoring_run_join_or_start(
    *, model: ScoringModel, reason: str, user: User | None = None, queue: bool = True
) -> tuple[ScoringRun, bool]:
    """The run of `model` already queued or running, or else a new one: (run, True when started here).

    Whoever asks for a rescoring while one is under way joins it (executing it too is safe, see
    `scoring_run_execute`) instead of rescoring every lead a second time. The model's row is locked while
    looking, so two callers at once do not both start a run.
    """
    with transaction.atomic():
        list(ScoringModel.objects.select_for_update().filter(pk=model.pk).values_list("pk", flat=True))
        run = ScoringRun.objects.filter(model=model, status__in=_ACTIVE).order_by("created_at", "pk").first()
        if run is not None:
            return run, False
        return scoring_run_start(model=model, reason=reason, user=user, queue=queue), True


# How many times a chunk rolled back by a deadlock is taken again before the run is left to the task's retries.
_DEADLOCK_RETRIES = 3


class _RunStopped(Exception):
    """A chunk found its run no longer running (failed, finished or superseded): its writes are rolled back."""


def _run_chunks_create(*, run_id: int, chunk_size: int) -> None:
    """Cut the run's remaining range into chunks, once: the first executor does it, under the run's row lock, so
    every later one (whatever its chunk size) shares the same chunks. A run left half done by an older executor
    (which kept only `last_lead_id`) is cut from there."""
    with transaction.atomic():
        run = ScoringRun.objects.select_for_update().get(pk=run_id)
        if run.chunks.exists() or run.status != ScoringRun.Status.RUNNING:
            return
        starts = range(run.last_lead_id, run.end_lead_id, chunk_size)
        ScoringRunChunk.objects.bulk_create(
            ScoringRunChunk(run=run, start_lead_id=start, end_lead_id=min(start + chunk_size, run.end_lead_id))
            for start in starts
        )


def _run_chunk_write(*, run: ScoringRun, spec: ModelSpec, query: _RangeQuery, timings: dict | None) -> bool:
    """Take the run's next free chunk and write it, in one transaction. False when no chunk is free (all done, or
    the rest being written by other executors). Raises `_RunStopped` when the run stopped meanwhile.

    The chunk's row stays locked until the commit: other executors skip it (SKIP LOCKED), and if this one dies the
    rollback frees it. The run's row is updated last, so it is locked only while the chunk commits.
    """
    with transaction.atomic():
        chunk = (
            ScoringRunChunk.objects.select_for_update(skip_locked=True)
            .filter(run_id=run.pk, done_at__isnull=True)
            .order_by("start_lead_id")
            .first()
        )
        if chunk is None:
            return False
        done, changed = _write_scores(
            spec=spec,
            inner=query.bind(chunk.start_lead_id, chunk.end_lead_id),
            id_range=(chunk.start_lead_id, chunk.end_lead_id),
            reason=run.reason,
            now=run.started_at,
            timings=timings,
        )
        ScoringRunChunk.objects.filter(pk=chunk.pk).update(done_at=clock.now())
        # Every lead below the lowest chunk not done (as this transaction sees them) is done: a lower bound that
        # only moves up, for the progress bar.
        not_done = ScoringRunChunk.objects.filter(run_id=run.pk, done_at__isnull=True).order_by().values("run_id")
        lowest = not_done.annotate(low=Min("start_lead_id")).values("low")
        still_running = ScoringRun.objects.filter(pk=run.pk, status=ScoringRun.Status.RUNNING).update(
            leads_done=F("leads_done") + done,
            leads_changed=F("leads_changed") + changed,
            last_lead_id=Greatest(F("last_lead_id"), Coalesce(Subquery(lowest), F("end_lead_id"))),
            heartbeat_at=clock.now(),
        )
        if not still_running:
            raise _RunStopped
    return True


def _run_chunks_write(
    *, run: ScoringRun, spec: ModelSpec, query: _RangeQuery, stop: threading.Event, timings, progress
) -> None:
    """Write free chunks of the run until none is free, the run stops, or another thread of this executor
    failed (`stop`)."""
    while not stop.is_set():
        current = published_model()
        if current is None or current.pk != run.model_id:
            ScoringRun.objects.filter(pk=run.pk, status__in=_ACTIVE).update(
                status=ScoringRun.Status.FAILED, error="Superseded by a newer publish.", finished_at=clock.now()
            )
            raise _RunStopped
        for attempt in range(_DEADLOCK_RETRIES + 1):
            try:
                wrote = _run_chunk_write(run=run, spec=spec, query=query, timings=timings)
                break
            except OperationalError as error:
                # An event's rescoring locks a lead, then its record; a chunk the other way round. When both meet,
                # PostgreSQL rolls one back: if it is the chunk, the chunk is free again, and taken again here.
                if not isinstance(error.__cause__, DeadlockDetected) or attempt == _DEADLOCK_RETRIES:
                    raise
                logger.warning("Scoring run %s: a chunk met a deadlock, written again", run.pk)
        if not wrote:
            return
        if progress:
            progress(ScoringRun.objects.get(pk=run.pk))


def _run_chunks_write_parallel(
    *, run: ScoringRun, spec: ModelSpec, query: _RangeQuery, threads: int, timings: dict | None, progress
) -> None:
    """`_run_chunks_write` in `threads` threads at once (this one and `threads - 1` more, each with its own
    database connection). The first error stops the others after their current chunk and is raised here."""
    stop, errors, lock = threading.Event(), [], threading.Lock()
    laps = [None if timings is None else {} for _ in range(threads)]

    def locked_progress(current: ScoringRun) -> None:
        with lock:
            progress(current)

    def body(index: int) -> None:
        try:
            _run_chunks_write(
                run=run,
                spec=spec,
                query=query,
                stop=stop,
                timings=laps[index],
                progress=locked_progress if progress else None,
            )
        except BaseException as error:
            errors.append(error)
            stop.set()
        finally:
            if index:
                connection.close()  # this thread's own connection

    helpers = [threading.Thread(target=body, args=(i,), name=f"scoring-run-{run.pk}-{i}") for i in range(1, threads)]
    for helper in helpers:
        helper.start()
    body(0)
    for helper in helpers:
        helper.join()
    if timings is not None:
        for lap in laps:
            for step, seconds in lap.items():
                timings[step] = timings.get(step, 0.0) + seconds
    if errors:
        # A run stopped by another executor is not an error of this one; anything else is.
        raise next((e for e in errors if not isinstance(e, _RunStopped)), errors[0])


def _run_chunks_pending(*, run_id: int) -> bool:
    """Whether chunks of the run are left once the ones other executors are writing have committed: waits for
    them (a blocking FOR UPDATE), and finds any whose executor died (rolled back, free again)."""
    with transaction.atomic():
        return bool(
            list(
                ScoringRunChunk.objects.select_for_update()
                .filter(run_id=run_id, done_at__isnull=True)
                .values_list("pk", flat=True)
            )
        )


def scoring_run_execute(
    *,
    run_id: int,
    chunk_size: int = CHUNK_SIZE,
    parallel: int | None = None,
    progress=None,
    timings: dict | None = None,
) -> ScoringRun:
    """Execute a run chunk by chunk, `parallel` chunks at once (default `SCORING_PARALLEL_CHUNKS`), each chunk in
    its own transaction; resumes with the chunks not done.

    Safe to run twice at once (a redelivered task, the stalled-run sweep, `recalculate_scores` joining a run):
    executors share the run's chunks (`ScoringRunChunk`), each taken by one executor under a row lock held until
    it commits, so every chunk is written once however many executors (and threads) share the run, and one whose
    executor was killed is taken again. A finished run is left alone, and a run whose model is no longer the
    published one stops (a newer publish has its own run). Transient database errors leave the run to the task's
    retries and the sweep; any other error fails it. Inside a transaction (the caller's, or a test's) the other
    threads' connections could not see its rows, so the chunks are then written one after the other here.
    """
    claimed = ScoringRun.objects.filter(pk=run_id, status__in=_ACTIVE).update(
        status=ScoringRun.Status.RUNNING, heartbeat_at=clock.now()
    )
    if not claimed:
        return ScoringRun.objects.select_related("model").get(pk=run_id)
    # One moment for the whole run, set by its first executor: every chunk sees the same windows and decay, and a
    # resumed or shared run gives the same scores as an uninterrupted one.
    ScoringRun.objects.filter(pk=run_id, started_at__isnull=True).update(started_at=clock.now())
    run = ScoringRun.objects.select_related("model").get(pk=run_id)
    spec = model_spec(run.model)
    query = _RangeQuery(spec=spec, now=run.started_at)
    threads = 1 if connection.in_atomic_block else max(1, parallel or settings.SCORING_PARALLEL_CHUNKS)
    try:
        _run_chunks_create(run_id=run.pk, chunk_size=chunk_size)
        while True:
            if threads > 1:
                _run_chunks_write_parallel(
                    run=run, spec=spec, query=query, threads=threads, timings=timings, progress=progress
                )
            else:
                _run_chunks_write(
                    run=run, spec=spec, query=query, stop=threading.Event(), timings=timings, progress=progress
                )
            if not _run_chunks_pending(run_id=run.pk):
                break
        started = time.monotonic()
        with transaction.atomic():
            # One executor finishes the run; another one reaching the end waits here, then finds it done.
            if not ScoringRun.objects.select_for_update().filter(pk=run.pk, status=ScoringRun.Status.RUNNING).exists():
                run.refresh_from_db()
                return run
            # Grades may have moved for any lead: re-time every running response clock once, at the end.
            leads_grade_changed()
            ScoringRun.objects.filter(pk=run.pk).update(
                status=ScoringRun.Status.DONE,
                last_lead_id=F("end_lead_id"),
                finished_at=clock.now(),
                heartbeat_at=clock.now(),
            )
            run.chunks.all().delete()
        if timings is not None:
            timings["response clocks"] = time.monotonic() - started
    except _RunStopped:
        pass  # another executor finished or failed it, or a newer publish superseded it
    except (OperationalError, InterfaceError) as error:
        # Transient (the database went away): the task retries, and the stalled-run sweep resumes the run if the
        # retries run out; either carries on with the chunks not committed.
        logger.exception("Scoring run %s interrupted", run.pk)
        _record_error(run_id=run.pk, error=f"Interrupted, resuming: {error}")
        raise
    except Exception as error:
        logger.exception("Scoring run %s failed", run.pk)
        _record_error(run_id=run.pk, error=str(error), failed=True)
        raise
    run.refresh_from_db()
    return run


def _record_error(*, run_id: int, error: str, failed: bool = False) -> None:
    """Note an error on the run (best effort: the database may be the thing that failed)."""
    changes = {"error": error[:2000]}
    if failed:
        changes.update(status=ScoringRun.Status.FAILED, finished_at=clock.now())
    with contextlib.suppress(DatabaseError):
        ScoringRun.objects.filter(pk=run_id, status__in=_ACTIVE).update(**changes)


def scoring_runs_resume_stalled() -> list[int]:
    """Queue again every queued or running run whose heartbeat stopped: its worker was killed, or the task's
    retries ran out while the database was away. Returns the ids of the runs queued.

    A run being written right now (its row locked by a chunk) is skipped, and each run queued gets a fresh
    heartbeat, so the next sweeps leave it to the task for another stall period. Queuing a run twice is harmless:
    its executors share its chunks.
    """
    cutoff = stalled_before()
    with transaction.atomic():
        stalled = list(
            ScoringRun.objects.select_for_update(skip_locked=True)
            .filter(status__in=_ACTIVE)
            .filter(Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=cutoff))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        ScoringRun.objects.filter(pk__in=stalled).update(heartbeat_at=clock.now())
        for run_id in stalled:
            enqueue_on_commit("scoring.tasks.scoring_run_task", run_id)
    if stalled:
        logger.warning("Resuming stalled scoring runs %s", stalled)
    return stalled


def scores_decay() -> ScoringRun | None:
    """The nightly pass: rescore every lead with the published model so engagement points fade with age."""
    model = published_model()
    if model is None:
        return None
    run = scoring_run_start(model=model, reason=ScoreChange.Reason.DECAY, queue=False)
    return scoring_run_execute(run_id=run.pk)
