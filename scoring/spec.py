"""A scoring model as plain, immutable data: the ONE definition both executions (bulk SQL and per lead) read.

Loading a model from the database gives a `ModelSpec`; the what-if preview, the learned weights and the
property tests build specs directly.
"""

from dataclasses import dataclass, field, replace
from decimal import Decimal

from scoring.models import GradeBand, Rule, RuleGroup, ScoringModel
from scoring.tiers import Tier, tiers_from_json


@dataclass(frozen=True)
class RuleSpec:
    id: int
    name: str
    group: int  # index into ModelSpec.groups
    kind: str
    points: int = 0
    field: str = ""
    operator: str = ""
    value: str = ""
    values: tuple[str, ...] = ()
    range_min: Decimal | None = None
    range_max: Decimal | None = None
    interaction_kind: str = ""
    detail_key: str = ""
    detail_contains: str = ""
    measure: str = "count"
    window_days: int | None = None
    tiers: tuple[Tier, ...] = ()
    decays: bool = True
    inactive_days: int | None = None

    @property
    def is_engagement(self) -> bool:
        return self.kind in (Rule.Kind.ACTIVITY, Rule.Kind.HAS_DONE)

    @property
    def effective_tiers(self) -> tuple[Tier, ...]:
        """ "Has done" is the one tier "at least once"."""
        if self.kind == Rule.Kind.HAS_DONE:
            return (Tier(1, None, self.points),)
        return self.tiers


@dataclass(frozen=True)
class GroupSpec:
    name: str
    cap: int | None = None


@dataclass(frozen=True)
class ModelSpec:
    id: int | None
    version: int | None
    groups: tuple[GroupSpec, ...]
    rules: tuple[RuleSpec, ...]
    bands: tuple[tuple[str, int, int], ...]  # (grade, min, max), A first
    score_min: int = 0
    score_max: int = 100
    half_life_days: int | None = None
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def with_points(self, points: dict[int, int]) -> "ModelSpec":
        """The same model with other points for some rules (by rule id): learned weights, previews."""
        return replace(self, rules=tuple(replace(r, points=points.get(r.id, r.points)) for r in self.rules))

    def grade_for(self, score: int) -> str:
        for grade, low, high in self.bands:
            if low <= score <= high:
                return grade
        return ""


DEFAULT_BANDS = (("A", 80, 100), ("B", 60, 79), ("C", 40, 59), ("D", 0, 39))


def rule_spec(rule: Rule, group_index: int) -> RuleSpec:
    return RuleSpec(
        id=rule.pk,
        name=rule.name,
        group=group_index,
        kind=rule.kind,
        points=rule.points,
        field=rule.field,
        operator=rule.operator,
        value=rule.value,
        values=tuple(str(v) for v in rule.values or ()),
        range_min=rule.range_min,
        range_max=rule.range_max,
        interaction_kind=rule.interaction_kind,
        detail_key=rule.detail_key,
        detail_contains=rule.detail_contains,
        measure=rule.measure,
        window_days=rule.window_days,
        tiers=tiers_from_json(rule.tiers or []),
        decays=rule.decays,
        inactive_days=rule.inactive_days,
    )


# Published and archived versions never change (only drafts are edited), so their specs are kept per process:
# the lead page and per-lead rescoring then cost no query for the model.
_FROZEN_SPECS: dict[int, ModelSpec] = {}


def model_spec(model: ScoringModel) -> ModelSpec:
    """A model's rules, groups and bands (three queries; none for a version already loaded and not a draft)."""
    if not model.is_draft and model.pk in _FROZEN_SPECS:
        return _FROZEN_SPECS[model.pk]
    spec = _load_spec(model)
    if not model.is_draft:
        _FROZEN_SPECS[model.pk] = spec
    return spec


def _load_spec(model: ScoringModel) -> ModelSpec:
    groups = list(RuleGroup.objects.filter(model=model).order_by("position", "id"))
    index = {g.pk: i for i, g in enumerate(groups)}
    rules = Rule.objects.filter(model=model).order_by("position", "id")
    ordered = sorted(rules, key=lambda r: (index[r.group_id], r.position, r.pk))
    bands = GradeBand.objects.filter(model=model).order_by("-min_score")
    return ModelSpec(
        id=model.pk,
        version=model.version,
        groups=tuple(GroupSpec(g.name, g.cap) for g in groups),
        rules=tuple(rule_spec(r, index[r.group_id]) for r in ordered),
        bands=tuple((b.grade, b.min_score, b.max_score) for b in bands),
        score_min=model.score_min,
        score_max=model.score_max,
        half_life_days=model.half_life_days,
    )
