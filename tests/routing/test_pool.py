"""The pool: claiming up to the holding limit, releasing, and two reps claiming the same lead at once."""

import threading

import pytest
from django.conf import settings
from django.db import connections
from django.urls import reverse

from leads import services
from leads.models import Lead
from leads.routing import services as routing
from leads.routing.services import PoolLimitReached
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def test_a_rep_claims_pool_leads_up_to_the_holding_limit(settings, rep, channel):
    settings.POOL_HOLDING_LIMIT = 2
    first, second, third = LeadFactory.create_batch(3, channel=channel)
    assert services.lead_claim(lead=first, user=rep) and services.lead_claim(lead=second, user=rep)
    with pytest.raises(PoolLimitReached, match="You already hold 2 leads claimed from the pool, your limit is 2"):
        services.lead_claim(lead=third, user=rep)
    assert Lead.objects.get(pk=third.pk).owner is None
    assert routing.pool_leads_held(rep) == 2


def test_closing_or_releasing_a_claimed_lead_frees_its_place(settings, rep, channel):
    settings.POOL_HOLDING_LIMIT = 1
    first, second, third = LeadFactory.create_batch(3, channel=channel)
    services.lead_claim(lead=first, user=rep)
    services.lead_change_stage(lead=first, user=rep, stage="lost", lost_reason="no_need")
    assert services.lead_claim(lead=second, user=rep)
    assert routing.lead_release(lead=Lead.objects.get(pk=second.pk), user=rep)
    assert services.lead_claim(lead=third, user=rep)


def test_leads_routed_or_created_by_the_rep_do_not_count_against_the_limit(settings, rep, channel):
    settings.POOL_HOLDING_LIMIT = 1
    LeadFactory.create_batch(5, owner=rep)
    assert services.lead_claim(lead=LeadFactory(channel=channel), user=rep)


def test_a_personal_holding_limit_overrides_the_default(rep, channel):
    rep.pool_holding_limit = 0
    rep.save()
    with pytest.raises(PoolLimitReached):
        services.lead_claim(lead=LeadFactory(channel=channel), user=rep)
    assert settings.POOL_HOLDING_LIMIT == 25


def test_the_claim_button_at_the_limit_says_why(settings, rep_client, rep, pool_lead, channel):
    settings.POOL_HOLDING_LIMIT = 1
    services.lead_claim(lead=LeadFactory(channel=channel), user=rep)
    response = rep_client.post(reverse("leads:claim", args=[pool_lead.pk]), follow=True)
    assert "your limit is 1" in response.content.decode()
    assert Lead.objects.get(pk=pool_lead.pk).owner is None


def test_the_owner_releases_a_lead_back_to_the_pool_from_its_page(rep_client, lead, rep):
    page = rep_client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "Release to the pool" in page
    response = rep_client.post(reverse("leads:release", args=[lead.pk]), follow=True)
    assert "back in the pool" in response.content.decode()
    lead.refresh_from_db()
    assert lead.owner is None and lead.assigned_at is None and lead.team_id == rep.team_id


def test_a_teammate_cannot_release_someone_elses_lead(client, lead, teammate):
    client.force_login(teammate)
    assert client.post(reverse("leads:release", args=[lead.pk])).status_code == 404
    assert Lead.objects.get(pk=lead.pk).owner_id == lead.owner_id


def test_the_manager_releases_a_team_lead_but_a_won_lead_stays(client, lead, manager, rep):
    client.force_login(manager)
    assert client.post(reverse("leads:release", args=[lead.pk])).status_code == 302
    assert Lead.objects.get(pk=lead.pk).owner is None
    won = LeadFactory(owner=rep, stage="won", deal_value=10, won_at=lead.created_at)
    response = client.post(reverse("leads:release", args=[won.pk]), follow=True)
    assert "Won and lost leads stay with their owner" in response.content.decode()
    assert Lead.objects.get(pk=won.pk).owner == rep


@pytest.mark.django_db(transaction=True)
def test_two_reps_claiming_the_same_lead_at_the_same_moment_exactly_one_wins(rep, teammate, channel):
    lead = LeadFactory(channel=channel)
    barrier = threading.Barrier(2)
    results = {}

    def claim(user):
        try:
            barrier.wait()
            results[user.username] = services.lead_claim(lead=Lead.objects.get(pk=lead.pk), user=user)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=claim, args=(user,)) for user in (rep, teammate)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(results.values()) == [False, True]
    winner = next(name for name, won in results.items() if won)
    assert Lead.objects.get(pk=lead.pk).owner.username == winner


@pytest.mark.django_db(transaction=True)
def test_the_loser_of_a_claim_race_is_told_someone_else_was_faster(client, rep, teammate, channel):
    lead = LeadFactory(channel=channel)
    barrier = threading.Barrier(2)
    pages = {}

    def claim(user):
        from django.test import Client

        try:
            browser = Client()
            browser.force_login(user)
            barrier.wait()
            pages[user.username] = browser.post(reverse("leads:claim", args=[lead.pk]), follow=True).content.decode()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=claim, args=(user,)) for user in (rep, teammate)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    messages = sorted(
        "yours now" if "yours now" in page else "claimed this lead a moment ago" if "a moment ago" in page else "?"
        for page in pages.values()
    )
    assert messages == ["claimed this lead a moment ago", "yours now"]


@pytest.mark.django_db(transaction=True)
def test_one_reps_simultaneous_claims_cannot_exceed_their_limit(settings, rep, channel):
    settings.POOL_HOLDING_LIMIT = 1
    leads = LeadFactory.create_batch(2, channel=channel)
    barrier = threading.Barrier(2)
    outcomes = []

    def claim(lead):
        try:
            barrier.wait()
            outcomes.append(services.lead_claim(lead=lead, user=rep))
        except PoolLimitReached:
            outcomes.append("limit")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=claim, args=(lead,)) for lead in leads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(map(str, outcomes)) == ["True", "limit"]
    assert Lead.objects.filter(owner=rep).count() == 1


@pytest.mark.django_db
def test_a_claim_clicked_after_a_teammate_took_the_lead_says_so_and_reveals_nothing_else(
    client, rep, teammate, channel
):
    # The slower of two clicks arrives after the faster one committed: the lead is the teammate's now, out of this
    # rep's sight. The rep hears what happened (not a 404), but only for a claim made a moment ago.
    lead = LeadFactory(channel=channel)
    services.lead_claim(lead=lead, user=teammate)
    client.force_login(rep)
    response = client.post(reverse("leads:claim", args=[lead.pk]), follow=True)
    assert response.status_code == 200 and "claimed this lead a moment ago" in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).owner == teammate

    other = LeadFactory(channel=channel, owner=teammate)  # a teammate's lead never in the pool: as if no such lead
    assert client.post(reverse("leads:claim", args=[other.pk])).status_code == 404
