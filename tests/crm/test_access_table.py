"""The access table: every URL of the project, asked by the anonymous visitor, a rep, a manager, an admin, and a
rep and a manager of another team.

Each answer falls in a family: `login` (302 to the login page), `forbidden` (403), `missing` (404), `token`
(401, the API wants its own token), or `ok` (any other answer below 500; a POST sent empty may answer with its
form's errors). No URL may answer 500, and `EXPECTED` must name every URL of the project: a new view without a
line here fails the suite until someone decides who may open it.

The ids in each URL are filled from one small world: a lead the rep owns (in the manager's team), its task and
call, an import the manager started, a notice of the person asking, and one of each thing admins configure.
Each request runs in a savepoint that is rolled back, so a delete or a publish does not change the next request.
The Django admin's own pages are Django's (staff only) and are represented by its index.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from campaigns import tracking
from campaigns.models import Campaign, EmailStep, EmailVariant, Member, Send
from crm import clock
from crm.models import Notification, User
from customers import imports as order_imports
from customers import services as customers
from customers import surveys
from leads.channels import services as channel_services
from leads.imports import services as imports
from leads.models import AssignmentRule, ChannelSpend, ReclaimRule, Stage, WebForm
from leads.routing import reclaim as reclaim
from leads.routing import services as routing
from scoring.models import ScoringRun
from tests.factories import (
    BusinessCalendarFactory,
    InteractionFactory,
    LeadFactory,
    ResponsePolicyFactory,
    TaskFactory,
)
from tests.scoring.conftest import make_model

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "rep", "manager", "admin", "other_rep", "other_manager")
OK, LOGIN, FORBIDDEN, MISSING, TOKEN = "ok", "login", "forbidden", "missing", "token"


def _row(anonymous, rep, manager, admin, other_rep=None, other_manager=None) -> dict[str, str]:
    """Another team's rep and manager answer like the rep and the manager unless the URL names the rep's things."""
    return dict(zip(ROLES, (anonymous, rep, manager, admin, other_rep or rep, other_manager or manager), strict=True))


EVERYONE = _row(LOGIN, OK, OK, OK)
MANAGERS = _row(LOGIN, FORBIDDEN, OK, OK)
ADMINS = _row(LOGIN, FORBIDDEN, FORBIDDEN, OK)
PUBLIC = _row(OK, OK, OK, OK)
API = _row(TOKEN, TOKEN, TOKEN, TOKEN)
# The rep's lead (its task, its call, the rep's availability): another team does not know it exists.
THE_REPS = _row(LOGIN, OK, OK, OK, other_rep=MISSING, other_manager=MISSING)
# The manager's import: another team's rep may not import at all, another manager does not see it.
THE_MANAGERS_IMPORT = _row(LOGIN, FORBIDDEN, OK, OK, other_rep=FORBIDDEN, other_manager=MISSING)

EXPECTED: dict[str, dict[str, str]] = {
    # Pages of the working day: everyone with a login (the lead is the rep's own, in the manager's team).
    "home": EVERYONE,
    "my_day": EVERYONE,
    "reports:dashboard": EVERYONE,
    "reports:report": MANAGERS,  # the Team report (reps see the reports on their own leads only)
    "leads:list": EVERYONE,
    "leads:create": EVERYONE,
    "leads:count": EVERYONE,
    "leads:search": EVERYONE,
    "leads:bulk": MANAGERS,
    "leads:duplicates_check": EVERYONE,
    "leads:detail": THE_REPS,
    "leads:merge_panel": THE_REPS,
    "leads:edit": THE_REPS,
    "leads:log": THE_REPS,
    "leads:stage": THE_REPS,
    "leads:assign": _row(LOGIN, FORBIDDEN, OK, OK, other_rep=MISSING, other_manager=MISSING),
    "leads:claim": THE_REPS,
    "leads:task_create": THE_REPS,
    "leads:task_toggle": THE_REPS,
    "leads:task_snooze": THE_REPS,  # a follow-up: its assignee's, and its lead's editors'
    "leads:task_edit": THE_REPS,
    "leads:task_delete": THE_REPS,
    "leads:interaction_edit": THE_REPS,
    "leads:interaction_delete": THE_REPS,
    "leads:release": THE_REPS,
    "leads:export": EVERYONE,
    "leads:team": EVERYONE,
    "leads:availability_edit": THE_REPS,  # the rep's own away dates; their manager's and the admin's too
    # Duplicates and imports: managers and admins.
    "leads:duplicates": MANAGERS,
    "leads:merge": MANAGERS,
    "leads:imports": MANAGERS,
    "leads:import_detail": THE_MANAGERS_IMPORT,
    "leads:import_map": THE_MANAGERS_IMPORT,
    "leads:import_rejects": THE_MANAGERS_IMPORT,
    "leads:import_warnings": THE_MANAGERS_IMPORT,
    # Configuration: admins.
    "leads:sla_policies": ADMINS,
    "leads:sla_policy_create": ADMINS,
    "leads:sla_policy_edit": ADMINS,
    "leads:sla_policy_delete": ADMINS,
    "leads:sla_calendar_create": ADMINS,
    "leads:sla_calendar_edit": ADMINS,
    "leads:sla_calendar_delete": ADMINS,
    "leads:channels": ADMINS,
    "leads:channel_create": ADMINS,
    "leads:channel_edit": ADMINS,
    "leads:channel_spend_create": ADMINS,
    "leads:channel_spend_edit": ADMINS,
    "leads:channel_spend_delete": ADMINS,
    "leads:channel_web_form": ADMINS,
    "leads:channel_token_create": ADMINS,
    "leads:channel_token_revoke": ADMINS,
    "leads:routing_rules": ADMINS,
    "leads:routing_rule_create": ADMINS,
    "leads:routing_rule_edit": ADMINS,
    "leads:routing_rule_delete": ADMINS,
    "leads:routing_rule_move": ADMINS,
    "leads:reclaim_rule_create": ADMINS,
    "leads:reclaim_rule_edit": ADMINS,
    "leads:reclaim_rule_delete": ADMINS,
    "scoring:models": ADMINS,
    "scoring:model_create": ADMINS,
    "scoring:discover": ADMINS,
    "scoring:model": ADMINS,
    "scoring:settings": ADMINS,
    "scoring:model_delete": ADMINS,
    "scoring:publish": ADMINS,
    "scoring:suggest": ADMINS,
    "scoring:preview": ADMINS,
    "scoring:rule_create": ADMINS,
    "scoring:group_create": ADMINS,
    "scoring:bands": ADMINS,
    "scoring:rule_row": ADMINS,
    "scoring:rule_edit": ADMINS,
    "scoring:rule_delete": ADMINS,
    "scoring:group_edit": ADMINS,
    "scoring:group_delete": ADMINS,
    "scoring:run": ADMINS,
    "scoring:lead_panel": THE_REPS,
    # Campaigns: everyone sees the list (reps the campaigns their leads are in); the campaign holds the rep's lead,
    # so another team's rep does not know it exists; managers and admins set campaigns up and check people in.
    "campaigns:list": EVERYONE,
    "campaigns:create": MANAGERS,
    "campaigns:detail": _row(LOGIN, OK, OK, OK, other_rep=MISSING),
    "campaigns:edit": MANAGERS,
    "campaigns:members_add": MANAGERS,
    "campaigns:members_import": MANAGERS,
    "campaigns:member_remove": _row(LOGIN, FORBIDDEN, OK, OK, other_manager=MISSING),
    "campaigns:step_edit": MANAGERS,
    "campaigns:schedule": MANAGERS,
    "campaigns:status": MANAGERS,
    "campaigns:retry": MANAGERS,
    "campaigns:check_in": MANAGERS,
    "campaigns:check_in_member": _row(LOGIN, FORBIDDEN, OK, OK, other_manager=MISSING),  # a lead of the rep's team
    "campaigns:follow_up": MANAGERS,
    "campaigns:attendance_upload": MANAGERS,
    "campaigns:lead_panel": THE_REPS,
    # What a lead opens from an email or an event page: no login (signed URLs; a tampered one is a 404).
    "campaigns:track_open": PUBLIC,
    "campaigns:track_click": PUBLIC,
    "campaigns:unsubscribe": PUBLIC,
    "campaigns:registration": PUBLIC,
    # The bounce webhook answers to a channel's API token only (tests/campaigns/test_bounce_webhook.py).
    "campaigns:bounces_webhook": API,
    # Customers: reps their own, managers their teams', admins all; the churn rule is an admin's.
    "customers:list": EVERYONE,
    "customers:export": EVERYONE,
    "customers:churn_rule": ADMINS,
    "customers:orders_import": ADMINS,
    "customers:orders_import_detail": ADMINS,  # the admin's own upload
    "customers:orders_import_rejects": ADMINS,
    "customers:detail": THE_REPS,
    "customers:order_create": THE_REPS,
    "customers:order_delete": THE_REPS,
    "customers:contact_create": THE_REPS,
    "customers:churn": THE_REPS,
    "customers:reassign": _row(LOGIN, FORBIDDEN, OK, OK, other_rep=MISSING, other_manager=MISSING),
    "customers:task_create": THE_REPS,
    "customers:survey_send": THE_REPS,
    "customers:lead_panel": THE_REPS,
    "customers:convert": THE_REPS,
    "survey": PUBLIC,  # a customer's survey link: the signed token is the key
    # Everyone's own notices and settings.
    "crm:notifications": EVERYONE,
    "crm:notification_bell": EVERYONE,
    "crm:notifications_read_all": EVERYONE,
    "crm:notification_settings": EVERYONE,
    "crm:notification_open": EVERYONE,
    # The Django admin is for staff (admins); others are sent to its own login page.
    "admin:index": _row(LOGIN, LOGIN, LOGIN, OK),
    # Public: logging in and out, the health check, published web forms.
    "login": PUBLIC,
    "password_change": EVERYONE,
    "password_change_done": EVERYONE,
    "password_reset": PUBLIC,
    "password_reset_done": PUBLIC,
    "password_reset_confirm": PUBLIC,
    "password_reset_complete": PUBLIC,
    "logout": _row(LOGIN, LOGIN, LOGIN, LOGIN),  # back to the login page
    "health": PUBLIC,
    "webform": PUBLIC,
    # The API answers to its channel tokens only (its own tests cover them); the schema and docs are public.
    "api-v1:create_lead": API,
    "api-v1:create_leads_batch": API,
    "api-v1:read_lead": API,
    "api-v1:create_event": API,
    "api-v1:openapi-json": EVERYONE,  # behind login unless API_DOCS_PUBLIC
    "api-v1:openapi-view": EVERYONE,
    "api-v1:api-root": _row(MISSING, MISSING, MISSING, MISSING),
}


def _url_patterns(patterns=None, namespace="", prefix=""):
    """(name, pattern) of every named URL, namespaces joined; the Django admin by its index only."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}:{pattern.namespace}" if namespace and pattern.namespace else pattern.namespace
            yield from _url_patterns(pattern.url_patterns, inner or namespace, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern) and pattern.name:
            name = f"{namespace}:{pattern.name}" if namespace else pattern.name
            if namespace == "admin" and name != "admin:index":
                continue
            yield name, pattern


