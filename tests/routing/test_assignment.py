"""Assignment rules: which rule matches, each strategy, fair skipping, and the pool when nobody can take a lead."""

import datetime as dt
from collections import Counter

import pytest
from django.urls import reverse

from crm import clock
from crm.models import Notification
from leads import services
from leads.models import AssignmentRule, Lead, ResponseClock
from leads.routing import services as routing
from leads.routing.services import LeadFacts, RuleSpec
from tests.factories import ChannelFactory, LeadFactory, ResponsePolicyFactory
from tests.routing.conftest import make_rule, notice_keys

pytestmark = pytest.mark.django_db
FORM = {"budget": "unknown", "authority": "unknown", "timeline": "unknown"}


def _intake(n=1, **facts) -> list[Lead]:
    return [services.lead_create(user=None, name=f"Lead {i}", **facts) for i in range(n)]


def test_a_rule_matches_only_when_every_condition_matches(admin_user, team, channel):
    rule = make_rule(
        admin_user,
        team,
        regions=["EMEA"],
        countries=["DE", "AT"],
        industries=["SaaS"],
        company_size_min=50,
        company_size_max=500,
        channels=[channel],
    )
    spec = RuleSpec.of(rule, [channel.pk])
    good = LeadFacts(1, "emea", "de", " saas ", 100, channel.pk)
    assert spec.matches(good)
    for changed in (
        {"region": "APAC"},
        {"country": "FR"},
        {"industry": "Retail"},
        {"company_size": 49},
        {"company_size": 501},
        {"company_size": None},
        {"channel_id": None},
    ):
        assert not spec.matches(LeadFacts(**{**good.__dict__, **changed})), changed
    assert RuleSpec.of(make_rule(admin_user, team, name="any"), []).matches(LeadFacts(2, "", "", "", None, None))


def test_the_first_matching_rule_in_order_wins(admin_user, team, other_team, rep, other_rep):
    make_rule(admin_user, other_team, name="German leads", countries=["DE"])
    make_rule(admin_user, team, name="Everything else")
    (german,) = _intake(country="de")
    (french,) = _intake(country="FR")
    assert german.owner == other_rep and german.team_id == other_team.pk
    assert french.owner == rep and french.assigned_at is not None
    assert Lead.objects.get(pk=german.pk).owner_id == other_rep.pk


def test_round_robin_takes_the_teams_reps_in_turn_and_never_its_manager(catch_all, rep, teammate, third_rep, manager):
    owners = [lead.owner for lead in _intake(6)]
    assert owners == [rep, teammate, third_rep, rep, teammate, third_rep]


def test_weighted_round_robin_gives_each_rep_their_share_interleaved(admin_user, team, rep, teammate):
    make_rule(admin_user, team, strategy=AssignmentRule.Strategy.WEIGHTED, weights={rep.pk: 3, teammate.pk: 1})
    owners = [lead.owner.username for lead in _intake(8)]
    assert Counter(owners) == {"rep": 6, "teammate": 2}
    assert owners[:4].count("teammate") == 1  # interleaved, not a burst at the end


def test_a_weight_of_zero_means_no_leads_from_that_rule(admin_user, team, rep, teammate):
    make_rule(admin_user, team, strategy=AssignmentRule.Strategy.WEIGHTED, weights={rep.pk: 0, teammate.pk: 2})
    assert {lead.owner for lead in _intake(3)} == {teammate}


def test_least_loaded_gives_the_lead_to_the_rep_with_fewest_open_leads(admin_user, team, rep, teammate):
    LeadFactory.create_batch(3, owner=rep)
    LeadFactory.create_batch(1, owner=teammate)
    LeadFactory.create_batch(5, owner=teammate, stage="lost", lost_reason="no_need")  # closed: not load
    make_rule(admin_user, team, strategy=AssignmentRule.Strategy.LEAST_LOADED)
    owners = [lead.owner.username for lead in _intake(4)]
    # 3 vs 1 open leads: the teammate catches up first; on a tie the earlier rep goes first.
    assert owners == ["teammate", "teammate", "rep", "teammate"]


def test_reps_away_today_are_skipped(catch_all, rep, teammate):
    today = clock.today()
    rep.away_from, rep.away_until = today - dt.timedelta(days=1), today + dt.timedelta(days=2)
    rep.save()
    assert {lead.owner for lead in _intake(3)} == {teammate}
    rep.away_until = today - dt.timedelta(days=1)  # back since yesterday
    rep.save()
    assert {lead.owner for lead in _intake(2)} == {rep, teammate}


def test_away_until_further_notice_is_away(catch_all, rep, teammate):
    rep.away_from = clock.today()
    rep.save()
    assert {lead.owner for lead in _intake(2)} == {teammate}


def test_reps_at_capacity_are_skipped(catch_all, rep, teammate):
    LeadFactory.create_batch(2, owner=rep)
    rep.max_open_leads = 2
    rep.save()
    assert {lead.owner for lead in _intake(3)} == {teammate}


def test_when_a_team_has_nobody_available_the_next_matching_rule_takes_the_lead(
    admin_user, team, other_team, rep, other_rep
):
    make_rule(admin_user, team, name="First choice")
    make_rule(admin_user, other_team, name="Overflow")
    rep.away_from = clock.today()
    rep.save()
    (lead,) = _intake()
    assert lead.owner == other_rep


