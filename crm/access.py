"""Who may do what: the one module of permission checks.

Views, services, selectors, forms and the API ask here; nothing else tests a role. Three kinds of answers:

- **named checks**, `can_<do>(user[, obj]) -> bool`, each carrying the sentence a refusal shows (`refusal`);
- **visible sets**, querysets a list, report, export or API call starts from (`leads_visible_to`,
  `leads_for_token`, `users_assignable_by`, `teams_managed_by`);
- **enforcement**: `ensure(check, user, ...)` raises `PermissionDenied` (403, the reason as its message) and
  `@require(check)` does the same in front of a view.

The rules, in one paragraph: reps work their own leads and the pool; managers see, edit and reassign their teams'
leads, their own and the pool's, import leads, merge duplicates and read the team reports; admins do everything
and alone configure channels, routing, response targets and scoring. An API token sees its own channel's leads
only. Anyone without a role (or not logged in) sees nothing.

This module imports Django and `crm` only (see the architecture notes): the leads model is looked up by name
when a queryset is built, and checks on a lead read only its `owner_id` and `team_id`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.apps import apps
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q, QuerySet

from crm.models import Team, User
from crm.roles import Role

# --- Roles ---------------------------------------------------------------------------------------------------------


def role_of(user: Any) -> Role | None:
    """The user's role; None for the anonymous user, the system (None) and people in no role group."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user.role


def refusal(message: str) -> Callable[[Callable[..., bool]], Callable[..., bool]]:
    """Attach the sentence a 403 shows when the check says no."""

    def attach(check: Callable[..., bool]) -> Callable[..., bool]:
        check.refusal = message
        return check

    return attach


@refusal("Only admins may do this.")
def is_crm_admin(user: Any) -> bool:
    return role_of(user) == Role.ADMIN


def is_manager(user: Any) -> bool:
    """In the manager role (admins are not managers; ask `can_manage_team` for "manager or admin")."""
    return role_of(user) == Role.MANAGER


def is_rep(user: Any) -> bool:
    return role_of(user) == Role.REP


def has_role(user: Any) -> bool:
    return role_of(user) is not None


# --- Teams and people ----------------------------------------------------------------------------------------------


def teams_managed_by(user: Any) -> QuerySet[Team]:
    """The teams whose manager the user is (whatever their role; managers are the ones that have any)."""
    if role_of(user) is None:
        return Team.objects.none()
    return Team.objects.filter(manager=user)


def managed_team_ids(user: Any) -> frozenset[int]:
    """Ids of the teams a manager leads; empty for everyone else, admins included.

    One query, then kept on the user object like its role (`User.role`), so a page that checks many rows (the
    Team page, an import) asks once. A user object lives for one request or one task.
    """
    if not is_manager(user):
        return frozenset()
    cached = user.__dict__.get("_managed_team_ids")
    if cached is None:
        cached = user.__dict__["_managed_team_ids"] = frozenset(teams_managed_by(user).values_list("pk", flat=True))
    return cached


@refusal("Only managers and admins may do this.")
def can_manage_team(user: Any, team: Team | None = None) -> bool:
    """Admins manage every team; a manager the teams they lead. Without a team: whether the user manages teams
    at all (the manager or admin role), which is what reassigning, importing and team reports ask."""
    role = role_of(user)
    if role == Role.ADMIN:
        return True
    if role != Role.MANAGER:
        return False
    return team is None or team.manager_id == user.pk


def teams_visible_to(user: Any) -> QuerySet[Team]:
    """Teams whose figures and leads a user may pick in filters: admins all, managers theirs, others none."""
    if is_crm_admin(user):
        return Team.objects.all()
    if is_manager(user):
        return teams_managed_by(user)
    return Team.objects.none()


