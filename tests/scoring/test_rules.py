"""Each rule kind, tiers, decay and inactivity with a fixed clock, caps, clamping and grade bands."""

import datetime as dt
from decimal import Decimal

import pytest

from leads.models import Lead
from scoring import services
from scoring.engine import interactions_for_scoring, score_lead, scored_leads
from scoring.spec import model_spec
from tests.factories import InteractionFactory, LeadFactory
from tests.scoring.conftest import NOW, make_model

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)


def both_scores(model, lead):
    """The score by the per-lead path and by the bulk query; the tests assert they agree and what they are."""
    spec = model_spec(model)
    lead = Lead.objects.select_related("channel").get(pk=lead.pk)
    per_lead = score_lead(
        spec=spec, lead=lead, interactions=interactions_for_scoring(spec=spec, lead_id=lead.pk, now=NOW), now=NOW
    )
    bulk = scored_leads(spec=spec, leads=Lead.objects.filter(pk=lead.pk), now=NOW).get()["new_score"]
    assert per_lead.score == bulk
    return per_lead


def visit(lead, days_ago, **details):
    return InteractionFactory(
        lead=lead, kind="web_visit", direction="system", outcome="", occurred_at=NOW - days_ago * DAY, details=details
    )


def test_fit_rules_equal_in_list_range_contains_and_is_set(clock, channel):
    model = make_model(
        rules=[
            {"kind": "fit", "field": "industry", "operator": "equals", "value": "software", "points": 10},
            {"kind": "fit", "field": "timeline", "operator": "in", "values": ["30", "90"], "points": 7},
            {
                "kind": "fit",
                "field": "company_size",
                "operator": "range",
                "range_min": 50,
                "range_max": 500,
                "points": 5,
            },
            {"kind": "fit", "field": "job_title", "operator": "contains", "value": "Director", "points": 4},
            {"kind": "fit", "field": "phone", "operator": "is_set", "points": 2},
            {"kind": "fit", "field": "channel", "operator": "equals", "value": "google ads", "points": 1},
        ]
    )
    hit = LeadFactory(
        industry="Software",
        timeline="90",
        company_size=500,
        job_title="Sales director",
        phone="+4930123",
        channel=channel,
    )
    miss = LeadFactory(industry="Retail", timeline="180", company_size=501, job_title="Analyst", phone="")
    assert both_scores(model, hit).score == 29
    assert both_scores(model, miss).score == 0


def test_fit_rules_read_custom_attributes_as_text_and_as_numbers(clock):
    model = make_model(
        rules=[
            {"kind": "fit", "field": "attributes.source_form", "operator": "equals", "value": "pricing", "points": 10},
            {"kind": "fit", "field": "attributes.seats", "operator": "range", "range_min": 10, "points": 5},
        ]
    )
    assert both_scores(model, LeadFactory(attributes={"source_form": "Pricing", "seats": 12})).score == 15
    assert both_scores(model, LeadFactory(attributes={"seats": "25"})).score == 5
    assert both_scores(model, LeadFactory(attributes={"seats": "many"})).score == 0


def test_activity_tiers_count_interactions_within_the_window(clock):
    model = make_model(
        rules=[
            {
                "kind": "activity",
                "interaction_kind": "web_visit",
                "window_days": 30,
                "tiers": [{"min": 3, "max": 5, "points": 5}, {"min": 6, "max": None, "points": 10}],
            }
        ]
    )
    lead = LeadFactory()
    for days in (1, 2):
        visit(lead, days)
    visit(lead, 31)  # outside the window
    assert both_scores(model, lead).score == 0
    visit(lead, 3)
    assert both_scores(model, lead).score == 5
    for days in (4, 5, 6):
        visit(lead, days)
    assert both_scores(model, lead).score == 10


def test_a_visit_exactly_at_the_window_edge_counts_and_one_second_older_does_not(clock):
    model = make_model(rules=[{"kind": "has_done", "interaction_kind": "web_visit", "window_days": 30, "points": 9}])
    edge = LeadFactory()
    visit(edge, 30)
    older = LeadFactory()
    InteractionFactory(lead=older, kind="web_visit", outcome="", occurred_at=NOW - 30 * DAY - dt.timedelta(seconds=1))
    assert both_scores(model, edge).score == 9
    assert both_scores(model, older).score == 0


