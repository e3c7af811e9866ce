"""Scoring pages: admins only; inline editing with htmx; clear form errors; the lead's score panel."""

import pytest
from django.urls import reverse

from scoring import selectors
from scoring.models import LeadScore, Rule, RuleGroup, ScoringModel
from tests.factories import InteractionFactory, LeadFactory
from tests.scoring.conftest import NOW, make_model, publish_now

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def draft():
    return make_model(rules=[{"kind": "fit", "field": "industry", "operator": "equals", "value": "saas", "points": 10}])


def admin_urls(draft):
    rule = draft.rules.first()
    group = draft.groups.first()
    return [
        ("get", reverse("scoring:models")),
        ("get", reverse("scoring:model", args=[draft.version])),
        ("get", reverse("scoring:preview", args=[draft.version])),
        ("post", reverse("scoring:model_create")),
        ("post", reverse("scoring:publish", args=[draft.version])),
        ("post", reverse("scoring:suggest", args=[draft.version])),
        ("post", reverse("scoring:settings", args=[draft.version])),
        ("post", reverse("scoring:rule_create", args=[draft.version])),
        ("post", reverse("scoring:rule_edit", args=[rule.pk])),
        ("post", reverse("scoring:rule_delete", args=[rule.pk])),
        ("post", reverse("scoring:group_create", args=[draft.version])),
        ("post", reverse("scoring:group_edit", args=[group.pk])),
        ("post", reverse("scoring:bands", args=[draft.version])),
    ]


@pytest.mark.parametrize("who", ["rep", "manager"])
def test_reps_and_managers_are_refused_every_scoring_page(client, request, draft, who):
    client.force_login(request.getfixturevalue(who))
    for method, url in admin_urls(draft):
        response = getattr(client, method)(url)
        assert response.status_code == 403, url
    assert ScoringModel.objects.get(pk=draft.pk).is_draft
    assert Rule.objects.filter(model=draft).count() == 1


def test_only_admins_see_the_scoring_link(client, rep, admin_user):
    client.force_login(rep)
    assert reverse("scoring:models") not in client.get("/").text
    client.force_login(admin_user)
    assert reverse("scoring:models") in client.get("/").text


def test_admin_sees_versions_and_a_draft_with_its_rules(admin_client, draft):
    page = admin_client.get(reverse("scoring:models")).text
    assert f"v{draft.version}" in page and "Published" in page
    page = admin_client.get(draft.get_absolute_url()).text
    assert "Industry is “saas”" in page and "+10" in page and "Add a rule" in page


def test_adding_a_tiered_rule_inline_redraws_the_rules(admin_client, draft, htmx):
    group = draft.groups.first()
    response = admin_client.post(
        reverse("scoring:rule_create", args=[draft.version]),
        {
            "name": "Visits",
            "group": group.pk,
            "kind": "activity",
            "interaction_kind": "web_visit",
            "window_days": "30",
            "tiers": "3-5 = 5; 6+ = 10",
            "decays": "on",
        },
        headers=htmx,
    )
    assert response.status_code == 200
    assert 'id="rules"' in response.text and "3-5 = +5; 6+ = +10" in response.text
    rule = Rule.objects.get(model=draft, name="Visits")
    assert rule.tiers == [{"min": 3, "max": 5, "points": 5}, {"min": 6, "max": None, "points": 10}]


def test_a_rule_with_an_unknown_field_gets_an_error_next_to_the_field(admin_client, draft, htmx):
    response = admin_client.post(
        reverse("scoring:rule_create", args=[draft.version]),
        {
            "name": "Shoes",
            "group": draft.groups.first().pk,
            "kind": "fit",
            "field": "shoe_size",
            "operator": "equals",
            "value": "9",
            "points": "5",
        },
        headers=htmx,
    )
    assert response["HX-Retarget"] == "#new-rule"
    assert "Unknown field “shoe_size”" in response.text
    assert 'id="id_field_error"' in response.text
    assert not Rule.objects.filter(name="Shoes").exists()


def test_non_numeric_points_get_a_clear_error(admin_client, draft, htmx):
    rule = draft.rules.first()
    response = admin_client.post(
        reverse("scoring:rule_edit", args=[rule.pk]),
        {
            "name": rule.name,
            "group": rule.group_id,
            "kind": "fit",
            "field": "industry",
            "operator": "equals",
            "value": "saas",
            "points": "ten",
        },
        headers=htmx,
    )
    assert response.status_code == 200
    assert "Enter a whole number, e.g. 10 or -5." in response.text
    rule.refresh_from_db()
    assert rule.points == 10


def test_overlapping_tiers_and_bands_are_explained(admin_client, draft, htmx):
    response = admin_client.post(
        reverse("scoring:rule_create", args=[draft.version]),
        {
            "name": "Visits",
            "group": draft.groups.first().pk,
            "kind": "activity",
            "interaction_kind": "web_visit",
            "tiers": "1-5 = 5; 4+ = 10",
        },
        headers=htmx,
    )
    assert "Tiers overlap" in response.text
    response = admin_client.post(
        reverse("scoring:bands", args=[draft.version]),
        {"A_min": 70, "A_max": 100, "B_min": 60, "B_max": 75, "C_min": 40, "C_max": 59, "D_min": 0, "D_max": 39},
        headers=htmx,
    )
    assert "Bands B and A overlap" in response.text
    assert sorted(draft.bands.values_list("min_score", flat=True)) == [0, 40, 60, 80]


