"""A campaign's spend: its own, or its share of its channel's spend periods, in the report and on its page."""

import datetime as dt
from decimal import Decimal

import pytest

from campaigns import services
from campaigns.models import Campaign, Member
from campaigns.spend import campaign_spend
from leads.models import ChannelSpend, Stage
from reports.periods import Period
from reports.scope import ReportScope
from reports.selectors.campaigns import campaigns_report
from tests.factories import ChannelFactory, LeadFactory

pytestmark = pytest.mark.django_db
JUNE = dt.date(2026, 6, 1)


def _day(n: int) -> dt.date:
    return JUNE + dt.timedelta(days=n - 1)


@pytest.fixture
def june_spend(channel):
    # 3,000 over June's 30 days: 100 a day.
    return ChannelSpend.objects.create(channel=channel, period_start=_day(1), period_end=_day(30), amount=3000)


def _campaign(channel, name, start, end, source=Campaign.SpendSource.CHANNEL, spend=0, **extra):
    return Campaign.objects.create(
        name=name, channel=channel, kind=Campaign.Kind.AD, starts_on=start, ends_on=end, spend_source=source,
        spend=Decimal(spend), **extra,
    )  # fmt: skip


def test_channel_spend_is_shared_by_the_channel_campaigns_running_each_day(channel, june_spend):
    # A runs days 1–10, B days 6–15: days 1–5 are A's alone (500), 6–10 shared (250 each), 11–15 B's (500).
    a = _campaign(channel, "A", _day(1), _day(10))
    b = _campaign(channel, "B", _day(6), _day(15))
    own = _campaign(channel, "Own", _day(1), _day(30), source=Campaign.SpendSource.OWN, spend=70)  # not sharing
    other = _campaign(ChannelFactory(name="Other"), "Elsewhere", _day(1), _day(30))  # no spend periods
    # A period in May, before any of their days: no part of it counts.
    ChannelSpend.objects.create(channel=channel, period_start=dt.date(2026, 5, 1), period_end=dt.date(2026, 5, 31),
                                amount=31)  # fmt: skip
    spends = campaign_spend([a, b, own, other], today=_day(30))
    assert spends == {a.pk: Decimal("750.00"), b.pk: Decimal("750.00"), own.pk: Decimal(70), other.pk: Decimal(0)}
    # Together never more than the channel's spend over their days (15 days × 100).
    assert spends[a.pk] + spends[b.pk] == Decimal(1500)


def test_overlapping_periods_add_up_and_days_without_any_cost_nothing(channel, june_spend):
    # A second period over days 21–30 (1,000: 100 a day more); the campaign runs days 21 to July 10.
    ChannelSpend.objects.create(channel=channel, period_start=_day(21), period_end=_day(30), amount=1000)
    c = _campaign(channel, "C", _day(21), dt.date(2026, 7, 10))
    assert campaign_spend([c], today=_day(30)) == {c.pk: Decimal("2000.00")}


def test_a_campaign_without_an_end_takes_channel_spend_up_to_today_and_thirds_round_to_cents(channel, june_spend):
    a = _campaign(channel, "A", _day(1), None)
    b = _campaign(channel, "B", _day(1), _day(1))
    c = _campaign(channel, "C", _day(1), _day(1))
    spends = campaign_spend([a, b, c], today=_day(3))
    # Day 1: 100 / 3 each; days 2 and 3: A alone.
    assert spends == {a.pk: Decimal("233.33"), b.pk: Decimal("33.33"), c.pk: Decimal("33.33")}


def test_the_report_uses_the_channel_share_for_cost_per_lead_and_roi(channel, june_spend, admin_user, rep):
    a = _campaign(channel, "Ads A", _day(1), _day(10), utm_campaign="ads-a", owner=admin_user)
    _campaign(channel, "Ads B", _day(6), _day(15))
    won = LeadFactory(
        owner=rep,
        channel=channel,
        stage=Stage.WON,
        deal_value=Decimal(3000),
        won_at=dt.datetime(2026, 6, 5, tzinfo=dt.UTC),
    )
    lost = LeadFactory(owner=rep, channel=channel)
    for lead in (won, lost):
        Member.objects.create(campaign=a, lead=lead, source=Member.Source.ARRIVAL)
    scope = ReportScope.for_user(admin_user, Period(_day(1), _day(30), "custom"))
    returns = next(t for t in campaigns_report(scope).tables if t.key == "returns")
    row = next(r for r in returns.rows if r["group"].text == "Ads A")
    assert row["spend"].value == Decimal(750)
    assert row["influenced"].value == 2  # both arrived through the ad
    assert row["cost_per_lead"].value == Decimal(375)
    assert row["roi"].value == pytest.approx((3000 - 750) / 750)


def test_the_form_offers_channel_spend_and_asks_for_a_start_date(client, manager, channel, june_spend):
    client.force_login(manager)
    data = {"name": "Ads", "kind": "ad", "channel": channel.pk, "owner": manager.pk, "spend_source": "channel"}
    refused = client.post("/campaigns/new/", data)
    assert refused.status_code == 400 and "needs a start date" in refused.content.decode()
    assert client.post("/campaigns/new/", {**data, "spend_source": "bogus"}).status_code == 400
    response = client.post("/campaigns/new/", {**data, "starts_on": "2026-06-01", "ends_on": "2026-06-10"})
    campaign = Campaign.objects.get(name="Ads")
    assert response.status_code == 302 and campaign.spend_source == Campaign.SpendSource.CHANNEL
    page = client.get(campaign.get_absolute_url()).content.decode()
    assert "1,000.00" in page and "its share of the channel’s spend periods" in page


def test_a_campaign_saved_without_a_spend_source_keeps_its_own(manager, channel):
    campaign = services.campaign_save(
        user=manager, campaign=Campaign(name="Own", channel=channel, kind="email", spend=Decimal(5))
    )
    campaign.refresh_from_db()
    assert campaign.spend_source == Campaign.SpendSource.OWN
    assert campaign_spend([campaign]) == {campaign.pk: Decimal(5)}


def test_the_campaigns_report_csv_is_formula_safe(client, admin_user, channel, june_spend, rep):
    planted = '=HYPERLINK("http://evil","x")'
    campaign = _campaign(channel, planted, _day(1), _day(10))
    Member.objects.create(campaign=campaign, lead=LeadFactory(owner=rep), source=Member.Source.ARRIVAL)
    client.force_login(admin_user)
    response = client.get(
        "/reports/campaigns/",
        {"period": "custom", "start": "2026-06-01", "end": "2026-06-30", "format": "csv", "table": "returns"},
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert "'" + planted.replace('"', '""') in text and "\n=" not in text and ",=" not in text
    assert "1000.00" in text or "1000" in text  # the channel share (10 days × 100), a number
