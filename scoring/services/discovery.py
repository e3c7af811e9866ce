"""A model discovered from data: candidate rules proposed from the closed leads, points learned, useless rules
dropped, saved as a NEW DRAFT (never published by itself).

Candidates, each an ordinary rule the admin can read and edit:
* a lead field, the channel or a custom attribute **equals** one of its frequent values (each value at least
  `MIN_SUPPORT` of the leads), and **is filled in** where some leads leave it empty;
* a number (company size, budget amount, numeric attributes) **at least** each of the quantiles of its values
  (steps, so that the learned points draw any shape, not only a straight line);
* behaviour: per kind of marketing interaction (visits, forms, downloads, opens, clicks, events, unsubscribes),
  a tiered count (tiers cut at the quantiles of the counts), pages and seconds on site, and "has done" for each
  frequent page (the `url` detail) of that kind.

Features are taken **as of each lead's close** where the history allows: interactions count only when they
happened before the lead was won (`won_at`) or lost (`stage_changed_at`). The lead's facts are as they are now
(the CRM keeps no history of them). A rep's own outreach (calls, emails, meetings, notes) is not a candidate:
it follows the lead's progress rather than predicting it.

The points come from an L1-regularised logistic regression (the penalty chosen by cross-validated ROC AUC on the
training split): rules whose weight is zero are dropped. Weights become whole points on one scale, and the grade
bands are where the model's predicted chance to win passes 50 %, 25 % and 10 %. The held-out ROC AUC of the
draft's whole points is printed and stored with it.

Features are computed here in Python with the engine's own comparison rules (`scoring.fields`), not by the
engine's SQL: the engine scores as of now, discovery needs each lead as of its close. A test checks that the
published draft scores the training history the same way.

numpy and scikit-learn are imported by the functions that fit, never at module import (see `learning`).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, F, Q, TextField, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce

from crm import clock
from crm.models import User
from leads.models import CLOSED_STAGES, Interaction, Lead, Stage
from scoring.describe import KIND_NOUNS
from scoring.fields import (
    ATTRIBUTE_KEY_RE,
    ATTRIBUTE_PREFIX,
    FIT_FIELDS,
    NUMBER,
    NUMBER_TEXT_RE,
    attribute_text,
    detail_count,
)
from scoring.models import GradeBand, Rule, RuleGroup, ScoringModel
from scoring.services.models_edit import _ensure_may_configure, scoring_model_create_draft
from scoring.tiers import Tier, tiers_to_json

if TYPE_CHECKING:
    import numpy as np

# The newest closed leads a discovery reads: enough for stable rules; a feature matrix of a few dozen megabytes,
# fitted in seconds (the button waits for it).
MAX_TRAINING_LEADS = 30_000
MIN_OUTCOMES = 20  # of each of won and lost
MIN_SUPPORT = 0.005  # a candidate value or step must hold for at least this share of the leads...
MIN_SUPPORT_LEADS = 10  # ...and this many of them
MAX_VALUES_PER_FIELD = 20
NUMBER_STEPS = tuple(i / 10 for i in range(1, 10))  # "at least" each decile of a number's values
PENALTIES = (0.003, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 3.0)  # the lasso's C, weakest last
ENGAGEMENT_KINDS = (
    Interaction.Kind.WEB_VISIT,
    Interaction.Kind.FORM_SUBMISSION,
    Interaction.Kind.DOWNLOAD,
    Interaction.Kind.EMAIL_OPEN,
    Interaction.Kind.EMAIL_CLICK,
    Interaction.Kind.EVENT_ATTENDED,
    Interaction.Kind.UNSUBSCRIBE,
)
MEASURES = (Rule.Measure.PAGES, Rule.Measure.SECONDS)
MAX_PAGES_PER_KIND = 12
# Lead fields that name or reach a person or company, or are free text: never a rule of their own.
SKIPPED_FIELDS = {"email", "phone", "company", "need"}
# Whole points: a spread of this many points between the 1st and 99th percentile of the training leads' scores.
SCORE_SPREAD = 100
BAND_CHANCES = (("A", 0.5), ("B", 0.25), ("C", 0.10))  # D below


@dataclass
class Candidate:
    """One proposed rule and how to evaluate it on a lead's values. Tiered rules give one feature per tier."""

    group: str
    name: str
    settings: dict
    features: list = field(default_factory=list)  # one column index per tier (one for untiered rules)
    tiers: tuple[Tier, ...] = ()


