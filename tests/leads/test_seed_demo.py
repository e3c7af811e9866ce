"""`manage.py seed_demo`: users who can log in, a year of leads whose figures agree with each other, and a second
run that leaves a seeded database alone."""

import datetime as dt
from io import StringIO
from itertools import pairwise

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count, Max, Min, Q

from crm.models import Team, User
from crm.roles import Role
from leads.models import Channel, ChannelSpend, FollowUpTask, Interaction, Lead, Stage, StageChange
from leads.normalize import normalize_email, normalize_phone

# Seeding reads the clock once; a frozen clock makes a seed give exactly the same data on every run.
NOW = dt.datetime(2026, 6, 15, 14, 30, tzinfo=dt.UTC)
LEADS = 300

DEMO_ROLES = {
    "admin": Role.ADMIN,
    "manager": Role.MANAGER,
    "manager2": Role.MANAGER,
    **{f"rep{n}": Role.REP for n in ("", 2, 3, 4, 5, 6, 7, 8)},
}


def seed_demo(*args: str) -> str:
    out = StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command("seed_demo", *args, "--demo-passwords", stdout=out)
    return out.getvalue()


@pytest.fixture
def fast_passwords(settings):
    # Password hashing is slow on purpose; what is tested here is that the demo password works, not the hasher.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def seeded(db, fast_passwords) -> str:
    return seed_demo("--leads", str(LEADS), "--seed", "7")


def response_buckets() -> dict[str, Q]:
    """The groups of the conversion-by-response-time report (DOMAIN.md, speed to lead)."""
    return {
        "< 5 min": Q(response_seconds__lt=5 * 60),
        "> 24 h": Q(response_seconds__gte=24 * 3600),
        "never": Q(first_response_at__isnull=True),
    }


# `make run` seeds the database on every start.
def test_seeding_creates_users_of_each_role_who_log_in_with_password_demo(seeded, client):
    for username, role in DEMO_ROLES.items():
        user = User.objects.get(username=username)
        assert user.role == role, username
        assert user.first_name and user.last_name and user.email, username
        # Through the login page: `client.login` calls authenticate() without the request the login throttling needs.
        response = client.post("/login/", {"username": username, "password": "demo"})
        assert response.status_code == 302 and client.session["_auth_user_id"] == str(user.pk), username
        client.logout()
    inside, field = Team.objects.get(name="Inside Sales"), Team.objects.get(name="Field Sales")
    assert inside.manager.username == "manager"
    assert field.manager.username == "manager2"
    assert set(inside.members.filter(groups__name=Role.REP).values_list("username", flat=True)) == {
        "rep",
        "rep2",
        "rep3",
        "rep4",
    }
    assert set(field.members.filter(groups__name=Role.REP).values_list("username", flat=True)) == {
        "rep5",
        "rep6",
        "rep7",
        "rep8",
    }


def test_seeding_creates_leads_with_about_ten_interactions_each_from_every_channel(seeded):
    assert Lead.objects.count() == LEADS
    assert 7 * LEADS <= Interaction.objects.count() <= 13 * LEADS
    per_lead = Lead.objects.annotate(n=Count("interactions")).values_list("n", flat=True)
    assert len(set(per_lead)) > 5, "the number of interactions varies from lead to lead"
    assert set(Channel.objects.values_list("kind", flat=True)) == set(Channel.Kind.values) - {Channel.Kind.OTHER}
    assert not Channel.objects.annotate(n=Count("leads")).filter(n=0).exists()
    spend = ChannelSpend.objects.values("channel").annotate(months=Count("id"))
    assert {row["months"] for row in spend} == {12}
    assert set(ChannelSpend.objects.values_list("currency", flat=True)) == {"USD"}
    assert Lead.objects.filter(created_at__gt=NOW).count() == 0
    assert Lead.objects.filter(created_at__lt=NOW - dt.timedelta(days=366)).count() == 0
    assert Interaction.objects.filter(occurred_at__gt=NOW).count() == 0
    visit = Interaction.objects.filter(kind=Interaction.Kind.WEB_VISIT).first()
    assert visit.details["pages"] > 0 and visit.details["seconds"] > 0 and visit.details["url"].startswith("/")
    assert all(
        isinstance(attributes["newsletter"], bool) for attributes in Lead.objects.values_list("attributes", flat=True)
    )


