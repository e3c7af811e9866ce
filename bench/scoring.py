"""Benchmark: rescore every lead with a 20-rule model, against a hand-written SQL baseline doing the same.

Target (issue 4): 1,000,000 leads with 10,000,000 interactions rescored in at most 30 seconds on PostgreSQL.

What is timed, on a database where the leads are already scored by the default model (a warm-up run):
* ours: `scoring_run_execute` for a newly published 20-rule model, i.e. what a publish does in Celery: chunks
  of lead ids, each chunk one ORM-built scoring query into a temporary table, which feeds the LeadScore upsert,
  the history insert and the `UPDATE ... FROM` of the lead rows whose score or grade changed;
* baseline: the same computation and the same three writes, written by hand as three SQL statements over
  the whole table (one aggregate pass over interactions with FILTER clauses).
Both leave the same scores behind (checked: a checksum of scores and grades must match), and the ratio
ours / baseline is printed. Run with `make bench` (through the harness, on `crm_bench_scoring`, a copy of the seeded 1M-lead database) or
on its own against any seeded database:

    DATABASE_URL=postgres://.../crm_bench_scoring python -m bench.scoring
"""

import os
import sys
import time

TARGET_SECONDS = 30.0
NAME = "scoring: rescore all leads with a 20-rule model"

# The bench model, by hand: (group, name, kind, settings).
GROUPS = [("Fit", 50), ("Engagement", 50), ("Recency", None)]
RULES = [
    ("Fit", "Target industry", "fit", {"field": "industry", "operator": "in", "values": ["Software & SaaS", "Financial Services", "Professional Services"], "points": 10}),
    ("Fit", "Company size", "fit", {"field": "company_size", "operator": "range", "range_min": 50, "range_max": 5000, "points": 5}),
    ("Fit", "Director", "fit", {"field": "job_title", "operator": "contains", "value": "director", "points": 8}),
    ("Fit", "VP", "fit", {"field": "job_title", "operator": "contains", "value": "vp", "points": 8}),
    ("Fit", "Budget", "fit", {"field": "budget", "operator": "equals", "value": "confirmed", "points": 12}),
    ("Fit", "Decision maker", "fit", {"field": "authority", "operator": "equals", "value": "decision_maker", "points": 12}),
    ("Fit", "Influencer", "fit", {"field": "authority", "operator": "equals", "value": "influencer", "points": 5}),
    ("Fit", "Timeline", "fit", {"field": "timeline", "operator": "in", "values": ["30", "90"], "points": 10}),
    ("Fit", "Pricing form", "fit", {"field": "attributes.source_form", "operator": "equals", "value": "pricing", "points": 6}),
    ("Fit", "Core markets", "fit", {"field": "country", "operator": "in", "values": ["US", "GB", "DE"], "points": 3}),
    ("Engagement", "Visits", "activity", {"interaction_kind": "web_visit", "window_days": 30, "tiers": [{"min": 3, "max": 5, "points": 5}, {"min": 6, "max": None, "points": 10}]}),
    ("Engagement", "Pages", "activity", {"interaction_kind": "web_visit", "measure": "pages", "window_days": 30, "tiers": [{"min": 10, "max": 24, "points": 3}, {"min": 25, "max": None, "points": 6}]}),
    ("Engagement", "Pricing page", "has_done", {"interaction_kind": "web_visit", "detail_key": "url", "detail_contains": "/pricing", "window_days": 60, "points": 15}),
    ("Engagement", "Demo request", "has_done", {"interaction_kind": "form_submission", "detail_key": "url", "detail_contains": "/demo", "window_days": 90, "points": 30}),
    ("Engagement", "Form", "has_done", {"interaction_kind": "form_submission", "window_days": 90, "points": 10}),
    ("Engagement", "Email clicks", "activity", {"interaction_kind": "email_click", "window_days": 30, "tiers": [{"min": 2, "max": None, "points": 5}]}),
    ("Engagement", "Event", "has_done", {"interaction_kind": "event_attended", "window_days": 90, "points": 8}),
    ("Engagement", "Email opens", "activity", {"interaction_kind": "email_open", "window_days": 30, "tiers": [{"min": 3, "max": None, "points": 2}]}),
    ("Recency", "Unsubscribed", "has_done", {"interaction_kind": "unsubscribe", "points": -20, "decays": False}),
    ("Recency", "Inactive 30 days", "inactivity", {"inactive_days": 30, "points": -10}),
]  # fmt: skip
HALF_LIFE = 30

