"""Report pages at 1,000,000 leads: each page's time beside a hand-written SQL query computing the same figures.

For a 12-month period, every report page (the dashboard too) is requested through Django's test client, as an
admin and as a manager, and timed (median of BENCH_REQUESTS, at most 10). Beside it, a hand-written SQL query
computes the same figures straight from the leads, stage changes, tasks and spend tables, the way one would
without the pre-aggregated tables, and is timed too (median of 3). The ratio page ÷ SQL is the figure to
compare (target ≤ 1.5×), with the page itself within 1 s. The key figures of both are compared as well, so
the bench also checks at scale that the pre-aggregated figures are exact.

Data: `crm_bench_reports`, a copy of the harness's seeded 1M-lead demo database (made on the first run); the
bench migrates it and builds the report figures if needed.

    python -m bench reports        (with the harness)      python -m bench.reports        (on its own)
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
TARGET_RATIO = 1.5
TARGET_SECONDS = 1.0

try:  # the shared harness, when the branch has it
    from bench._harness import Verdict
except ImportError:  # pragma: no cover - standalone use before the harness is merged

    @dataclass(frozen=True)
    class Verdict:
        target: str
        met: bool
        detail: str = ""

        def line(self) -> str:
            return f"[{'MET    ' if self.met else 'NOT MET'}] {self.target}" + (
                f" — {self.detail}" if self.detail else ""
            )


def _log(message: str) -> None:
    print(f"[bench reports {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run(ctx=None) -> list[Verdict]:
    from bench._harness import Context, seeded_copy

    ctx = ctx or Context.from_env()
    database_url = seeded_copy(ctx, "reports")  # a copy of the seeded 1M-lead database, migrated
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
    _log("measuring (a first run builds the report figures: about 1.5 min)")
    out = subprocess.run(
        [python, "-m", "bench.reports", "--worker"],
        cwd=PROJECT_DIR,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    sys.stderr.write(out.stderr)
    results = json.loads(out.stdout.strip().splitlines()[-1])
    return _report(results)


def _report(results: dict) -> list[Verdict]:
    header = f"{'report':26} {'user':8} {'page ms':>9} {'SQL ms':>9} {'ratio':>7}  {'queries':>7}  figures"
    print(f"Report pages, 12-month period, {results['leads']:,} leads, {results['interactions']:,} interactions")
    print(
        f"(figures as of {results['refreshed_at']}; full rebuild of the pre-aggregated rows: {results['rebuild_s']})\n"
    )
    print(header)
    print("-" * len(header))
    verdicts = []
    worst_ratio, worst_page, mismatches = 0.0, 0.0, []
    for row in results["rows"]:
        ratio = row["page_ms"] / row["sql_ms"] if row["sql_ms"] else float("nan")
        worst_ratio = max(worst_ratio, ratio)
        worst_page = max(worst_page, row["page_ms"])
        if not row["figures_match"]:
            mismatches.append(f"{row['report']} ({row['user']})")
        print(
            f"{row['report']:26} {row['user']:8} {row['page_ms']:9.1f} {row['sql_ms']:9.1f} {ratio:6.2f}×  "
            f"{row['queries']:7}  {'same' if row['figures_match'] else 'DIFFERENT: ' + row['detail']}"
        )
    print()
    verdicts.append(
        Verdict(
            f"every report page within {TARGET_SECONDS:.0f} s for a 12-month period at 1M leads",
            worst_page <= TARGET_SECONDS * 1000,
            f"slowest page {worst_page:.0f} ms",
        )
    )
    verdicts.append(
        Verdict(
            f"every page ≤ {TARGET_RATIO}× the hand-written SQL of its figures",
            worst_ratio <= TARGET_RATIO,
            f"worst ratio {worst_ratio:.2f}×",
        )
    )
    verdicts.append(
        Verdict(
            "the pages' figures equal the hand-written SQL's",
            not mismatches,
            "all equal" if not mismatches else "differ: " + ", ".join(mismatches),
        )
    )
    return verdicts


# The worker: runs inside Django, prints one JSON line. ------------------------------------------------------


def _median_ms(fn, times: int) -> float:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def _worker() -> None:
    import django

    django.setup()

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from bench import _reports_sql as sql_baselines
    from crm import clock
    from crm.models import User
    from leads.models import Interaction, Lead
    from reports.models import DailyLeadStats
    from reports.periods import period_for_preset
    from reports.registry import REPORTS
    from reports.scope import ReportScope
    from reports.selectors.dashboard import dashboard
    from reports.services import stats_refresh, stats_refreshed_at

    requests = int(os.environ.get("BENCH_REQUESTS", "5"))
    rebuild = "not needed (figures were there)"
    if not DailyLeadStats.objects.exists():
        started = time.perf_counter()
        stats_refresh(full=True)
        rebuild = f"{time.perf_counter() - started:.0f} s"
    else:
        started = time.perf_counter()
        stats_refresh()
        rebuild = f"not needed; incremental refresh took {time.perf_counter() - started:.1f} s"

    period = period_for_preset("12m")
    users = {
        "admin": User.objects.filter(is_superuser=True).order_by("pk").first(),
        "manager": User.objects.filter(groups__name="Manager", managed_teams__isnull=False).order_by("pk").first(),
    }
    pages = [("dashboard", "/reports/?period=12m")] + [
        (slug if not r.options else f"{slug} by {option}", f"/reports/{slug}/?period=12m&by={option}")
        for slug, r in REPORTS.items()
        for option in ((r.options and ("channel", "industry", "month")) or ("",))
    ]
    rows = []
    for user_label, user in users.items():
        client = Client()
        client.force_login(user)
        scope = ReportScope.for_user(user, period)
        for name, url in pages:
            slug = name.split(" ")[0]
            option = name.split(" by ")[1] if " by " in name else ""
            client.get(url)  # warm: the first request of a page pays for imports and caches
            page_ms = _median_ms(lambda c=client, u=url: c.get(u), requests)
            with CaptureQueriesContext(connection) as captured:
                client.get(url)
            baseline = sql_baselines.BASELINES[slug]
            sql_ms = _median_ms(lambda b=baseline, s=scope, o=option: b(s, o), 3)
            expected = baseline(scope, option)
            if slug == "dashboard":
                figures = sql_baselines.dashboard_figures(dashboard(scope))
            else:
                figures = sql_baselines.report_figures(slug, REPORTS[slug].run(scope, option), option)
            same = _same(figures, expected)
            rows.append(
                {
                    "report": name,
                    "user": user_label,
                    "page_ms": page_ms,
                    "sql_ms": sql_ms,
                    "queries": len(captured.captured_queries),
                    "figures_match": same,
                    "detail": "" if same else _diff(figures, expected),
                }
            )
            _log(
                f"{name} ({user_label}): page {page_ms:.0f} ms, SQL {sql_ms:.0f} ms, figures {'same' if same else 'DIFFER'}"
            )
    print(
        json.dumps(
            {
                "leads": Lead.objects.count(),
                "interactions": Interaction.objects.order_by().count(),
                "refreshed_at": f"{stats_refreshed_at():%Y-%m-%d %H:%M}",
                "rebuild_s": rebuild,
                "today": str(clock.today()),
                "rows": rows,
            },
            default=str,
        )
    )


def _same(a: dict, b: dict) -> bool:
    if a.keys() != b.keys():
        return False
    for key in a:
        x, y = a[key], b[key]
        if isinstance(x, float) or isinstance(y, float):
            if (x is None) != (y is None) or (
                x is not None and abs(float(x) - float(y)) > 1e-6 * max(1, abs(float(y)))
            ):
                return False
        elif x != y:
            return False
    return True


def _diff(a: dict, b: dict) -> str:
    keys = sorted(set(a) | set(b), key=str)
    return "; ".join(f"{k}: page {a.get(k)!r} vs SQL {b.get(k)!r}" for k in keys if a.get(k) != b.get(k))[:300]


if __name__ == "__main__":
    if "--worker" in sys.argv:
        _worker()
    else:
        for verdict in run():
            print(verdict.line())