@dataclass
class History:
    ids: list[int]
    won: list[int]
    texts: dict[str, list[str]]  # field name → lower-cased text per lead ("" when empty)
    display: dict[str, dict[str, str]]  # field name → lower-cased text → the spelling shown
    numbers: dict[str, list[float | None]]
    counts: dict[tuple[str, str], list[int]]  # (kind, measure) → per lead, before the close
    pages: dict[str, dict[str, list[int]]]  # kind → url → per lead, before the close


# --- reading the history --------------------------------------------------------------------------------------


def _read_history() -> History:
    closed = Lead.objects.filter(stage__in=CLOSED_STAGES)
    newest = list(closed.order_by("-id").values_list("id", flat=True)[:MAX_TRAINING_LEADS])
    columns = [f.lookup for name, f in FIT_FIELDS.items() if name not in SKIPPED_FIELDS]
    rows = list(
        Lead.objects.filter(id__in=newest).order_by("id").values("id", "stage", "attributes", *dict.fromkeys(columns))
    )
    ids = [row["id"] for row in rows]
    position = {lead_id: i for i, lead_id in enumerate(ids)}
    won = [1 if row["stage"] == Stage.WON else 0 for row in rows]
    n = len(rows)
    texts: dict[str, list[str]] = {}
    display: dict[str, dict[str, str]] = {}
    numbers: dict[str, list[float | None]] = {}
    for name, fit in FIT_FIELDS.items():
        if name in SKIPPED_FIELDS:
            continue
        values = [row[fit.lookup] for row in rows]
        if fit.type == NUMBER:
            numbers[name] = [None if v is None else float(v) for v in values]
        else:
            texts[name], display[name] = _texts(["" if v is None else str(v) for v in values])
    keys = Counter(k for row in rows for k in (row["attributes"] or {}) if ATTRIBUTE_KEY_RE.match(k))
    for key, _ in keys.most_common():
        raw = [attribute_text((row["attributes"] or {}).get(key)) for row in rows]
        filled = [t for t in raw if t != ""]
        numeric = [t for t in filled if NUMBER_TEXT_RE.match(t)]
        name = ATTRIBUTE_PREFIX + key
        if filled and len(numeric) >= 0.9 * len(filled) and len(set(numeric)) > len(NUMBER_STEPS) + 1:
            numbers[name] = [float(t) if NUMBER_TEXT_RE.match(t) else None for t in raw]
        else:
            texts[name], display[name] = _texts(raw)

    # Behaviour before the close: counts, pages and seconds per kind; counts per kind and page.
    before_close = Q(lead_id__in=ids, kind__in=ENGAGEMENT_KINDS) & Q(
        occurred_at__lt=Coalesce(F("lead__won_at"), F("lead__stage_changed_at"))
    )
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * n)
    pages: dict[str, dict[str, list[int]]] = defaultdict(dict)
    url = Coalesce(KeyTextTransform("url", "details"), Value(""), output_field=TextField())
    grouped = (
        Interaction.objects.filter(before_close)
        .annotate(url_text=url)
        .values("lead_id", "kind", "url_text")
        .annotate(n=Count("id"))
    )
    for row in grouped.iterator(chunk_size=20_000):
        i = position[row["lead_id"]]
        counts[row["kind"], Rule.Measure.COUNT][i] += row["n"]
        if row["url_text"]:
            pages[row["kind"]].setdefault(row["url_text"].lower(), [0] * n)[i] += row["n"]
    details = Interaction.objects.filter(before_close, kind=Interaction.Kind.WEB_VISIT).values_list(
        "lead_id", "details"
    )
    for lead_id, detail in details.iterator(chunk_size=20_000):
        for measure in MEASURES:
            amount = detail_count((detail or {}).get(measure))
            if amount:
                counts[Interaction.Kind.WEB_VISIT, measure][position[lead_id]] += amount
    return History(ids, won, texts, display, numbers, dict(counts), dict(pages))


