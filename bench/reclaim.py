"""Reclaim at scale: the sweep over 1,000,000 leads against one hand-written SQL statement doing the same work.

On `crm_bench_routing`, a copy of the benchmarks' seeded 1,000,000-lead database (made on the first run), with one reclaim rule "no outbound call, email, meeting or message within 7 days
of assignment":

1. **Warnings**: the sweep's warning step (one INSERT ... SELECT ... ON CONFLICT DO NOTHING RETURNING, then the
   owners' notices) against the same INSERT ... SELECT written by hand (without the notices).
2. **Reclaim**: `reclaim_sweep()` (batches of 5,000 due leads locked FOR UPDATE SKIP LOCKED, one UPDATE ...
   RETURNING per batch, records bulk-inserted, one notice per former owner per batch) against one hand-written
   statement: a CTE selecting the due leads FOR UPDATE SKIP LOCKED, UPDATE ... FROM it RETURNING the former owners,
   INSERT of the records. Both must take the same leads.
3. **Concurrency**: two sweeps at once (threads): every due lead reclaimed exactly once.

Every measurement runs in a transaction that is rolled back, so runs alternate (ours, baseline, ours, ...) on the
same data and the database is left as it was.

    python -m bench reclaim        (with the other benchmarks: make bench)      python -m bench.reclaim  (alone)
"""

from __future__ import annotations

import statistics
import sys
import time

from bench._harness import Context, Verdict, django_child, measure_main, print_verdicts, run_django_json, seeded_copy

LEADS = 1_000_000
RULE_DAYS = 7
REPEAT = 3


def ensure_database(ctx: Context) -> str:
    """`crm_bench_routing`: a copy of the seeded 1M-lead database, migrated (the measurements roll back)."""
    return seeded_copy(ctx, "routing", leads=LEADS)


def verdicts(f: dict) -> list[Verdict]:
    return [
        Verdict(
            "Reclaim sweep over 1M leads: ours vs one hand-written SQL statement ≤ 3×",
            f["reclaim_ratio"] <= 3.0,
            f"{f['reclaim_ours_s']:.2f} s vs {f['reclaim_sql_s']:.2f} s = {f['reclaim_ratio']:.2f}× "
            f"({f['due']:,} due leads of {f['leads']:,}, {f['open_owned']:,} open and owned; same leads: "
            f"{f['same_leads']})",
        ),
        Verdict(
            "Reclaim warnings over 1M leads: ours vs hand-written INSERT ... SELECT ≤ 3×",
            f["warn_ratio"] <= 3.0,
            f"{f['warn_ours_s']:.2f} s vs {f['warn_sql_s']:.2f} s = {f['warn_ratio']:.2f}× ({f['warned']:,} warnings, "
            "notices included on our side)",
        ),
        Verdict(
            "Two concurrent sweeps: every due lead reclaimed exactly once",
            f["concurrent_records"] == f["due"] and f["concurrent_duplicates"] == 0,
            f"{f['concurrent_records']:,} records for {f['due']:,} due leads, {f['concurrent_duplicates']} duplicates; "
            f"split {f['concurrent_split'][0]:,} / {f['concurrent_split'][1]:,}",
        ),
        Verdict(
            "A sweep with nothing due is cheap (informative)",
            True,
            f"{f['idle_ms']:.0f} ms for a second sweep right after the first",
        ),
    ]


def run(ctx: Context | None = None) -> list[Verdict]:
    """Entry point for `make bench` (`python -m bench reclaim`)."""
    ctx = ctx or Context.from_env()
    figures = run_django_json(ctx, ensure_database(ctx), "bench.reclaim", "--measure")
    result = verdicts(figures)
    return print_verdicts(result)


# --- The child process: the measurements ---------------------------------------------------------------------------

