"""A small month of leads whose report figures the tests compute by hand.

Time zone Europe/Berlin; the period is March 2026 (custom dates), the period before it 29 Jan – 28 Feb 2026.
Every lead, its stage history and response time is written out below, so each expected figure can be checked
with pencil and paper.
"""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from leads.models import ChannelSpend, Stage, StageChange
from reports.services import stats_refresh
from tests.factories import ChannelFactory, LeadFactory, TaskFactory

UTC = dt.UTC
NOW = dt.datetime(2026, 4, 2, 12, 0, tzinfo=UTC)
MARCH = {"period": "custom", "start": "2026-03-01", "end": "2026-03-31"}


def at(day: str, hour: int = 9, minute: int = 0) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=UTC)


def make_lead(*, owner, channel, created, history, response=None, **facts):
    """A lead with its stage history: `history` is [(stage, days after creation)], the first being its creation."""
    last_stage, last_days = history[-1]
    won = last_stage == Stage.WON
    lead = LeadFactory(
        owner=owner,
        channel=channel,
        created_at=created,
        stage=last_stage,
        stage_changed_at=created + dt.timedelta(days=last_days),
        won_at=created + dt.timedelta(days=last_days) if won else None,
        deal_value=facts.pop("deal_value", None) if won else None,
        lost_reason=facts.pop("lost_reason", "") if last_stage == Stage.LOST else "",
        response_seconds=response,
        first_response_at=created + dt.timedelta(seconds=response) if response is not None else None,
        **facts,
    )
    previous = ""
    for stage, days in history:
        StageChange.objects.create(
            lead=lead, from_stage=previous, to_stage=stage, changed_at=created + dt.timedelta(days=days)
        )
        previous = stage
    return lead


@pytest.fixture
def berlin(settings):
    settings.TIME_ZONE = "Europe/Berlin"


@pytest.fixture
def month(berlin, rep, teammate, other_rep, manager, admin_user):
    with time_machine.travel(NOW, tick=False):
        ads = ChannelFactory(name="Google Ads")
        events = ChannelFactory(name="Trade show")
        ChannelFactory(name="Referral")  # no leads, no spend: an empty group
        ChannelSpend.objects.create(
            channel=ads, period_start=dt.date(2026, 3, 1), period_end=dt.date(2026, 3, 31), amount=Decimal("3100")
        )
        ChannelSpend.objects.create(
            channel=ads, period_start=dt.date(2026, 2, 15), period_end=dt.date(2026, 3, 16), amount=Decimal("300")
        )
        ChannelSpend.objects.create(
            channel=events, period_start=dt.date(2026, 1, 1), period_end=dt.date(2026, 12, 31), amount=Decimal("3650")
        )
        new, contacted, qualified, proposal, won, lost = (
            Stage.NEW,
            Stage.CONTACTED,
            Stage.QUALIFIED,
            Stage.PROPOSAL,
            Stage.WON,
            Stage.LOST,
        )
        leads = {
            "L1": make_lead(
                owner=rep,
                channel=ads,
                created=at("2026-03-02"),
                history=[(new, 0), (contacted, 1), (qualified, 3), (proposal, 6), (won, 10)],
                response=120,
                deal_value=Decimal("1000"),
                industry="Software",
                region="EMEA",
                company_size=30,
                phone="+4930123456",
                grade="A",
            ),
            "L2": make_lead(
                owner=rep,
                channel=ads,
                created=at("2026-03-03", 10),
                history=[(new, 0), (contacted, 1), (lost, 2)],
                response=600,
                lost_reason="no_budget",
                industry="Software",
                grade="A",
            ),
            "L3": make_lead(
                owner=teammate,
                channel=events,
                created=at("2026-03-05", 8),
                history=[(new, 0), (qualified, 2)],
                response=7200,
                region="EMEA",
                grade="B",
            ),
            "L4": make_lead(owner=teammate, channel=events, created=at("2026-03-10", 12), history=[(new, 0)]),
            "L5": make_lead(
                owner=other_rep,
                channel=ads,
                created=at("2026-03-06"),
                history=[(new, 0), (contacted, 1), (won, 4)],
                response=4000,
                deal_value=Decimal("500"),
            ),
            # 28 Feb 23:30 UTC is 1 March 00:30 in Berlin: in March.
            "L6": make_lead(owner=rep, channel=ads, created=at("2026-02-28", 23, 30), history=[(new, 0)]),
            # 31 March 22:30 UTC is 1 April 00:30 in Berlin: not in March.
            "L7": make_lead(owner=rep, channel=ads, created=at("2026-03-31", 22, 30), history=[(new, 0)]),
            # The period before.
            "P1": make_lead(
                owner=rep,
                channel=ads,
                created=at("2026-02-10"),
                history=[(new, 0), (won, 10)],
                response=60,
                deal_value=Decimal("200"),
            ),
            "P2": make_lead(
                owner=rep,
                channel=ads,
                created=at("2026-02-11"),
                history=[(new, 0), (lost, 3)],
                lost_reason="no_response",
            ),
        }
        TaskFactory(lead=leads["L6"], assignee=rep, due_at=NOW - dt.timedelta(days=1))
        TaskFactory(lead=leads["L6"], assignee=rep, due_at=NOW - dt.timedelta(days=2), done_at=NOW)
        TaskFactory(lead=leads["L4"], assignee=teammate, due_at=NOW + dt.timedelta(days=1))
        stats_refresh(full=True)
    with time_machine.travel(NOW, tick=False):
        yield leads


def cells(table, column):
    return [row[column].text for row in table.rows]


def by_group(table, column):
    return {row["group"].text: row[column].text for row in table.rows}