URL_NAMES = sorted({name for name, _ in _url_patterns()})


def test_every_url_of_the_project_has_an_access_line():
    assert set(URL_NAMES) == set(EXPECTED), "add the new URL to EXPECTED, saying who may open it"


@pytest.fixture
def world(rep, manager, admin_user, team, channel, lead):
    """One of everything a URL can name; the lead is the rep's."""
    spend = ChannelSpend.objects.create(
        channel=channel, period_start=dt.date(2026, 1, 1), period_end=dt.date(2026, 1, 31), amount=Decimal(100)
    )
    api_token, _ = channel_services.api_token_create(user=admin_user, channel=channel, name="Landing page")
    WebForm.objects.create(channel=channel, slug="demo-request", published=True)
    job = imports.import_job_create(user=manager, file_name="leads.csv", data=b"name,email\nAda,ada@example.com\n")
    draft = make_model(rules=[{"kind": "fit", "field": "industry", "operator": "equals", "value": "saas", "points": 9}])
    group, scoring_rule = draft.groups.first(), draft.rules.first()
    campaign = Campaign.objects.create(
        name="Spring newsletter",
        channel=channel,
        kind=Campaign.Kind.EVENT,
        registration_slug="expo",
        registration_open=True,
    )
    member = Member.objects.create(campaign=campaign, lead=lead)
    step = EmailStep.objects.create(campaign=campaign, position=1)
    variant = EmailVariant.objects.create(step=step, subject="Hello", body="See https://example.com/spring")
    send = Send.objects.create(member=member, step=step, variant=variant, state=Send.State.SENT, sent_at=clock.now())
    return {
        "campaign_id": campaign.pk,
        "member_id": member.pk,
        "position": 1,
        "open_token": tracking.open_url(send.pk).rstrip("/").rsplit("/", 1)[1],
        "click_token": tracking.click_url(send.pk, 0).rstrip("/").rsplit("/", 1)[1],
        "unsubscribe_token": tracking.unsubscribe_url(send.pk).rstrip("/").rsplit("/", 1)[1],
        "registration": "expo",
        "lead_id": lead.pk,
        "task_id": TaskFactory(lead=lead).pk,
        "interaction_id": InteractionFactory(lead=lead, user=rep).pk,
        "policy_id": ResponsePolicyFactory().pk,
        "calendar_id": BusinessCalendarFactory().pk,
        "channel_id": channel.pk,
        "spend_id": spend.pk,
        "token_id": api_token.pk,
        "job_id": job.pk,
        "user_id": rep.pk,
        "version": draft.version,
        "group_id": group.pk,
        "run_id": ScoringRun.objects.create(model=draft, reason="publish").pk,
        "routing_rule_id": routing.assignment_rule_save(
            user=admin_user, rule=AssignmentRule(name="All to Inside Sales", team=team)
        ).pk,
        "reclaim_rule_id": reclaim.reclaim_rule_save(user=admin_user, rule=ReclaimRule(name="Idle", days=7)).pk,
        "scoring_rule_id": scoring_rule.pk,
        **_customer_world(lead, admin_user),
    }