# The same model written by hand as SQL. %(now)s is the moment of scoring; %(model)s the model id.
_DECAY = "power(0.5, greatest(floor(extract(epoch from (%(now)s::timestamptz - {ts})) / 86400), 0) / 30.0)"


def _decayed(points_sql: str, ts: str) -> str:
    return (
        f"(CASE WHEN {ts} IS NULL THEN ({points_sql})::float8 ELSE ({points_sql})::float8 * {_DECAY.format(ts=ts)} END)"
    )


BASELINE_SCORES = f"""
WITH agg AS (
  SELECT lead_id,
    count(*) FILTER (WHERE kind = 'web_visit' AND occurred_at >= %(d30)s) AS visits,
    max(occurred_at) FILTER (WHERE kind = 'web_visit' AND occurred_at >= %(d30)s) AS visits_at,
    coalesce(sum(CASE WHEN details->>'pages' ~ '^[0-9]{{1,9}}$' THEN (details->>'pages')::int END)
             FILTER (WHERE kind = 'web_visit' AND occurred_at >= %(d30)s), 0) AS pages,
    count(*) FILTER (WHERE kind = 'web_visit' AND occurred_at >= %(d60)s AND lower(coalesce(details->>'url', '')) LIKE '%%/pricing%%') AS pricing,
    max(occurred_at) FILTER (WHERE kind = 'web_visit' AND occurred_at >= %(d60)s AND lower(coalesce(details->>'url', '')) LIKE '%%/pricing%%') AS pricing_at,
    count(*) FILTER (WHERE kind = 'form_submission' AND occurred_at >= %(d90)s AND lower(coalesce(details->>'url', '')) LIKE '%%/demo%%') AS demo,
    max(occurred_at) FILTER (WHERE kind = 'form_submission' AND occurred_at >= %(d90)s AND lower(coalesce(details->>'url', '')) LIKE '%%/demo%%') AS demo_at,
    count(*) FILTER (WHERE kind = 'form_submission' AND occurred_at >= %(d90)s) AS forms,
    max(occurred_at) FILTER (WHERE kind = 'form_submission' AND occurred_at >= %(d90)s) AS forms_at,
    count(*) FILTER (WHERE kind = 'email_click' AND occurred_at >= %(d30)s) AS clicks,
    max(occurred_at) FILTER (WHERE kind = 'email_click' AND occurred_at >= %(d30)s) AS clicks_at,
    count(*) FILTER (WHERE kind = 'event_attended' AND occurred_at >= %(d90)s) AS events,
    max(occurred_at) FILTER (WHERE kind = 'event_attended' AND occurred_at >= %(d90)s) AS events_at,
    count(*) FILTER (WHERE kind = 'email_open' AND occurred_at >= %(d30)s) AS opens,
    max(occurred_at) FILTER (WHERE kind = 'email_open' AND occurred_at >= %(d30)s) AS opens_at,
    count(*) FILTER (WHERE kind = 'unsubscribe') AS unsubscribed
  FROM leads_interaction
  WHERE kind = 'unsubscribe' OR (kind IN ('email_click', 'email_open', 'web_visit') AND occurred_at >= %(d30)s)
     OR (kind = 'web_visit' AND occurred_at >= %(d60)s)
     OR (kind IN ('event_attended', 'form_submission') AND occurred_at >= %(d90)s)
  GROUP BY lead_id
), raw AS (
  SELECT l.id,
    least(
      (CASE WHEN lower(l.industry) IN ('financial services', 'professional services', 'software & saas') THEN 10 ELSE 0 END)
      + (CASE WHEN l.company_size BETWEEN 50 AND 5000 THEN 5 ELSE 0 END)
      + (CASE WHEN lower(l.job_title) LIKE '%%director%%' THEN 8 ELSE 0 END)
      + (CASE WHEN lower(l.job_title) LIKE '%%vp%%' THEN 8 ELSE 0 END)
      + (CASE WHEN lower(l.budget) = 'confirmed' THEN 12 ELSE 0 END)
      + (CASE WHEN lower(l.authority) = 'decision_maker' THEN 12 ELSE 0 END)
      + (CASE WHEN lower(l.authority) = 'influencer' THEN 5 ELSE 0 END)
      + (CASE WHEN lower(l.timeline) IN ('30', '90') THEN 10 ELSE 0 END)
      + (CASE WHEN lower(coalesce(l.attributes->>'source_form', '')) = 'pricing' THEN 6 ELSE 0 END)
      + (CASE WHEN lower(l.country) IN ('de', 'gb', 'us') THEN 3 ELSE 0 END), 50)
    + least(
      {_decayed("CASE WHEN coalesce(a.visits, 0) BETWEEN 3 AND 5 THEN 5 WHEN coalesce(a.visits, 0) >= 6 THEN 10 ELSE 0 END", "a.visits_at")}
      + {_decayed("CASE WHEN coalesce(a.pages, 0) BETWEEN 10 AND 24 THEN 3 WHEN coalesce(a.pages, 0) >= 25 THEN 6 ELSE 0 END", "a.visits_at")}
      + {_decayed("CASE WHEN coalesce(a.pricing, 0) >= 1 THEN 15 ELSE 0 END", "a.pricing_at")}
      + {_decayed("CASE WHEN coalesce(a.demo, 0) >= 1 THEN 30 ELSE 0 END", "a.demo_at")}
      + {_decayed("CASE WHEN coalesce(a.forms, 0) >= 1 THEN 10 ELSE 0 END", "a.forms_at")}
      + {_decayed("CASE WHEN coalesce(a.clicks, 0) >= 2 THEN 5 ELSE 0 END", "a.clicks_at")}
      + {_decayed("CASE WHEN coalesce(a.events, 0) >= 1 THEN 8 ELSE 0 END", "a.events_at")}
      + {_decayed("CASE WHEN coalesce(a.opens, 0) >= 3 THEN 2 ELSE 0 END", "a.opens_at")}, 50)
    + ((CASE WHEN coalesce(a.unsubscribed, 0) >= 1 THEN -20 ELSE 0 END)
      + (CASE WHEN l.last_activity_at < %(d30)s THEN -10 ELSE 0 END)) AS raw
  FROM leads_lead l LEFT JOIN agg a ON a.lead_id = l.id
), scored AS (
  SELECT id, greatest(least(floor(raw::float8 + 0.5)::int, 100), 0) AS score FROM raw
)
INSERT INTO scoring_leadscore (lead_id, model_id, score, grade, computed_at)
SELECT id, %(model)s, score,
  CASE WHEN score >= 80 THEN 'A' WHEN score >= 60 THEN 'B' WHEN score >= 40 THEN 'C' ELSE 'D' END, %(now)s
FROM scored
ON CONFLICT (lead_id) DO UPDATE SET model_id = excluded.model_id, score = excluded.score, grade = excluded.grade,
  computed_at = excluded.computed_at
WHERE scoring_leadscore.model_id <> excluded.model_id OR scoring_leadscore.score <> excluded.score
  OR scoring_leadscore.grade <> excluded.grade
"""