def test_editing_a_rule_inline_shows_the_form_then_the_saved_rule(admin_client, draft, htmx):
    rule = draft.rules.first()
    form = admin_client.get(reverse("scoring:rule_edit", args=[rule.pk]), headers=htmx)
    assert f'id="rule-{rule.pk}"' in form.text and 'name="points"' in form.text
    response = admin_client.post(
        reverse("scoring:rule_edit", args=[rule.pk]),
        {
            "name": "Target industry",
            "group": rule.group_id,
            "kind": "fit",
            "field": "industry",
            "operator": "in",
            "values": "SaaS, Fintech",
            "points": "12",
        },
        headers=htmx,
    )
    assert response["HX-Retarget"] == "#rules"
    rule.refresh_from_db()
    assert (rule.operator, rule.values, rule.points) == ("in", ["SaaS", "Fintech"], 12)


def test_groups_can_be_added_with_a_cap_and_removed_when_empty(admin_client, draft, htmx):
    admin_client.post(
        reverse("scoring:group_create", args=[draft.version]), {"name": "Intent", "cap": "20"}, headers=htmx
    )
    group = RuleGroup.objects.get(model=draft, name="Intent")
    assert group.cap == 20
    admin_client.post(reverse("scoring:group_delete", args=[group.pk]), headers=htmx)
    assert not RuleGroup.objects.filter(pk=group.pk).exists()


def test_publishing_from_the_page_starts_a_run_and_shows_its_progress(admin_client, draft):
    response = admin_client.post(reverse("scoring:publish", args=[draft.version]), follow=True)
    assert "being rescored" in response.text
    assert selectors.published_model() == draft
    run = selectors.latest_run(model=draft)
    progress = admin_client.get(reverse("scoring:run", args=[run.pk]))
    assert "progress" in progress.text and 'hx-trigger="every 1s"' in progress.text


def test_the_preview_compares_grades_calibration_and_auc(admin_client, draft, htmx, clock):
    for industry, stage in [("SaaS", "won"), ("SaaS", "lost"), ("Retail", "lost"), ("Retail", "new")]:
        won = stage == "won"
        LeadFactory(
            name=f"{industry} {stage}",
            industry=industry,
            stage=stage,
            lost_reason="no_need" if stage == "lost" else "",
            deal_value=10 if won else None,
            won_at=NOW if won else None,
        )
    page = admin_client.get(reverse("scoring:preview", args=[draft.version]))
    assert "Scoring every lead" in page.text
    results = admin_client.get(reverse("scoring:preview", args=[draft.version]), headers=htmx)
    assert "ROC AUC" in results.text and "0.750" in results.text
    assert 'Open leads that would change grade <span class="count">1</span>' in results.text
    assert "Retail new" in results.text and "SaaS won" not in results.text.split("would change grade")[1]


def test_the_lead_page_shows_the_score_breakdown_to_whoever_sees_the_lead(client, rep, other_rep, clock):
    model = publish_now(
        make_model(
            rules=[
                {
                    "name": "Target industry",
                    "kind": "fit",
                    "field": "industry",
                    "operator": "equals",
                    "value": "saas",
                    "points": 10,
                },
                {"name": "Visited", "kind": "has_done", "interaction_kind": "web_visit", "points": 20},
            ]
        )
    )
    lead = LeadFactory(owner=rep, industry="SaaS")
    InteractionFactory(lead=lead, kind="web_visit", outcome="")
    from scoring import services

    services.lead_rescore(lead_id=lead.pk)
    client.force_login(rep)
    page = client.get(lead.get_absolute_url()).text
    # The page holds a slot that loads the panel once shown, and again whenever the lead changes.
    panel_url = reverse("scoring:lead_panel", args=[lead.pk])
    assert f'hx-get="{panel_url}" hx-trigger="load, lead-changed from:body"' in page
    panel = client.get(panel_url)
    assert panel.status_code == 200 and 'id="score-panel"' in panel.text and "Trend" in panel.text
    assert "Target industry" in panel.text and "+20" in panel.text and f"by v{model.version}" in panel.text
    client.force_login(other_rep)
    assert client.get(reverse("scoring:lead_panel", args=[lead.pk])).status_code == 404


def test_my_day_lists_hot_leads_highest_score_first(client, rep, teammate):
    model = make_model(rules=[])
    for name, grade, score, owner in [
        ("Hot Harriet", "A", 91, rep),
        ("Hotter Hugo", "A", 97, rep),
        ("Cold Carl", "D", 5, rep),
        ("Someone Else's", "A", 99, teammate),
    ]:
        lead = LeadFactory(owner=owner, name=name, grade=grade, score=score)
        LeadScore.objects.update_or_create(
            lead=lead, defaults={"model": model, "score": score, "grade": grade, "computed_at": lead.created_at}
        )
    client.force_login(rep)
    hot = client.get("/").text.split("Hot leads")[1].split("</section>")[0]
    assert "Hotter Hugo" in hot and "Hot Harriet" in hot and hot.index("Hotter Hugo") < hot.index("Hot Harriet")
    assert "Cold Carl" not in hot and "Someone Else" not in hot


def test_the_score_panel_costs_a_fixed_number_of_queries(client, rep, django_assert_max_num_queries, clock):
    publish_now(make_model(rules=[{"kind": "has_done", "interaction_kind": "web_visit", "points": 20}]))
    lead = LeadFactory(owner=rep)
    for _ in range(30):
        InteractionFactory(lead=lead, kind="web_visit", outcome="")
    from scoring import services

    services.lead_rescore(lead_id=lead.pk)
    client.force_login(rep)
    client.get(reverse("scoring:lead_panel", args=[lead.pk]))  # loads the frozen version's rules once
    with django_assert_max_num_queries(8):
        client.get(reverse("scoring:lead_panel", args=[lead.pk]))