def _texts(raw: list[str]) -> tuple[list[str], dict[str, str]]:
    spellings: dict[str, Counter] = defaultdict(Counter)
    lowered = []
    for text in raw:
        low = text.lower()
        lowered.append(low)
        if low:
            spellings[low][text] += 1
    return lowered, {low: c.most_common(1)[0][0] for low, c in spellings.items()}


# --- candidates -----------------------------------------------------------------------------------------------


def _label(name: str) -> str:
    if name.startswith(ATTRIBUTE_PREFIX):
        key = name[len(ATTRIBUTE_PREFIX) :]
        return key.replace("_", " ").strip().capitalize() or key
    return FIT_FIELDS[name].label


def _group_of(name: str) -> str:
    if name.startswith(ATTRIBUTE_PREFIX):
        return "Custom attributes"
    return "Channel" if name in ("channel", "channel_kind", "utm_source", "utm_medium", "utm_campaign") else "Fit"


def _number_text(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _candidates(history: History) -> tuple[list[Candidate], list[list[float]]]:
    """The candidate rules and their feature columns (one list of 0/1 per lead and feature)."""
    import numpy as np

    n = len(history.ids)
    least = max(MIN_SUPPORT_LEADS, math.ceil(MIN_SUPPORT * n))
    candidates: list[Candidate] = []
    columns: list = []

    seen: set[bytes] = set()

    def add(candidate: Candidate, feature_columns: list) -> None:
        # A rule that holds for exactly the same leads as one proposed before (a channel and its UTM source, a
        # form's name and its page) says nothing more: the first one stays.
        if len(feature_columns) == 1:
            key = np.asarray(feature_columns[0], dtype=bool).tobytes()
            if key in seen:
                return
            seen.add(key)
        candidate.features = list(range(len(columns), len(columns) + len(feature_columns)))
        columns.extend(feature_columns)
        candidates.append(candidate)

    def frequent(column: np.ndarray) -> bool:
        support = int(column.sum())
        return least <= support <= n - least

    for name, values in history.texts.items():
        label = _label(name)
        array = np.array(values, dtype=object)
        filled = array != ""
        if frequent(filled) and name not in ("budget", "authority", "timeline"):
            add(
                Candidate(_group_of(name), f"{label} is filled in", {"field": name, "operator": "is_set"}),
                [filled.astype(float)],
            )
        for low, _count in Counter(v for v in values if v).most_common(MAX_VALUES_PER_FIELD):
            shown = history.display[name][low]
            if len(shown) > 200:
                continue
            column = array == low
            if not frequent(column):
                continue
            add(
                Candidate(
                    _group_of(name),
                    _clip(f"{label} is {shown}"),
                    {"field": name, "operator": "equals", "value": shown},
                ),
                [column.astype(float)],
            )

    for name, values in history.numbers.items():
        label = _label(name)
        present = np.array([v is not None for v in values])
        if frequent(present):
            add(
                Candidate(_group_of(name), f"{label} is filled in", {"field": name, "operator": "is_set"}),
                [present.astype(float)],
            )
        known = np.array([v for v in values if v is not None], dtype=float)
        if len(known) < least:
            continue
        filled = np.array([-math.inf if v is None else v for v in values], dtype=float)
        steps = sorted({_decimal_step(q) for q in np.quantile(known, NUMBER_STEPS)})
        for step in steps:
            column = filled >= float(step)
            if not frequent(column):
                continue
            add(
                Candidate(
                    _group_of(name),
                    _clip(f"{label} at least {_number_text(step)}"),
                    {"field": name, "operator": "range", "range_min": step},
                ),
                [column.astype(float)],
            )

    for (kind, measure), values in sorted(history.counts.items()):
        array = np.array(values, dtype=float)
        tiers = _tiers(array[array > 0])
        columns_for = [((array >= t.min) & ((t.max is None) | (array <= (t.max or 0)))).astype(float) for t in tiers]
        kept = [(t, c) for t, c in zip(tiers, columns_for, strict=True) if frequent(c)]
        if not kept:
            continue
        noun = KIND_NOUNS.get(kind, (kind, kind))[1]
        what = {"count": noun, "pages": f"pages viewed on {noun}", "seconds": f"seconds on site on {noun}"}[measure]
        settings = {"interaction_kind": kind, "measure": measure, "decays": False}
        candidate = Candidate("Engagement", _clip(f"{what.capitalize()} before closing"), settings)
        candidate.tiers = tuple(t for t, _ in kept)
        add(candidate, [c for _, c in kept])

    for kind, by_url in sorted(history.pages.items()):
        noun = KIND_NOUNS.get(kind, (kind, kind))[0]
        totals = sorted(((sum(1 for x in v if x), url) for url, v in by_url.items()), reverse=True)
        for _support, url in totals[:MAX_PAGES_PER_KIND]:
            if len(url.strip("/")) < 2 or len(url) > 200:
                continue  # "/" is in every address: it says no more than "any visit"
            # The engine's "contains": every page whose address contains this one counts.
            column = np.zeros(n)
            for other, values in by_url.items():
                if url in other:
                    column = column + np.array(values, dtype=float)
            column = (column > 0).astype(float)
            if not frequent(column):
                continue
            add(
                Candidate(
                    "Engagement",
                    _clip(f"Has done a {noun} of {url}"),
                    {"kind": "has_done", "interaction_kind": kind, "detail_key": "url", "detail_contains": url},
                ),
                [column],
            )
    return candidates, columns


def _decimal_step(value: float) -> Decimal:
    """A quantile as the rule will store it: two decimals, rounded up so the step keeps its leads."""
    return Decimal(repr(float(value))).quantize(Decimal("0.01"), rounding=ROUND_CEILING)


def _tiers(nonzero: np.ndarray) -> tuple[Tier, ...]:
    """Tiers of a count, cut at the terciles of its non-zero values: e.g. 1, 2-3, 4+."""
    import numpy as np

    if len(nonzero) == 0:
        return ()
    cuts = sorted({math.ceil(q) for q in np.quantile(nonzero, (1 / 3, 2 / 3))} - {0})
    bounds = [1]
    for cut in cuts:
        if cut + 1 > bounds[-1]:
            bounds.append(cut + 1)
    tiers = []
    for i, low in enumerate(bounds):
        high = bounds[i + 1] - 1 if i + 1 < len(bounds) else None
        tiers.append(Tier(low, high, 1))
    return tuple(tiers)


def _clip(name: str) -> str:
    return name if len(name) <= 100 else name[:99] + "…"


# --- learning -----------------------------------------------------------------------------------------------------


def _auc(y, scores) -> float | None:
    from sklearn.metrics import roc_auc_score

    if len(set(y.tolist())) < 2:
        return None
    return float(roc_auc_score(y, scores))


def discover(*, seed: int = 0, history: History | None = None) -> dict:
    """Propose, fit and prune; returns the rules with whole points, the bands and the report (no writes)."""
    import numpy as np
    from sklearn.model_selection import train_test_split

    history = history or _read_history()
    y = np.array(history.won, dtype=int)
    won, lost = int(y.sum()), int(len(y) - y.sum())
    if won < MIN_OUTCOMES or lost < MIN_OUTCOMES:
        raise ValidationError(
            f"Not enough history: {won} won and {lost} lost leads; at least {MIN_OUTCOMES} of each are needed."
        )
    candidates, columns = _candidates(history)
    if not candidates:
        raise ValidationError("No field, attribute or activity of the closed leads varies enough to learn from.")
    x = np.column_stack(columns)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=seed, stratify=y)
    penalty_c, support, classifier = _fit(x_train, y_train, seed=seed)
    weights = np.zeros(x.shape[1])
    weights[support] = classifier.coef_[0]
    intercept = float(classifier.intercept_[0])

    # One scale for all: the training leads' scores spread SCORE_SPREAD points between their 1st and 99th
    # percentiles; a weight too small to make a whole point is dropped with the rest.
    logits = x_train @ weights
    spread = float(np.quantile(logits, 0.99) - np.quantile(logits, 0.01)) or 1.0
    scale = SCORE_SPREAD / spread
    points = np.array([max(-999, min(999, round(float(w) * scale))) for w in weights], dtype=float)

    raw_train = x_train @ points
    low, high = float(raw_train.min()), float(raw_train.max())
    score_min = max(-1000, min(0, math.floor(low) - 10))
    score_max = min(1000, max(100, math.ceil(high) + 10))
    bands = _bands(intercept=intercept, scale=scale, score_min=score_min, score_max=score_max)

    kept = []
    for candidate in candidates:
        feature_points = [int(points[i]) for i in candidate.features]
        if not any(feature_points):
            continue
        kept.append((candidate, feature_points))

    def clamp(raw):
        return np.clip(np.floor(raw + 0.5), score_min, score_max)

    report = {
        "discovered": True,
        "candidates": len(candidates),
        "features": len(columns),
        "rules": len(kept),
        "train_leads": len(y_train),
        "test_leads": len(y_test),
        "won": won,
        "lost": lost,
        "penalty_c": penalty_c,
        "train_auc": _auc(y_train, clamp(raw_train)),
        "test_auc_points": _auc(y_test, clamp(x_test @ points)),
        "test_auc_fit": _auc(y_test, x_test @ weights),
        "seed": seed,
        "fitted_at": clock.now().isoformat(),
    }
    return {
        "rules": kept,
        "bands": bands,
        "score_min": score_min,
        "score_max": score_max,
        "report": report,
        "history": history,
        "x": x,
        "points": points,
    }


