"""Every named check of `crm.access`, for a rep, their teammate, their manager, an admin, another team's rep and
manager, someone without a role and the anonymous visitor: each rule is written once, so it is tested once here.
"""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.test import RequestFactory

from crm import access
from leads.channels import services as channel_services
from leads.models import Lead
from tests.factories import ChannelFactory, InteractionFactory, LeadFactory, UserFactory

pytestmark = pytest.mark.django_db

# Who is who in the fixtures: rep and teammate are in the manager's team (Inside Sales); other_rep in
# other_manager's team (Field Sales).
PEOPLE = ["rep", "teammate", "manager", "admin", "other_rep", "other_manager", "nobody", "anonymous"]


@pytest.fixture
def people(rep, teammate, manager, admin_user, other_rep, other_manager):
    return {
        "rep": rep,
        "teammate": teammate,
        "manager": manager,
        "admin": admin_user,
        "other_rep": other_rep,
        "other_manager": other_manager,
        "nobody": UserFactory(username="nobody"),  # logged in, in no role group
        "anonymous": AnonymousUser(),
    }


@pytest.fixture
def leads(people, team, other_team):
    return {
        "rep's": LeadFactory(owner=people["rep"]),
        "teammate's": LeadFactory(owner=people["teammate"]),
        "manager's": LeadFactory(owner=people["manager"]),
        "other team's": LeadFactory(owner=people["other_rep"]),
        "pool": LeadFactory(owner=None),
        # A lead released back to the pool keeps its team.
        "other team's pool": LeadFactory(owner=None, team=other_team),
    }


def _who(people, expected_true: set[str], check, *args) -> None:
    answers = {name: check(people[name], *args) for name in PEOPLE}
    assert {name for name, yes in answers.items() if yes} == expected_true, check.__name__


# --- Roles ---------------------------------------------------------------------------------------------------------


def test_only_the_admin_is_a_crm_admin(people):
    _who(people, {"admin"}, access.is_crm_admin)


def test_managing_teams_is_for_managers_and_admins(people):
    _who(people, {"manager", "other_manager", "admin"}, access.can_manage_team)


def test_a_team_is_managed_by_its_manager_and_the_admins(people, team, other_team):
    _who(people, {"manager", "admin"}, access.can_manage_team, team)
    _who(people, {"other_manager", "admin"}, access.can_manage_team, other_team)


@pytest.mark.parametrize(
    "check",
    [
        access.can_reassign_leads,
        access.can_bulk_edit_leads,
        access.can_merge_leads,
        access.can_import_leads,
        access.can_export_pool,
        access.can_see_team_reports,
    ],
    ids=lambda check: check.__name__,
)
def test_managers_and_admins_only(people, check):
    _who(people, {"manager", "other_manager", "admin"}, check)


@pytest.mark.parametrize(
    "check",
    [
        access.can_configure_channels,
        access.can_configure_routing,
        access.can_configure_response_targets,
        access.can_configure_scoring,
        access.sees_all_figures,
    ],
    ids=lambda check: check.__name__,
)
def test_configuration_is_for_admins_only(people, check):
    _who(people, {"admin"}, check)


# --- Leads ---------------------------------------------------------------------------------------------------------

VIEWERS = {
    "rep's": {"rep", "manager", "admin"},
    "teammate's": {"teammate", "manager", "admin"},
    "manager's": {"manager", "admin"},
    "other team's": {"other_rep", "other_manager", "admin"},
    # The pool is everyone's with a role, to claim from.
    "pool": {"rep", "teammate", "manager", "admin", "other_rep", "other_manager"},
    "other team's pool": {"rep", "teammate", "manager", "admin", "other_rep", "other_manager"},
}
EDITORS = {
    "rep's": {"rep", "manager", "admin"},
    "teammate's": {"teammate", "manager", "admin"},
    "manager's": {"manager", "admin"},
    "other team's": {"other_rep", "other_manager", "admin"},
    # Reps claim a pool lead before working it; managers and admins work it as it is.
    "pool": {"manager", "other_manager", "admin"},
    "other team's pool": {"manager", "other_manager", "admin"},
}


@pytest.mark.parametrize("which", list(VIEWERS))
def test_who_sees_a_lead(people, leads, which):
    _who(people, VIEWERS[which], access.can_view_lead, leads[which])


@pytest.mark.parametrize("name", PEOPLE)
def test_the_visible_set_and_the_one_lead_check_agree(people, leads, name):
    user = people[name]
    visible = set(access.leads_visible_to(user).values_list("pk", flat=True))
    assert visible == {lead.pk for lead in leads.values() if access.can_view_lead(user, lead)}
    assert visible == {leads[which].pk for which, viewers in VIEWERS.items() if name in viewers}


@pytest.mark.parametrize("which", list(EDITORS))
def test_who_edits_a_lead(people, leads, which):
    _who(people, EDITORS[which], access.can_edit_lead, leads[which])


@pytest.mark.parametrize("name", PEOPLE)
def test_the_row_rule_and_the_one_lead_check_agree(people, leads, name):
    rule = access.lead_edit_rule(people[name])
    for lead in leads.values():
        assert rule(lead.owner_id, lead.team_id) == access.can_edit_lead(people[name], lead)


