import pytest

from tests.factories import LeadFactory


@pytest.fixture
def twins(rep, teammate, channel):
    """Two leads of the manager's team with the same person behind them (same email, differently written)."""
    keep = LeadFactory(owner=rep, channel=channel, name="Grace Hopper", email="grace@navy.mil", company="")
    twin = LeadFactory(
        owner=teammate, channel=channel, name="G. Hopper", email="Grace@Navy.MIL", company="US Navy", city="Arlington"
    )
    return keep, twin
