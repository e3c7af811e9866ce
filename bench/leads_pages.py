"""Leads list and lead page: server time at 100,000 and 1,000,000 leads on PostgreSQL, against raw SQL.

The issue's target: a median of at most 50 ms at 1,000,000 leads, and the time at 1,000,000 within 1.5× the
time at 100,000, so that pages do not slow down as the table grows.

Each scenario is a page as its user gets it: `django.test.Client` with `force_login`, through every middleware
and the full template, timed after a few warm-up requests. Each timed request is paired with its baseline, the
hand-written SQL that fetches the same rows (the page of leads; the capped count, which the page asks for in a
second request; or the lead, its timeline
and its tasks) through the same connection; the page/raw ratio is the price of everything Django does around
the essential queries, and is what to compare between runs on these noisy machines. The page's own rows are
checked against the baseline's, so the two are known to do the same work.

The parent process seeds or reuses one database per size (`bench._harness.seeded_database`) and starts a
worker on each, `python -m bench.leads_pages --out FILE` with that database's DATABASE_URL (the measuring part
below imports Django only there, after `django.setup()`). It then has the workers take turns, one round of
every scenario at a time, so both sizes are measured under the same background load: the 1m/100k ratio is
then about the data, not about what else the machine was doing in that minute.
"""

from __future__ import annotations

import argparse
import html
import json
import math
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench._harness import (
    Context,
    DjangoWorker,
    Verdict,
    log,
    median,
    ms,
    p95,
    ratio,
    seeded_database,
    serve,
    size_label,
    table,
    times,
)

BUDGET_MS = 50.0  # the median target at 1,000,000 leads
MAX_GROWTH = 1.5  # time at 1,000,000 over time at 100,000
WARMUP_REQUESTS = 3
# Words of the demo companies' names (`leads/demo/vocabulary.py`), each the same share of the leads at every size:
# a common word (one lead in fifty), another as common that the planner takes for a rare one (its statistics
# expect some 100 leads), and a rare one (one company, one lead in three thousand).
SEARCH_TERMS = {
    "list: search": "analytics",
    "list: search 2% misjudged": "systems",
    "list: search rare": "stone studios",
}
DEEP_PAGE = 21  # the page reached by following "Next page" 20 times
# A query this slow inside a page is worth reading the plan of, even when the page is within its budget.
EXPLAIN_QUERY_MS = 10.0


# Parent: seed, drive a worker per size, compare ------------------------------------------------------


def run(ctx: Context) -> list[Verdict]:
    """Seed (or reuse) a database per size, then measure them all at once, alternating round by round."""
    databases = {size: seeded_database(ctx, size) for size in ctx.sizes}
    with ExitStack() as stack:
        workers = {}
        for size, (database, url) in databases.items():
            log(f"{database}: starting a worker (chooses the data, warms up)")
            workers[size] = stack.enter_context(DjangoWorker(ctx, url, __name__))
        for worker in workers.values():
            if (reply := worker.reply()) != "ready":
                raise RuntimeError(f"Unexpected reply from a benchmark worker: {reply!r}")
        log(f"timing {ctx.requests} rounds, alternating between {', '.join(map(size_label, workers))}")
        for round_ in range(1, ctx.requests + 1):
            # ABBA order, so neither size always goes first (right after the other's cache traffic).
            order = list(workers.values()) if round_ % 2 else list(reversed(workers.values()))
            for worker in order:
                worker.call("round")
            if round_ % 10 == 0 or round_ == ctx.requests:
                log(f"  round {round_}/{ctx.requests}")
        by_size = {size: worker.finish() for size, worker in workers.items()}
    for size, result in by_size.items():
        result["database"] = databases[size][0]
        print(size_report(size, result), flush=True)
    return compare_sizes(by_size)


def _summary(scenario: dict[str, Any]) -> dict[str, float]:
    page, raw = scenario["page_ms"], scenario["raw_ms"]
    return {
        "median": median(page),
        "p95": p95(page),
        "sql": median(scenario["sql_ms"]),
        "raw": median(raw),
        "raw_p95": p95(raw),
        "page_raw": ratio(median(page), median(raw)),
    }