def test_an_interaction_is_edited_by_its_author_or_whoever_edits_the_lead(people, leads):
    call = InteractionFactory(lead=leads["rep's"], user=people["rep"])
    _who(people, {"rep", "manager", "admin"}, access.can_edit_interaction, call)
    # A teammate who logged a call on the rep's lead (it was theirs then) may still correct it.
    their_call = InteractionFactory(lead=leads["rep's"], user=people["teammate"])
    _who(people, {"teammate", "rep", "manager", "admin"}, access.can_edit_interaction, their_call)


def test_a_system_event_is_edited_by_nobody(people, leads):
    visit = InteractionFactory(lead=leads["rep's"], user=None, kind="web_visit", direction="system", outcome="")
    _who(people, set(), access.can_edit_interaction, visit)


# --- People --------------------------------------------------------------------------------------------------------


def test_away_dates_are_set_by_the_person_their_manager_and_admins(people):
    _who(people, {"rep", "manager", "admin"}, access.can_edit_availability, people["rep"])
    _who(people, {"other_rep", "other_manager", "admin"}, access.can_edit_availability, people["other_rep"])


def test_capacity_is_set_by_the_persons_manager_and_admins(people):
    _who(people, {"manager", "admin"}, access.can_set_capacity, people["rep"])
    _who(people, {"other_manager", "admin"}, access.can_set_capacity, people["other_rep"])


def _usernames(queryset) -> set[str]:
    return set(queryset.values_list("username", flat=True))


def test_whom_each_person_may_give_leads_to(people):
    everyone_active = {p.username for name, p in people.items() if name != "anonymous"}
    assert _usernames(access.users_assignable_by(people["admin"])) == everyone_active
    assert _usernames(access.users_assignable_by(people["manager"])) == {"manager", "rep", "teammate"}
    assert _usernames(access.users_assignable_by(people["other_manager"])) == {"other_manager", "other_rep"}
    assert _usernames(access.users_assignable_by(people["rep"])) == {"rep"}
    assert _usernames(access.users_assignable_by(people["nobody"])) == set()
    assert _usernames(access.users_assignable_by(people["anonymous"])) == set()


def test_whose_figures_each_person_sees(people):
    assert _usernames(access.people_visible_to(people["manager"])) == {"rep", "teammate"}
    assert _usernames(access.people_visible_to(people["other_manager"])) == {"other_rep"}
    assert _usernames(access.people_visible_to(people["rep"])) == {"rep"}
    assert _usernames(access.people_visible_to(people["anonymous"])) == set()
    assert "other_rep" in _usernames(access.people_visible_to(people["admin"]))


def test_which_teams_each_person_may_pick(people, team, other_team):
    assert set(access.teams_visible_to(people["admin"])) == {team, other_team}
    assert set(access.teams_visible_to(people["manager"])) == {team}
    assert set(access.teams_visible_to(people["other_manager"])) == {other_team}
    for name in ("rep", "other_rep", "nobody", "anonymous"):
        assert not access.teams_visible_to(people[name]).exists(), name


def test_whose_availability_the_team_page_lists(people):
    assert _usernames(access.team_members_visible_to(people["manager"])) == {"manager", "rep", "teammate"}
    assert _usernames(access.team_members_visible_to(people["rep"])) == {"rep"}
    assert _usernames(access.team_members_visible_to(people["anonymous"])) == set()
    assert {"rep", "other_rep", "admin"} <= _usernames(access.team_members_visible_to(people["admin"]))


# --- API tokens ----------------------------------------------------------------------------------------------------


def test_a_token_sees_its_own_channels_leads_only(admin_user):
    ads, portal = ChannelFactory(name="Google Ads"), ChannelFactory(name="Partner portal")
    ads_token, _ = channel_services.api_token_create(user=admin_user, channel=ads, name="Landing page")
    portal_token, _ = channel_services.api_token_create(user=admin_user, channel=portal, name="Partner")
    ours, theirs = LeadFactory(channel=ads), LeadFactory(channel=portal)
    LeadFactory(channel=None)
    assert list(access.leads_for_token(ads_token)) == [ours]
    assert list(access.leads_for_token(portal_token)) == [theirs]
    assert not access.leads_for_token(None).exists()
    assert Lead.objects.count() == 3


# --- Enforcement ---------------------------------------------------------------------------------------------------


def test_ensure_refuses_with_the_checks_reason(people, leads):
    access.ensure(access.can_edit_lead, people["rep"], leads["rep's"])
    with pytest.raises(PermissionDenied, match="Claim this lead from the pool"):
        access.ensure(access.can_edit_lead, people["rep"], leads["pool"])
    with pytest.raises(PermissionDenied, match="Only admins configure scoring"):
        access.ensure(access.can_configure_scoring, people["manager"])


@access.require(access.can_configure_channels)
def _channels_page(request):
    return HttpResponse("channels")


@pytest.mark.parametrize("name", PEOPLE)
def test_the_view_decorator_sends_the_anonymous_to_login_and_refuses_with_a_reason(people, name):
    request = RequestFactory().get("/leads/channels/")
    request.user = people[name]
    if name == "anonymous":
        response = _channels_page(request)
        assert response.status_code == 302 and response["Location"] == "/login/?next=/leads/channels/"
    elif name == "admin":
        assert _channels_page(request).content == b"channels"
    else:
        with pytest.raises(PermissionDenied, match="Only admins set up channels"):
            _channels_page(request)
    assert _channels_page.access_check is access.can_configure_channels


def test_a_refusal_page_says_why(client, rep):
    client.force_login(rep)
    response = client.get("/leads/channels/")
    assert response.status_code == 403
    assert b"Only admins set up channels." in response.content