def users_assignable_by(user: Any) -> QuerySet[User]:
    """Whom a user may hand leads to: admins anyone active, managers their teams' members and themselves, reps
    themselves."""
    users = User.objects.filter(is_active=True)
    if is_crm_admin(user):
        return users
    if is_manager(user):
        return users.filter(Q(team__in=teams_managed_by(user).values("pk")) | Q(pk=user.pk))
    if has_role(user):
        return users.filter(pk=user.pk)
    return users.none()


def people_visible_to(user: Any) -> QuerySet[User]:
    """Whose figures (reports) a user may see one by one: admins everyone active, managers their teams'
    people, reps themselves."""
    if is_crm_admin(user):
        return User.objects.filter(is_active=True)
    if is_manager(user):
        return User.objects.filter(team__in=teams_managed_by(user).values("pk"))
    if has_role(user):
        return User.objects.filter(pk=user.pk)
    return User.objects.none()


def team_members_visible_to(user: Any) -> QuerySet[User]:
    """Whose availability the Team page shows: admins everyone in a team or a rep, managers their teams and
    themselves, everyone else themselves."""
    people = User.objects.filter(is_active=True)
    if is_crm_admin(user):
        return people.filter(Q(team__isnull=False) | Q(groups__name=Role.REP.value) | Q(pk=user.pk)).distinct()
    if is_manager(user):
        return people.filter(Q(team__manager=user) | Q(pk=user.pk))
    if not getattr(user, "is_authenticated", False):
        return people.none()
    return people.filter(pk=user.pk)


@refusal("You cannot change this person's availability.")
def can_edit_availability(user: Any, person: User) -> bool:
    """Everyone sets their own away dates; managers their teams' people; admins everyone's."""
    if not getattr(user, "is_authenticated", False):
        return False
    return user.pk == person.pk or can_set_capacity(user, person)


@refusal("Only managers and admins set capacity and holding limits.")
def can_set_capacity(user: Any, person: User) -> bool:
    """Capacity and pool holding limits: managers for their teams' people, admins for everyone; never reps."""
    if is_crm_admin(user):
        return True
    return is_manager(user) and person.team_id is not None and person.team_id in managed_team_ids(user)


# --- Leads ---------------------------------------------------------------------------------------------------------


def _leads():
    return apps.get_model("leads", "Lead").objects


def leads_visible_to(user: Any) -> QuerySet:
    """Admins see every lead; managers their teams' leads, their own and the pool; reps their own and the pool;
    anyone else none."""
    role = role_of(user)
    if role == Role.ADMIN:
        return _leads().all()
    if role == Role.MANAGER:
        return _leads().filter(Q(team__in=teams_managed_by(user).values("pk")) | Q(owner=user) | Q(owner__isnull=True))
    if role == Role.REP:
        return _leads().filter(Q(owner=user) | Q(owner__isnull=True))
    return _leads().none()


def lead_visibility_keys(user: Any) -> list[int] | None:
    """`leads_visible_to` as keys of `leads.models.search_key` (a lead's owner, 0 for the pool, and its team
    negated): the leads whose key holds one of these are the leads the user may see. None for an admin (every
    lead); an empty list for anyone who sees none. One query for a manager's teams, then kept (`managed_team_ids`).
    """
    role = role_of(user)
    if role == Role.ADMIN:
        return None
    if role == Role.MANAGER:
        return [user.pk, 0, *(-team_id for team_id in sorted(managed_team_ids(user)))]
    if role == Role.REP:
        return [user.pk, 0]
    return []


def leads_for_token(token: Any) -> QuerySet:
    """The leads an API token may read or write: its own channel's, nothing else (a lead of another channel is,
    to the token, a lead that does not exist)."""
    if token is None or token.channel_id is None:
        return _leads().none()
    return _leads().filter(channel_id=token.channel_id)


@refusal("You cannot see this lead.")
def can_view_lead(user: Any, lead: Any) -> bool:
    """The same rule as `leads_visible_to`, on one lead in memory (at most one query, a manager's teams)."""
    role = role_of(user)
    if role is None:
        return False
    if role == Role.ADMIN or lead.owner_id is None or lead.owner_id == user.pk:
        return True
    return role == Role.MANAGER and lead.team_id is not None and lead.team_id in managed_team_ids(user)


