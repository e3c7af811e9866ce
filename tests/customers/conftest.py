"""Customers of the standard fixtures: won leads of the rep (Inside Sales) and of another team's rep."""

import datetime as dt
from decimal import Decimal

import pytest

from crm import clock
from customers import services
from leads.models import Stage
from tests.factories import LeadFactory


def won_lead(owner, **facts):
    facts.setdefault("deal_value", Decimal(1000))
    facts.setdefault("won_at", clock.now())
    return LeadFactory(owner=owner, stage=Stage.WON, **facts)


@pytest.fixture
def won(rep, channel):
    return won_lead(rep, channel=channel, name="Grace Hopper", email="grace@navy.example", company="US Navy")


@pytest.fixture
def customer(won):
    return services.lead_convert(lead=won, user=None).account


@pytest.fixture
def other_customer(other_rep, channel):
    lead = won_lead(other_rep, channel=channel, name="Alan Turing", email="alan@bletchley.example", company="Bletchley")
    return services.lead_convert(lead=lead, user=None).account


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)
