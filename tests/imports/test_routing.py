"""Imported leads without an owner are routed by the assignment rules, like leads from every other way in."""

import pytest

from leads.models import Lead
from tests.imports.conftest import csv_text, run_import
from tests.routing.conftest import make_rule

pytestmark = pytest.mark.django_db


def test_open_unowned_rows_are_routed_round_robin_and_others_left_alone(admin_user, team, rep, teammate, other_rep):
    make_rule(admin_user, team, name="Everything to Inside Sales")
    text = csv_text(
        "name,email,stage,owner,deal_value",
        "Ada,ada@example.com,new,,",
        "Grace,grace@example.com,contacted,,",
        "Linus,linus@example.com,new,,",
        "Old deal,old@example.com,won,,1200",
        f"Kept,kept@example.com,new,{other_rep.username},",
    )
    result = run_import(text, user=admin_user)
    assert result.created == 5
    owners = dict(Lead.objects.values_list("name", "owner__username"))
    routed = [owners["Ada"], owners["Grace"], owners["Linus"]]
    assert set(routed) == {rep.username, teammate.username}  # round-robin over the team's two reps
    assert owners["Old deal"] is None  # a closed historical lead is not handed to anyone
    assert owners["Kept"] == other_rep.username  # an owner the file names is kept


def test_without_rules_imported_leads_wait_in_the_pool(admin_user):
    run_import(csv_text("name,email", "Ada,ada@example.com"), user=admin_user)
    assert Lead.objects.get().owner is None
