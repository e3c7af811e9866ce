"""The routing set-up pages (admins only), the Team page (everyone, within their reach), bad input."""

import pytest
from django.urls import reverse

from leads.models import AssignmentRule, AssignmentRuleMember, ReclaimRule
from tests.factories import ChannelFactory
from tests.routing.conftest import make_rule

pytestmark = pytest.mark.django_db


@pytest.fixture
def rule(admin_user, team):
    return make_rule(admin_user, team, name="First")


@pytest.fixture
def reclaim_rule(db):
    return ReclaimRule.objects.create(name="Untouched", days=3, warn_hours=24)


def _admin_pages(rule, reclaim_rule):
    return [
        ("get", reverse("leads:routing_rules")),
        ("get", reverse("leads:routing_rule_create")),
        ("post", reverse("leads:routing_rule_create")),
        ("get", reverse("leads:routing_rule_edit", args=[rule.pk])),
        ("post", reverse("leads:routing_rule_edit", args=[rule.pk])),
        ("post", reverse("leads:routing_rule_delete", args=[rule.pk])),
        ("post", reverse("leads:routing_rule_move", args=[rule.pk])),
        ("get", reverse("leads:reclaim_rule_create")),
        ("post", reverse("leads:reclaim_rule_edit", args=[reclaim_rule.pk])),
        ("post", reverse("leads:reclaim_rule_delete", args=[reclaim_rule.pk])),
    ]


@pytest.mark.parametrize("who", ["rep", "manager"])
def test_reps_and_managers_are_refused_on_every_rules_page(request, client, who, rule, reclaim_rule):
    client.force_login(request.getfixturevalue(who))
    for method, url in _admin_pages(rule, reclaim_rule):
        assert getattr(client, method)(url).status_code == 403, url
    assert (
        AssignmentRule.objects.filter(pk=rule.pk).exists() and ReclaimRule.objects.filter(pk=reclaim_rule.pk).exists()
    )


def test_the_rules_page_lists_rules_in_order_with_a_bounded_number_of_queries(
    admin_client, admin_user, team, other_team, django_assert_max_num_queries
):
    web = ChannelFactory(name="Web")
    for i in range(6):
        make_rule(admin_user, team if i % 2 else other_team, name=f"Rule {i}", channels=[web], regions=["EMEA"])
    ReclaimRule.objects.create(name="Untouched", days=3)
    with django_assert_max_num_queries(10):
        page = admin_client.get(reverse("leads:routing_rules")).content.decode()
    assert page.index("Rule 0") < page.index("Rule 5") and "region EMEA" in page and "Untouched" in page


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def test_an_admin_creates_a_weighted_rule_with_conditions_and_weights(admin_client, team, rep, teammate, channel):
    form = admin_client.get(
        reverse("leads:routing_rule_create"), {"team": team.pk, "name": "DACH"}, headers={"HX-Request": "true"}
    )
    html = form.content.decode()
    assert f'name="weight_{rep.pk}"' in html and f'name="weight_{teammate.pk}"' in html and 'value="DACH"' in html
    response = admin_client.post(
        reverse("leads:routing_rule_create"),
        {
            "name": "DACH",
            "regions": "EMEA",
            "countries": "de, at,ch",
            "industries": "SaaS; Retail",
            "channels": [channel.pk],
            "company_size_min": "50",
            "company_size_max": "",
            "team": team.pk,
            "strategy": "weighted",
            "active": "on",
            f"weight_{rep.pk}": "3",
            f"weight_{teammate.pk}": "1",
        },
    )
    assert response.status_code == 302
    rule = AssignmentRule.objects.get(name="DACH")
    assert (rule.countries, rule.industries, rule.company_size_min, rule.company_size_max) == (
        ["DE", "AT", "CH"],
        ["SaaS", "Retail"],
        50,
        None,
    )
    assert list(rule.channels.all()) == [channel]
    assert dict(AssignmentRuleMember.objects.filter(rule=rule).values_list("user_id", "weight")) == {
        rep.pk: 3,
        teammate.pk: 1,
    }