def lead_edit_rule(user: Any) -> Callable[[int | None, int | None], bool]:
    """`can_edit_lead` as a function of (owner id, team id), for checking many rows with one query (imports)."""
    role = role_of(user)
    if role == Role.ADMIN:
        return lambda owner_id, team_id: True
    if role == Role.MANAGER:
        managed = managed_team_ids(user)
        return lambda owner_id, team_id: owner_id is None or owner_id == user.pk or team_id in managed
    if role == Role.REP:
        return lambda owner_id, team_id: owner_id == user.pk
    return lambda owner_id, team_id: False


@refusal("Claim this lead from the pool before working on it.")
def can_edit_lead(user: Any, lead: Any) -> bool:
    """Reps edit their own leads; managers their teams', their own and the pool's; admins all."""
    return lead_edit_rule(user)(lead.owner_id, lead.team_id)


@refusal("Only its assignee or whoever may edit the lead may change this follow-up.")
def can_work_task(user: Any, task: Any) -> bool:
    """A follow-up is its assignee's (even on a lead handed to someone else while the task stayed with them), and
    whoever may edit its lead's."""
    if role_of(user) is None:
        return False
    return task.assignee_id == user.pk or can_edit_lead(user, task.lead)


@refusal("Only its author or the lead's owner and managers may change this interaction.")
def can_edit_interaction(user: Any, interaction: Any) -> bool:
    """Interactions logged by a person may be corrected by their author or by whoever may edit the lead.

    Marketing and system events (web visits, form submissions...) are facts from elsewhere: nobody edits them.
    """
    if interaction.user_id is None or role_of(user) is None:
        return False
    if interaction.user_id == user.pk:
        return True
    return can_edit_lead(user, interaction.lead)


@refusal("Only managers and admins reassign leads.")
def can_reassign_leads(user: Any) -> bool:
    """Choosing a lead's owner (on the lead page, in bulk, on a new lead or an import): managers and admins."""
    return can_manage_team(user)


@refusal("Only managers and admins use bulk actions.")
def can_bulk_edit_leads(user: Any) -> bool:
    return can_manage_team(user)


@refusal("Only managers and admins review duplicates and merge leads.")
def can_merge_leads(user: Any) -> bool:
    """A merge deletes leads: a manager's call (for the leads they see), or an admin's."""
    return can_manage_team(user)


@refusal("Only managers and admins import leads.")
def can_import_leads(user: Any) -> bool:
    return can_manage_team(user)


def can_export_pool(user: Any) -> bool:
    """Reps see the pool to claim from it one lead at a time; downloading all of it is for managers and admins."""
    return can_manage_team(user)


# --- Customers -----------------------------------------------------------------------------------------------------


def _accounts():
    return apps.get_model("customers", "Account").objects


def customers_visible_to(user: Any) -> QuerySet:
    """Admins see every customer; managers their teams' customers and their own; reps their own; anyone else
    none. (A customer has an owner, the rep who won it; there is no pool of customers.)"""
    role = role_of(user)
    if role == Role.ADMIN:
        return _accounts().all()
    if role == Role.MANAGER:
        return _accounts().filter(Q(team__in=teams_managed_by(user).values("pk")) | Q(owner=user))
    if role == Role.REP:
        return _accounts().filter(owner=user)
    return _accounts().none()


@refusal("You cannot see this customer.")
def can_view_customer(user: Any, account: Any) -> bool:
    """The same rule as `customers_visible_to`, on one account in memory."""
    role = role_of(user)
    if role is None:
        return False
    if role == Role.ADMIN or (account.owner_id is not None and account.owner_id == user.pk):
        return True
    return role == Role.MANAGER and account.team_id is not None and account.team_id in managed_team_ids(user)


