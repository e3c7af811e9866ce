"""Speed to lead at scale: the minute sweep over 100,000 open response clocks, on PostgreSQL.

What it measures, on `crm_bench_sla`, a copy of the harness's seeded 1,000,000-lead database (`crm_bench_1m`):

1. **Selection**: the sweep's ORM query for what is due (`ResponseClock.next_at <= now`, SKIP LOCKED) against
   the same selection written by hand in SQL, as a ratio (1.0 = the ORM costs nothing).
2. **One sweep** over 100,000 open clocks of which the ones due this minute (1,667: 100,000 clocks spread over an
   hour) get their reminder: selection, SentNotice records, notifications and the rows advanced, committed.
   Target: ≤ 1 second.
3. **Two concurrent sweeps** (threads, separate connections) over a fresh due set: duplicate notices (target 0)
   and lost ones (target 0).
4. **Re-timing** every running clock after a policy change (informative; the Celery task queued by the save).

    python -m bench sla        (with the other benchmarks: make bench)      python -m bench.sla        (on its own)

The copy is made on the first run and migrated on every run; the Django work runs in a subprocess on it, which
leaves it as it found it.
"""

from __future__ import annotations

import os
import re
import statistics
import sys
import time

from bench._harness import Context, Verdict, django_child, measure_main, run_django_json, seeded_copy

OPEN_CLOCKS = 100_000
SWEEP_TARGET_SECONDS = 1.0


# --- The parent process: database copy and verdicts ---------------------------------------------------------------


def ensure_database(ctx: Context) -> str:
    """`crm_bench_sla`: a migrated copy of the seeded 1M-lead database, made once and reused (the bench leaves it
    as it found it)."""
    return seeded_copy(ctx, "sla")


def verdicts(f: dict) -> list[Verdict]:
    return [
        Verdict(
            "SLA sweep: selecting what is due, ORM vs hand-written SQL ≤ 1.5×",
            f["select_ratio"] <= 1.5,
            f"{f['select_orm_ms']:.1f} ms vs {f['select_sql_ms']:.1f} ms = {f['select_ratio']:.2f}× "
            f"({f['open_clocks']:,} open clocks, a batch of {f['batch']})",
        ),
        Verdict(
            f"One sweep over {f['open_clocks']:,} open clocks ≤ {SWEEP_TARGET_SECONDS:.0f} s",
            f["sweep_seconds"] <= SWEEP_TARGET_SECONDS,
            f"{f['sweep_seconds']:.3f} s for the {f['due']:,} due this minute ({f['sweep_notices']:,} notices stored "
            f"and committed, digests emailed) = {f['sweep_seconds'] * 1000 / f['select_sql_ms']:.0f}× one "
            f"hand-written selection; {f['idle_sweep_ms']:.1f} ms when nothing is due",
        ),
        Verdict(
            "Two concurrent sweeps: no duplicate and no lost notice",
            f["duplicates"] == 0 and f["lost"] == 0,
            f"{f['concurrent_due']:,} due leads, {f['concurrent_notices']:,} notices, {f['duplicates']} duplicates, "
            f"{f['lost']} lost; the sweeps handled {f['concurrent_split'][0]:,} and {f['concurrent_split'][1]:,}",
        ),
        Verdict(
            'Leads list "SLA breached" at 1M leads: first page ≤ 100 ms, read through indexes',
            f["breached_ms"] <= 100 and bool(f["breached_indexes"]),
            f"{f['breached_ms']:.1f} ms, using {', '.join(f['breached_indexes']) or 'no index'}",
        ),
        Verdict(
            "Policy change: the background task re-times every running clock, set-based",
            True,
            f"{f['recompute_clocks']:,} clocks in {f['recompute_seconds']:.1f} s around the clock, "
            f"{f['recompute_calendar_seconds']:.1f} s in business hours ({f['recompute_calendar_pieces']:,} range "
            "updates); informative, no target",
        ),
    ]


def run(ctx: Context | None = None) -> list[Verdict]:
    """Entry point for `make bench` (`python -m bench sla`)."""
    ctx = ctx or Context.from_env()
    figures = run_django_json(ctx, ensure_database(ctx), "bench.sla", "--measure")
    for verdict in verdicts(figures):
        print(verdict.line())
    print()
    return verdicts(figures)


# --- The child process: the measurements ---------------------------------------------------------------------------