BASELINE_RECLAIM = """
WITH due AS (
    SELECT l.id, l.owner_id
      FROM leads_lead l
     WHERE l.owner_id IS NOT NULL
       AND l.stage IN ('new', 'contacted', 'qualified', 'proposal')
       AND (l.assigned_at <= %(cut)s OR (l.assigned_at IS NULL AND l.created_at <= %(cut)s))
       AND (l.first_response_at IS NULL OR l.first_response_at < COALESCE(l.assigned_at, l.created_at))
       AND NOT EXISTS (
           SELECT 1 FROM leads_interaction i
            WHERE i.lead_id = l.id AND i.direction = 'outbound' AND i.user_id IS NOT NULL
              AND i.kind IN ('call', 'email', 'meeting', 'message')
              AND i.occurred_at >= COALESCE(l.assigned_at, l.created_at))
       FOR UPDATE OF l SKIP LOCKED
), taken AS (
    UPDATE leads_lead l SET owner_id = NULL, assigned_at = NULL, updated_at = %(now)s
      FROM due WHERE l.id = due.id
    RETURNING l.id, due.owner_id
)
INSERT INTO leads_reclaimrecord (lead_id, from_user_id, to_user_id, rule_id, rule_name, reclaimed_at, warned)
SELECT id, owner_id, NULL, %(rule)s, %(name)s, %(now)s, false FROM taken
RETURNING lead_id
"""

BASELINE_WARN = """
INSERT INTO leads_reclaimwarning (lead_id, owner_id, anchor_at, rule_id, warned_at)
SELECT l.id, l.owner_id, COALESCE(l.assigned_at, l.created_at), %(rule)s, %(now)s
  FROM leads_lead l
 WHERE l.owner_id IS NOT NULL
   AND l.stage IN ('new', 'contacted', 'qualified', 'proposal')
   AND (l.assigned_at <= %(cut)s OR (l.assigned_at IS NULL AND l.created_at <= %(cut)s))
   AND (l.first_response_at IS NULL OR l.first_response_at < COALESCE(l.assigned_at, l.created_at))
   AND NOT EXISTS (
       SELECT 1 FROM leads_interaction i
        WHERE i.lead_id = l.id AND i.direction = 'outbound' AND i.user_id IS NOT NULL
          AND i.kind IN ('call', 'email', 'meeting', 'message')
          AND i.occurred_at >= COALESCE(l.assigned_at, l.created_at))
   AND NOT EXISTS (
       SELECT 1 FROM leads_reclaimwarning w
        WHERE w.lead_id = l.id AND w.rule_id = %(rule)s AND w.anchor_at = COALESCE(l.assigned_at, l.created_at))
ON CONFLICT (lead_id, rule_id, anchor_at) DO NOTHING
"""


