"""Bulk routing at scale: `leads_route` over 100,000 unowned leads against one hand-written UPDATE writing them.

On the seeded 1,000,000-lead database (`crm_bench_routing`, see bench/reclaim.py), in transactions that are
rolled back: the newest 100,000 leads are put in the pool, two assignment rules are added (EMEA to the first team
round-robin, the rest to the last team least-loaded), then `routing.route` (read the leads once, match, choose
reps in memory, one UPDATE per owner and 5,000 leads, pool notices) is timed against one `UPDATE ... FROM
unnest(...)` writing the same owners (which does not even choose them). `leads_route` also times the response
clocks of the routed leads; that part is reported on its own.

    python -m bench routing        python -m bench.routing
"""

from __future__ import annotations

import statistics
import time

from bench._harness import Context, Verdict, django_child, measure_main, print_verdicts, run_django_json
from bench.reclaim import ensure_database

LEADS = 100_000
REPEAT = 2


def verdicts(f: dict) -> list[Verdict]:
    return [
        Verdict(
            f"Bulk routing of {f['leads']:,} leads: ours vs one hand-written UPDATE ≤ 2×",
            f["ratio"] <= 2.0,
            f"{f['ours_s']:.1f} s vs {f['sql_s']:.1f} s = {f['ratio']:.2f}× ({f['routed']:,} routed; the time is "
            f"rewriting lead rows); response clocks of the routed leads {f['clocks_s']:.1f} s more",
        )
    ]


def run(ctx: Context | None = None) -> list[Verdict]:
    ctx = ctx or Context.from_env()
    figures = run_django_json(ctx, ensure_database(ctx), "bench.routing", "--measure")
    result = verdicts(figures)
    return print_verdicts(result)


def _child() -> dict:
    django_child()
    from django.db import connection, transaction

    from crm.models import Team, User
    from leads.models import AssignmentRule, Lead
    from leads.routing import services as routing
    from leads.sla.services import response_clocks_recompute

    ids = list(Lead.objects.order_by("-id").values_list("pk", flat=True)[:LEADS])
    admin = User.objects.filter(is_superuser=True).first()

    def setup():
        Lead.objects.filter(pk__in=Lead.objects.order_by("-id").values("pk")[:LEADS]).update(
            owner=None, team=None, assigned_at=None
        )
        AssignmentRule.objects.update(active=False)
        teams = list(Team.objects.order_by("pk"))
        for name, team, strategy, regions in (
            ("Bench: EMEA", teams[0], "round_robin", ["EMEA"]),
            ("Bench: the rest", teams[-1], "least_loaded", []),
        ):
            rule = AssignmentRule(name=name, team=team, strategy=strategy, regions=regions)
            routing.assignment_rule_save(user=admin, rule=rule, channels=[])

    ours_runs, sql_runs = [], []
    for _ in range(REPEAT):
        with transaction.atomic():
            setup()
            start = time.perf_counter()
            result = routing.route(lead_ids=ids, label="bench")
            ours_runs.append(time.perf_counter() - start)
            start = time.perf_counter()
            for i in range(0, len(ids), 10_000):
                response_clocks_recompute(lead_ids=ids[i : i + 10_000])
            clocks_s = time.perf_counter() - start
            transaction.set_rollback(True)
        keys = list(result.assigned)
        with transaction.atomic():
            setup()
            start = time.perf_counter()
            with connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE leads_lead l SET owner_id = v.owner_id, team_id = v.team_id, assigned_at = now(), "
                    "updated_at = now() FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[]) AS v(id, owner_id, "
                    "team_id) WHERE l.id = v.id AND l.owner_id IS NULL",
                    [
                        keys,
                        [result.assigned[k] for k in keys],
                        [result.team_of[result.assigned[k]] for k in keys],
                    ],
                )
            sql_runs.append(time.perf_counter() - start)
            transaction.set_rollback(True)
    ours_s, sql_s = statistics.median(ours_runs), statistics.median(sql_runs)
    return {
        "leads": len(ids),
        "routed": len(result.assigned),
        "ours_s": ours_s,
        "sql_s": sql_s,
        "ratio": ours_s / sql_s,
        "clocks_s": clocks_s,
    }


if __name__ == "__main__":
    measure_main("python -m bench.routing", _child, run)
