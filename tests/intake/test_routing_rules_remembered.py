"""An API process remembers the routing rules between calls (issue 11: a lead from the API costs no query for them),
yet every change to a rule is seen on the next call: saved, switched off, moved, deleted, its channels changed, in
this process or another; and with the cache flushed or away the rules are read from the database. The cache is
this run's real Redis."""

import json

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads.models import AssignmentRule, Lead
from leads.routing import services as routing
from tests.intake.test_cache_outage import cache_down  # noqa: F401 (a fixture)
from tests.routing.conftest import make_rule
from tests.threads import together

pytestmark = pytest.mark.django_db


def _create(client, raw, email):
    response = client.post(
        "/api/v1/leads/",
        json.dumps({"name": "Ada", "email": email, "country": "DE"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert response.status_code == 201, response.content
    return Lead.objects.get(pk=response.json()["lead"]["id"])


def _rules_reads(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if 'FROM "leads_assignmentrule" r WHERE r.active' in q["sql"]]


def test_a_call_reads_the_rules_once_then_remembers_them(client, token, rep, admin_user, team):
    make_rule(admin_user, team)
    _raw = token[1]
    with CaptureQueriesContext(connection) as first:
        assert _create(client, _raw, "a@example.com").owner == rep  # the token is read, and the rules
    assert len(_rules_reads(first)) == 1  # (so the filter below does find the rules' query)
    with CaptureQueriesContext(connection) as queries:
        assert _create(client, _raw, "b@example.com").owner == rep
    assert _rules_reads(queries) == []


def test_a_rule_saved_is_used_by_the_next_call(client, token, rep, admin_user, team):
    assert _create(client, token[1], "a@example.com").owner is None  # no rule: the pool, and none remembered
    make_rule(admin_user, team)
    assert _create(client, token[1], "b@example.com").owner == rep


def test_a_rule_switched_off_is_not_used_by_the_next_call(client, token, rep, admin_user, team):
    rule = make_rule(admin_user, team)
    assert _create(client, token[1], "a@example.com").owner == rep
    rule.active = False
    routing.assignment_rule_save(user=admin_user, rule=rule)
    assert _create(client, token[1], "b@example.com").owner is None


def test_a_rules_channels_changed_are_used_by_the_next_call(client, token, channel, rep, admin_user, team):
    from tests.factories import ChannelFactory

    rule = make_rule(admin_user, team, channels=[channel])
    assert _create(client, token[1], "a@example.com").owner == rep
    rule.channels.set([ChannelFactory(name="Elsewhere")])  # an m2m change, not a save of the rule
    assert _create(client, token[1], "b@example.com").owner is None


def test_rules_moved_in_bulk_are_used_in_their_new_order(client, token, rep, admin_user, team):
    from crm.roles import Role
    from tests.factories import TeamFactory, UserFactory

    field = TeamFactory(name="Field Sales")
    field_rep = UserFactory(username="field", role=Role.REP, team=field)
    make_rule(admin_user, team, name="Inside first")
    second = make_rule(admin_user, field, name="Field second")
    assert _create(client, token[1], "a@example.com").team_id == team.pk
    routing.assignment_rule_move(user=admin_user, rule=second, offset=-1)  # bulk_update: no signal of its own
    assert _create(client, token[1], "b@example.com").owner == field_rep


def test_a_deleted_rule_is_not_used_by_the_next_call(client, token, rep, admin_user, team):
    rule = make_rule(admin_user, team)
    assert _create(client, token[1], "a@example.com").owner == rep
    routing.assignment_rule_delete(user=admin_user, rule=rule)
    assert _create(client, token[1], "b@example.com").owner is None


def test_a_change_made_in_another_process_is_seen_here(client, token, rep, admin_user, team):
    """Another process switches the rule off (a bulk update: no signal here) and renews the generation in the
    shared cache; this process reads the rules again."""
    rule = make_rule(admin_user, team)
    assert _create(client, token[1], "a@example.com").owner == rep
    AssignmentRule.objects.filter(pk=rule.pk).update(active=False)
    cache.set(routing.RULES_GENERATION_KEY, "another process", timeout=None)
    assert _create(client, token[1], "b@example.com").owner is None


def test_without_the_generation_in_the_cache_the_rules_are_read_from_the_database(client, token, rep, admin_user, team):
    """A flushed cache (or one that lost the key) cannot vouch for remembered rules."""
    rule = make_rule(admin_user, team)
    assert _create(client, token[1], "a@example.com").owner == rep
    cache.clear()
    AssignmentRule.objects.filter(pk=rule.pk).update(active=False)  # a bulk change: no signal
    assert _create(client, token[1], "b@example.com").owner is None


def test_with_the_cache_down_the_rules_are_read_from_the_database(client, token, rep, admin_user, team, request):
    rule = make_rule(admin_user, team)
    assert _create(client, token[1], "a@example.com").owner == rep
    request.getfixturevalue("cache_down")
    AssignmentRule.objects.filter(pk=rule.pk).update(active=False)  # unseen by any generation
    assert _create(client, token[1], "b@example.com").owner is None
    AssignmentRule.objects.filter(pk=rule.pk).update(active=True)
    assert _create(client, token[1], "c@example.com").owner == rep


@pytest.mark.django_db(transaction=True)
def test_a_rule_saved_by_another_thread_is_used_by_the_next_call_here(client, token, rep, admin_user, team):
    """The other thread has its own connection and commits; the generation it renews is the shared one."""
    assert _create(client, token[1], "a@example.com").owner is None
    _results, errors = together(lambda: make_rule(admin_user, team), timeout=30)
    assert errors == [None]
    assert _create(client, token[1], "b@example.com").owner == rep