def _child() -> dict:
    django_child()
    import datetime as dt
    import threading

    from django.db import connection, connections, transaction
    from django.db.models import Count

    from crm import clock
    from leads.models import OPEN_STAGES, Lead, ReclaimRecord, ReclaimRule, ReclaimWarning
    from leads.routing import reclaim as reclaim

    started = time.perf_counter()

    def progress(message: str) -> None:
        print(f"  reclaim bench [{time.perf_counter() - started:6.1f} s]: {message}", file=sys.stderr, flush=True)

    now = clock.now()
    ReclaimRule.objects.filter(name__startswith="Bench:").delete()
    others = list(ReclaimRule.objects.filter(active=True).values_list("pk", flat=True))
    ReclaimRule.objects.filter(pk__in=others).update(active=False)  # only the bench's rule runs; restored below
    rule = ReclaimRule.objects.create(name="Bench: untouched 7 days", kind="no_outbound", days=RULE_DAYS, warn_hours=0)
    cut = now - dt.timedelta(days=RULE_DAYS)
    params = {"cut": cut, "now": now, "rule": rule.pk, "name": rule.name}
    leads = Lead.objects.count()
    open_owned = Lead.objects.filter(owner__isnull=False, stage__in=OPEN_STAGES).count()

    def rolled_back(fn):
        with transaction.atomic():
            start = time.perf_counter()
            value = fn()
            seconds = time.perf_counter() - start
            transaction.set_rollback(True)
        return seconds, value

    def ours():
        result = reclaim.reclaim_sweep(now=now)
        taken = set(ReclaimRecord.objects.filter(rule=rule).values_list("lead_id", flat=True))
        return result.reclaimed, taken

    def ours_then_idle():
        reclaim.reclaim_sweep(now=now)
        start = time.perf_counter()
        reclaim.reclaim_sweep(now=now)
        return time.perf_counter() - start

    def baseline():
        with connection.cursor() as cursor:
            cursor.execute(BASELINE_RECLAIM, params)
            taken = {row[0] for row in cursor.fetchall()}
        return len(taken), taken

    progress(f"{leads:,} leads, {open_owned:,} open and owned; warming up")
    rolled_back(baseline)
    ours_runs, sql_runs = [], []
    for i in range(REPEAT):
        progress(f"reclaim run {i + 1}/{REPEAT}")
        seconds, (count_ours, taken_ours) = rolled_back(ours)
        ours_runs.append(seconds)
        seconds, (count_sql, taken_sql) = rolled_back(baseline)
        sql_runs.append(seconds)
    _, idle_seconds = rolled_back(ours_then_idle)

    # Warnings: the same rule with a day's warning, so every due lead (and those a day from due) gets one.
    ReclaimRule.objects.filter(pk=rule.pk).update(warn_hours=24)
    rule.refresh_from_db()
    warn_params = {**params, "cut": now - dt.timedelta(days=RULE_DAYS) + dt.timedelta(hours=24)}

    def warn_ours():
        return reclaim._warn(rule, now)

    def warn_sql():
        with connection.cursor() as cursor:
            cursor.execute(BASELINE_WARN, warn_params)
            return cursor.rowcount

    warn_ours_runs, warn_sql_runs = [], []
    for i in range(REPEAT):
        progress(f"warning run {i + 1}/{REPEAT}")
        seconds, warned = rolled_back(warn_ours)
        warn_ours_runs.append(seconds)
        seconds, warned_sql = rolled_back(warn_sql)
        warn_sql_runs.append(seconds)
    assert warned == warned_sql, (warned, warned_sql)
    ReclaimRule.objects.filter(pk=rule.pk).update(warn_hours=0)

    # Two sweeps at once (committed, then undone by hand).
    progress("two concurrent sweeps")
    owners_before = dict(Lead.objects.filter(pk__in=taken_ours).values_list("pk", "owner_id"))
    assigned_before = dict(Lead.objects.filter(pk__in=taken_ours).values_list("pk", "assigned_at"))
    results = [None, None]
    barrier = threading.Barrier(2)

    def sweep(index):
        try:
            barrier.wait()
            results[index] = reclaim.reclaim_sweep(now=now)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sweep, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    records = ReclaimRecord.objects.filter(rule=rule)
    concurrent_records = records.count()
    duplicates = sum(row["n"] - 1 for row in records.values("lead_id").annotate(n=Count("id")).filter(n__gt=1))

    progress("putting the leads back")
    with transaction.atomic(), connection.cursor() as cursor:
        rows = [(pk, owners_before[pk], assigned_before[pk]) for pk in owners_before]
        for start in range(0, len(rows), 5_000):
            chunk = rows[start : start + 5_000]
            cursor.execute(
                "UPDATE leads_lead l SET owner_id = v.owner_id, assigned_at = v.assigned_at "
                "FROM (SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::timestamptz[])) AS v(id, owner_id, "
                "assigned_at) WHERE l.id = v.id",
                [[r[0] for r in chunk], [r[1] for r in chunk], [r[2] for r in chunk]],
            )
        records.delete()
        ReclaimWarning.objects.filter(rule=rule).delete()
        from crm.models import Notification

        Notification.objects.filter(key__startswith="reclaimed:", created_at__gte=now).delete()
        rule.delete()
        ReclaimRule.objects.filter(pk__in=others).update(active=True)

    ours_s, sql_s = statistics.median(ours_runs), statistics.median(sql_runs)
    warn_ours_s, warn_sql_s = statistics.median(warn_ours_runs), statistics.median(warn_sql_runs)
    return {
        "leads": leads,
        "open_owned": open_owned,
        "due": count_sql,
        "same_leads": taken_ours == taken_sql and count_ours == count_sql,
        "reclaim_ours_s": ours_s,
        "reclaim_sql_s": sql_s,
        "reclaim_ratio": ours_s / sql_s,
        "reclaim_runs": {"ours": ours_runs, "sql": sql_runs},
        "warned": warned,
        "warn_ours_s": warn_ours_s,
        "warn_sql_s": warn_sql_s,
        "warn_ratio": warn_ours_s / warn_sql_s,
        "idle_ms": idle_seconds * 1000,
        "concurrent_records": concurrent_records,
        "concurrent_duplicates": duplicates,
        "concurrent_split": [r.reclaimed for r in results],
    }


if __name__ == "__main__":
    measure_main("python -m bench.reclaim", _child, run)
