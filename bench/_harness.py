"""What every benchmark shares: its settings, seeded PostgreSQL databases, Django subprocesses, figures, tables.

The runner's own process never imports Django settings: each benchmark starts one subprocess per database,
so this module only uses the standard library and psycopg.

Two ways to run Django work in a subprocess:
- `run_django_json`: one shot; the subprocess does everything and writes its figures to a file.
- `DjangoWorker` + `serve`: the parent drives one worker per database step by step ("round", then "finish"),
  alternating between them, so that a burst of load from elsewhere on the machine hits every data size alike
  instead of spoiling whichever was being measured at the time. Use it whenever sizes are compared.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/"
DEFAULT_SIZES = (100_000, 1_000_000)
DEFAULT_REQUESTS = 30
# The Redis of every Django subprocess's Celery broker (database 4), unless CELERY_BROKER_URL is set: without one,
# the settings would start the embedded Redis in var/ and leave it running after the benchmark.
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379").rstrip("/")
# Every database the benchmarks create, and the only ones they ever drop, start with this. BENCH_DATABASE_PREFIX
# (which must start the same way, e.g. `crm_bench_alice_`) gives one developer's runs databases of their own on a
# shared server.
DATABASE_PREFIX = os.environ.get("BENCH_DATABASE_PREFIX", "crm_bench_")
if not DATABASE_PREFIX.startswith("crm_bench_"):
    raise SystemExit(f"BENCH_DATABASE_PREFIX must start with 'crm_bench_', not {DATABASE_PREFIX!r}.")
# seed_demo draws the same data from the same seed (and clock): a fixed one keeps reseeded databases alike.
DEMO_SEED = 1


@dataclass(frozen=True)
class Verdict:
    """Whether one target of an issue is met, in words a reader of the output understands on its own."""

    target: str
    met: bool
    detail: str = ""

    def line(self) -> str:
        mark = "MET    " if self.met else "NOT MET"
        return f"[{mark}] {self.target}" + (f" — {self.detail}" if self.detail else "")


@dataclass(frozen=True)
class Context:
    """The run's settings, read once from the environment so every benchmark agrees on them.

    BENCH_SIZES     data sizes (leads), comma-separated; "100k" and "1m" work too (default 100000,1000000)
    BENCH_REQUESTS  timed requests per scenario (default 30)
    BENCH_POSTGRES_URL  the PostgreSQL server, without a database name (default postgres://postgres@127.0.0.1:5432/)
    BENCH_DATABASE_PREFIX  the start of every benchmark database's name (default crm_bench_)
    BENCH_REDIS_URL the Redis server of the subprocesses' Celery broker, which uses its database 4 (default
                    redis://127.0.0.1:6379; CELERY_BROKER_URL, when set, wins)
    BENCH_RESEED    1 to drop and seed the databases again even when their size is right (e.g. after the
                    seed command changed)
    """

    python: str
    project_dir: Path
    postgres_url: str
    sizes: tuple[int, ...]
    requests: int
    reseed: bool

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Context:
        sizes = tuple(parse_size(part) for part in environ.get("BENCH_SIZES", "").split(",") if part.strip())
        return cls(
            python=sys.executable,
            project_dir=PROJECT_DIR,
            postgres_url=environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL).rstrip("/") + "/",
            sizes=sizes or DEFAULT_SIZES,
            requests=max(1, int(environ.get("BENCH_REQUESTS", DEFAULT_REQUESTS))),
            reseed=environ.get("BENCH_RESEED", "") not in ("", "0", "false", "no"),
        )

    def database_url(self, name: str) -> str:
        return self.postgres_url + name


def parse_size(text: str) -> int:
    """`100000`, `100k`, `1m`, `1_000_000` → an int."""
    text = text.strip().lower().replace("_", "")
    factor = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text[:-1] if factor > 1 else text) * factor)


def size_label(size: int) -> str:
    """A short name for a data size, used in database names and column headers: 100k, 1m, 2k, 1500."""
    for factor, suffix in ((1_000_000, "m"), (1_000, "k")):
        if size >= factor and size % factor == 0:
            return f"{size // factor}{suffix}"
    return str(size)


def print_verdicts(verdicts: list[Verdict]) -> list[Verdict]:
    """Print each verdict on its line, then a blank line; the verdicts, for the summary."""
    for verdict in verdicts:
        print(verdict.line())
    print()
    return verdicts


def django_child() -> None:
    """Set up Django in a benchmark's child process, its log quiet (warnings only)."""
    os.environ["LOG_LEVEL"] = "WARNING"
    import django

    django.setup()


def log(message: str) -> None:
    """Progress goes to stderr, so stdout holds only the figures."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# Figures ---------------------------------------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def p95(values: Sequence[float]) -> float:
    """Nearest-rank 95th percentile: with 30 samples it is the second slowest, a value that was really seen."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else math.nan


def ms(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.1f}"


def times(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.2f}×"


_FIGURE = re.compile(r"^(|–|[-+]?[\d.,]+(×|%| ms)?)$")


def table(title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]], *, notes: Sequence[str] = ()) -> str:
    """A plain-text table: text columns left-aligned, figures right-aligned, so it reads in any terminal or log."""
    body = [["" if cell is None else str(cell) for cell in row] for row in rows]
    widths = [max([len(header)] + [len(row[i]) for row in body]) for i, header in enumerate(headers)]
    numeric = [bool(body) and all(_FIGURE.match(row[i]) for row in body) for i in range(len(headers))]

    def fmt(cells: Sequence[str]) -> str:
        parts = [c.rjust(w) if numeric[i] else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    lines = [title, "=" * len(title), fmt(headers), rule, *(fmt(row) for row in body)]
    lines += [f"  {note}" for note in notes]
    return "\n".join(lines) + "\n"


# Databases -------------------------------------------------------------------------------------------------


def _admin_connection(ctx: Context) -> psycopg.Connection:
    """A connection to the server's `postgres` database, where databases are created and dropped."""
    return psycopg.connect(ctx.database_url("postgres"), autocommit=True)


def database_exists(ctx: Context, name: str) -> bool:
    with _admin_connection(ctx) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def create_database(ctx: Context, name: str) -> None:
    with _admin_connection(ctx) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(ctx: Context, name: str) -> None:
    # Refuse anything the benchmarks did not create: this drops whole databases.
    if not name.startswith(DATABASE_PREFIX):
        raise ValueError(f"Refusing to drop {name!r}: benchmark databases start with {DATABASE_PREFIX!r}.")
    with _admin_connection(ctx) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def lead_count(ctx: Context, name: str) -> int:
    """How many leads the database holds; 0 before the leads table exists."""
    with psycopg.connect(ctx.database_url(name)) as conn:
        if conn.execute("SELECT to_regclass('leads_lead')").fetchone()[0] is None:
            return 0
        return conn.execute("SELECT count(*) FROM leads_lead").fetchone()[0]


def vacuum_analyze(ctx: Context, name: str) -> None:
    """Bring a freshly loaded database to the state autovacuum keeps a live one in.

    Right after a bulk load the planner has no statistics and the visibility map is empty (no index-only scans),
    so the first minutes of figures would describe a database no user ever has.
    """
    with psycopg.connect(ctx.database_url(name), autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")


def django_env(ctx: Context, database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a Django subprocess pointed at one database.

    Its Celery broker is BENCH_REDIS_URL's database 4 unless CELERY_BROKER_URL is set. The test client sends
    `Host: testserver`; the hosts list must hold it since `setup_test_environment()` (which
    would add it) also instruments template rendering, and that would cost time inside the measured requests.
    """
    env = dict(os.environ)
    env.setdefault("CELERY_BROKER_URL", f"{REDIS_URL}/4")
    env.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="crm.settings",
        ALLOWED_HOSTS="testserver,localhost",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def manage(ctx: Context, database_url: str, *args: str) -> None:
    """Run `manage.py` against one database; its output goes to stderr with the rest of the progress."""
    subprocess.run(
        [ctx.python, "manage.py", *args],
        cwd=ctx.project_dir,
        env=django_env(ctx, database_url),
        stdout=sys.stderr,
        check=True,
    )


def seeded_database(ctx: Context, leads: int) -> tuple[str, str]:
    """The name and URL of a migrated database holding exactly `leads` demo leads, seeding it only if needed.

    Seeding a million leads takes minutes, so a database of the right size is reused as it is. One of another
    size (an interrupted seed, or a different command) is dropped and seeded again rather than topped up, so
    every run measures data made the same way.
    """
    name = DATABASE_PREFIX + size_label(leads)
    url = ctx.database_url(name)
    if ctx.reseed and database_exists(ctx, name):
        log(f"{name}: BENCH_RESEED is set, dropping it")
        drop_database(ctx, name)
    if not database_exists(ctx, name):
        log(f"{name}: creating the database")
        create_database(ctx, name)
    log(f"{name}: migrating")
    manage(ctx, url, "migrate", "--noinput", "--verbosity", "0")
    found = lead_count(ctx, name)
    if found == leads:
        log(f"{name}: {found:,} leads already there, reusing them")
        score(ctx, name, url)
        return name, url
    if found:
        log(f"{name}: holds {found:,} leads instead of {leads:,}, dropping it to seed it again")
        drop_database(ctx, name)
        create_database(ctx, name)
        manage(ctx, url, "migrate", "--noinput", "--verbosity", "0")
    command = ["seed_demo", "--leads", str(leads), "--seed", str(DEMO_SEED), "--demo-passwords"]
    log(f"{name}: seeding with `manage.py {' '.join(command)}` (minutes for a million leads)")
    started = time.perf_counter()
    manage(ctx, url, *command)
    log(f"{name}: seeded in {time.perf_counter() - started:.0f} s")
    found = lead_count(ctx, name)
    if found != leads:
        raise RuntimeError(f"{name}: seed_demo --leads {leads} left {found:,} leads.")
    score(ctx, name, url)
    return name, url


def score(ctx: Context, name: str, url: str) -> None:
    """Score the leads that have no score yet, as `make run` does after seeding, so that pages and reports meet
    scored leads as in a running CRM; then VACUUM ANALYZE (the visibility map, and statistics for the planner)."""
    with psycopg.connect(ctx.database_url(name)) as conn:
        unscored = conn.execute("SELECT EXISTS (SELECT 1 FROM leads_lead WHERE score IS NULL)").fetchone()[0]
    if unscored:
        log(f"{name}: scoring the leads (`manage.py recalculate_scores --if-unscored`)")
        started = time.perf_counter()
        manage(ctx, url, "recalculate_scores", "--if-unscored", "--verbosity", "0")
        log(f"{name}: scored in {time.perf_counter() - started:.0f} s; VACUUM ANALYZE")
        vacuum_analyze(ctx, name)


def run_django_json(ctx: Context, database_url: str, module: str, *args: str) -> Any:
    """Run `python -m <module> --out FILE ...` as a Django subprocess on one database and return FILE's JSON.

    The figures travel through a file, not stdout, so nothing Django or a management command prints can get
    mixed into them.
    """
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        out = Path(tmp) / "result.json"
        subprocess.run(
            [ctx.python, "-m", module, "--out", str(out), *args],
            cwd=ctx.project_dir,
            env=django_env(ctx, database_url),
            stdout=sys.stderr,
            check=True,
        )
        return json.loads(out.read_text())


def measure_main(prog: str, child: Callable[[], Any], run: Callable[[], object]) -> None:
    """`python -m bench.NAME` for a benchmark that measures in a Django subprocess: with `--measure` (and `--out
    FILE`, as `run_django_json` calls it) measure in this process and write the figures as JSON; without, run the
    whole benchmark."""
    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument("--measure", action="store_true", help="(internal) measure in this Django process")
    parser.add_argument("--out", type=Path, help="(internal) where --measure writes its figures")
    args = parser.parse_args()
    if not args.measure:
        run()
        return
    figures = json.dumps(child(), default=str)
    if args.out:
        args.out.write_text(figures)
    else:
        print(figures)


class DjangoWorker:
    """A benchmark's Django subprocess on one database, driven by one-line commands (see `serve`).

    It runs `python -m <module> --out FILE <args>`; the module sets Django up, gets ready, calls `serve`, and
    writes its figures to FILE on "finish".
    """

    def __init__(self, ctx: Context, database_url: str, module: str, *args: str) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="bench-")
        self.out = Path(self._tmp.name) / "result.json"
        self.process = subprocess.Popen(
            [ctx.python, "-m", module, "--out", str(self.out), *args],
            cwd=ctx.project_dir,
            env=django_env(ctx, database_url),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def reply(self) -> str:
        """The worker's next reply; an error if it died (its traceback is on stderr)."""
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"The benchmark worker exited with status {self.process.wait()}; see stderr.")
        return line.strip()

    def call(self, command: str) -> str:
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self.reply()

    def finish(self) -> Any:
        """Ask for the figures, wait for the worker to exit, and return them."""
        self.call("finish")
        self.process.wait()
        return json.loads(self.out.read_text())

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._tmp.cleanup()

    def __enter__(self) -> DjangoWorker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def serve(commands: Mapping[str, Callable[[], object]]) -> None:
    """The worker's side of `DjangoWorker`: say "ready", then run each command read from stdin and answer "ok".

    The replies go through a private copy of stdout, and stdout itself is pointed at stderr, so nothing Django
    or the code under test prints can be taken for a reply. "finish" is the last command.
    """
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    replies.write("ready\n")
    for line in sys.stdin:
        command = line.strip()
        commands[command]()
        replies.write("ok\n")
        if command == "finish":
            break


def seeded_copy(ctx: Context, name: str, *, leads: int = 1_000_000) -> str:
    """The URL of `crm_bench_<name>`, a migrated copy of the seeded database of `leads` leads, made once.

    Benchmarks that write (scoring, sweeps, imports) work on a copy of their own, so the seeded database the page
    benchmarks read stays as seeded. The copy is reused on later runs; BENCH_RESEED drops and remakes it.
    """
    source, _ = seeded_database(ctx, leads)
    target = DATABASE_PREFIX + name
    if ctx.reseed and database_exists(ctx, target):
        drop_database(ctx, target)
    if not database_exists(ctx, target):
        log(f"{target}: copying {source}")
        last_error: Exception | None = None
        for attempt in range(10):  # the template must have no open connection while it is copied
            try:
                with _admin_connection(ctx) as conn:
                    conn.execute(
                        sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(target), sql.Identifier(source))
                    )
                break
            except psycopg.errors.ObjectInUse as error:
                last_error = error
                time.sleep(3 * (attempt + 1))
        else:
            raise RuntimeError(f"Could not copy {source} to {target}: {last_error}")
    url = ctx.database_url(target)
    log(f"{target}: migrating")
    manage(ctx, url, "migrate", "--noinput", "--verbosity", "0")
    return url


def migrated_database(ctx: Context, name: str) -> str:
    """The URL of `crm_bench_<name>`, created empty when missing and migrated to this code: for benchmarks that
    bring their own data (imports, the intake API)."""
    target = DATABASE_PREFIX + name
    if not database_exists(ctx, target):
        log(f"{target}: creating the database")
        create_database(ctx, target)
    url = ctx.database_url(target)
    log(f"{target}: migrating")
    manage(ctx, url, "migrate", "--noinput", "--verbosity", "0")
    return url