def _queries(counts: Sequence[int]) -> str:
    low, high = min(counts, default=0), max(counts, default=0)
    return str(low) if low == high else f"{low}–{high}"


def size_report(size: int, result: dict[str, Any]) -> str:
    """One table per database size, then the plans of the slow queries."""
    rows = []
    for scenario in result["scenarios"]:
        s = _summary(scenario)
        rows.append(
            [
                scenario["name"],
                scenario["user"],
                _queries(scenario["queries"]),
                ms(s["median"]),
                ms(s["p95"]),
                ms(s["sql"]),
                ms(s["raw"]),
                ms(s["raw_p95"]),
                times(s["page_raw"]),
                scenario["check"],
            ]
        )
    title = f"Leads pages at {size:,} leads ({result['database']}), {result['requests']} requests each, times in ms"
    notes = [
        "queries: SQL statements per request (session, user and role included); SQL: their summed time;",
        "raw: the hand-written SQL for the same rows (the page, the capped count, or lead + timeline + tasks);",
        "page/raw: median page time over median raw SQL time; rows: the page shows the rows the raw SQL fetched;",
        "p95: nearest rank (with 30 requests, the second slowest).",
        *result["notes"],
    ]
    out = [
        table(
            title,
            ["scenario", "user", "queries", "median", "p95", "SQL", "raw", "raw p95", "page/raw", "rows"],
            rows,
            notes=notes,
        )
    ]
    for scenario in result["scenarios"]:
        for query in scenario["explain"]:
            out.append(
                f"Slow query in “{scenario['name']}” ({scenario['user']}) at {size:,} leads: "
                f"{query['ms']:.1f} ms\n{query['sql']}\n\nEXPLAIN (ANALYZE, BUFFERS):\n{query['plan']}\n"
            )
    return "\n".join(out)


def compare_sizes(by_size: dict[int, dict[str, Any]]) -> list[Verdict]:
    """Each scenario's median at the smallest and the largest size, and the issue's two targets as verdicts."""
    small, large = min(by_size), max(by_size)
    small_label, large_label = size_label(small), size_label(large)
    medians: dict[int, dict[tuple[str, str], float]] = {
        size: {(s["name"], s["user"]): median(s["page_ms"]) for s in result["scenarios"]}
        for size, result in by_size.items()
    }
    keys = list(medians[large])
    growth = {key: ratio(medians[large][key], medians[small].get(key, math.nan)) for key in keys}
    compared = large != small
    rows = []
    for key in keys:
        at_large = medians[large][key]
        row = [key[0], key[1], *(ms(medians[size].get(key, math.nan)) for size in sorted(by_size))]
        row.append("yes" if at_large <= BUDGET_MS else "NO")
        if compared:
            row += [
                times(growth[key]),
                "–" if math.isnan(growth[key]) else "yes" if growth[key] <= MAX_GROWTH else "NO",
            ]
        rows.append(row)
    headers = ["scenario", "user", *(f"median@{size_label(size)}" for size in sorted(by_size))]
    headers.append(f"≤{BUDGET_MS:.0f} ms@{large_label}")
    if compared:
        headers += [f"{large_label}/{small_label}", f"≤{MAX_GROWTH}×"]
    title = f"Leads pages: {large_label} against {small_label}" if compared else f"Leads pages at {large_label}"
    print(table(f"{title}, median ms", headers, rows))

    def worst(values: dict[tuple[str, str], float], unit: Callable[[float], str]) -> str:
        key = max(values, key=lambda k: -math.inf if math.isnan(values[k]) else values[k])
        return f"worst: {key[0]} ({key[1]}) {unit(values[key])}"

    verdicts = [
        Verdict(
            f"median ≤ {BUDGET_MS:.0f} ms at {large:,} leads, every scenario",
            all(medians[large][key] <= BUDGET_MS for key in keys),
            worst(medians[large], lambda v: f"{v:.1f} ms"),
        )
    ]
    if compared:
        # Pages (the list's rows, the lead page) apart from the list's count, a second request: a count of the
        # matching leads grows with their number up to the cap (a search's count reads the newest blocks of ids
        # first, `leads.search.capped_search_count`, but a rare word's matches are all counted), so its growth is
        # shown on its own.
        for what, chosen in (
            ("every page", [key for key in keys if not key[0].startswith("count:")]),
            ("the list's count (a second request)", [key for key in keys if key[0].startswith("count:")]),
        ):
            if chosen:
                verdicts.append(
                    Verdict(
                        f"time at {large:,} leads ≤ {MAX_GROWTH}× the time at {small:,}, {what}",
                        all(growth[key] <= MAX_GROWTH for key in chosen if not math.isnan(growth[key])),
                        worst({key: growth[key] for key in chosen}, times),
                    )
                )
    for verdict in verdicts:
        print(verdict.line())
    print()
    return verdicts


