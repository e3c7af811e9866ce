"""Editing scoring models: drafts, their rules, groups and grade bands; publishing and rolling back.

Only admins change scoring. Published and archived versions are read-only: to change one, copy it to a draft.
"""

import itertools

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Max

from crm import access, clock
from crm.models import User
from scoring.models import GradeBand, Rule, RuleGroup, ScoreChange, ScoringModel, ScoringRun
from scoring.spec import DEFAULT_BANDS

RULE_FIELDS = (
    "name",
    "kind",
    "points",
    "field",
    "operator",
    "value",
    "values",
    "range_min",
    "range_max",
    "interaction_kind",
    "detail_key",
    "detail_contains",
    "measure",
    "window_days",
    "tiers",
    "decays",
    "inactive_days",
)
MODEL_FIELDS = ("name", "notes", "score_min", "score_max", "half_life_days")


def _ensure_may_configure(user: User | None) -> None:
    # `None` is the system itself (migrations, commands run by an operator).
    if user is not None:
        access.ensure(access.can_configure_scoring, user)


def _require_draft(model: ScoringModel) -> None:
    if not model.is_draft:
        raise ValidationError(f"Version {model.version} is {model.get_status_display().lower()}: copy it to a draft.")


# Drafts made at the same moment (two admins, a button and a command) take turns for the next version number.
VERSION_LOCK = 0x5C0_0001


