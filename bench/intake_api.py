"""Intake API throughput: POST /api/v1/leads/ through gunicorn (2 workers) on PostgreSQL and Redis.

What it measures, against a server it starts and stops itself (`gunicorn crm.wsgi --workers 2`, DEBUG off):

1. **Intake**: requests per second of `POST /api/v1/leads/` with a channel token and an `Idempotency-Key`, every
   request a new person (so each one creates a lead: token check, rate-limit counter in Redis, idempotency
   record, duplicate check, `lead_create` with assignment and the response clock, the scoring signal queued to
   the broker on commit).
2. **Baselines, measured in the same run**: the same server answering `GET /health/` (Django plus one `SELECT 1`:
   the floor of any request through this stack), and the same number of plain `INSERT`s of lead rows with raw
   SQL over one connection (the floor of writing the lead alone). The ratios say what intake costs on top.

    python -m bench intake_api        (with the others: make bench)        python -m bench.intake_api  (alone)

Settings (environment): the database is crm_bench_intake (created and migrated if missing);
BENCH_INTAKE_REQUESTS (default 1000 per scenario), BENCH_INTAKE_CLIENTS (concurrent clients, default 8),
BENCH_REDIS_URL (default redis://127.0.0.1:6379; the cache uses database 5, the Celery broker database 4, whose
queued scoring tasks are purged afterwards), BENCH_INTAKE_PORT (default 8765), BENCH_INTAKE_WRK_SECONDS (default 10).

**Two clients.** The load comes from the same two cores as the server. The Python client (threads with
http.client, a new connection per request) costs about as much CPU per request as /health/ itself, so it caps
what it can measure. When `wrk` is installed (Debian: `apt-get install wrk`; the bench says so when it is missing),
both /health/ and intake are measured again with it (`bench/intake_wrk.lua`: the same number of connections, every
intake request a new person with its own Idempotency-Key), and the leads are counted afterwards: every 201 must be
a lead. Both clients' figures are printed; the targets are judged on wrk's when it ran, else on the Python client's.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import psycopg

from bench._harness import (
    REDIS_URL,
    Context,
    Verdict,
    django_env,
    log,
    migrated_database,
    print_verdicts,
    run_django_json,
    table,
    times,
)

REQUESTS = int(os.environ.get("BENCH_INTAKE_REQUESTS", 1000))
CLIENTS = int(os.environ.get("BENCH_INTAKE_CLIENTS", 8))
PORT = int(os.environ.get("BENCH_INTAKE_PORT", 8765))
WORKERS = 2
# Threads per worker (gunicorn's gthread worker above 1): a request waiting on PostgreSQL lets another one run.
THREADS = int(os.environ.get("BENCH_INTAKE_THREADS", 1))
TARGET_RPS = 300  # issue 11: ≥ 300 created leads a second with 8 concurrent clients
BATCH_SIZE = 100  # leads per POST /api/v1/leads/batch/ call (its most)
TARGET_P95_MS = 100
WRK_SECONDS = int(os.environ.get("BENCH_INTAKE_WRK_SECONDS", 10))
WRK_SCRIPT = Path(__file__).with_name("intake_wrk.lua")


def _server_env(ctx: Context, url: str) -> dict[str, str]:
    return django_env(
        ctx,
        url,
        DEBUG="False",
        SECRET_KEY="bench-intake-" + "x" * 50,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="False",
        CACHE_URL=f"{REDIS_URL}/5",
        CELERY_BROKER_URL=f"{REDIS_URL}/4",
        API_RATE_LIMIT="1000000000",
        LOG_LEVEL="WARNING",
        CONN_MAX_AGE="600",
    )


def ensure_database(ctx: Context) -> str:
    """`crm_bench_intake`, empty and migrated: the bench brings its own requests."""
    return migrated_database(ctx, "intake")


class Server:
    """gunicorn with two sync workers, started for the run and stopped (with its workers) afterwards."""

    def __init__(self, ctx: Context, url: str) -> None:
        gunicorn = str(Path(ctx.python).with_name("gunicorn"))
        self.process = subprocess.Popen(
            [
                gunicorn,
                "crm.wsgi",
                "--workers",
                str(WORKERS),
                "--threads",
                str(THREADS),
                "--bind",
                f"127.0.0.1:{PORT}",
                "--log-level",
                "warning",
            ],
            cwd=ctx.project_dir,
            env=_server_env(ctx, url),
            stdout=sys.stderr,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with status {self.process.returncode}; see stderr")
            try:
                if _request("GET", "/health/")[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer /health/ within 60 s")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def _request(method: str, path: str, body: bytes | None = None, headers: dict | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _load(make_request, count: int, clients: int) -> dict:
    """`count` requests from `clients` threads as fast as the server answers; req/s, latency percentiles (ms)
    and status counts."""
    lock = threading.Lock()
    next_index = iter(range(count))
    statuses: dict[int, int] = {}
    latencies: list[float] = []

    def worker() -> None:
        while True:
            with lock:
                index = next(next_index, None)
            if index is None:
                return
            sent = time.perf_counter()
            status, _ = make_request(index)
            took = (time.perf_counter() - sent) * 1000
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
                latencies.append(took)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    latencies.sort()

    def percentile(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] if latencies else 0.0

    return {
        "requests": count,
        "seconds": seconds,
        "rps": count / seconds,
        "statuses": statuses,
        "p50": percentile(0.50),
        "p95": percentile(0.95),
    }


def _raw_inserts(url: str, count: int, run_id: str) -> dict:
    """The floor of writing a lead: one INSERT per lead (autocommit, as each API call commits), one connection."""
    with psycopg.connect(url, autocommit=True) as conn:
        started = time.perf_counter()
        for index in range(count):
            conn.execute(
                "INSERT INTO leads_lead (name, email, phone, email_normalized, phone_normalized, company, job_title,"
                " industry, country, region, city, utm_source, utm_medium, utm_campaign, stage, stage_changed_at,"
                " lost_reason, budget, authority, need, timeline, attributes, grade, last_activity_at, created_at,"
                " updated_at) VALUES (%s, %s, '', %s, '', 'Bench', '', '', '', '', '', '', '', '', 'new', now(), '',"
                " 'unknown', 'unknown', '', 'unknown', '{}', '', now(), now(), now())",
                [f"Raw {index}", f"raw-{run_id}-{index}@bench.example", f"raw-{run_id}-{index}@bench.example"],
            )
        seconds = time.perf_counter() - started
    return {"requests": count, "seconds": seconds, "rps": count / seconds}


def run(ctx: Context | None = None) -> list[Verdict]:
    """Entry point for `make bench` (`python -m bench intake_api`)."""
    ctx = ctx or Context.from_env()
    url = ensure_database(ctx)
    setup = run_django_json(ctx, url, "bench.intake_api", "--setup")
    token, run_id = setup["token"], uuid.uuid4().hex[:8]
    before = _lead_count(url)
    log(f"intake_api: starting gunicorn ({WORKERS} workers) on 127.0.0.1:{PORT}")
    server = Server(ctx, url)
    try:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

        def create(index: int) -> tuple[int, bytes]:
            body = json.dumps(
                {
                    "name": f"Bench Person {index}",
                    "email": f"api-{run_id}-{index}@bench.example",
                    "company": "Bench Inc",
                    "country": "DE",
                    "utm_source": "bench",
                }
            ).encode()
            return _request("POST", "/api/v1/leads/", body, {**headers, "Idempotency-Key": f"{run_id}-{index}"})

        def health(index: int) -> tuple[int, bytes]:
            return _request("GET", "/health/")

        log("intake_api: warming up")
        _load(lambda i: create(REQUESTS + i), 40, CLIENTS)
        _load(health, 40, CLIENTS)
        log(f"intake_api: {REQUESTS} × GET /health/, {CLIENTS} clients")
        health_figures = _load(health, REQUESTS, CLIENTS)
        log(f"intake_api: {REQUESTS} × POST /api/v1/leads/, {CLIENTS} clients")
        intake_figures = _load(create, REQUESTS, CLIENTS)

        def create_batch(index: int) -> tuple[int, bytes]:
            leads = [
                {
                    "name": f"Batch Person {index}-{i}",
                    "email": f"batch-{run_id}-{index}-{i}@bench.example",
                    "company": "Bench Inc",
                    "country": "DE",
                    "utm_source": "bench",
                }
                for i in range(BATCH_SIZE)
            ]
            body = json.dumps({"leads": leads}).encode()
            headers_batch = {**headers, "Idempotency-Key": f"{run_id}-batch-{index}"}
            return _request("POST", "/api/v1/leads/batch/", body, headers_batch)

        batches = max(1, REQUESTS // BATCH_SIZE * 2)
        log(f"intake_api: {batches} × POST /api/v1/leads/batch/ of {BATCH_SIZE}, {CLIENTS} clients")
        batch_figures = _load(create_batch, batches, CLIENTS)
        before_wrk = _lead_count(url)
        wrk_health = wrk_intake = None
        if shutil.which("wrk"):
            log(f"intake_api: wrk, {WRK_SECONDS} s of GET /health/, then of POST /api/v1/leads/, {CLIENTS} connections")
            wrk_health = _wrk("health", run_id, token)
            wrk_intake = _wrk("intake", run_id, token)
        else:
            log("intake_api: wrk is not installed (apt-get install wrk): measured with the Python client only")
    finally:
        server.stop()
    after = _lead_count(url)
    created = before_wrk - before
    if wrk_intake is not None:
        wrk_intake["leads"] = after - before_wrk
    expected = REQUESTS + 40 + batches * BATCH_SIZE
    log(f"intake_api: {REQUESTS} raw INSERTs over one connection")
    raw_figures = _raw_inserts(url, REQUESTS, run_id)
    run_django_json(ctx, url, "bench.intake_api", "--cleanup")

    batch_leads_per_second = batch_figures["rps"] * BATCH_SIZE
    rows = [
        (
            "POST /api/v1/leads/ (intake)",
            f"{intake_figures['rps']:.1f}",
            f"{intake_figures['p50']:.0f} / {intake_figures['p95']:.0f}",
            "1.00×",
            _statuses(intake_figures),
        ),
        (
            "GET /health/ (same server: database, broker, cache)",
            f"{health_figures['rps']:.1f}",
            f"{health_figures['p50']:.0f} / {health_figures['p95']:.0f}",
            times(health_figures["rps"] / intake_figures["rps"]),
            _statuses(health_figures),
        ),
        (
            f"POST /api/v1/leads/batch/, {BATCH_SIZE} leads a call (leads/s)",
            f"{batch_leads_per_second:.1f}",
            f"{batch_figures['p50']:.0f} / {batch_figures['p95']:.0f}",
            times(batch_leads_per_second / intake_figures["rps"]),
            _statuses(batch_figures),
        ),
        (
            "raw INSERT, one connection",
            f"{raw_figures['rps']:.1f}",
            "",
            times(raw_figures["rps"] / intake_figures["rps"]),
            "",
        ),
    ]
    notes_wrk = []
    if wrk_intake is not None:
        rows += [
            (
                "wrk: POST /api/v1/leads/ (intake)",
                f"{wrk_intake['rps']:.1f}",
                f"{wrk_intake['p50']:.0f} / {wrk_intake['p95']:.0f}",
                "1.00×",
                _wrk_answers(wrk_intake),
            ),
            (
                "wrk: GET /health/ (same server)",
                f"{wrk_health['rps']:.1f}",
                f"{wrk_health['p50']:.0f} / {wrk_health['p95']:.0f}",
                times(wrk_health["rps"] / wrk_intake["rps"]),
                _wrk_answers(wrk_health),
            ),
        ]
        notes_wrk = [
            f"wrk ({WRK_SECONDS} s each, {CLIENTS} connections): intake costs "
            f"{wrk_health['rps'] / wrk_intake['rps']:.1f}× a health check; leads counted after its intake run: "
            f"{wrk_intake['leads']:,} for {wrk_intake['created']:,} answers 201 ({wrk_intake['sent']:,} sent, the "
            "last few cut off in flight when the time ran out)"
        ]
    else:
        notes_wrk = ["wrk is not installed (apt-get install wrk): no figures from the leaner client"]
    print(
        table(
            f"Intake API, gunicorn {WORKERS} workers × {THREADS} threads, {CLIENTS} client threads, {REQUESTS} requests "
            "each",
            ["scenario", "req/s", "p50 / p95 ms", "baseline ÷ intake", "answers"],
            rows,
            notes=[
                f"intake costs {health_figures['rps'] / intake_figures['rps']:.1f}× a health check and "
                f"{raw_figures['rps'] / intake_figures['rps']:.1f}× a bare INSERT of the lead row",
                f"leads created by the intake run: {created:,} (expected {expected:,}: the single calls with the "
                f"warm-up, and {batches} batches of {BATCH_SIZE})",
                *notes_wrk,
            ],
        )
    )
    python_said = (
        f"Python client {intake_figures['rps']:.0f} req/s, p95 {intake_figures['p95']:.0f} ms; /health/ "
        f"{health_figures['rps']:.0f} req/s"
    )
    judged, judged_health, client = intake_figures, health_figures, "Python client"
    if wrk_intake is not None:
        judged, judged_health, client = wrk_intake, wrk_health, "wrk"
    result = [
        Verdict(
            f"Intake API ≥ {TARGET_RPS} leads/s through gunicorn with 2 workers",
            judged["rps"] >= TARGET_RPS,
            f"{client}: {judged['rps']:.0f} req/s; /health/ {judged_health['rps']:.0f} req/s on the same server"
            + (f" ({python_said})" if judged is not intake_figures else ""),
        ),
        Verdict(
            f"Intake API p95 ≤ {TARGET_P95_MS} ms with {CLIENTS} clients",
            judged["p95"] <= TARGET_P95_MS,
            f"{client}: p50 {judged['p50']:.0f} ms, p95 {judged['p95']:.0f} ms; /health/ p95 "
            f"{judged_health['p95']:.0f} ms",
        ),
        Verdict(
            f"Batch intake ≥ {TARGET_RPS} leads/s (POST /api/v1/leads/batch/, {BATCH_SIZE} a call)",
            batch_leads_per_second >= TARGET_RPS,
            f"{batch_leads_per_second:.0f} leads/s, p95 {batch_figures['p95']:.0f} ms a call",
        ),
        Verdict(
            "Every intake request created its leads, none lost or doubled",
            intake_figures["statuses"] == {201: REQUESTS}
            and batch_figures["statuses"] == {200: batches}
            and created == expected
            and (wrk_intake is None or _wrk_every_answer_a_lead(wrk_intake)),
            f"answers {_statuses(intake_figures)} and {_statuses(batch_figures)}, {created:,} leads for {expected:,}"
            + (f"; wrk: {_wrk_answers(wrk_intake)}, {wrk_intake['leads']:,} leads" if wrk_intake is not None else ""),
        ),
    ]
    return print_verdicts(result)


def _wrk(mode: str, run_id: str, token: str) -> dict:
    """`wrk` for WRK_SECONDS with CLIENTS connections on one mode of `intake_wrk.lua`: its figures (req/s, p50 and
    p95 in ms, answers by kind, requests sent)."""
    result = subprocess.run(
        [
            "wrk",
            "--threads",
            "2",
            "--connections",
            str(CLIENTS),
            "--duration",
            f"{WRK_SECONDS}s",
            "--timeout",
            "30s",
            "--script",
            str(WRK_SCRIPT),
            f"http://127.0.0.1:{PORT}/",
            "--",
            mode,
            f"{run_id}-{mode}",
            token,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(line for line in result.stdout.splitlines() if line.startswith("WRK "))
    figures = json.loads(line[4:])
    figures["rps"] = figures["requests"] / figures["seconds"]
    return figures


def _wrk_answers(figures: dict) -> str:
    parts = [f"{figures['created']}×201"] if figures["created"] else []
    if figures["ok"]:
        parts.append(f"{figures['ok']}×200")
    if figures["other"]:
        parts.append(f"{figures['other']}×other")
    if figures["errors"]:
        parts.append(f"{figures['errors']} errors")
    return ", ".join(parts)


def _wrk_every_answer_a_lead(figures: dict) -> bool:
    """Every answer a 201, and a lead for each (a request cut off in flight at the end may add one unanswered)."""
    answered_all_201 = figures["created"] == figures["requests"] and not figures["ok"] and not figures["errors"]
    return answered_all_201 and figures["created"] <= figures["leads"] <= figures["sent"]


def _statuses(figures: dict) -> str:
    return ", ".join(f"{count}×{status}" for status, count in sorted(figures["statuses"].items()))


def _lead_count(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM leads_lead").fetchone()[0]


# --- The child process: set-up and clean-up inside Django ------------------------------------------------------


def _setup() -> dict:
    import django

    django.setup()
    from crm.models import User
    from crm.roles import Role
    from crm.services import user_set_role
    from leads.channels import services as channel_services
    from leads.models import Channel, ResponsePolicy

    admin, created = User.objects.get_or_create(username="bench-intake-admin")
    if created:
        user_set_role(user=admin, role=Role.ADMIN)
    channel, _ = Channel.objects.get_or_create(name="Bench API", defaults={"kind": Channel.Kind.PAID_SEARCH})
    # A response target, so each lead's clock is timed as in a real installation.
    ResponsePolicy.objects.get_or_create(grade="", channel=None, defaults={"name": "Everyone", "target_minutes": 60})
    _token, raw = channel_services.api_token_create(
        user=admin, channel=channel, name=f"bench {time.strftime('%H:%M:%S')}"
    )
    # The leads earlier runs left: planner statistics as a real installation's (autovacuum would get there too,
    # later), so a run measures the plans PostgreSQL picks for a table of this size, not for the empty one.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE leads_lead, leads_responseclock, leads_stagechange, leads_idempotencykey")
    return {"token": raw}


def _cleanup() -> dict:
    """Drop the scoring tasks the run queued (no worker consumes them here)."""
    import django

    django.setup()
    from crm.celery import app

    return {"purged": app.control.purge()}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.intake_api")
    parser.add_argument("--setup", action="store_true", help="(internal) create the channel and a token")
    parser.add_argument("--cleanup", action="store_true", help="(internal) purge the queued tasks")
    parser.add_argument("--out", type=Path, help="(internal) where the child writes its JSON")
    args = parser.parse_args()
    if args.setup or args.cleanup:
        # The child runs with the same Redis as the server, so its purge empties the server's queue.
        os.environ.setdefault("CELERY_BROKER_URL", f"{REDIS_URL}/4")
        os.environ.setdefault("CACHE_URL", f"{REDIS_URL}/5")
        figures = _setup() if args.setup else _cleanup()
        if args.out:
            args.out.write_text(json.dumps(figures))
    else:
        run()