# Subprocess: measure one database ------------------------------------------------------------------------

Statements = list[tuple[str, dict[str, Any]]]


@dataclass
class Scenario:
    """A page to time, who asks for it, and the raw SQL that fetches the same rows."""

    name: str
    username: str
    path: str
    baseline: Statements
    # The leads the page must list, in order (from the baseline); None for the lead page.
    expected_ids: list[int] | None = None


@dataclass
class QueryLog:
    """The SQL statements of one request and their times, recorded by a `connection.execute_wrapper`.

    Timing each statement here is finer than `CaptureQueriesContext`, whose times are rounded to the millisecond.
    """

    queries: list[tuple[str, Any, float]] = field(default_factory=list)

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.queries.append((sql, params, (time.perf_counter() - started) * 1000))

    @property
    def total_ms(self) -> float:
        return sum(duration for _, _, duration in self.queries)


@contextmanager
def recording(connection) -> Iterator[QueryLog]:
    query_log = QueryLog()
    with connection.execute_wrapper(query_log):
        yield query_log


@dataclass
class Samples:
    """Everything measured for one scenario over its timed requests."""

    page_ms: list[float] = field(default_factory=list)
    sql_ms: list[float] = field(default_factory=list)
    raw_ms: list[float] = field(default_factory=list)
    queries: list[int] = field(default_factory=list)
    statuses: set[int] = field(default_factory=set)
    last_html: str = ""
    # Each distinct statement's times over the requests, and the parameters it ran with last (to EXPLAIN it).
    statements: dict[str, list[float]] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)

    def add_queries(self, query_log: QueryLog) -> None:
        self.sql_ms.append(query_log.total_ms)
        self.queries.append(len(query_log.queries))
        for sql, params, duration in query_log.queries:
            self.statements.setdefault(sql, []).append(duration)
            self.params[sql] = params


def visibility_sql(role: str) -> str:
    """`leads_visible_to`, by hand: admins all, managers their teams' leads + their own + the pool, reps their own
    and the pool."""
    if role == "admin":
        return "TRUE"
    if role == "manager":
        return (
            "(l.team_id IN (SELECT id FROM crm_team WHERE manager_id = %(user_id)s)"
            " OR l.owner_id = %(user_id)s OR l.owner_id IS NULL)"
        )
    return "(l.owner_id = %(user_id)s OR l.owner_id IS NULL)"


@dataclass(frozen=True)
class ListQuery:
    """A page of the leads list in raw SQL: the rows with their owner and channel, and the capped count."""

    role: str
    where: str = "TRUE"
    order: tuple[str, str] = ("l.created_at", "l.id")  # sort key, tie-breaker; both descending
    join: str = ""  # another table the sort key comes from

    def page_sql(self, *, after: bool = False) -> str:
        key, tie = self.order
        seek = f" AND {key} <= %(after_key)s AND ({key} < %(after_key)s OR {tie} < %(after_id)s)" if after else ""
        return (
            f"SELECT {key} AS sort_key, l.*, o.*, c.* FROM leads_lead l {self.join}"
            " LEFT JOIN crm_user o ON o.id = l.owner_id LEFT JOIN leads_channel c ON c.id = l.channel_id"
            f" WHERE {visibility_sql(self.role)} AND {self.where}{seek}"
            f" ORDER BY {key} DESC, {tie} DESC LIMIT %(limit)s"
        )

    def count_sql(self) -> str:
        return (
            f"SELECT count(*) FROM (SELECT 1 FROM leads_lead l {self.join}"
            f" WHERE {visibility_sql(self.role)} AND {self.where} LIMIT %(cap)s) capped"
        )


