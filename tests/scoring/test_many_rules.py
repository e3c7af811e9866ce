"""A model of hundreds of rules (what a discovered model can hold) publishes and rescores on PostgreSQL, in one
query per chunk, with the scores the per-lead path gives: the SQL's sum of 300 rules must neither overflow a
stack (Python's while compiling, the database's while parsing) nor drift from the Python engine."""

import random

import pytest
from django.db import connection

from leads.models import Interaction, Lead
from scoring.engine import interactions_for_scoring, score_lead, scored_leads
from scoring.models import Rule, RuleGroup
from scoring.spec import model_spec
from tests.scoring.conftest import NOW, make_model, publish_now

pytestmark = pytest.mark.django_db

RULES = 300


def many_rules(n: int = RULES) -> list[dict]:
    rng = random.Random(5)
    rules = []
    for i in range(n):
        roll = i % 6
        points = rng.choice([-7, -3, 2, 4, 9])
        if roll == 0:
            rules.append({"kind": "fit", "field": f"attributes.a{i % 40}", "operator": "equals", "value": f"v{i % 7}"})
        elif roll == 1:
            low = rng.randint(0, 90)
            rules.append({"kind": "fit", "field": f"attributes.n{i % 20}", "operator": "range", "range_min": low})
        elif roll == 2:
            rules.append({"kind": "fit", "field": "industry", "operator": "equals", "value": f"Industry {i % 13}"})
        elif roll == 3:
            rules.append(
                {"kind": "fit", "field": "company_size", "operator": "range", "range_min": i, "range_max": i * 9}
            )
        elif roll == 4:
            tiers = [{"min": 1, "max": 2, "points": points}, {"min": 3, "max": None, "points": -points}]
            rules.append({"kind": "activity", "interaction_kind": "web_visit", "tiers": tiers, "decays": False})
        else:
            rules.append({"kind": "has_done", "interaction_kind": "form_submission", "detail_key": "url",
                          "detail_contains": f"/p{i % 9}", "decays": False})  # fmt: skip
        rules[-1].update(name=f"Rule {i}", points=points)
    return rules


def make_leads(n: int = 120) -> list[Lead]:
    rng = random.Random(9)
    leads = Lead.objects.bulk_create(
        Lead(
            name=f"L{i}",
            industry=f"Industry {rng.randrange(15)}",
            company_size=rng.choice([None, rng.randrange(3000)]),
            attributes={
                **{f"a{k}": f"v{rng.randrange(8)}" for k in rng.sample(range(40), 12)},
                **{f"n{k}": rng.randrange(100) for k in rng.sample(range(20), 8)},
            },
            last_activity_at=NOW,
        )
        for i in range(n)
    )
    Interaction.objects.bulk_create(
        Interaction(
            lead=lead,
            kind=rng.choice(["web_visit", "form_submission"]),
            direction="inbound",
            occurred_at=NOW,
            details={"url": f"/p{rng.randrange(12)}"},
        )
        for lead in leads
        for _ in range(rng.randrange(5))
    )
    return leads


def test_a_300_rule_model_publishes_and_scores_as_the_per_lead_engine_does(clock):
    leads = make_leads()
    model = make_model(rules=many_rules(), score_min=-1000, score_max=1000)
    model.bands.all().delete()
    for grade, low, high in (("A", 40, 1000), ("B", 10, 39), ("C", -20, 9), ("D", -1000, -21)):
        model.bands.create(grade=grade, min_score=low, max_score=high)
    assert Rule.objects.filter(model=model).count() == RULES
    assert RuleGroup.objects.filter(model=model).count() == 1  # one sum of 300 terms, the deepest case

    publish_now(model)
    spec = model_spec(model)
    for lead in Lead.objects.filter(pk__in=[lead.pk for lead in leads]).select_related("channel"):
        interactions = interactions_for_scoring(spec=spec, lead_id=lead.pk, now=NOW)
        expected = score_lead(spec=spec, lead=lead, interactions=interactions, now=NOW)
        assert (lead.score, lead.grade) == (expected.score, expected.grade)
    assert len({lead.score for lead in Lead.objects.all()}) > 10  # the rules did something


def test_the_sum_of_300_rules_is_a_shallow_tree_in_sql(clock):
    """Nested 300 deep, `a + b + c ...` costs the compiler and the database's parser 300 levels of recursion;
    summed as a balanced tree it costs about nine."""
    make_leads(5)
    model = make_model(rules=many_rules())
    query = scored_leads(spec=model_spec(model), leads=Lead.objects.all(), now=NOW).query
    sql, _ = query.sql_with_params()
    depth = deepest = 0
    for char in sql:
        depth += char == "("
        depth -= char == ")"
        deepest = max(deepest, depth)
    assert deepest < 40, deepest
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL max_stack_depth = '100kB'")  # far below the default 2 MB: still parses
        rows = list(scored_leads(spec=model_spec(model), leads=Lead.objects.all(), now=NOW))
    assert len(rows) == 5
