"""A model discovered from real leads against a plain logistic regression on the same fields and split.

The data: the X Education "Lead Scoring" file (9,240 leads of an online-course seller, 37 columns, `Converted`
0/1), a real public lead-scoring dataset nobody here generated. Its path comes from `BENCH_XEDUCATION_CSV` (or
`--csv`); without it a generated file of the same shape (same columns, value kinds and size, planted effects) is
used, so `make bench` always runs, and the output says which it was. docs/benchmarks.md says where to get the file.

On its own database (`crm_bench_discover`, emptied of leads first) the leads are written in bulk: `Lead Source`
becomes the channel, every other pre-contact column a custom attribute (numbers as JSON numbers), `Converted` won
or lost. Columns the sales team fills in after contact (Tags, Lead Quality, Lead Profile, the Asymmetrique
indexes and scores, Last Activity, Last Notable Activity) and the identities (Prospect ID, Lead Number) are left
out of both models.

Then:
1. **Ours**: `scoring_model_discover` (what `suggest_weights --discover` runs): candidate rules, relaxed lasso,
   whole points; its held-out ROC AUC of the draft's points.
2. **Baseline**: scikit-learn's `LogisticRegression` (default settings) on the same fields, one-hot categories and
   standardised numbers (median for missing), trained and judged on the same 75/25 split (same seed, same
   stratification).
3. The draft is published and every lead rescored by the ordinary bulk run; the ROC AUC of the scores the
   engine wrote, on the held-out leads, must equal the draft's reported one (the discovery's features and the
   engine agree).

4. **Hundreds of rules**: on a copy of the seeded demo database of the largest of `BENCH_SIZES`
   (`crm_bench_discover_rescore_1m` by default), a model of 300 rules proposed by the discovery from the demo
   leads (every candidate, with support down to 0.05 %: fit values, number steps, activity tiers, pages) is
   published and every lead rescored, beside the default 19-rule model on the same data; the time per million leads is compared with the
   rescoring target (a publish over 1,000,000 leads in at most 30 s, bench `scoring`).

    python -m bench discover           (with the others: make bench)
    DATABASE_URL=postgres://.../crm_bench_discover python -m bench.discover [--csv Leads.csv]   (alone)
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import random
import re
import tempfile
import time
from pathlib import Path

NAME = "discover: discovered model vs logistic regression on X Education leads"
ENV_CSV = "BENCH_XEDUCATION_CSV"
ROWS = 9240
SEED = 0
TOLERANCE = 0.005  # "matches": within half a point of AUC

OUTCOME, CHANNEL = "Converted", "Lead Source"
IDENTITIES = ("Prospect ID", "Lead Number")
AFTER_CONTACT = (
    "Tags",
    "Lead Quality",
    "Lead Profile",
    "Asymmetrique Activity Index",
    "Asymmetrique Profile Index",
    "Asymmetrique Activity Score",
    "Asymmetrique Profile Score",
    "Last Activity",
    "Last Notable Activity",
)
NUMBERS = ("TotalVisits", "Total Time Spent on Website", "Page Views Per Visit")
COLUMNS = [
    "Prospect ID", "Lead Number", "Lead Origin", "Lead Source", "Do Not Email", "Do Not Call", "Converted",
    "TotalVisits", "Total Time Spent on Website", "Page Views Per Visit", "Last Activity", "Country",
    "Specialization", "How did you hear about X Education", "What is your current occupation",
    "What matters most to you in choosing a course", "Search", "Magazine", "Newspaper Article", "X Education Forums",
    "Newspaper", "Digital Advertisement", "Through Recommendations", "Receive More Updates About Our Courses", "Tags",
    "Lead Quality", "Update me on Supply Chain Content", "Get updates on DM Content", "Lead Profile", "City",
    "Asymmetrique Activity Index", "Asymmetrique Profile Index", "Asymmetrique Activity Score",
    "Asymmetrique Profile Score", "I agree to pay the amount through cheque",
    "A free copy of Mastering The Interview", "Last Notable Activity",
]  # fmt: skip


def attribute_key(column: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", column.lower()).strip("_")[:60]


def fields(header: list[str]) -> tuple[list[str], list[str]]:
    """The columns both models learn from: (categorical, numeric)."""
    skipped = {OUTCOME, *IDENTITIES, *AFTER_CONTACT}
    used = [c for c in header if c not in skipped]
    return [c for c in used if c not in NUMBERS], [c for c in used if c in NUMBERS]


# --- a file of the same shape -------------------------------------------------------------------------------------


def generate_csv(path: Path, *, rows: int = ROWS, seed: int = 7) -> None:
    """X Education's columns with values of the same kinds, and conversion shaped by some of them (non-linearly
    for time on site, as in the real file) plus noise columns."""
    rng = random.Random(seed)
    sources = ["Google", "Direct Traffic", "Olark Chat", "Organic Search", "Reference", "Welingak Website"]
    source_effect = {"Google": 0.0, "Direct Traffic": -0.3, "Olark Chat": -0.6, "Organic Search": 0.0,
                     "Reference": 2.2, "Welingak Website": 2.8}  # fmt: skip
    origins = {"Landing Page Submission": 0.0, "API": -0.3, "Lead Add Form": 2.0, "Lead Import": -0.5}
    occupations = {"Unemployed": 0.0, "Working Professional": 2.3, "Student": -0.2, "": -1.0}
    cities = ["Mumbai", "Select", "Thane & Outskirts", "Other Cities", ""]
    specs = ["Select", "Finance Management", "Marketing Management", "Human Resource Management", ""]
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        for i in range(rows):
            source, origin = rng.choice(sources), rng.choice(list(origins))
            occupation = rng.choices(list(occupations), weights=[60, 8, 3, 29])[0]
            visits = int(rng.lognormvariate(1.0, 0.9)) if rng.random() > 0.02 else None
            seconds = 0 if rng.random() < 0.25 else int(rng.lognormvariate(6.0, 1.1))
            pages = round(rng.uniform(1, 5), 2) if visits else 0.0
            no_email = rng.random() < 0.08
            logit = (
                -1.4 + source_effect[source] + origins[origin] + occupations[occupation]
                + (1.6 if seconds > 900 else 0.9 if seconds > 400 else 0.0) - 1.2 * no_email
            )  # fmt: skip
            won = rng.random() < 1 / (1 + math.exp(-logit))
            row = dict.fromkeys(COLUMNS, "No")
            row.update(
                {
                    "Prospect ID": f"{i:08x}-0000-4000-8000-{rng.randrange(16**12):012x}",
                    "Lead Number": f"{600000 + i}.0",
                    "Lead Origin": origin,
                    "Lead Source": source,
                    "Do Not Email": "Yes" if no_email else "No",
                    "Converted": "1.0" if won else "0.0",
                    "TotalVisits": "" if visits is None else f"{visits}.0",
                    "Total Time Spent on Website": f"{seconds}.0",
                    "Page Views Per Visit": "" if visits is None else f"{pages}",
                    "Last Activity": rng.choice(["Email Opened", "SMS Sent", "Page Visited on Website"]),
                    "Country": rng.choice(["India", "India", "India", "", "United States"]),
                    "Specialization": rng.choice(specs),
                    "How did you hear about X Education": rng.choice(["Select", "Online Search", ""]),
                    "What is your current occupation": occupation,
                    "What matters most to you in choosing a course": rng.choice(["Better Career Prospects", ""]),
                    "Search": "Yes" if rng.random() < 0.01 else "No",
                    "Tags": "Will revert after reading the email" if won else "Ringing",
                    "Lead Quality": rng.choice(["Might be", "Not Sure", ""]),
                    "Lead Profile": rng.choice(["Select", "Potential Lead", ""]),
                    "City": rng.choice(cities),
                    "Asymmetrique Activity Index": rng.choice(["01.High", "02.Medium", ""]),
                    "Asymmetrique Profile Index": rng.choice(["01.High", "02.Medium", ""]),
                    "Asymmetrique Activity Score": rng.choice(["14.0", "15.0", ""]),
                    "Asymmetrique Profile Score": rng.choice(["15.0", "17.0", ""]),
                    "A free copy of Mastering The Interview": "Yes" if rng.random() < 0.3 else "No",
                    "Last Notable Activity": rng.choice(["Modified", "Email Opened"]),
                }
            )
            writer.writerow([row[c] for c in COLUMNS])


# --- in Django --------------------------------------------------------------------------------------------------


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def load(rows: list[dict], header: list[str]) -> list[int]:
    """Empty the bench database of leads and write these in bulk; the new leads' ids, in the rows' order."""
    import datetime as dt

    from django.db import connection, transaction

    from leads.models import Channel, Lead
    from scoring.models import ScoringModel

    categorical, numeric = fields(header)
    close = dt.datetime(2026, 1, 15, 12, tzinfo=dt.UTC)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE leads_lead, scoring_leadscore, scoring_scorechange, scoring_scoringrun CASCADE")
        ScoringModel.objects.exclude(status=ScoringModel.Status.PUBLISHED).delete()
        channels = {}
        for name in sorted({row[CHANNEL].strip() for row in rows if row.get(CHANNEL, "").strip()}):
            channels[name] = Channel.objects.get_or_create(name=name[:100])[0]
        leads = []
        for i, row in enumerate(rows):
            won = _number(row[OUTCOME]) == 1.0
            attributes = {}
            for column in categorical:
                if column != CHANNEL and row.get(column, "").strip():
                    attributes[attribute_key(column)] = row[column].strip()
            for column in numeric:
                value = _number(row.get(column, ""))
                if value is not None:
                    attributes[attribute_key(column)] = value
            created = close - dt.timedelta(days=30)
            leads.append(
                Lead(
                    name=f"Prospect {row.get('Prospect ID', i)[:8]}",
                    channel=channels.get(row.get(CHANNEL, "").strip()),
                    attributes=attributes,
                    stage="won" if won else "lost",
                    deal_value=1000 if won else None,
                    won_at=close if won else None,
                    lost_reason="" if won else "other",
                    stage_changed_at=close,
                    created_at=created,
                    last_activity_at=close,
                )
            )
        created = Lead.objects.bulk_create(leads, batch_size=2000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE leads_lead")
    return [lead.pk for lead in created]


def baseline_auc(rows: list[dict], header: list[str], test_index) -> tuple[float, int]:
    """Plain logistic regression on the same columns and split: one-hot categories, standardised numbers."""
    import numpy as np
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    categorical, numeric = fields(header)
    y = np.array([1 if _number(r[OUTCOME]) == 1.0 else 0 for r in rows])
    cats = np.array([[r.get(c, "").strip() for c in categorical] for r in rows], dtype=object)
    nums = np.array([[_number(r.get(c, "")) for c in numeric] for r in rows], dtype=float)
    x = np.concatenate([cats, nums], axis=1)
    k = len(categorical)
    model = make_pipeline(
        ColumnTransformer(
            [
                ("categories", OneHotEncoder(handle_unknown="ignore"), list(range(k))),
                (
                    "numbers",
                    make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
                    list(range(k, x.shape[1])),
                ),
            ]
        ),
        LogisticRegression(max_iter=5000),
    )
    test = np.zeros(len(rows), dtype=bool)
    test[test_index] = True
    model.fit(x[~test], y[~test])
    width = model[0].transform(x[:1]).shape[1]
    return float(roc_auc_score(y[test], model.decision_function(x[test]))), width


def measure(csv_path: str | None, out=None) -> dict:
    """Load, discover, fit the baseline, publish; returns the figures (and the lines printed, for the runner)."""
    out = out or io.StringIO()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    import django

    django.setup()
    import numpy as np
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    from leads.models import Lead
    from scoring import services
    from scoring.models import Rule
    from scoring.services.discovery import discover, draft_from_discovery

    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        if csv_path:
            source = f"the X Education file ({csv_path})"
        else:
            csv_path = str(Path(tmp) / "generated.csv")
            generate_csv(Path(csv_path))
            source = f"a GENERATED file of X Education's shape (set {ENV_CSV} for the real one)"
        with open(csv_path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = list(reader.fieldnames or [])
            rows = [row for row in reader if _number(row.get(OUTCOME, "")) in (0.0, 1.0)]
    categorical, numeric = fields(header)
    print(f"{NAME}\n  data: {source}", file=out)
    print(
        f"  {len(rows):,} leads, {sum(_number(r[OUTCOME]) == 1.0 for r in rows):,} converted; "
        f"{len(categorical)} categorical and {len(numeric)} numeric columns used by both models",
        file=out,
    )
    started = time.monotonic()
    ids = load(rows, header)
    loaded = time.monotonic() - started

    started = time.monotonic()
    found = discover(seed=SEED)
    draft = draft_from_discovery(found=found, user=None)
    discovered_seconds = time.monotonic() - started
    report = draft.suggestion
    assert found["history"].ids == ids, "the leads were read back in another order"

    y = np.array(found["history"].won)
    _, test_index = train_test_split(np.arange(len(y)), test_size=0.25, random_state=SEED, stratify=y)
    started = time.monotonic()
    lr_auc, lr_width = baseline_auc(rows, header, test_index)
    lr_seconds = time.monotonic() - started

    # Publish the draft and rescore every lead the ordinary way; judge the scores the engine wrote.
    started = time.monotonic()
    run = services.scoring_model_publish(model=draft, user=None)
    services.scoring_run_execute(run_id=run.pk)
    publish_seconds = time.monotonic() - started
    scores = dict(Lead.objects.values_list("id", "score"))
    test_ids = [ids[i] for i in test_index]
    engine_auc = float(roc_auc_score(y[test_index], [scores[i] for i in test_ids]))
    rules = Rule.objects.filter(model=draft).count()

    ours = report["test_auc_points"]
    print(
        f"  held-out ROC AUC on the same {len(test_index):,} leads (trained on {report['train_leads']:,}):\n"
        f"    discovered draft v{draft.version}: {ours:.3f}  ({report['rules']} rules kept of "
        f"{report['candidates']} candidates, {report['features']} features; whole points; {discovered_seconds:.1f} s)\n"
        f"    scikit-learn LogisticRegression: {lr_auc:.3f}  ({lr_width} one-hot and scaled columns; "
        f"{lr_seconds:.1f} s)\n"
        f"    difference (discovered − regression): {ours - lr_auc:+.3f}\n"
        f"  published and rescored {len(ids):,} leads with the {rules}-rule draft in {publish_seconds:.1f} s; "
        f"AUC of the scores the engine wrote: {engine_auc:.3f} (reported {ours:.3f})\n"
        f"  (loading the leads took {loaded:.1f} s)",
        file=out,
    )
    print(
        f"  the draft's rules: {', '.join(sorted(r.name for r in Rule.objects.filter(model=draft))[:12])}, …", file=out
    )
    return {
        "lines": out.getvalue().splitlines() if hasattr(out, "getvalue") else [],
        "source": source,
        "real": not source.startswith("a GENERATED"),
        "leads": len(ids),
        "ours": ours,
        "baseline": lr_auc,
        "engine_auc": engine_auc,
        "rules": rules,
        "candidates": report["candidates"],
        "publish_seconds": publish_seconds,
    }


MANY_RULES = 300
RESCORE_TARGET_SECONDS_PER_MILLION = 30.0


def measure_many_rules(out=None) -> dict:
    """Publish a 300-rule model over the seeded demo leads, and the default model, timing both runs."""
    out = out or io.StringIO()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from leads.models import Lead
    from scoring import services
    from scoring.models import Rule, ScoreChange, ScoringModel
    from scoring.services import discovery

    # Every candidate the data offers, numbers cut at each percentile: more than MANY_RULES.
    discovery.MIN_SUPPORT, discovery.MAX_VALUES_PER_FIELD = 0.0005, 60
    discovery.NUMBER_STEPS = tuple(i / 100 for i in range(1, 100))
    candidates, _ = discovery._candidates(discovery._read_history())
    engagement = [c for c in candidates if c.group == "Engagement"]
    fit = [c for c in candidates if c.group != "Engagement"][: MANY_RULES - len(engagement)]
    rng = random.Random(3)
    chosen = [(c, [rng.choice([-6, -3, 2, 4, 7, 11]) for _ in c.features]) for c in fit + engagement]
    report = {"won": 0, "lost": 0, "rules": len(chosen), "candidates": len(candidates), "test_leads": 0}
    found = {
        "rules": chosen,
        "bands": [("A", 60, 1000), ("B", 20, 59), ("C", -20, 19), ("D", -1000, -21)],
        "score_min": -1000,
        "score_max": 1000,
        "report": {**report, "test_auc_points": None},
    }
    model = discovery.draft_from_discovery(found=found, user=None)
    ScoringModel.objects.filter(pk=model.pk).update(name=f"Bench: {len(chosen)} rules")
    default = ScoringModel.objects.get(version=1)
    leads = Lead.objects.count()

    def rescore(version: ScoringModel, label: str) -> tuple[float, int]:
        # The state autovacuum keeps a live database in between two publishes (the bench server runs without
        # it): without this, each run's dead rows (a million per publish) slow the next one down.
        with connection.cursor() as cursor:
            for table in ("leads_lead", "scoring_leadscore", "scoring_scorechange"):
                cursor.execute(f"VACUUM ANALYZE {table}")
        ScoringModel.objects.filter(status=ScoringModel.Status.PUBLISHED).update(status=ScoringModel.Status.ARCHIVED)
        ScoringModel.objects.filter(pk=version.pk).update(status=ScoringModel.Status.PUBLISHED)
        started = time.monotonic()
        run = services.scoring_run_start(model=version, reason=ScoreChange.Reason.PUBLISH, queue=False)
        run = services.scoring_run_execute(run_id=run.pk, timings=phases.setdefault(label, {}))
        return time.monotonic() - started, run.leads_changed

    phases: dict = {}
    bench_started = timezone.now()  # the clock the runs stamp their history with
    try:
        default_seconds, _ = rescore(default, "default")
        many_seconds, changed = rescore(model, "many")
    finally:
        rescore(default, "restore")  # the copy stays as seeded: every lead scored by the default model
        ScoringModel.objects.filter(pk=model.pk).update(status=ScoringModel.Status.ARCHIVED)
        # ...and with the history it had: the restore run's million rows would otherwise stay, and every later
        # run would write its history into a table (and indexes) a million rows bigger.
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM scoring_scorechange WHERE recorded_at >= %s", [bench_started])
    rules = Rule.objects.filter(model=model).count()
    kinds = dict.fromkeys(("fit", "activity", "has_done"), 0)
    for kind in Rule.objects.filter(model=model).values_list("kind", flat=True):
        kinds[kind] += 1
    per_million = many_seconds * 1_000_000 / leads
    print(
        f"  publishing a {rules}-rule model ({kinds['fit']} fit, {kinds['activity']} activity in tiers, "
        f"{kinds['has_done']} has-done) over {leads:,} demo leads: {many_seconds:.1f} s ({changed:,} changed); "
        f"the default 19-rule model: {default_seconds:.1f} s ({many_seconds / default_seconds:.1f}×)\n"
        f"  per million leads: {per_million:.0f} s (target for a publish: ≤ {RESCORE_TARGET_SECONDS_PER_MILLION:.0f} s)\n"
        f"  {settings.SCORING_PARALLEL_CHUNKS} chunks at once (SCORING_PARALLEL_CHUNKS); phases (seconds summed over "
        f"the chunks' threads), {rules} rules: {_phases(phases['many'])}; 19 rules: {_phases(phases['default'])}",
        file=out,
    )
    with connection.cursor() as cursor:  # its history and runs, so the bench model can go
        cursor.execute("DELETE FROM scoring_scorechange WHERE model_id = %s", [model.pk])
        cursor.execute("DELETE FROM scoring_scoringrun WHERE model_id = %s", [model.pk])
    model.delete()
    return {
        "lines": out.getvalue().splitlines(),
        "rules": rules,
        "leads": leads,
        "seconds": many_seconds,
        "default_seconds": default_seconds,
        "per_million": per_million,
        "parallel": settings.SCORING_PARALLEL_CHUNKS,
        "phases": phases,
    }


def _phases(timings: dict) -> str:
    return ", ".join(f"{name} {seconds:.1f} s" for name, seconds in timings.items())


def run(ctx) -> list:
    from bench._harness import Verdict, migrated_database, run_django_json, seeded_copy, size_label

    url = migrated_database(ctx, "discover")
    args = ["--csv", os.environ[ENV_CSV]] if os.environ.get(ENV_CSV) else []
    f = run_django_json(ctx, url, "bench.discover", *args)
    print("\n".join(f["lines"]))
    # The rescoring target is set at a million leads: measured at the largest size, on a copy of its own.
    many_leads = max(ctx.sizes)
    many_url = seeded_copy(ctx, f"discover_rescore_{size_label(many_leads)}", leads=many_leads)
    m = run_django_json(ctx, many_url, "bench.discover", "--many-rules")
    print("\n".join(m["lines"]))
    which = "X Education" if f["real"] else "generated X Education-shaped data"
    return [
        Verdict(
            f"discover: the discovered draft matches or beats a logistic regression on {which} (held-out ROC AUC)",
            f["ours"] >= f["baseline"] - TOLERANCE,
            f"{f['ours']:.3f} vs {f['baseline']:.3f} ({f['ours'] - f['baseline']:+.3f}; 'matches' is within "
            f"{TOLERANCE})",
        ),
        Verdict(
            "discover: the published draft's scores rank the held-out leads as the discovery reported",
            abs(f["engine_auc"] - f["ours"]) < 1e-9,
            f"{f['engine_auc']:.3f} from the engine's scores, {f['ours']:.3f} reported; {f['rules']} rules",
        ),
        Verdict(
            f"discover: a {m['rules']}-rule model publishes and rescores within the rescore target "
            f"(≤ {RESCORE_TARGET_SECONDS_PER_MILLION:.0f} s per million leads)",
            m["per_million"] <= RESCORE_TARGET_SECONDS_PER_MILLION,
            f"{m['seconds']:.1f} s for {m['leads']:,} leads, {m['per_million']:.0f} s per million "
            f"(default 19-rule model: {m['default_seconds']:.1f} s)",
        ),
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--csv", default=os.environ.get(ENV_CSV), help="the X Education Leads file, as CSV")
    parser.add_argument("--many-rules", action="store_true", help="time publishing a 300-rule model instead")
    parser.add_argument("--out", help="also write the figures as JSON to this file")
    args = parser.parse_args()
    result = measure_many_rules() if args.many_rules else measure(args.csv)
    print("\n".join(result["lines"]))
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(result, fh)