@dataclass(frozen=True)
class ListCase:
    """A view of the leads list: its query string, and the same filter and order in raw SQL."""

    name: str
    usernames: tuple[str, ...]
    query: dict[str, Any] = field(default_factory=dict)
    where: str = "TRUE"
    params: dict[str, Any] = field(default_factory=dict)
    order: tuple[str, str] = ("l.created_at", "l.id")
    join: str = ""


def execute_all(cursor, statements: Statements) -> list[list[tuple]]:
    results = []
    for sql, params in statements:
        cursor.execute(sql, params)
        results.append(cursor.fetchall())
    return results


def lead_page_statements(role: str, params: dict[str, Any]) -> Statements:
    """The lead page's essential reads: the lead (if visible) with owner, channel and team; its 50 latest
    interactions and stage changes with their users; its tasks with their assignees."""
    params = {**params, "limit": 50}
    return [
        (
            "SELECT l.*, o.*, c.*, t.* FROM leads_lead l LEFT JOIN crm_user o ON o.id = l.owner_id"
            " LEFT JOIN leads_channel c ON c.id = l.channel_id LEFT JOIN crm_team t ON t.id = l.team_id"
            f" WHERE l.id = %(lead_id)s AND {visibility_sql(role)}",
            params,
        ),
        (
            "SELECT i.*, u.* FROM leads_interaction i LEFT JOIN crm_user u ON u.id = i.user_id"
            " WHERE i.lead_id = %(lead_id)s ORDER BY i.occurred_at DESC, i.id DESC LIMIT %(limit)s",
            params,
        ),
        (
            "SELECT s.*, u.* FROM leads_stagechange s LEFT JOIN crm_user u ON u.id = s.user_id"
            " WHERE s.lead_id = %(lead_id)s ORDER BY s.changed_at DESC LIMIT %(limit)s",
            params,
        ),
        (
            "SELECT f.*, u.* FROM leads_followuptask f JOIN crm_user u ON u.id = f.assignee_id"
            " WHERE f.lead_id = %(lead_id)s ORDER BY f.done_at, f.due_at",
            params,
        ),
    ]


_ROW_LINK = re.compile(r'<a href="/leads/(\d+)/" class="lead-link">')
_NEXT_LINK = re.compile(r'href="(/leads/\?[^"]*after=[^"]*)"')


def listed_ids(page_html: str) -> list[int]:
    return [int(pk) for pk in _ROW_LINK.findall(page_html)]


def next_page_path(page_html: str) -> str | None:
    found = _NEXT_LINK.search(page_html)
    return html.unescape(found.group(1)) if found else None


