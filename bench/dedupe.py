"""Duplicates page and merge at scale: the page beside hand-written SQL computing the same groups, and a merge.

The duplicates page (by email and by phone, its first page and one from the middle of the keyset) is requested
through Django's test client as an admin and as a manager, and timed (median of BENCH_REQUESTS, at most 10;
target ≤ 1 s). Its reads (`leads.dedupe.services.duplicate_groups`: the queries and the model instances) are timed beside
hand-written SQL computing the same page: GROUP BY the normalised column HAVING count(*) > 1 after the cursor,
LIMIT 26, then the oldest 20 leads of each group with their owners (row_number() over the group). The ratio
reads ÷ SQL is the figure to compare (target ≤ 1.5×; the page adds the session, the user and the template, a
fixed cost); both sides' groups and leads are compared too. Then a merge of a three-lead group is timed (median
of 3, each rolled back).

Data: `crm_bench_dedupe`, a copy of the benchmarks' seeded 1M-lead database (made on the first run, migrated on
every run).

    python -m bench dedupe        (with the harness)      python -m bench.dedupe        (on its own)
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench._harness import Verdict

PROJECT_DIR = Path(__file__).resolve().parent.parent
TARGET_RATIO = 1.5
TARGET_SECONDS = 1.0


def _log(message: str) -> None:
    print(f"[bench dedupe {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run(ctx=None) -> list[Verdict]:
    from bench._harness import Context, seeded_copy

    ctx = ctx or Context.from_env()
    database_url = seeded_copy(ctx, "dedupe", leads=1_000_000)  # its own copy; the timed merges roll back
    requests = min(10, ctx.requests)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "crm.settings",
        "ALLOWED_HOSTS": "testserver",
        "DEBUG": "True",
        "BENCH_REQUESTS": str(requests),
    }
    python = ctx.python
    out = subprocess.run(
        [python, "-m", "bench.dedupe", "--worker"], cwd=PROJECT_DIR, env=env, check=True, capture_output=True, text=True
    )
    sys.stderr.write(out.stderr)
    return _report(json.loads(out.stdout.strip().splitlines()[-1]))


def _report(results: dict) -> list[Verdict]:
    print(
        f"Duplicates page, {results['leads']:,} leads; {results['email_groups']:,} email groups, "
        f"{results['phone_groups']:,} phone groups\n"
    )
    header = f"{'page':24} {'user':8} {'page ms':>9} {'reads ms':>9} {'SQL ms':>9} {'ratio':>7}  {'queries':>7}  groups"
    print(header)
    print("-" * len(header))
    worst_ratio, worst_page, mismatches = 0.0, 0.0, []
    for row in results["rows"]:
        ratio = row["reads_ms"] / row["sql_ms"] if row["sql_ms"] else float("nan")
        worst_ratio, worst_page = max(worst_ratio, ratio), max(worst_page, row["page_ms"])
        if not row["same"]:
            mismatches.append(f"{row['page']} ({row['user']})")
        print(
            f"{row['page']:24} {row['user']:8} {row['page_ms']:9.1f} {row['reads_ms']:9.1f} {row['sql_ms']:9.1f} "
            f"{ratio:6.2f}×  "
            f"{row['queries']:7}  {row['groups']} {'same' if row['same'] else 'DIFFERENT'}"
        )
    print(f"\nMerge of a {results['merge_size']}-lead group (rolled back): {results['merge_ms']:.1f} ms median\n")
    return [
        Verdict(
            f"duplicates page within {TARGET_SECONDS:.0f} s",
            worst_page <= TARGET_SECONDS * 1000,
            f"slowest {worst_page:.0f} ms at {results['leads']:,} leads",
        ),
        Verdict(
            f"duplicates page's reads ≤ {TARGET_RATIO}× the hand-written SQL",
            worst_ratio <= TARGET_RATIO,
            f"worst {worst_ratio:.2f}×",
        ),
        Verdict(
            "the page's groups and leads equal the SQL's",
            not mismatches,
            "all equal" if not mismatches else ", ".join(mismatches),
        ),
    ]


# The worker: runs inside Django, prints one JSON line. ------------------------------------------------------


def _median_ms(fn, times: int) -> float:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def _sql_page(column: str, after: str, who: str, params: list) -> list[tuple[str, list[int]]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT {column}, count(*) FROM leads_lead l
                WHERE {column} > %s {who}
                GROUP BY 1 HAVING count(*) > 1 ORDER BY 1 LIMIT 26""",
            [after, *params],
        )
        groups = [row[0] for row in cursor.fetchall()][:25]
        cursor.execute(
            f"""SELECT m.{column}, m.id, m.name, m.email, m.phone, m.company, m.stage, m.created_at, u.first_name, u.last_name, u.username FROM (
                  SELECT l.id, l.name, l.email, l.phone, l.company, l.stage, l.created_at, l.owner_id, l.{column},
                         row_number() OVER (PARTITION BY l.{column} ORDER BY l.created_at, l.id) AS position
                  FROM leads_lead l WHERE l.{column} = ANY(%s) {who}) m
                LEFT JOIN crm_user u ON u.id = m.owner_id
                WHERE m.position <= 20 ORDER BY m.{column}, m.position""",
            [groups, *params],
        )
        members: dict[str, list[int]] = {value: [] for value in groups}
        for value, pk, *_ in cursor.fetchall():
            members[value].append(pk)
    return list(members.items())