def _customer_world(lead, admin_user) -> dict:
    """The rep's customer (converted from the rep's lead), one of its orders, and a survey link of its contact."""
    won = LeadFactory(
        owner=lead.owner, channel=lead.channel, stage=Stage.WON, deal_value=Decimal(500), won_at=clock.now()
    )
    conversion = customers.lead_convert(lead=won, user=None)
    survey = surveys.survey_send(account=conversion.account, contact=conversion.contact, kind="nps", user=None)
    return {
        "account_id": conversion.account.pk,
        "order_id": conversion.account.orders.first().pk,
        "survey_token": surveys.survey_token(survey),
        "order_import_id": order_imports.order_import_create(
            user=admin_user, file_name="orders.csv", data=b"customer,date,amount\nAcme,2026-01-05,10\n"
        ).pk,
    }


def _kwargs(name: str, pattern: URLPattern, world: dict, owner) -> dict:
    """The URL's ids from the world; a notice is the asking person's own (the rep's for the anonymous)."""
    kwargs = {}
    for param in getattr(pattern.pattern, "converters", {}):
        if param == "rule_id":
            kind = "scoring" if name.startswith("scoring:") else "reclaim" if "reclaim" in name else "routing"
            kwargs[param] = world[f"{kind}_rule_id"]
        elif param == "slug":
            kwargs[param] = "team" if name.startswith("reports:") else "demo-request"
        elif param == "uidb64":
            kwargs[param] = urlsafe_base64_encode(force_bytes(world["user_id"]))
        elif param == "token":
            kwargs[param] = default_token_generator.make_token(User.objects.get(pk=world["user_id"]))
        elif param == "notification_id":
            kwargs[param] = Notification.objects.create(
                user=owner, key=f"test:{owner.pk}", text="A notice", url="/", created_at=clock.now()
            ).pk
        else:
            kwargs[param] = world[param]
    return kwargs