def test_nobody_available_leaves_the_lead_in_the_teams_pool_and_tells_its_manager(
    catch_all, rep, teammate, manager, other_manager
):
    for person in (rep, teammate):
        person.max_open_leads = 0
        person.save()
    (lead,) = _intake()
    lead.refresh_from_db()
    assert lead.owner is None and lead.team_id == catch_all.team_id
    assert notice_keys(manager) == [f"routing-pool:lead:{lead.pk}"]
    assert "nobody in Inside Sales is available" in Notification.objects.get(user=manager).text
    assert notice_keys(other_manager) == []


def test_a_lead_no_rule_matches_goes_to_the_pool_and_every_team_manager_is_told(
    admin_user, team, rep, manager, other_manager
):
    make_rule(admin_user, team, countries=["DE"])
    (lead,) = _intake(country="FR")
    assert lead.owner is None
    assert notice_keys(manager) == notice_keys(other_manager) == [f"routing-pool:lead:{lead.pk}"]


def test_without_any_active_rule_routing_is_off_and_nobody_is_told(admin_user, team, rep, manager):
    make_rule(admin_user, team, active=False)
    (lead,) = _intake()
    assert lead.owner is None and not Notification.objects.exists()


def test_a_reps_own_new_lead_stays_theirs(catch_all, rep, teammate):
    lead = services.lead_create(user=teammate, name="Mine")
    assert lead.owner == teammate


def test_a_manager_who_leaves_the_owner_blank_gets_the_lead_routed(client, catch_all, manager, rep):
    client.force_login(manager)
    response = client.post(reverse("leads:create"), {**FORM, "name": "Blank owner", "email": "b@x.com", "owner": ""})
    assert response.status_code == 302
    assert Lead.objects.get(name="Blank owner").owner == rep


def test_a_manager_who_picks_an_owner_keeps_that_choice(client, catch_all, manager, rep, teammate):
    client.force_login(manager)
    client.post(reverse("leads:create"), {**FORM, "name": "Chosen", "email": "c@x.com", "owner": teammate.pk})
    assert Lead.objects.get(name="Chosen").owner == teammate


def test_a_routed_intake_lead_gets_its_response_clock_and_a_signal_on_commit(
    catch_all, rep, django_capture_on_commit_callbacks
):
    ResponsePolicyFactory(target_minutes=30, reminder_percent=None)
    from leads.signals import lead_changed

    heard = []

    def receiver(sender, lead_id, fields=(), **kwargs):
        heard.append((lead_id, tuple(fields)))

    lead_changed.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            lead = services.lead_create(user=None, name="Web lead")
    finally:
        lead_changed.disconnect(receiver)
    assert lead.owner == rep
    assert ResponseClock.objects.get(lead=lead).due_at == lead.created_at + dt.timedelta(minutes=30)
    assert (lead.pk, ("owner",)) in heard


def test_bulk_routing_reads_once_writes_per_owner_and_tells_each_manager_once(
    admin_user, team, other_team, rep, teammate, manager, other_manager, django_assert_max_num_queries
):
    web = ChannelFactory(name="Web")
    make_rule(admin_user, team, name="Web leads", channels=[web])
    teammate.away_from = clock.today()
    teammate.save()
    routed = LeadFactory.create_batch(120, channel=web)
    unmatched = LeadFactory.create_batch(30, channel=ChannelFactory(name="Fair"))
    already_owned = LeadFactory(owner=teammate, channel=web)
    ids = [x.pk for x in routed + unmatched] + [already_owned.pk]
    with django_assert_max_num_queries(30):
        count = routing.leads_route(lead_ids=ids, label="import of leads.csv")
    assert count == 120
    assert Lead.objects.filter(pk__in=[x.pk for x in routed], owner=rep, team=team).count() == 120
    assert Lead.objects.filter(pk__in=[x.pk for x in unmatched], owner__isnull=True).count() == 30
    assert Lead.objects.get(pk=already_owned.pk).owner == teammate
    for person in (manager, other_manager):
        (notice,) = Notification.objects.filter(user=person)
        assert notice.text == "30 new leads (import of leads.csv) went to the pool: 30 match no assignment rule."


def test_bulk_round_robin_continues_where_single_routing_left_off(catch_all, rep, teammate):
    (first,) = _intake()
    leads = LeadFactory.create_batch(4)
    routing.leads_route(lead_ids=[x.pk for x in leads])
    later = Lead.objects.filter(pk__in=[x.pk for x in leads]).order_by("pk").values_list("owner_id", flat=True)
    owners = [first.owner_id, *later]
    assert owners == [rep.pk, teammate.pk, rep.pk, teammate.pk, rep.pk]


@pytest.mark.django_db(transaction=True)
def test_concurrent_routing_keeps_round_robin_exact(admin_user, team, rep, teammate):
    """Two intake streams at once: the rule's row lock makes them take turns, so the split stays exactly even."""
    import threading

    from django.db import connections

    make_rule(admin_user, team)
    barrier = threading.Barrier(2)

    def stream(prefix):
        try:
            barrier.wait()
            for i in range(10):
                services.lead_create(user=None, name=f"{prefix} {i}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=stream, args=(p,)) for p in ("A", "B")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert Counter(Lead.objects.values_list("owner__username", flat=True)) == {"rep": 10, "teammate": 10}