@refusal("You cannot change this customer.")
def can_edit_customer(user: Any, account: Any) -> bool:
    """Whoever sees a customer works it: orders, contacts, churn, surveys."""
    return can_view_customer(user, account)


@refusal("Only managers and admins hand customers to someone else.")
def can_reassign_customer(user: Any, account: Any) -> bool:
    """Choosing a customer's owner: admins any customer, managers the customers they see (their teams' and
    their own)."""
    role = role_of(user)
    if role == Role.ADMIN:
        return True
    return role == Role.MANAGER and can_view_customer(user, account)


@refusal("Only won leads you may work on become customers.")
def can_convert_lead(user: Any, lead: Any) -> bool:
    """Converting a won lead is working on it: whoever may edit the lead."""
    return can_edit_lead(user, lead)


@refusal("Only admins change how churn is defined.")
def can_configure_churn(user: Any) -> bool:
    return is_crm_admin(user)


@refusal("Only admins import orders.")
def can_import_orders(user: Any) -> bool:
    """An order import creates customers nobody owns yet and changes company-wide revenue: an admin's task."""
    return is_crm_admin(user)


# --- Reports -------------------------------------------------------------------------------------------------------


@refusal("This report is for managers and admins.")
def can_see_team_reports(user: Any) -> bool:
    """The dashboard and the reports on other people's work (economics, team...)."""
    return can_manage_team(user)


def sees_all_figures(user: Any) -> bool:
    """Whether report figures cover the whole company (admins) rather than the user's teams or own leads."""
    return is_crm_admin(user)


# --- Campaigns ----------------------------------------------------------------------------------------------------


@refusal("Only managers and admins set campaigns up.")
def can_manage_campaigns(user: Any) -> bool:
    """Creating and editing campaigns, their members and emails, sending, event check-in: managers and admins."""
    return can_manage_team(user)


def campaigns_visible_to(user: Any) -> QuerySet:
    """Managers and admins see every campaign; reps the campaigns one of their own leads is a member of (what
    those leads received, opened and clicked); anyone else none. Inside a campaign, everyone sees the members
    among `leads_visible_to`."""
    campaigns = apps.get_model("campaigns", "Campaign").objects
    if can_manage_team(user):
        return campaigns.all()
    if has_role(user):
        members = apps.get_model("campaigns", "Member").objects.filter(campaign=OuterRef("pk"), lead__owner=user)
        return campaigns.filter(Exists(members))
    return campaigns.none()


# --- Configuration (admins) ----------------------------------------------------------------------------------------


@refusal("Only admins set up channels.")
def can_configure_channels(user: Any) -> bool:
    """Channels, their spend, web forms and API tokens; also creating channels through an import."""
    return is_crm_admin(user)


@refusal("Only admins change routing and reclaim rules.")
def can_configure_routing(user: Any) -> bool:
    return is_crm_admin(user)


@refusal("Only admins change response targets and business-hours calendars.")
def can_configure_response_targets(user: Any) -> bool:
    return is_crm_admin(user)


@refusal("Only admins configure scoring.")
def can_configure_scoring(user: Any) -> bool:
    return is_crm_admin(user)


# --- Enforcement ---------------------------------------------------------------------------------------------------


def ensure(check: Callable[..., bool], user: Any, *objects: Any) -> None:
    """Raise `PermissionDenied` (403, Django's handler shows the reason) unless `check(user, *objects)`."""
    if not check(user, *objects):
        raise PermissionDenied(getattr(check, "refusal", "You may not do this."))


def require(check: Callable[[Any], bool]):
    """View decorator: the login page for the anonymous, 403 with the check's reason for the refused.

    The wrapped view carries `access_check`, so tests can list which check guards each URL.
    """

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            ensure(check, request.user)
            return view(request, *args, **kwargs)

        wrapper.access_check = check
        return wrapper

    return decorator