def _family(response) -> str:
    status = response.status_code
    assert status < 500, f"{status}: {response.content[:300]!r}"
    if status in (301, 302) and response["Location"].split("?")[0] in ("/login/", "/admin/login/"):
        return LOGIN
    return {401: TOKEN, 403: FORBIDDEN, 404: MISSING}.get(status, OK)


@pytest.mark.parametrize("role", ROLES)
def test_each_url_answers_each_role_as_the_table_says(role, rep, manager, admin_user, other_rep, other_manager, world):
    people = {"rep": rep, "manager": manager, "admin": admin_user, "other_rep": other_rep}
    user = {**people, "anonymous": None, "other_manager": other_manager}[role]
    client = Client()
    answers = {}
    for name, pattern in _url_patterns():
        if user is not None:
            client.force_login(user)  # again each time: "logout" logs out
        with transaction.atomic():
            url = reverse(name, kwargs=_kwargs(name, pattern, world, user or rep))
            response = client.get(url)
            if response.status_code == 405:
                response = client.post(url)
            answers[name] = _family(response)
            transaction.set_rollback(True)
    expected = {name: EXPECTED[name][role] for name in answers}
    wrong = {
        name: f"{answers[name]} (expected {expected[name]})" for name in answers if answers[name] != expected[name]
    }
    assert not wrong