def _worker() -> None:
    import django

    django.setup()

    from django.db import connection, transaction
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from crm import access
    from crm.models import User
    from leads.dedupe import services as dedupe
    from leads.models import Lead

    requests = int(os.environ.get("BENCH_REQUESTS", "5"))
    users = {
        "admin": User.objects.filter(is_superuser=True).order_by("pk").first(),
        "manager": User.objects.filter(groups__name="Manager", managed_teams__isnull=False).order_by("pk").first(),
    }
    counts = {}
    middles = {}
    with connection.cursor() as cursor:
        for key, (column, _) in dedupe.KEYS.items():
            cursor.execute(
                f"SELECT {column} FROM leads_lead WHERE {column} <> '' GROUP BY 1 HAVING count(*) > 1 ORDER BY 1"
            )
            values = [row[0] for row in cursor.fetchall()]
            counts[key] = len(values)
            middles[key] = values[len(values) // 2] if values else ""
    rows = []
    for user_label, user in users.items():
        client = Client()
        client.force_login(user)
        if access.is_crm_admin(user):
            who, params = "", []
        else:
            teams = list(access.teams_managed_by(user).values_list("pk", flat=True))
            who, params = " AND (l.team_id = ANY(%s) OR l.owner_id = %s OR l.owner_id IS NULL)", [teams, user.pk]
        for key, (column, _) in dedupe.KEYS.items():
            for where, after in (("first", ""), ("middle", middles[key])):
                url = f"/leads/duplicates/?by={key}&after={after}"
                client.get(url)  # warm
                page_ms = _median_ms(lambda c=client, u=url: c.get(u), requests)
                with CaptureQueriesContext(connection) as captured:
                    client.get(url)
                page = dedupe.duplicate_groups(user=user, key=key, after=after)
                reads_ms = _median_ms(
                    lambda u=user, k=key, a=after: dedupe.duplicate_groups(user=u, key=k, after=a), requests
                )
                shown = [(g.value, [lead.pk for lead in g.leads]) for g in page.groups]
                sql_ms = _median_ms(lambda c=column, a=after, w=who, p=params: _sql_page(c, a, w, p), 3)
                expected = _sql_page(column, after, who, params)
                rows.append(
                    {
                        "page": f"by {key}, {where} page",
                        "user": user_label,
                        "page_ms": page_ms,
                        "reads_ms": reads_ms,
                        "sql_ms": sql_ms,
                        "queries": len(captured.captured_queries),
                        "groups": len(shown),
                        "same": shown == expected,
                    }
                )
                _log(f"by {key} {where} ({user_label}): page {page_ms:.0f}, reads {reads_ms:.0f}, SQL {sql_ms:.0f} ms")

    # A merge of a three-lead group, rolled back each time so the data stays as it was.
    admin = users["admin"]
    group = next(
        (g for g in dedupe.duplicate_groups(user=admin, key="email", limit=200).groups if g.size == 3),
        dedupe.duplicate_groups(user=admin, key="email").groups[0],
    )

    class Rollback(Exception):
        pass

    def merge_once():
        try:
            with transaction.atomic():
                dedupe.leads_merge(
                    user=admin, survivor_id=group.leads[0].pk, merged_ids=[lead.pk for lead in group.leads[1:]]
                )
                raise Rollback
        except Rollback:
            pass

    merge_ms = _median_ms(merge_once, 3)
    print(
        json.dumps(
            {
                "leads": Lead.objects.count(),
                "email_groups": counts["email"],
                "phone_groups": counts["phone"],
                "rows": rows,
                "merge_ms": merge_ms,
                "merge_size": len(group.leads),
            }
        )
    )


if __name__ == "__main__":
    if "--worker" in sys.argv:
        _worker()
    else:
        for verdict in run():
            print(verdict.line())