def test_seeded_leads_are_owned_by_reps_of_their_team_or_sit_in_the_pool_unscored(seeded):
    pool = Lead.objects.filter(owner__isnull=True)
    assert 0 < pool.count() < LEADS * 0.15
    assert not pool.filter(team__isnull=False).exists()
    for lead in Lead.objects.filter(owner__isnull=False).select_related("owner"):
        assert lead.owner.role == Role.REP
        assert lead.team_id == lead.owner.team_id
        assert lead.assigned_at is not None
    assert not Lead.objects.filter(Q(score__isnull=False) | ~Q(grade="") | Q(scored_at__isnull=False)).exists()


def test_seeded_emails_and_phones_are_normalised_as_duplicate_detection_expects(seeded):
    leads = list(Lead.objects.values_list("email", "email_normalized", "phone", "phone_normalized"))
    assert all(normalize_email(email) == normalized for email, normalized, _, _ in leads)
    assert all(normalize_phone(phone) == normalized for _, _, phone, normalized in leads)
    assert sum(1 for _, _, phone, _ in leads if phone) > LEADS * 0.7
    emails = [normalized for _, normalized, _, _ in leads if normalized]
    assert len(emails) - len(set(emails)) < LEADS * 0.05, "unique-ish"
    assert len(emails) > len(set(emails)), "but some people came back, for duplicate detection to find"


def test_first_response_is_the_earliest_outbound_personal_interaction_by_a_user(seeded):
    responses = Q(
        interactions__direction=Interaction.Direction.OUTBOUND,
        interactions__user__isnull=False,
        interactions__kind__in=Interaction.PERSONAL_KINDS,
    )
    leads = Lead.objects.annotate(earliest=Min("interactions__occurred_at", filter=responses))
    for lead in leads:
        assert lead.first_response_at == lead.earliest, lead.pk
        if lead.first_response_at is not None:
            assert lead.response_seconds == (lead.first_response_at - lead.created_at).total_seconds()
    answered = leads.filter(first_response_at__isnull=False).count()
    assert LEADS * 0.7 < answered < LEADS * 0.97
    outbound_personal = Interaction.objects.filter(
        direction=Interaction.Direction.OUTBOUND, kind__in=Interaction.PERSONAL_KINDS
    ).select_related("lead")
    assert all(i.user_id == i.lead.owner_id for i in outbound_personal)
    assert not Interaction.objects.exclude(kind=Interaction.Kind.CALL).exclude(outcome="").exists()


def test_won_leads_have_a_deal_value_and_won_date_and_lost_leads_a_reason(seeded):
    won, lost = Lead.objects.filter(stage=Stage.WON), Lead.objects.filter(stage=Stage.LOST)
    assert LEADS * 0.04 < won.count() < LEADS * 0.16
    assert lost.count() > LEADS * 0.3
    assert not won.filter(Q(deal_value__isnull=True) | Q(won_at__isnull=True)).exists()
    assert all(lead.won_at == lead.stage_changed_at for lead in won)
    assert not lost.filter(lost_reason="").exists()
    assert (
        not Lead.objects.exclude(stage=Stage.WON).filter(Q(won_at__isnull=False) | Q(deal_value__isnull=False)).exists()
    )


def test_every_lead_has_its_stage_history_from_creation_to_its_stage(seeded):
    changes: dict[int, list[StageChange]] = {}
    for change in StageChange.objects.order_by("changed_at", "id"):
        changes.setdefault(change.lead_id, []).append(change)
    for lead in Lead.objects.all():
        history = changes[lead.pk]
        assert (history[0].from_stage, history[0].to_stage, history[0].changed_at) == ("", Stage.NEW, lead.created_at)
        assert all(a.to_stage == b.from_stage for a, b in pairwise(history))
        assert all(a.changed_at < b.changed_at for a, b in pairwise(history))
        assert (history[-1].to_stage, history[-1].changed_at) == (lead.stage, lead.stage_changed_at)
        latest = max([i.occurred_at for i in lead.interactions.all()] + [lead.created_at])
        assert lead.last_activity_at == latest