def _next_version() -> int:
    """The next version number; call inside the transaction that creates it (the lock lasts until it ends)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [VERSION_LOCK])
    return (ScoringModel.objects.aggregate(v=Max("version"))["v"] or 0) + 1


@transaction.atomic
def scoring_model_create_draft(
    *,
    user: User | None,
    based_on: ScoringModel | None = None,
    name: str = "",
    origin: str = ScoringModel.Origin.MANUAL,
) -> ScoringModel:
    """A new draft: a copy of `based_on` (rules, groups, bands), or an empty model with the default bands."""
    _ensure_may_configure(user)
    draft = ScoringModel.objects.create(
        version=_next_version(),
        name=name or (f"Copy of v{based_on.version}" if based_on else "New model"),
        origin=ScoringModel.Origin.COPY if based_on and origin == ScoringModel.Origin.MANUAL else origin,
        based_on=based_on,
        notes=based_on.notes if based_on else "",
        score_min=based_on.score_min if based_on else 0,
        score_max=based_on.score_max if based_on else 100,
        half_life_days=based_on.half_life_days if based_on else 30,
        created_by=user,
        created_at=clock.now(),
    )
    if based_on is None:
        GradeBand.objects.bulk_create(
            GradeBand(model=draft, grade=g, min_score=a, max_score=b) for g, a, b in DEFAULT_BANDS
        )
        RuleGroup.objects.bulk_create(
            [RuleGroup(model=draft, name="Fit", position=0), RuleGroup(model=draft, name="Engagement", position=1)]
        )
        return draft
    GradeBand.objects.bulk_create(
        GradeBand(model=draft, grade=b.grade, min_score=b.min_score, max_score=b.max_score)
        for b in based_on.bands.all()
    )
    group_map = {}
    for group in based_on.groups.all():
        group_map[group.pk] = RuleGroup.objects.create(
            model=draft, name=group.name, position=group.position, cap=group.cap
        )
    rules = []
    for rule in based_on.rules.all():
        rule.pk = None
        rule.model = draft
        rule.group = group_map[rule.group_id]
        rules.append(rule)
    Rule.objects.bulk_create(rules)
    return draft


@transaction.atomic
def scoring_model_update(*, model: ScoringModel, user: User | None, data: dict) -> ScoringModel:
    _ensure_may_configure(user)
    _require_draft(model)
    unknown = set(data) - set(MODEL_FIELDS)
    if unknown:
        raise TypeError(f"Not editable: {', '.join(sorted(unknown))}")
    for name, value in data.items():
        setattr(model, name, value)
    model.full_clean()
    if model.score_max <= model.score_min:
        raise ValidationError({"score_max": "The highest score must be above the lowest."})
    model.save()
    return model


@transaction.atomic
def scoring_model_delete_draft(*, model: ScoringModel, user: User | None) -> None:
    _ensure_may_configure(user)
    _require_draft(model)
    model.delete()


@transaction.atomic
def scoring_model_publish(*, model: ScoringModel, user: User | None) -> ScoringRun:
    """Make a draft (publish) or an archived version (rollback) the live model, and rescore every lead in the
    background. The previous live version is archived."""
    _ensure_may_configure(user)
    model = ScoringModel.objects.select_for_update().get(pk=model.pk)
    if model.status == ScoringModel.Status.PUBLISHED:
        raise ValidationError(f"Version {model.version} is already live.")
    _check_publishable(model)
    ScoringModel.objects.filter(status=ScoringModel.Status.PUBLISHED).update(status=ScoringModel.Status.ARCHIVED)
    model.status = ScoringModel.Status.PUBLISHED
    model.published_at = clock.now()
    model.published_by = user
    model.save(update_fields=["status", "published_at", "published_by"])
    from scoring.services.rescore import scoring_run_start

    return scoring_run_start(model=model, reason=ScoreChange.Reason.PUBLISH, user=user)


def _check_publishable(model: ScoringModel) -> None:
    bands = list(model.bands.all())
    problems = bands_problems(
        [(b.grade, b.min_score, b.max_score) for b in bands], score_min=model.score_min, score_max=model.score_max
    )
    if problems:
        raise ValidationError(f"Fix the grade bands first: {' '.join(problems)}")


# --- rules and groups -----------------------------------------------------------------------------------------------


@transaction.atomic
def group_create(*, model: ScoringModel, user: User | None, name: str, cap: int | None = None) -> RuleGroup:
    _ensure_may_configure(user)
    _require_draft(model)
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Name the group."})
    if model.groups.filter(name__iexact=name).exists():
        raise ValidationError({"name": f"There is already a group “{name}”."})
    position = (model.groups.aggregate(p=Max("position"))["p"] or 0) + 1
    return RuleGroup.objects.create(model=model, name=name, cap=cap, position=position)


@transaction.atomic
def group_update(*, group: RuleGroup, user: User | None, name: str, cap: int | None) -> RuleGroup:
    _ensure_may_configure(user)
    _require_draft(group.model)
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Name the group."})
    if group.model.groups.filter(name__iexact=name).exclude(pk=group.pk).exists():
        raise ValidationError({"name": f"There is already a group “{name}”."})
    group.name, group.cap = name, cap
    group.save(update_fields=["name", "cap"])
    return group


@transaction.atomic
def group_delete(*, group: RuleGroup, user: User | None) -> None:
    _ensure_may_configure(user)
    _require_draft(group.model)
    if group.rules.exists():
        raise ValidationError("Move or delete the group's rules first.")
    group.delete()


def _apply_rule_data(rule: Rule, data: dict) -> None:
    unknown = set(data) - set(RULE_FIELDS) - {"group"}
    if unknown:
        raise TypeError(f"Unknown rule settings: {', '.join(sorted(unknown))}")
    for name, value in data.items():
        setattr(rule, name, value)
    rule.full_clean(exclude=["model", "group"])


@transaction.atomic
def rule_create(*, model: ScoringModel, user: User | None, group: RuleGroup, data: dict) -> Rule:
    _ensure_may_configure(user)
    _require_draft(model)
    if group.model_id != model.pk:
        raise ValidationError({"group": "That group belongs to another version."})
    position = (model.rules.filter(group=group).aggregate(p=Max("position"))["p"] or 0) + 1
    rule = Rule(model=model, group=group, position=position)
    _apply_rule_data(rule, data)
    rule.save()
    return rule


@transaction.atomic
def rule_update(*, rule: Rule, user: User | None, data: dict) -> Rule:
    _ensure_may_configure(user)
    _require_draft(rule.model)
    group = data.pop("group", None)
    if group is not None:
        if group.model_id != rule.model_id:
            raise ValidationError({"group": "That group belongs to another version."})
        rule.group = group
    _apply_rule_data(rule, data)
    rule.save()
    return rule


@transaction.atomic
def rule_delete(*, rule: Rule, user: User | None) -> None:
    _ensure_may_configure(user)
    _require_draft(rule.model)
    rule.delete()


# --- grade bands ------------------------------------------------------------------------------------------------------


def bands_problems(bands: list[tuple[str, int, int]], *, score_min: int, score_max: int) -> list[str]:
    """What is wrong with a set of bands: every score in the range must get exactly one grade, A the highest."""
    problems = []
    grades = [b[0] for b in bands]
    if sorted(grades) != ["A", "B", "C", "D"]:
        problems.append("Give one band for each of A, B, C and D.")
        return problems
    for grade, low, high in bands:
        if low > high:
            problems.append(f"Band {grade} runs backwards ({low} to {high}).")
    if problems:
        return problems
    ordered = sorted(bands, key=lambda b: b[1])
    for (g1, _low1, high1), (g2, low2, _high2) in itertools.pairwise(ordered):
        if low2 <= high1:
            problems.append(f"Bands {g1} and {g2} overlap ({low2}–{high1} would get both).")
        elif low2 > high1 + 1:
            problems.append(f"Scores {high1 + 1}–{low2 - 1} fall between bands {g1} and {g2}.")
    if ordered[0][1] > score_min:
        problems.append(f"Scores from {score_min} to {ordered[0][1] - 1} get no grade.")
    if ordered[-1][2] < score_max:
        problems.append(f"Scores from {ordered[-1][2] + 1} to {score_max} get no grade.")
    if not problems and [b[0] for b in reversed(ordered)] != ["A", "B", "C", "D"]:
        problems.append("A must be the highest band, then B, C and D.")
    return problems


@transaction.atomic
def bands_set(*, model: ScoringModel, user: User | None, bands: list[tuple[str, int, int]]) -> list[GradeBand]:
    _ensure_may_configure(user)
    _require_draft(model)
    problems = bands_problems(bands, score_min=model.score_min, score_max=model.score_max)
    if problems:
        raise ValidationError(problems)
    GradeBand.objects.filter(model=model).delete()
    return GradeBand.objects.bulk_create(
        GradeBand(model=model, grade=g, min_score=low, max_score=high) for g, low, high in bands
    )