BASELINE_HISTORY = """
INSERT INTO scoring_scorechange (lead_id, model_id, score, grade, previous_score, previous_grade, reason, recorded_at)
SELECT l.id, ls.model_id, ls.score, ls.grade, l.score, l.grade, 'publish', %(now)s
FROM scoring_leadscore ls JOIN leads_lead l ON l.id = ls.lead_id
WHERE l.score IS NULL OR l.grade <> ls.grade
"""

BASELINE_COPY = """
UPDATE leads_lead SET score = ls.score, grade = ls.grade, scored_at = %(now)s
FROM scoring_leadscore ls
WHERE ls.lead_id = leads_lead.id AND (leads_lead.score IS NULL OR leads_lead.score <> ls.score OR leads_lead.grade <> ls.grade)
"""


def _setup_django(database_url: str | None) -> None:
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    import django

    django.setup()


def _bench_model():
    from scoring.models import GradeBand, Rule, RuleGroup, ScoringModel
    from scoring.services.models_edit import _next_version

    model = ScoringModel.objects.create(version=_next_version(), name="Bench: 20 rules", half_life_days=HALF_LIFE)
    groups = {
        name: RuleGroup.objects.create(model=model, name=name, cap=cap, position=i)
        for i, (name, cap) in enumerate(GROUPS)
    }
    for position, (group, name, kind, settings) in enumerate(RULES):
        Rule.objects.create(model=model, group=groups[group], name=name, kind=kind, position=position, **settings)
    for grade, low, high in (("A", 80, 100), ("B", 60, 79), ("C", 40, 59), ("D", 0, 39)):
        GradeBand.objects.create(model=model, grade=grade, min_score=low, max_score=high)
    return model