def _fit(x, y, *, seed: int):
    """Choose the rules, then learn their weights ("relaxed lasso").

    The lasso (L1) penalty is chosen by 5-fold cross-validated ROC AUC on the training split, taking the
    strongest penalty whose AUC is within one standard error of the best (the usual "one standard error" rule:
    as good, with fewer rules). The rules it keeps are then fitted again with a light L2 penalty, so that their
    points are not shrunk towards zero by the penalty that chose them.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):  # small matrices: threads would only fight over the cores
        return _fit_in_one_thread(x, y, seed=seed)


def _fit_in_one_thread(x, y, *, seed: int):
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    folds = list(StratifiedKFold(5, shuffle=True, random_state=seed).split(x, y))

    def lasso(c):
        return LogisticRegression(C=c, l1_ratio=1.0, solver="liblinear", tol=1e-3, max_iter=2000, random_state=seed)

    results = []
    for c in PENALTIES:
        scores = []
        for train, test in folds:
            model = lasso(c).fit(x[train], y[train])
            scores.append(roc_auc_score(y[test], model.decision_function(x[test])))
        results.append((c, float(np.mean(scores)), float(np.std(scores) / math.sqrt(len(scores)))))
    _, best_mean, best_se = max(results, key=lambda r: r[1])
    chosen = min(c for c, mean, _ in results if mean >= best_mean - best_se)
    support = np.flatnonzero(lasso(chosen).fit(x, y).coef_[0])
    if len(support) == 0:
        raise ValidationError("Nothing in the closed leads' data tells won from lost: no rule could be learned.")
    refit = LogisticRegression(C=1.0, max_iter=5000).fit(x[:, support], y)
    return chosen, support, refit


def _bands(*, intercept: float, scale: float, score_min: int, score_max: int) -> list[tuple[str, int, int]]:
    """A, B, C where the predicted chance to win passes 50 %, 25 %, 10 %; each band at least one point wide."""
    a, b, c = (math.ceil((math.log(chance / (1 - chance)) - intercept) * scale) for _, chance in BAND_CHANCES)
    # Ordered and inside the range, each band at least one point wide.
    a = min(max(a, score_min + 3), score_max)
    b = min(max(b, score_min + 2), a - 1)
    c = min(max(c, score_min + 1), b - 1)
    return [("A", a, score_max), ("B", b, a - 1), ("C", c, b - 1), ("D", score_min, c - 1)]


# --- the draft ----------------------------------------------------------------------------------------------------


GROUP_ORDER = ("Fit", "Channel", "Custom attributes", "Engagement")


def scoring_model_discover(*, user: User | None, seed: int = 0) -> ScoringModel:
    """Discover rules and points from the closed leads and save them as a new draft (with the report).

    The fit (seconds) runs outside any transaction; the draft is written in one."""
    _ensure_may_configure(user)
    return draft_from_discovery(found=discover(seed=seed), user=user)


@transaction.atomic
def draft_from_discovery(*, found: dict, user: User | None) -> ScoringModel:
    """Save what `discover` found as a draft: its rules in groups, its score range and bands, its report."""
    report = found["report"]
    draft = scoring_model_create_draft(
        user=user, name=f"Discovered from {report['won'] + report['lost']} closed leads", origin="suggested"
    )
    draft.score_min, draft.score_max = found["score_min"], found["score_max"]
    RuleGroup.objects.filter(model=draft).delete()
    groups = {name: RuleGroup.objects.create(model=draft, name=name, position=i) for i, name in enumerate(GROUP_ORDER)}
    rules = []
    for position, (candidate, feature_points) in enumerate(found["rules"]):
        settings = dict(candidate.settings)
        kind = settings.pop("kind", None)
        if candidate.tiers:
            kind = Rule.Kind.ACTIVITY
            tiers = tuple(Tier(t.min, t.max, p) for t, p in zip(candidate.tiers, feature_points, strict=True) if p != 0)
            settings["tiers"] = tiers_to_json(tiers)
        else:
            kind = kind or Rule.Kind.FIT
            settings["points"] = feature_points[0]
        rule = Rule(model=draft, group=groups[candidate.group], position=position, name=candidate.name, kind=kind)
        for name, value in settings.items():
            setattr(rule, name, value)
        rule.full_clean(exclude=["model", "group"])
        rules.append(rule)
    Rule.objects.bulk_create(rules)
    RuleGroup.objects.filter(model=draft, rules__isnull=True).delete()
    GradeBand.objects.filter(model=draft).delete()
    GradeBand.objects.bulk_create(
        GradeBand(model=draft, grade=grade, min_score=low, max_score=high) for grade, low, high in found["bands"]
    )
    auc = report["test_auc_points"]
    draft.notes = (
        f"Discovered from {report['won']} won and {report['lost']} lost leads: {report['rules']} of "
        f"{report['candidates']} candidate rules kept. Held-out ROC AUC {_pct(auc)} on {report['test_leads']} leads "
        "kept out of the fit. Activity is counted up to each lead's close; grades A, B and C start where leads "
        "like these won 50 %, 25 % and 10 % of the time."
    )
    draft.half_life_days = None
    draft.suggestion = {k: v for k, v in report.items() if not (isinstance(v, float) and math.isnan(v))}
    draft.save()
    return draft


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"
