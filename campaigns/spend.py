"""What a campaign cost: its own spend, or its share of its channel's spend periods.

A campaign that takes its spend from the channel (`Campaign.spend_source = "channel"`) gets, for each day of its
dates (`starts_on` to `ends_on`, ends included; to today while it has no end), that day's channel spend divided
equally among the channel's campaigns taking channel spend that day. A day's channel spend is each spend period
(`leads.ChannelSpend`) covering it, its amount spread evenly over its days (the channel economics report's rule).
So the channel's campaigns together never cost more than the channel's spend over their days, and a day with no
spend period costs nothing. A campaign taking channel spend without a start day costs nothing (the form asks for
one). Cancelled campaigns take part too: they ran on their days, or were planned to.

The records are few (campaigns and spend periods of a channel), so the sums run in Python, over the stretches of
days between any two campaign or period boundaries (not day by day), in exact decimal arithmetic rounded to cents
at the end.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

from campaigns.models import Campaign
from crm import clock
from leads.models import ChannelSpend

CENT = Decimal("0.01")
ONE_DAY = dt.timedelta(days=1)


def _days(campaign: Campaign, today: dt.date) -> tuple[dt.date, dt.date] | None:
    """The campaign's first and last day (inclusive), or None when it has no start."""
    if campaign.starts_on is None:
        return None
    end = campaign.ends_on or max(today, campaign.starts_on)
    return campaign.starts_on, end


def channel_shares(campaigns: Iterable[Campaign], *, today: dt.date | None = None) -> dict[int, Decimal]:
    """The channel-spend share of each given campaign that takes channel spend (others are left out)."""
    today = today or clock.today()
    wanted = [c for c in campaigns if c.spend_source == Campaign.SpendSource.CHANNEL]
    if not wanted:
        return {}
    channels = {c.channel_id for c in wanted}
    # Every campaign of those channels that takes channel spend: they share each day.
    sharing: dict[int, list[tuple[int, dt.date, dt.date]]] = {}
    for pk, channel_id, starts_on, ends_on in Campaign.objects.filter(
        channel__in=channels, spend_source=Campaign.SpendSource.CHANNEL, starts_on__isnull=False
    ).values_list("pk", "channel_id", "starts_on", "ends_on"):
        end = ends_on or max(today, starts_on)
        sharing.setdefault(channel_id, []).append((pk, starts_on, end))
    periods: dict[int, list[tuple[dt.date, dt.date, Decimal]]] = {}
    for channel_id, start, end, amount in ChannelSpend.objects.filter(channel__in=channels).values_list(
        "channel_id", "period_start", "period_end", "amount"
    ):
        periods.setdefault(channel_id, []).append((start, end, amount))

    shares: dict[int, Decimal] = {}
    for channel_id, running in sharing.items():
        totals = _share_channel(running, periods.get(channel_id, []))
        shares.update(totals)
    return {c.pk: shares.get(c.pk, Decimal(0)).quantize(CENT, ROUND_HALF_UP) for c in wanted}


def _share_channel(
    running: list[tuple[int, dt.date, dt.date]], periods: list[tuple[dt.date, dt.date, Decimal]]
) -> dict[int, Decimal]:
    """Split one channel's daily spend among its campaigns running each day, stretch by stretch."""
    if not running or not periods:
        return {}
    # Boundaries: the first day of each campaign and period, and the day after each one's last.
    cuts = set()
    for _, start, end in running:
        cuts.update((start, end + ONE_DAY))
    for start, end, _ in periods:
        cuts.update((start, end + ONE_DAY))
    ordered = sorted(cuts)
    totals: dict[int, Decimal] = {}
    for first, after in itertools.pairwise(ordered):
        last = after - ONE_DAY
        days = (after - first).days
        daily = sum(
            (amount / ((end - start).days + 1) for start, end, amount in periods if start <= first and end >= last),
            Decimal(0),
        )
        if not daily:
            continue
        here = [pk for pk, start, end in running if start <= first and end >= last]
        if not here:
            continue
        each = daily * days / len(here)
        for pk in here:
            totals[pk] = totals.get(pk, Decimal(0)) + each
    return totals


def campaign_spend(campaigns: Iterable[Campaign], *, today: dt.date | None = None) -> dict[int, Decimal]:
    """What each campaign cost, by its spend source: one query of campaigns and one of spend periods at most."""
    campaigns = list(campaigns)
    shares = channel_shares(campaigns, today=today)
    return {
        c.pk: shares.get(c.pk, Decimal(0)) if c.spend_source == Campaign.SpendSource.CHANNEL else c.spend
        for c in campaigns
    }