def _checksum() -> tuple:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), sum(score), sum(CASE WHEN grade = 'A' THEN 1 ELSE 0 END) FROM leads_lead")
        return cursor.fetchone()


def measure(database_url: str | None = None, out=sys.stdout) -> dict:
    _setup_django(database_url)
    from django.db import connection, transaction

    from crm import clock
    from leads.models import Lead
    from scoring import selectors, services
    from scoring.models import ScoreChange, ScoringModel

    leads = Lead.objects.count()
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'leads_interaction'")
        interactions = cursor.fetchone()[0]
    print(f"{NAME}: {leads:,} leads, ~{interactions:,} interactions", file=out)

    # Warm-up: everything scored by the live (default) model, as a running CRM would be.
    live = selectors.published_model()
    if Lead.objects.filter(score__isnull=True).exists():
        started = time.monotonic()
        run = services.scoring_run_start(model=live, reason=ScoreChange.Reason.RECALCULATE, queue=False)
        services.scoring_run_execute(run_id=run.pk)
        print(f"  warm-up (first scoring, v{live.version}): {time.monotonic() - started:.1f} s", file=out)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE bench_before AS SELECT id, score, grade, scored_at FROM leads_lead")
        cursor.execute("CREATE TEMP TABLE bench_scores AS SELECT * FROM scoring_leadscore")

    def restore():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                """UPDATE leads_lead SET score = b.score, grade = b.grade, scored_at = b.scored_at FROM bench_before b
                   WHERE b.id = leads_lead.id AND (leads_lead.score IS DISTINCT FROM b.score OR leads_lead.grade <> b.grade)"""
            )
            cursor.execute("DELETE FROM scoring_scorechange WHERE model_id = %s", [bench.pk])
            cursor.execute("TRUNCATE scoring_leadscore")
            cursor.execute("INSERT INTO scoring_leadscore SELECT * FROM bench_scores")
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE leads_lead")
            cursor.execute("VACUUM ANALYZE scoring_leadscore")

    bench = _bench_model()
    ScoringModel.objects.filter(status="published").update(status="archived")
    ScoringModel.objects.filter(pk=bench.pk).update(status="published")
    now = clock.now()

    def ours_run(reason):
        timings: dict = {}
        started = time.monotonic()
        run = services.scoring_run_start(model=bench, reason=reason, queue=False)
        run = services.scoring_run_execute(run_id=run.pk, timings=timings)
        return time.monotonic() - started, run, timings

    def baseline_run(params):
        started = time.monotonic()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(BASELINE_SCORES, params)
            cursor.execute(BASELINE_HISTORY, params)
            cursor.execute(BASELINE_COPY, params)
            changed = cursor.rowcount
        return time.monotonic() - started, changed

    try:
        # Ours: what publishing does in the background; then the same model again (like the nightly pass when
        # little has changed: scores are recomputed and recorded, few lead rows are rewritten).
        ours, run, phases = ours_run(ScoreChange.Reason.PUBLISH)
        ours_sum = _checksum()
        now = run.started_at
        ours_again, run_again, phases_again = ours_run(ScoreChange.Reason.RECALCULATE)
        restore()

        # Baseline: the same computation and writes, by hand, at the same moment.
        from datetime import timedelta

        params = {
            "now": now,
            "model": bench.pk,
            "d30": now - timedelta(days=30),
            "d60": now - timedelta(days=60),
            "d90": now - timedelta(days=90),
        }
        baseline, baseline_changed = baseline_run(params)
        baseline_sum = _checksum()
        baseline_again, _ = baseline_run(params)
        restore()
    finally:
        ScoringModel.objects.filter(pk=bench.pk).update(status="archived")
        ScoringModel.objects.filter(pk=live.pk).update(status="published")
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM scoring_scoringrun WHERE model_id = %s", [bench.pk])
        bench.delete()

    same = ours_sum == baseline_sum
    ratio = ours / baseline if baseline else float("inf")
    ratio_again = ours_again / baseline_again if baseline_again else float("inf")

    def steps(phases):
        return ", ".join(f"{name} {seconds:.1f} s" for name, seconds in phases.items())

    lines = [
        f"  publish a new model ({run.leads_changed:,} lead rows change score or grade):",
        f"    ours (ORM-built, chunks of {services.rescore.CHUNK_SIZE:,} leads): {ours:.1f} s  [{steps(phases)}]",
        f"    baseline (hand-written SQL, whole table at once, {baseline_changed:,} changed): {baseline:.1f} s",
        f"    ratio ours/baseline: {ratio:.2f}x · same scores: {'yes' if same else 'NO'} ({ours_sum} vs {baseline_sum})",
        f"  the same model again ({run_again.leads_changed:,} lead rows change, like a quiet night's decay):",
        f"    ours: {ours_again:.1f} s  [{steps(phases_again)}] · baseline: {baseline_again:.1f} s"
        f" · ratio {ratio_again:.2f}x",
        f"  target ≤ {TARGET_SECONDS:.0f} s for a publish: {'met' if ours <= TARGET_SECONDS else 'MISSED'}"
        f" (scores computed in {phases.get('compute', 0):.1f} s, recorded in {phases.get('record', 0):.1f} s)",
    ]
    for line in lines:
        print(line, file=out)
    return {
        "name": NAME,
        "seconds": ours,
        "baseline_seconds": baseline,
        "ratio": ratio,
        "phases": phases,
        "same_model_seconds": ours_again,
        "same_model_baseline_seconds": baseline_again,
        "same_scores": same,
        "target_seconds": TARGET_SECONDS,
        "ok": same and ours <= TARGET_SECONDS,
        "leads": leads,
        "interactions": interactions,
    }


