"""The leads-list filters the reports link to: each shows exactly the leads a report counted."""

import pytest

from tests.reports.conftest import MARCH

pytestmark = pytest.mark.django_db
IN_MARCH = {"created_after": MARCH["start"], "created_before": MARCH["end"]}


@pytest.mark.parametrize(
    "query,expected",
    [
        ({"reached": "contacted"}, {"L1", "L2", "L3", "L5"}),
        ({"reached": "proposal"}, {"L1", "L5"}),
        ({"industry": "Software"}, {"L1", "L2"}),
        ({"industry": "__blank__"}, {"L3", "L4", "L5", "L6"}),
        ({"region": "EMEA"}, {"L1", "L3"}),
        ({"size": "11-50"}, {"L1"}),
        ({"size": "unknown"}, {"L2", "L3", "L4", "L5", "L6"}),
        ({"response": "under-5m"}, {"L1"}),
        ({"response": "1-24h"}, {"L3", "L5"}),
        ({"response": "never"}, {"L4", "L6"}),
        ({"lost_reason": "no_budget"}, {"L2"}),
        ({"open": "on"}, {"L3", "L4", "L6"}),
        ({"stage_age": "8-30d"}, {"L3", "L4"}),
        ({"stage_age": "31-90d"}, {"L6"}),
        ({"missing": "phone"}, {"L2", "L3", "L4", "L5", "L6"}),
        ({"filled": "phone"}, {"L1"}),
    ],
)
def test_report_filters_narrow_the_list(month, client, admin_user, query, expected):
    client.force_login(admin_user)
    response = client.get("/leads/", {**IN_MARCH, **query})
    assert response.status_code == 200
    names = {lead.name for lead in response.context["page"].rows}
    assert names == {month[key].name for key in expected}


def test_team_filter_for_a_manager_offers_only_managed_teams(month, client, manager, team, other_team):
    client.force_login(manager)
    response = client.get("/leads/", {**IN_MARCH, "team": other_team.pk})
    assert "team" in response.context["filter"].errors
    response = client.get("/leads/", {**IN_MARCH, "team": team.pk})
    assert {lead.name for lead in response.context["page"].rows} == {
        month[k].name for k in ("L1", "L2", "L3", "L4", "L6")
    }


def test_overdue_tasks_filter_shows_leads_with_a_persons_overdue_tasks(month, client, admin_user, rep):
    client.force_login(admin_user)
    response = client.get("/leads/", {"overdue_for": rep.pk})
    assert {lead.name for lead in response.context["page"].rows} == {month["L6"].name}


def test_report_filters_stay_hidden_in_the_list_until_set(month, client, admin_user):
    client.force_login(admin_user)
    html = client.get("/leads/").content.decode()
    assert 'name="reached"' not in html
    html = client.get("/leads/", {"reached": "won"}).content.decode()
    assert 'name="reached"' in html