def test_bad_rule_input_is_explained_next_to_the_fields(admin_client, team, rep):
    response = admin_client.post(
        reverse("leads:routing_rule_create"),
        {
            "name": "",
            "countries": "Germany",
            "company_size_min": "500",
            "company_size_max": "50",
            "team": "",
            "strategy": "weighted",
        },
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    for message in (
        "Give the rule a name people will recognise.",
        "Use two-letter ISO country codes",
        "The upper bound must not be below the lower bound.",
        "Choose the team whose reps get these leads.",
    ):
        assert message in html
    assert not AssignmentRule.objects.exists()
    response = admin_client.post(
        reverse("leads:routing_rule_create"),
        {"name": "X", "team": team.pk, "strategy": "weighted", f"weight_{rep.pk}": "-1", "company_size_min": "lots"},
    )
    html = response.content.decode()
    assert "A weight is 0 (no leads) or more." in html and "Enter a whole number of employees." in html


def test_rules_are_reordered_up_and_down(admin_client, admin_user, team):
    first, _second, third = (make_rule(admin_user, team, name=n) for n in ("A", "B", "C"))
    admin_client.post(reverse("leads:routing_rule_move", args=[third.pk]), {"direction": "up"})
    assert list(AssignmentRule.objects.values_list("name", flat=True)) == ["A", "C", "B"]
    response = admin_client.post(
        reverse("leads:routing_rule_move", args=[first.pk]), {"direction": "down"}, headers={"HX-Request": "true"}
    )
    assert list(AssignmentRule.objects.values_list("name", flat=True)) == ["C", "A", "B"]
    assert 'id="assignment-rules"' in response.content.decode() and "<html" not in response.content.decode()
    admin_client.post(reverse("leads:routing_rule_delete", args=[third.pk]))
    assert list(AssignmentRule.objects.values_list("name", "position")) == [("A", 1), ("B", 2)]


def test_an_admin_edits_and_deletes_a_reclaim_rule_and_bad_input_is_explained(admin_client):
    response = admin_client.post(
        reverse("leads:reclaim_rule_create"),
        {"name": "Quick", "kind": "no_outbound", "days": "0", "warn_hours": "x", "action": "pool"},
    )
    html = response.content.decode()
    assert "At least 1 day." in html and "Enter a whole number of hours" in html
    response = admin_client.post(
        reverse("leads:reclaim_rule_create"),
        {"name": "Quick", "kind": "no_outbound", "days": "2", "warn_hours": "48", "action": "pool"},
    )
    assert "Warn less than the rule" in response.content.decode()
    response = admin_client.post(
        reverse("leads:reclaim_rule_create"),
        {"name": "Quick", "kind": "no_progress", "days": "2", "warn_hours": "12", "action": "reroute", "active": "on"},
    )
    assert response.status_code == 302
    rule = ReclaimRule.objects.get()
    assert (rule.kind, rule.days, rule.warn_hours, rule.action, rule.active) == ("no_progress", 2, 12, "reroute", True)
    admin_client.post(reverse("leads:reclaim_rule_delete", args=[rule.pk]))
    assert not ReclaimRule.objects.exists()


# --- Team page ---------------------------------------------------------------------------------------------------


def test_a_rep_sees_only_themselves_and_sets_their_own_away_dates(rep_client, rep, teammate):
    page = rep_client.get(reverse("leads:team")).content.decode()
    assert str(rep) in page and str(teammate) not in page
    form = rep_client.get(reverse("leads:availability_edit", args=[rep.pk])).content.decode()
    assert "away_from" in form and "max_open_leads" not in form
    response = rep_client.post(
        reverse("leads:availability_edit", args=[rep.pk]),
        {"away_from": "2026-07-01", "away_until": "2026-07-14", "max_open_leads": "999"},
    )
    assert response.status_code == 302
    rep.refresh_from_db()
    assert (str(rep.away_from), str(rep.away_until), rep.max_open_leads) == ("2026-07-01", "2026-07-14", None)


def test_a_rep_cannot_change_a_teammates_availability(rep_client, teammate):
    assert rep_client.get(reverse("leads:availability_edit", args=[teammate.pk])).status_code == 404
    assert (
        rep_client.post(reverse("leads:availability_edit", args=[teammate.pk]), {"away_from": "2026-07-01"}).status_code
        == 404
    )


def test_away_dates_in_the_wrong_order_are_refused_next_to_the_field(rep_client, rep, htmx):
    response = rep_client.post(
        reverse("leads:availability_edit", args=[rep.pk]),
        {"away_from": "2026-07-14", "away_until": "2026-07-01"},
        headers=htmx,
    )
    assert "The last day away cannot be before the first." in response.content.decode()
    rep.refresh_from_db()
    assert rep.away_from is None


def test_a_manager_sets_capacity_and_holding_limit_of_the_teams_reps_only(client, manager, rep, other_rep, htmx):
    client.force_login(manager)
    page = client.get(reverse("leads:team")).content.decode()
    assert str(rep) in page and str(other_rep) not in page
    response = client.post(
        reverse("leads:availability_edit", args=[rep.pk]),
        {"away_from": "", "away_until": "", "max_open_leads": "40", "pool_holding_limit": "5"},
        headers=htmx,
    )
    assert f'id="person-{rep.pk}"' in response.content.decode()
    rep.refresh_from_db()
    assert (rep.max_open_leads, rep.pool_holding_limit) == (40, 5)
    assert (
        client.post(reverse("leads:availability_edit", args=[other_rep.pk]), {"max_open_leads": "1"}).status_code == 404
    )
    bad = client.post(reverse("leads:availability_edit", args=[rep.pk]), {"max_open_leads": "-3"}, headers=htmx)
    assert "Cannot be negative." in bad.content.decode() or "greater than or equal to 0" in bad.content.decode()


def test_the_team_page_costs_a_fixed_number_of_queries(
    client, admin_user, rep, teammate, other_rep, django_assert_max_num_queries
):
    client.force_login(admin_user)
    with django_assert_max_num_queries(8):
        page = client.get(reverse("leads:team")).content.decode()
    assert all(str(person) in page for person in (rep, teammate, other_rep))


def test_the_rule_pages_render_in_full_for_an_admin(admin_client, rule, reclaim_rule, rep):
    for url in (
        reverse("leads:routing_rule_create"),
        reverse("leads:routing_rule_edit", args=[rule.pk]),
        reverse("leads:reclaim_rule_create"),
        reverse("leads:reclaim_rule_edit", args=[reclaim_rule.pk]),
        reverse("leads:availability_edit", args=[rep.pk]),
    ):
        response = admin_client.get(url)
        assert response.status_code == 200 and "<html" in response.content.decode(), url
    assert (
        f'name="weight_{rep.pk}"'
        in admin_client.get(reverse("leads:routing_rule_edit", args=[rule.pk])).content.decode()
    )