def _child() -> dict:
    # The sweep's email digests are part of what is measured; they go to memory, never to a mail server.
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
    django_child()
    import datetime as dt
    import threading

    from django.db import connection, connections, transaction
    from django.db.models import Count, Max, Min
    from django.urls import reverse

    from crm import clock
    from crm.business_hours import clock_for
    from crm.models import BusinessCalendar, Notification
    from crm.services import notifications_email_digest
    from leads.models import Lead, ResponseClock, ResponsePolicy, SentNotice
    from leads.sla import services as sla_services
    from leads.sla.selectors import sla_breached_condition

    batch = sla_services.SWEEP_BATCH_SIZE
    started = time.perf_counter()

    def progress(message: str) -> None:
        print(f"  sla bench [{time.perf_counter() - started:6.1f} s]: {message}", file=sys.stderr, flush=True)

    def timed(fn, repeat: int = 1) -> float:
        runs = []
        for _ in range(repeat):
            start = time.perf_counter()
            fn()
            runs.append(time.perf_counter() - start)
        return statistics.median(runs)

    def reset(now: dt.datetime) -> int:
        """100,000 open clocks on the newest leads (clocks run for arrivals), their next event spread over the hour
        around now: 1/60 of them due this minute.

        Written directly (the bench measures the sweep, not the set-up)."""
        SentNotice.objects.all().delete()
        Notification.objects.filter(key__startswith="sla_").delete()
        ResponseClock.objects.all().delete()
        policy, _ = ResponsePolicy.objects.update_or_create(
            grade="", channel=None, defaults={"name": "Bench: everyone", "target_minutes": 60, "reminder_percent": 50}
        )
        with connection.cursor() as cursor:
            # Reminder points spread evenly over [now - 1 min, now + 59 min]; deadlines 30 minutes later.
            cursor.execute(
                """
                INSERT INTO leads_responseclock (lead_id, policy_id, arrived_at, remind_at, due_at, next_at)
                SELECT id, %s, created_at,
                       %s::timestamptz + (n * interval '36 milliseconds') - interval '1 minute',
                       %s::timestamptz + (n * interval '36 milliseconds') + interval '29 minutes',
                       %s::timestamptz + (n * interval '36 milliseconds') - interval '1 minute'
                  FROM (SELECT id, created_at, row_number() OVER (ORDER BY created_at DESC) AS n
                          FROM leads_lead ORDER BY created_at DESC LIMIT %s) AS chosen
                """,
                [policy.pk, now, now, now, OPEN_CLOCKS],
            )
            cursor.execute("ANALYZE leads_responseclock")
        return ResponseClock.objects.filter(next_at__lte=now).count()

    now = clock.now()
    progress(f"setting {OPEN_CLOCKS:,} open clocks")
    due = reset(now)
    open_clocks = ResponseClock.objects.filter(next_at__isnull=False).count()

    # 1. Selection: the sweep's queryset vs the same query by hand, each in a transaction rolled back.
    def orm_query():
        return (
            ResponseClock.objects.filter(next_at__lte=now)
            .order_by("next_at")
            .select_for_update(skip_locked=True, of=("self",))
            .values(*sla_services.SWEEP_FIELDS)[:batch]
        )

    raw_sql = """
        SELECT c.lead_id, c.due_at, c.remind_at, l.name, l.company, l.owner_id, o.username, o.first_name,
               o.last_name, t.manager_id, p.target_minutes, p.escalate_to_manager, p.pool_leads, pt.manager_id
          FROM leads_responseclock c
          JOIN leads_lead l ON l.id = c.lead_id
          LEFT JOIN crm_user o ON o.id = l.owner_id
          LEFT JOIN crm_team t ON t.id = l.team_id
          LEFT JOIN leads_responsepolicy p ON p.id = c.policy_id
          LEFT JOIN crm_team pt ON pt.id = p.pool_team_id
         WHERE c.next_at <= %s
         ORDER BY c.next_at
         LIMIT %s
           FOR UPDATE OF c SKIP LOCKED
    """

    def select_orm():
        with transaction.atomic():
            assert len(list(orm_query())) == min(batch, due)
            transaction.set_rollback(True)

    def select_sql():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(raw_sql, [now, batch])
            assert len(cursor.fetchall()) == min(batch, due)
            transaction.set_rollback(True)

    progress("selection")
    select_orm(), select_sql()  # warm caches
    select_orm_s = min(timed(select_orm, 15), timed(select_orm, 15))
    select_sql_s = min(timed(select_sql, 15), timed(select_sql, 15))

    # 2. One sweep, committed: what the beat task runs (`reminders_sweep`), at the moment the clocks were set.
    def minute_sweep():
        sla_services.sla_sweep(now=now)
        sla_services.task_reminders_sweep(now=now)
        notifications_email_digest()

    # A worker serves sweep after sweep: load the URL configuration first, as its first sweep did long ago.
    reverse("leads:detail", args=[1])
    progress("one sweep")
    sweep_seconds = timed(minute_sweep)
    sweep_notices = Notification.objects.filter(key__startswith="sla_").count()
    assert SentNotice.objects.count() == due, "every due lead got its reminder"
    idle_ms = timed(minute_sweep, 5) * 1000

    # 3. Two sweeps at once, on a fresh due set.
    progress("two concurrent sweeps")
    later = now + dt.timedelta(minutes=1)
    concurrent_due = ResponseClock.objects.filter(next_at__lte=later).count()
    results = [None, None]
    barrier = threading.Barrier(2)

    def sweep(index):
        try:
            barrier.wait()
            results[index] = sla_services.sla_sweep(now=later)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sweep, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    repeated = Notification.objects.values("user_id", "key").annotate(n=Count("id")).filter(n__gt=1)
    duplicates = sum(row["n"] - 1 for row in repeated)
    sent = SentNotice.objects.filter(sent_at=later).count()
    concurrent_notices = sum(r[1] for r in results)

    # The leads list's "SLA breached" filter on a million leads: how fast, through which indexes?
    breached = Lead.objects.filter(sla_breached_condition(now=later + dt.timedelta(minutes=40)))
    breached_plan = breached.order_by("-created_at", "-id")[:50].explain()
    breached_ms = timed(lambda: list(breached.order_by("-created_at", "-id")[:50]), 5) * 1000

    # 4. Re-timing every running clock, as a policy change does (inside the admin's transaction).
    progress("re-timing after a policy change")
    reset(now)
    with transaction.atomic():
        recompute_s = timed(sla_services.response_clocks_recompute)
        recompute_clocks = ResponseClock.objects.filter(due_at__gt=now).count()
        transaction.set_rollback(True)
    with transaction.atomic():
        calendar = BusinessCalendar.objects.create(name="Bench office", time_zone="Europe/Berlin")
        ResponsePolicy.objects.filter(grade="", channel=None).update(calendar=calendar)
        recompute_calendar_s = timed(sla_services.response_clocks_recompute)
        span = ResponseClock.objects.filter(policy__calendar=calendar).aggregate(
            first=Min("arrived_at"), last=Max("arrived_at")
        )
        pieces = clock_for(calendar).pieces(span["first"], span["last"], dt.timedelta(minutes=60))
        transaction.set_rollback(True)

    progress("cleaning up")
    # Leave the copy as we found it (no clocks), so the next run starts equal.
    SentNotice.objects.all().delete()
    Notification.objects.filter(key__startswith="sla_").delete()
    ResponseClock.objects.all().delete()
    ResponsePolicy.objects.filter(name="Bench: everyone").delete()

    return {
        "open_clocks": open_clocks,
        "batch": batch,
        "due": due,
        "select_orm_ms": select_orm_s * 1000,
        "select_sql_ms": select_sql_s * 1000,
        "select_ratio": select_orm_s / select_sql_s,
        "sweep_seconds": sweep_seconds,
        "sweep_notices": sweep_notices,
        "idle_sweep_ms": idle_ms,
        "concurrent_due": concurrent_due,
        "concurrent_notices": concurrent_notices,
        "concurrent_split": [r[0] for r in results],
        "duplicates": duplicates,
        "lost": concurrent_due - sent,
        "breached_indexes": sorted(set(re.findall(r"using (\w+)", breached_plan))),
        "breached_ms": breached_ms,
        "breached_plan": breached_plan,
        "recompute_clocks": recompute_clocks,
        "recompute_seconds": recompute_s,
        "recompute_calendar_seconds": recompute_calendar_s,
        "recompute_calendar_pieces": len(pieces),
    }


if __name__ == "__main__":
    measure_main("python -m bench.sla", _child, run)
