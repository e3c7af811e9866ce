"""Ad and content campaigns' members: the leads arriving with the campaign's utm_campaign, by any way in."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from campaigns import arrivals, counts, services
from campaigns.models import Campaign, Member, MemberCounts
from campaigns.selectors import member_figures
from crm import clock
from leads.intake.services import lead_arrive
from leads.models import Lead, Stage
from leads.signals import leads_bulk_created
from reports.periods import Period
from reports.scope import ReportScope
from reports.selectors.campaigns import campaigns_report
from tests.factories import LeadFactory
from tests.threads import in_thread, together
from tests.workers import backends_waiting_on_locks, wait_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def ad(manager, channel):
    return services.campaign_save(
        user=manager,
        campaign=Campaign(name="Spring ads", channel=channel, kind=Campaign.Kind.AD, utm_campaign="spring-ads"),
    )


def test_a_lead_arriving_with_the_ads_utm_campaign_joins_it(ad, channel, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        arrived = lead_arrive(
            channel=channel, facts={"name": "Ada", "email": "ada@example.com", "utm_campaign": " Spring-Ads "}
        ).lead
        other = lead_arrive(channel=channel, facts={"name": "Bob", "email": "bob@example.com", "utm_campaign": "x"})
    member = Member.objects.get(campaign=ad)
    assert member.lead_id == arrived.pk and member.source == Member.Source.ARRIVAL
    assert member.added_at == arrived.created_at  # joined when it arrived
    assert not Member.objects.filter(lead=other.lead).exists()


def test_the_leads_that_arrived_before_the_campaign_was_set_up_join_when_it_is_saved(manager, channel, rep):
    before = LeadFactory.create_batch(3, owner=rep, utm_campaign="guide-2026")
    LeadFactory(owner=rep, utm_campaign="something-else")
    content = services.campaign_save(
        user=manager,
        campaign=Campaign(name="Guide", channel=channel, kind=Campaign.Kind.CONTENT, utm_campaign="GUIDE-2026"),
    )
    assert sorted(Member.objects.filter(campaign=content).values_list("lead_id", flat=True)) == [
        lead.pk for lead in before
    ]
    services.campaign_save(user=manager, campaign=content)  # saved again: nobody twice
    assert Member.objects.filter(campaign=content).count() == 3
    # An email campaign with the same UTM value keeps its own members (sent to, not arrived).
    email = services.campaign_save(
        user=manager, campaign=Campaign(name="Mail", channel=channel, kind="email", utm_campaign="guide-2026")
    )
    assert not Member.objects.filter(campaign=email).exists()


def test_an_imports_chunk_joins_in_one_statement_and_twice_at_once_adds_each_once(ad, rep, transactional_db):
    LeadFactory.create_batch(40, owner=rep, utm_campaign="spring-ads")
    LeadFactory.create_batch(5, owner=rep, utm_campaign="")
    ids = list(Lead.objects.values_list("pk", flat=True))

    def chunk():
        return leads_bulk_created.send(sender=Lead, lead_ids=ids)

    _, errors = together(chunk, chunk)
    assert errors == [None, None]
    assert Member.objects.filter(campaign=ad, source=Member.Source.ARRIVAL).count() == 40
    assert arrivals.members_from_arrivals(ids) == 0


def test_arrived_members_are_influenced_in_the_figures_rollup_and_attribution(ad, rep, admin_user, channel):
    won_at = clock.now() - dt.timedelta(hours=1)
    LeadFactory(owner=rep, utm_campaign="spring-ads", stage=Stage.WON, deal_value=Decimal(900), won_at=won_at,
                      created_at=won_at - dt.timedelta(hours=1))  # fmt: skip
    LeadFactory(owner=rep, utm_campaign="spring-ads")
    arrivals.members_from_arrivals(Lead.objects.values_list("pk", flat=True))
    live = member_figures(Member.objects.filter(campaign=ad))[ad.pk]
    assert (live["members"], live["influenced"], live["won"], live["won_value"]) == (2, 2, 1, Decimal(900))
    counts.counts_refresh([ad.pk])
    rolled = MemberCounts.objects.get(campaign=ad)
    assert (rolled.members, rolled.influenced, rolled.won, rolled.won_value) == (2, 2, 1, Decimal(900))

    today = clock.today()
    report = campaigns_report(ReportScope.for_user(admin_user, Period(today - dt.timedelta(days=1), today, "custom")))
    attribution = next(t for t in report.tables if t.key == "attribution")
    assert [(r["group"].text, r["first_won"].value, r["last_won"].value) for r in attribution.rows] == [
        ("Spring ads", 1, 1)
    ]


def test_the_campaign_page_lists_arrivals_for_the_manager_and_a_rep_sees_their_own(client, ad, rep, other_rep,
                                                                                  manager):  # fmt: skip
    mine = LeadFactory(owner=rep, name="Rep Arrival", utm_campaign="spring-ads")
    LeadFactory(owner=other_rep, name="Other Team Arrival", utm_campaign="spring-ads")
    arrivals.members_from_arrivals(Lead.objects.values_list("pk", flat=True))
    client.force_login(manager)
    page = client.get(f"{ad.get_absolute_url()}?did=arrived").content.decode()
    assert "Rep Arrival" in page and "Other Team Arrival" not in page  # the other team's lead: not the manager's
    client.force_login(rep)
    page = client.get(ad.get_absolute_url()).content.decode()
    assert mine.name in page and "Other Team Arrival" not in page
    client.force_login(other_rep)
    assert "Other Team Arrival" in client.get(ad.get_absolute_url()).content.decode()


def test_a_lead_that_arrived_through_the_campaign_cannot_be_removed_from_it(client, ad, rep, manager):
    LeadFactory(owner=rep, utm_campaign="spring-ads")
    arrivals.members_from_arrivals(Lead.objects.values_list("pk", flat=True))
    member = Member.objects.get(campaign=ad)
    client.force_login(manager)
    assert "remove</button>" not in client.get(ad.get_absolute_url()).content.decode()
    page = client.post(f"/campaigns/{ad.pk}/members/{member.pk}/remove/", follow=True).content.decode()
    assert "stays a member" in page and Member.objects.filter(pk=member.pk).exists()


def test_a_campaign_with_a_start_date_takes_only_the_leads_that_arrived_from_that_day_on(manager, channel, rep):
    starts_on = clock.today() - dt.timedelta(days=10)
    start = dt.datetime.combine(starts_on, dt.time.min, tzinfo=timezone.get_default_timezone())
    last_year = LeadFactory(owner=rep, utm_campaign="spring-sale", created_at=start - dt.timedelta(days=300))
    eve = LeadFactory(owner=rep, utm_campaign="spring-sale", created_at=start - dt.timedelta(seconds=1))
    first = LeadFactory(owner=rep, utm_campaign="spring-sale", created_at=start)
    later = LeadFactory(owner=rep, utm_campaign="spring-sale", created_at=start + dt.timedelta(days=3))
    ad = services.campaign_save(
        user=manager,
        campaign=Campaign(
            name="Spring sale", channel=channel, kind=Campaign.Kind.AD, utm_campaign="spring-sale", starts_on=starts_on
        ),
    )
    members = set(Member.objects.filter(campaign=ad).values_list("lead_id", flat=True))
    assert members == {first.pk, later.pk}
    # An arrival signalled afterwards (an import chunk, an edit) follows the same rule.
    arrivals.members_from_arrivals([last_year.pk, eve.pk, first.pk, later.pk])
    assert set(Member.objects.filter(campaign=ad).values_list("lead_id", flat=True)) == members


def test_a_campaign_saved_with_a_later_start_or_another_utm_lets_go_of_the_arrivals_that_no_longer_qualify(
    manager, channel, rep
):
    start = clock.now() - dt.timedelta(days=20)
    early = LeadFactory(owner=rep, utm_campaign="launch", created_at=start)
    late = LeadFactory(owner=rep, utm_campaign="launch", created_at=start + dt.timedelta(days=15))
    renamed = LeadFactory(owner=rep, utm_campaign="launch-2", created_at=start + dt.timedelta(days=15))
    ad = services.campaign_save(
        user=manager, campaign=Campaign(name="Launch", channel=channel, kind=Campaign.Kind.AD, utm_campaign="launch")
    )
    hand = Member.objects.create(campaign=ad, lead=LeadFactory(owner=rep, utm_campaign=""))  # added by hand: stays
    assert set(Member.objects.filter(campaign=ad).values_list("lead_id", flat=True)) == {
        early.pk,
        late.pk,
        hand.lead_id,
    }

    ad.starts_on = (start + dt.timedelta(days=10)).astimezone(timezone.get_default_timezone()).date()
    services.campaign_save(user=manager, campaign=ad)
    assert set(Member.objects.filter(campaign=ad).values_list("lead_id", flat=True)) == {late.pk, hand.lead_id}

    ad.utm_campaign = "launch-2"
    services.campaign_save(user=manager, campaign=ad)
    assert set(Member.objects.filter(campaign=ad).values_list("lead_id", flat=True)) == {renamed.pk, hand.lead_id}


def test_a_lead_arriving_while_its_campaign_is_saved_with_another_utm_is_matched_against_the_saved_one(
    manager, channel, rep, transactional_db
):
    ad = services.campaign_save(
        user=manager, campaign=Campaign(name="Launch", channel=channel, kind=Campaign.Kind.AD, utm_campaign="launch")
    )
    lead = LeadFactory(owner=rep, utm_campaign="launch")
    Member.objects.filter(campaign=ad).delete()  # as if it arrived now: its arrival is matched below
    saving, release, errors = threading.Event(), threading.Event(), []

    def save():
        with transaction.atomic():
            ad.utm_campaign = "launch-2"
            services.campaign_save(user=manager, campaign=ad)
            saving.set()
            release.wait(30)

    saver = in_thread(save, errors)
    saver.start()
    assert saving.wait(30), errors
    arrival = in_thread(lambda: arrivals.members_from_arrivals([lead.pk]), errors)
    arrival.start()
    wait_for(lambda: backends_waiting_on_locks() >= 1, what="the arrival waiting for the campaign being saved")
    release.set()
    saver.join(30), arrival.join(30)
    assert not errors
    assert not Member.objects.filter(campaign=ad, lead=lead).exists()