def test_leads_answered_within_five_minutes_convert_more_often_than_those_answered_after_a_day(seeded):
    conversion = {}
    for name, condition in response_buckets().items():
        leads = Lead.objects.filter(condition)
        conversion[name] = leads.filter(stage=Stage.WON).count() / leads.count()
    assert conversion["< 5 min"] > conversion["> 24 h"]
    assert conversion["never"] == 0


def test_follow_up_tasks_belong_to_open_leads_and_their_owners_some_overdue_some_ahead(seeded):
    tasks = FollowUpTask.objects.select_related("lead")
    assert tasks.count() > LEADS * 0.05
    assert all(task.assignee_id == task.lead.owner_id and task.lead.is_open for task in tasks)
    with time_machine.travel(NOW, tick=False):
        assert any(task.is_overdue for task in tasks)
        assert any(not task.is_done and task.due_at > NOW for task in tasks)
        assert any(task.is_done for task in tasks)


# `make run` seeds the database on every start.
def test_a_second_run_without_force_says_so_and_changes_nothing(seeded):
    before = (Lead.objects.count(), Interaction.objects.count(), User.objects.count(), Channel.objects.count())
    output = seed_demo("--leads", "10")
    assert f"already has {LEADS} leads" in output
    assert (Lead.objects.count(), Interaction.objects.count(), User.objects.count(), Channel.objects.count()) == before


def test_force_deletes_the_demo_data_and_seeds_again_keeping_the_users(seeded):
    users = set(User.objects.values_list("pk", flat=True))
    last_lead_id = Lead.objects.aggregate(Max("id"))["id__max"]
    output = seed_demo("--leads", "40", "--force")
    assert "Seeded 40 leads" in output
    assert Lead.objects.count() == 40
    assert Channel.objects.count() == len(Channel.Kind.values) - 1
    assert ChannelSpend.objects.count() == 12 * Channel.objects.count()
    assert set(User.objects.values_list("pk", flat=True)) == users
    assert not Interaction.objects.exclude(lead__in=Lead.objects.all()).exists()
    assert StageChange.objects.values("lead").distinct().count() == 40
    # Ids are not reused: other records (notification keys) name leads by id.
    assert not Lead.objects.filter(id__lte=last_lead_id).exists()


def test_seeding_keeps_every_index_and_foreign_key_of_the_lead_tables(db, fast_passwords):
    # On PostgreSQL the load drops them for speed and rebuilds them; nothing may go missing or change.
    def schema() -> dict[str, dict]:
        with connection.cursor() as cursor:
            return {
                model._meta.db_table: connection.introspection.get_constraints(cursor, model._meta.db_table)
                for model in (Lead, Interaction, StageChange, FollowUpTask)
            }

    before = schema()
    seed_demo("--leads", "20", "--seed", "1")
    assert schema() == before


def test_the_same_seed_gives_the_same_data(db, fast_passwords):
    def fingerprint() -> list[tuple]:
        return list(
            Lead.objects.order_by("created_at", "id").values_list(
                "name", "email", "phone", "channel__name", "owner__username", "stage", "created_at", "first_response_at"
            )
        )

    seed_demo("--leads", "50", "--seed", "3")
    first = fingerprint()
    seed_demo("--leads", "50", "--seed", "3", "--force")
    assert fingerprint() == first
    seed_demo("--leads", "50", "--seed", "4", "--force")
    assert fingerprint() != first


def test_seeding_known_passwords_with_debug_off_is_refused(db):
    with pytest.raises(CommandError, match="--demo-passwords"):
        call_command("seed_demo", "--leads", "5", stdout=StringIO())
    assert not User.objects.filter(username="admin").exists()