def test_activity_can_sum_pages_viewed_ignoring_details_that_are_not_numbers(clock):
    model = make_model(
        rules=[
            {
                "kind": "activity",
                "interaction_kind": "web_visit",
                "measure": "pages",
                "window_days": 30,
                "tiers": [{"min": 10, "max": None, "points": 6}],
            }
        ]
    )
    lead = LeadFactory()
    visit(lead, 1, pages=4)
    visit(lead, 2, pages="5")
    visit(lead, 3, pages="lots")
    assert both_scores(model, lead).score == 0
    visit(lead, 4, pages=1)
    assert both_scores(model, lead).score == 6


def test_has_done_matches_a_detail_text_like_the_pricing_page_and_may_subtract(clock):
    model = make_model(
        rules=[
            {
                "kind": "has_done",
                "interaction_kind": "web_visit",
                "detail_key": "url",
                "detail_contains": "/pricing",
                "points": 15,
            },
            {"kind": "has_done", "interaction_kind": "unsubscribe", "points": -20, "decays": False},
        ],
        score_min=-100,
    )
    lead = LeadFactory()
    visit(lead, 1, url="/blog")
    assert both_scores(model, lead).score == 0
    visit(lead, 2, url="/Pricing/plans")
    assert both_scores(model, lead).score == 15
    InteractionFactory(lead=lead, kind="unsubscribe", outcome="", occurred_at=NOW - DAY)
    assert both_scores(model, lead).score == -5


def test_engagement_points_halve_every_half_life_after_the_latest_activity(clock):
    model = make_model(rules=[{"kind": "has_done", "interaction_kind": "web_visit", "points": 40}], half_life_days=10)
    fresh, ten_days, twenty_days = LeadFactory(), LeadFactory(), LeadFactory()
    visit(fresh, 0)
    visit(ten_days, 10)
    visit(twenty_days, 20)
    visit(twenty_days, 25)
    assert both_scores(model, fresh).score == 40
    assert both_scores(model, ten_days).score == 20
    assert both_scores(model, twenty_days).score == 10


def test_a_rule_that_does_not_decay_keeps_its_points(clock):
    model = make_model(
        rules=[{"kind": "has_done", "interaction_kind": "web_visit", "points": 40, "decays": False}], half_life_days=10
    )
    lead = LeadFactory()
    visit(lead, 50)
    assert both_scores(model, lead).score == 40


def test_inactivity_subtracts_points_after_n_days_without_activity(clock):
    model = make_model(
        rules=[
            {"kind": "fit", "field": "industry", "operator": "is_set", "points": 50},
            {"kind": "inactivity", "inactive_days": 30, "points": -15},
        ]
    )
    active = LeadFactory(industry="x", last_activity_at=NOW - 29 * DAY)
    idle = LeadFactory(industry="x", last_activity_at=NOW - 31 * DAY)
    assert both_scores(model, active).score == 50
    assert both_scores(model, idle).score == 35


def test_a_group_cap_limits_its_points_and_the_score_is_clamped_to_the_range(clock):
    model = make_model(
        rules=[
            {"group": "Engagement", "kind": "has_done", "interaction_kind": "web_visit", "points": 40},
            {"group": "Engagement", "kind": "has_done", "interaction_kind": "form_submission", "points": 40},
            {"group": "Fit", "kind": "fit", "field": "industry", "operator": "is_set", "points": 90},
        ],
        groups={"Fit": None, "Engagement": 30},
    )
    lead = LeadFactory(industry="")
    visit(lead, 1)
    InteractionFactory(lead=lead, kind="form_submission", outcome="", occurred_at=NOW - DAY)
    result = both_scores(model, lead)
    assert result.score == 30
    assert [g.total for g in result.groups] == [0, 30]
    Lead.objects.filter(pk=lead.pk).update(industry="Software")
    assert both_scores(model, lead).score == 100  # 120 clamped


def test_grades_follow_the_bands(clock):
    model = make_model(rules=[{"kind": "fit", "field": "industry", "operator": "is_set", "points": 79}])
    services.bands_set(model=model, user=None, bands=[("A", 79, 100), ("B", 50, 78), ("C", 20, 49), ("D", 0, 19)])
    spec = model_spec(model)
    assert [spec.grade_for(s) for s in (100, 79, 78, 50, 49, 20, 19, 0)] == list("AABBCCDD")


def test_range_rule_with_decimal_bounds_compares_exactly(clock):
    model = make_model(
        rules=[
            {"kind": "fit", "field": "budget_amount", "operator": "range", "range_min": Decimal("1000.50"), "points": 3}
        ]
    )
    assert both_scores(model, LeadFactory(budget_amount=Decimal("1000.50"))).score == 3
    assert both_scores(model, LeadFactory(budget_amount=Decimal("1000.49"))).score == 0
