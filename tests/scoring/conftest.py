import datetime as dt

import pytest
import time_machine

from scoring import services
from scoring.models import GradeBand, Rule, RuleGroup, ScoringModel

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock():
    """The CRM's clock, frozen at NOW (ticking off, so durations are exact)."""
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def make_model(*, rules: list[dict], groups: dict[str, int | None] | None = None, half_life_days=None, **fields):
    """A draft with the given rules (each dict may name its "group"), the default bands 80/60/40."""
    draft = services.scoring_model_create_draft(user=None, name="Test model")
    draft.half_life_days = half_life_days
    for name, value in fields.items():
        setattr(draft, name, value)
    draft.save()
    RuleGroup.objects.filter(model=draft).delete()
    group_objects = {}
    for position, (name, cap) in enumerate((groups or {"Fit": None}).items()):
        group_objects[name] = RuleGroup.objects.create(model=draft, name=name, cap=cap, position=position)
    first = next(iter(group_objects.values()))
    for position, rule in enumerate(rules):
        rule = dict(rule)
        group = group_objects.get(rule.pop("group", None), first)
        Rule.objects.create(
            model=draft, group=group, position=position, name=rule.pop("name", f"rule {position}"), **rule
        )
    return draft


def publish_now(model: ScoringModel) -> ScoringModel:
    """Publish and run the rescoring right here (the task would do the same)."""
    run = services.scoring_model_publish(model=model, user=None)
    services.scoring_run_execute(run_id=run.pk)
    model.refresh_from_db()
    return model


@pytest.fixture
def bands():
    return GradeBand


@pytest.fixture(autouse=True)
def _fresh_spec_cache():
    """Forget the specs of frozen versions between tests (a flushed database may hand out a model's id again)."""
    from scoring import spec

    spec._FROZEN_SPECS.clear()
    yield
    spec._FROZEN_SPECS.clear()