def run(ctx) -> list:
    """Entry point for `python -m bench`: measure in a Django subprocess on `crm_bench_scoring`, a copy of the
    seeded 1M-lead database (made on the first run), and turn its figures into verdicts."""
    import json
    import subprocess
    import tempfile
    from pathlib import Path

    from bench._harness import Verdict, django_env, seeded_copy

    url = seeded_copy(ctx, "scoring")
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        out = Path(tmp) / "result.json"
        subprocess.run(
            [ctx.python, "-m", "bench.scoring", "--out", str(out)],
            cwd=ctx.project_dir,
            env=django_env(ctx, url),
            check=True,
        )
        f = json.loads(out.read_text())
    return [
        Verdict(
            f"scoring: publish rescoring {f['leads']:,} leads ({f['interactions']:,} interactions) ≤ {TARGET_SECONDS:.0f} s",
            f["seconds"] <= TARGET_SECONDS,
            f"{f['seconds']:.1f} s (hand-written SQL {f['baseline_seconds']:.1f} s, {f['ratio']:.2f}×)",
        ),
        Verdict(
            "scoring: ORM path and hand-written SQL leave the same scores",
            f["same_scores"],
            "checksums of scores and grades compared",
        ),
    ]


if __name__ == "__main__":
    import argparse
    import json

    parser = argparse.ArgumentParser()
    parser.add_argument("--out", help="also write the figures as JSON to this file")
    args = parser.parse_args()
    result = measure(os.environ.get("DATABASE_URL"))
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(result, fh, default=str)
    sys.exit(0 if result["ok"] or args.out else 1)