class Measurement:
    """Builds the scenarios from the data this database holds, then times them."""

    def __init__(self) -> None:
        from django.conf import settings
        from django.db import connection
        from django.test import Client

        from crm.models import User

        self.connection = connection
        self.page_size: int = settings.LEADS_PAGE_SIZE
        self.count_cap: int = settings.LEADS_COUNT_CAP
        self.users = {name: User.objects.get(username=name) for name in ("rep", "manager", "admin")}
        self.clients = {}
        for name, user in self.users.items():
            client = Client()
            client.force_login(user)
            self.clients[name] = client
        self.notes: list[str] = []
        self.scenarios: list[Scenario] = []
        self.samples: list[Samples] = []

    def role(self, username: str) -> str:
        from crm import access

        user = self.users[username]
        return "admin" if access.is_crm_admin(user) else "manager" if access.is_manager(user) else "rep"

    def params(self, username: str, **extra: Any) -> dict[str, Any]:
        return {"user_id": self.users[username].pk, "limit": self.page_size + 1, "cap": self.count_cap + 1, **extra}

    def fetch(self, sql: str, params: dict[str, Any] | Sequence[Any] = ()) -> list[tuple]:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    # Choosing real data ----------------------------------------------------------------------------------

    def search_term(self, term: str) -> str:
        """A word of the demo companies' names (`leads/demo/vocabulary.py`): the same search at every size, so
        that it matches the same share of the leads, and 1m/100k compares like with like."""
        matches = self.fetch("SELECT count(*) FROM leads_lead WHERE search_text LIKE %s", [f"%{term}%"])[0][0]
        self.notes.append(f"search: “{term}” matches {matches:,} leads")
        return term

    def stage_and_channel(self) -> tuple[str, int]:
        """Qualified leads of the busiest channel: a mid-funnel filter a rep uses, on a column pair that has no
        index of its own, so the plan must combine two."""
        channel_id, channel_name = self.fetch(
            "SELECT c.id, c.name FROM leads_channel c"
            " JOIN LATERAL (SELECT count(*) AS n FROM leads_lead l WHERE l.channel_id = c.id) n ON TRUE"
            " ORDER BY n.n DESC, c.id LIMIT 1"
        )[0]
        matches = self.fetch(
            "SELECT count(*) FROM leads_lead WHERE stage = 'qualified' AND channel_id = %s", [channel_id]
        )[0][0]
        self.notes.append(f"stage+channel: qualified leads from “{channel_name}”: {matches:,} in all")
        return "qualified", channel_id

    def busiest_lead(self, username: str) -> int:
        """Of the user's 500 newest leads, the one with the most interactions: the heaviest timeline a user
        opens every day."""
        from crm import access

        user = self.users[username]
        mine = (
            "team_id IN (SELECT id FROM crm_team WHERE manager_id = %s)" if access.is_manager(user) else "owner_id = %s"
        )
        rows = self.fetch(
            "SELECT i.lead_id, count(*) FROM leads_interaction i WHERE i.lead_id IN"
            f" (SELECT id FROM leads_lead WHERE {mine} ORDER BY created_at DESC, id DESC LIMIT 500)"
            " GROUP BY i.lead_id ORDER BY count(*) DESC, i.lead_id DESC LIMIT 1",
            [user.pk],
        )
        if not rows:
            raise RuntimeError(f"{username} has no lead with interactions; is the database seeded?")
        lead_id, interactions = rows[0]
        self.notes.append(f"lead page ({username}): lead {lead_id}, {interactions} interactions")
        return lead_id

    # Scenarios -------------------------------------------------------------------------------------------

    def list_scenario(self, case: ListCase, username: str) -> Scenario:
        raw = ListQuery(self.role(username), case.where, case.order, case.join)
        params = self.params(username, **case.params)
        scenario = Scenario(
            name=case.name,
            username=username,
            path=f"/leads/?{urlencode(case.query)}" if case.query else "/leads/",
            baseline=[(raw.page_sql(), params)],
        )
        with self.connection.cursor() as cursor:
            page_rows = execute_all(cursor, scenario.baseline)[0]
        scenario.expected_ids = [row[1] for row in page_rows[: self.page_size]]  # row: sort_key, id, ...
        return scenario

    def count_scenario(self, case: ListCase, username: str) -> Scenario:
        """The list's "N leads", which the page asks for in a second request once its rows are shown."""
        raw = ListQuery(self.role(username), case.where, case.order, case.join)
        query = {k: v for k, v in case.query.items() if k != "sort"}
        return Scenario(
            name=case.name.replace("list: ", "count: "),
            username=username,
            path=f"/leads/count/?{urlencode(query)}" if query else "/leads/count/",
            baseline=[(raw.count_sql(), self.params(username, **case.params))],
        )

    def deep_page_scenario(self, username: str) -> Scenario | None:
        """Page 21 of the default list (or the last, on small data), reached by following "Next page" as a user
        would; the baseline walks the same keyset chain in raw SQL to the same page."""
        client = self.clients[username]
        path, page = "/leads/", 1
        while page < DEEP_PAGE and (next_path := next_page_path(client.get(path).content.decode())):
            path, page = next_path, page + 1
        if page == 1:
            self.notes.append(f"deep page ({username}): skipped, the list has a single page")
            return None
        raw = ListQuery(self.role(username))
        params = self.params(username)
        with self.connection.cursor() as cursor:
            cursor.execute(raw.page_sql(), params)
            for _ in range(page - 2):
                last = cursor.fetchall()[self.page_size - 1]
                cursor.execute(raw.page_sql(after=True), {**params, "after_key": last[0], "after_id": last[1]})
            last = cursor.fetchall()[self.page_size - 1]
        params = {**params, "after_key": last[0], "after_id": last[1]}
        self.notes.append(f"deep page ({username}): page {page}, reached by following “Next page”")
        scenario = Scenario(
            name="list: deep page",
            username=username,
            path=path,
            baseline=[(raw.page_sql(after=True), params)],
        )
        with self.connection.cursor() as cursor:
            scenario.expected_ids = [row[1] for row in execute_all(cursor, scenario.baseline)[0][: self.page_size]]
        return scenario

    def lead_scenario(self, username: str, lead_id: int) -> Scenario:
        return Scenario(
            name="lead page",
            username=username,
            path=f"/leads/{lead_id}/",
            baseline=lead_page_statements(self.role(username), self.params(username, lead_id=lead_id)),
        )

    def describe_database(self) -> None:
        """How the leads table compares with PostgreSQL's buffer cache: it decides how much a query reads from
        the OS instead, which is most of the difference between 100k and 1m for queries that touch many rows."""
        (buffers, table_size, version) = self.fetch(
            "SELECT current_setting('shared_buffers'), pg_size_pretty(pg_table_size('leads_lead')),"
            " current_setting('server_version')"
        )[0]
        self.notes.append(f"PostgreSQL {version}, shared_buffers {buffers}; leads table {table_size}")

    def build_scenarios(self) -> list[Scenario]:
        self.describe_database()
        stage, channel_id = self.stage_and_channel()
        cases = [
            ListCase("list: default", ("rep", "manager", "admin")),
            *(
                ListCase(
                    name,
                    ("rep", "admin"),
                    {"q": self.search_term(term)},
                    "l.search_text LIKE %(like)s",
                    {"like": f"%{term}%"},
                )
                for name, term in SEARCH_TERMS.items()
            ),
            ListCase(
                "list: stage+channel",
                ("rep", "manager"),
                {"stage": stage, "channel": channel_id},
                "l.stage = %(stage)s AND l.channel_id = %(channel_id)s",
                {"stage": stage, "channel_id": channel_id},
            ),
            ListCase(
                "list: awaiting response",
                ("rep", "manager"),
                {"awaiting": "on"},
                "l.first_response_at IS NULL AND l.stage IN ('new', 'contacted', 'qualified', 'proposal')",
            ),
            # The rarest grade: its few leads come from scoring's grade index, not from walking the whole list.
            ListCase(
                "list: grade A",
                ("rep", "admin"),
                {"grade": "A"},
                "ls.grade = 'A'",
                join="JOIN scoring_leadscore ls ON ls.lead_id = l.id",
            ),
            # Every bench lead is scored (the harness scores them after seeding): the sort walks scoring's index.
            ListCase(
                "list: by score",
                ("rep", "admin"),
                {"sort": "-score"},
                order=("ls.score", "ls.lead_id"),
                join="JOIN scoring_leadscore ls ON ls.lead_id = l.id",
            ),
        ]
        scenarios = [self.list_scenario(case, username) for case in cases for username in case.usernames]
        scenarios += [
            self.count_scenario(case, username)
            for case in cases
            if "sort" not in case.query
            for username in case.usernames
        ]
        scenarios += filter(None, (self.deep_page_scenario(username) for username in ("rep", "admin")))
        rep_lead = self.busiest_lead("rep")
        scenarios.append(self.lead_scenario("rep", rep_lead))
        scenarios.append(self.lead_scenario("manager", self.busiest_lead("manager")))
        scenarios.append(self.lead_scenario("admin", rep_lead))
        return scenarios

    # Timing ----------------------------------------------------------------------------------------------

    def time_raw(self, statements: Statements) -> float:
        """The baseline, through the driver's own cursor on Django's connection: no ORM, no debug wrapper."""
        self.connection.ensure_connection()
        with self.connection.connection.cursor() as cursor:
            started = time.perf_counter()
            execute_all(cursor, statements)
            return (time.perf_counter() - started) * 1000

    def sample(self, scenario: Scenario, samples: Samples) -> None:
        """One timed request of the page and one run of its baseline, back to back on the same connection.

        They take turns going first: whichever runs second finds the rows the first just read in PostgreSQL's
        buffers, and at a million leads that alone is worth a good share of the time.
        """
        raw_first = len(samples.page_ms) % 2 == 1
        if raw_first:
            samples.raw_ms.append(self.time_raw(scenario.baseline))
        with recording(self.connection) as query_log:
            started = time.perf_counter()
            response = self.clients[scenario.username].get(scenario.path)
            samples.page_ms.append((time.perf_counter() - started) * 1000)
        if not raw_first:
            samples.raw_ms.append(self.time_raw(scenario.baseline))
        samples.add_queries(query_log)
        samples.statuses.add(response.status_code)
        samples.last_html = response.content.decode()

    def check(self, scenario: Scenario, samples: Samples) -> str:
        """Whether every request succeeded and the page listed the rows the raw SQL fetched ("ok"), or what not."""
        if samples.statuses != {200}:
            return f"HTTP {sorted(samples.statuses)}"
        if scenario.expected_ids is None:
            return "ok"
        shown = listed_ids(samples.last_html)
        if shown == scenario.expected_ids:
            return "ok"
        return f"DIFF ({len(shown)} shown, {len(scenario.expected_ids)} expected)"

    def explain_slow(self, samples: Samples) -> list[dict[str, Any]]:
        """The plans of the page's slow statements, by their median time (a single slow run is the machine's noise,
        not the query's): over EXPLAIN_QUERY_MS, or over a tenth of the budget when the page misses it."""
        threshold = EXPLAIN_QUERY_MS if median(samples.page_ms) <= BUDGET_MS else BUDGET_MS / 10
        slow = sorted(
            ((median(durations), sql) for sql, durations in samples.statements.items()),
            reverse=True,
        )
        explained = []
        for duration, sql in [(d, sql) for d, sql in slow if d >= threshold][:2]:
            params = samples.params[sql]
            with self.connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
                plan = "\n".join(row[0] for row in cursor.fetchall())
            sql_text = _short_select(self.connection.ops.compose_sql(sql, params))
            explained.append({"sql": sql_text, "ms": duration, "plan": plan})
        return explained

    def prepare(self) -> None:
        """Choose the data, build the scenarios and warm them up (the first requests fill caches of every kind)."""
        started = time.perf_counter()
        self.scenarios = self.build_scenarios()
        self.samples = [Samples() for _ in self.scenarios]
        for _ in range(WARMUP_REQUESTS):
            for scenario in self.scenarios:
                self.sample(scenario, Samples())
        log(f"{len(self.scenarios)} scenarios chosen and warmed up in {time.perf_counter() - started:.1f} s")

    def round(self) -> None:
        """One timed request of every scenario in turn: a burst of load from elsewhere on the machine spreads over
        all of them instead of spoiling one."""
        for scenario, samples in zip(self.scenarios, self.samples, strict=True):
            self.sample(scenario, samples)

    def results(self) -> dict[str, Any]:
        scenarios = [
            {
                "name": scenario.name,
                "user": scenario.username,
                "path": scenario.path,
                "page_ms": samples.page_ms,
                "sql_ms": samples.sql_ms,
                "raw_ms": samples.raw_ms,
                "queries": samples.queries,
                "check": self.check(scenario, samples),
                "explain": self.explain_slow(samples),
            }
            for scenario, samples in zip(self.scenarios, self.samples, strict=True)
        ]
        return {
            "requests": len(self.samples[0].page_ms) if self.samples else 0,
            "page_size": self.page_size,
            "count_cap": self.count_cap,
            "notes": self.notes,
            "scenarios": scenarios,
        }


def _short_select(sql: str) -> str:
    """The statement with its parameters written in, the ORM's long column list cut to a count, for reading."""
    found = re.match(r"SELECT (.*?) FROM ", sql)
    if not found or "(SELECT" in found.group(1):
        return sql
    columns = found.group(1).count(", ") + 1
    if columns < 4:
        return sql
    return f"SELECT /* {columns} columns */ … FROM {sql[found.end() :]}"


def main(argv: list[str] | None = None) -> None:
    """The worker: measure the leads pages on the database in DATABASE_URL, a round at a time, as told."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--out", required=True, type=Path, help="where to write the figures (JSON) on finish")
    args = parser.parse_args(argv)

    import django

    django.setup()
    measurement = Measurement()
    measurement.prepare()
    serve(
        {
            "round": measurement.round,
            "finish": lambda: args.out.write_text(json.dumps(measurement.results())),
        }
    )


if __name__ == "__main__":
    main()
