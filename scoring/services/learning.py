"""Suggested weights: learn each rule's points from closed leads (won vs lost) with a logistic regression.

Features are the model's own rules with unit points (one feature per tier of a tiered rule), computed in the
database by the same expressions that score leads. The fit is made on a training split and judged on a
held-out split; the result is a NEW DRAFT for the admin to preview and publish, never applied silently.

Features are taken **as of each lead's close** (`won_at`, or the move to Lost), as `--discover` takes them:
interactions count only when they happened before the close, engagement windows and fading count back from
it, and inactivity runs from the lead's latest interaction before the close (or its creation) to the close.
Counted as of today, every closed lead would look inactive and its later activity (a lost lead's unsubscribe
after the close) would teach the model the outcome. The lead's facts are as they are now (the CRM keeps no
history of them).

numpy and scikit-learn are imported by the functions that fit, not by this module: every process imports the
services at start-up (django.setup()), and scikit-learn alone costs seconds and some 100 MB there, for one admin
button.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction

from crm import clock
from crm.models import User
from leads.models import CLOSED_STAGES, Lead, Stage
from scoring.engine import rule_features
from scoring.models import Rule, RuleGroup, ScoringModel
from scoring.services.models_edit import _ensure_may_configure, scoring_model_create_draft
from scoring.spec import GroupSpec, ModelSpec, model_spec
from scoring.tiers import Tier, tiers_to_json

if TYPE_CHECKING:
    import numpy as np

# Most closed leads a fit reads (the newest); enough for stable weights, small enough to fit in seconds.
MAX_TRAINING_LEADS = 200_000
MIN_OUTCOMES = 20  # of each of won and lost


@dataclass(frozen=True)
class Feature:
    rule_index: int
    tier_index: int | None  # for tiered rules


def _feature_spec(spec: ModelSpec) -> tuple[ModelSpec, list[Feature]]:
    rules, features = [], []
    for index, rule in enumerate(spec.rules):
        if rule.kind == Rule.Kind.ACTIVITY:
            for t, tier in enumerate(rule.tiers):
                rules.append(replace(rule, group=0, tiers=(Tier(tier.min, tier.max, 1),)))
                features.append(Feature(index, t))
        else:
            rules.append(replace(rule, group=0, points=1))
            features.append(Feature(index, None))
    return replace(spec, groups=(GroupSpec("all"),), rules=tuple(rules)), features


def _current_points(spec: ModelSpec, features: list[Feature]) -> np.ndarray:
    import numpy as np

    points = []
    for feature in features:
        rule = spec.rules[feature.rule_index]
        points.append(rule.tiers[feature.tier_index].points if feature.tier_index is not None else rule.points)
    return np.array(points, dtype=float)


def _auc(y: np.ndarray, scores: np.ndarray) -> float | None:
    from sklearn.metrics import roc_auc_score

    if len(set(y.tolist())) < 2:
        return None
    return float(roc_auc_score(y, scores))


def learn_weights(*, spec: ModelSpec, seed: int = 0) -> dict:
    """Fit the weights; returns the report with learned points per feature (no writes)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    feature_spec, features = _feature_spec(spec)
    if not features:
        raise ValidationError("The model has no rules to learn weights for.")
    closed = Lead.objects.filter(stage__in=CLOSED_STAGES)
    newest = closed.order_by("-id").values("id")[:MAX_TRAINING_LEADS]
    outcome = dict(Lead.objects.filter(id__in=newest).values_list("id", "stage"))
    rows = list(
        rule_features(spec=feature_spec, leads=Lead.objects.filter(id__in=newest), now=clock.now(), as_of_close=True)
    )
    rows.sort(key=lambda row: row["id"])  # the split (random_state=seed) is then the same for the same leads
    y = np.array([1 if outcome[row["id"]] == Stage.WON else 0 for row in rows], dtype=int)
    won, lost = int(y.sum()), int(len(y) - y.sum())
    if won < MIN_OUTCOMES or lost < MIN_OUTCOMES:
        raise ValidationError(
            f"Not enough history: {won} won and {lost} lost leads; at least {MIN_OUTCOMES} of each are needed."
        )
    x = np.array([[row[f"f{i}"] for i in range(len(features))] for row in rows], dtype=float)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=seed, stratify=y)
    classifier = LogisticRegression(max_iter=2000)
    classifier.fit(x_train, y_train)
    coefficients = classifier.coef_[0]

    # Scale log-odds to points so the best possible lead reaches the top of the score range.
    best = {}
    for feature, weight in zip(features, coefficients, strict=True):
        best[feature.rule_index] = max(best.get(feature.rule_index, 0.0), float(weight))
    positive = sum(w for w in best.values() if w > 0)
    scale = (spec.score_max - spec.score_min) / positive if positive > 0 else 1.0
    points = np.array([max(-999, min(999, round(float(w) * scale))) for w in coefficients], dtype=float)

    return {
        "features": features,
        "points": points,
        "report": {
            "train_leads": len(y_train),
            "test_leads": len(y_test),
            "won": won,
            "lost": lost,
            "train_auc": _auc(y_train, classifier.decision_function(x_train)),
            "test_auc": _auc(y_test, classifier.decision_function(x_test)),
            "test_auc_points": _auc(y_test, x_test @ points),
            "test_auc_current": _auc(y_test, x_test @ _current_points(spec, features)),
            "base_version": spec.version,
            "fitted_at": clock.now().isoformat(),
        },
    }


@transaction.atomic
def scoring_model_suggest(*, user: User | None, based_on: ScoringModel, seed: int = 0) -> ScoringModel:
    """Learn points for `based_on`'s rules from closed leads and save them as a new draft (with the report)."""
    _ensure_may_configure(user)
    spec = model_spec(based_on)
    learned = learn_weights(spec=spec, seed=seed)
    report = learned["report"]
    draft = scoring_model_create_draft(
        user=user, based_on=based_on, name=f"Suggested from v{based_on.version}", origin=ScoringModel.Origin.SUGGESTED
    )
    draft_rules = list(Rule.objects.filter(model=draft).select_related("group"))
    by_position = {(r.group.position, r.position, r.name): r for r in draft_rules}
    base_rules = list(Rule.objects.filter(model=based_on).select_related("group"))
    base_order = {r.pk: (r.group.position, r.position, r.name) for r in base_rules}
    for rule_index, rule in enumerate(spec.rules):
        target = by_position[base_order[rule.id]]
        feature_points = [
            int(p) for f, p in zip(learned["features"], learned["points"], strict=True) if f.rule_index == rule_index
        ]
        if rule.kind == Rule.Kind.ACTIVITY:
            target.tiers = tiers_to_json(
                tuple(Tier(t.min, t.max, p) for t, p in zip(rule.tiers, feature_points, strict=True))
            )
        else:
            target.points = feature_points[0]
        target.save(update_fields=["points", "tiers"])
    # Learned weights already balance the groups; a cap would cut what the data asked for.
    RuleGroup.objects.filter(model=draft).update(cap=None)
    auc = report["test_auc_points"]
    draft.notes = (
        f"Learned from {report['won']} won and {report['lost']} lost leads. Held-out ROC AUC "
        f"{_pct(auc)} (v{based_on.version} as it is: {_pct(report['test_auc_current'])}). "
        "Group caps removed. Engagement and inactivity are counted as of each lead's close."
    )
    draft.suggestion = {k: v for k, v in report.items() if not (isinstance(v, float) and math.isnan(v))}
    draft.save(update_fields=["notes", "suggestion"])
    return draft


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"
