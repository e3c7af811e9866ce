"""Medians per group in one query (`reports.selectors.common.medians_by`), computed by hand, and checked against
`percentiles` group by group.

Response times (seconds) of eight leads:

| channel | region | seconds          | median of the channel | median of the region  |
|---------|--------|------------------|-----------------------|-----------------------|
| Web     | EMEA   | 40, 10, 20       | 20 (odd: the middle)  | EMEA: 10, 20, 40, 7 → (10 + 20) / 2 = 15 |
| Fair    | EMEA   | 7                | Fair: 7, 7, 30, 5 → (7 + 7) / 2 = 7 (a tie) |                       |
| Fair    | (none) | 7, 30, 5         |                       | "": 7, 30, 5 → 7      |
| (none)  | APAC   | 11               | none: 11 (one row)    | APAC: 11              |

All eight: 5, 7, 7, 10, 11, 20, 30, 40 → (10 + 11) / 2 = 10.5. A ninth lead (Web, EMEA) has no response: it is
not among the values; one more (Fair, APAC) neither.
"""

import pytest

from leads.models import Lead
from reports.selectors.common import medians_by, percentiles
from tests.factories import ChannelFactory, LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def answered():
    web, fair = ChannelFactory(name="Web"), ChannelFactory(name="Fair")
    for channel, region, seconds in (
        (web, "EMEA", (40, 10, 20)),
        (fair, "EMEA", (7,)),
        (fair, "", (7, 30, 5)),
        (None, "APAC", (11,)),
    ):
        for value in seconds:
            LeadFactory(channel=channel, region=region, response_seconds=value)
    LeadFactory(channel=web, region="EMEA", response_seconds=None)
    LeadFactory(channel=fair, region="APAC", response_seconds=None)
    return {"web": web.pk, "fair": fair.pk}


def rows():
    return Lead.objects.order_by()


def test_medians_per_group_by_hand(answered):
    overall, by_channel, by_region = medians_by(rows(), "response_seconds", (None, "channel", "region"))
    assert overall == {None: (8, 10.5)}
    assert by_channel == {answered["web"]: (3, 20.0), answered["fair"]: (4, 7.0), None: (1, 11.0)}
    assert by_region == {"EMEA": (4, 15.0), "": (3, 7.0), "APAC": (1, 11.0)}


def test_a_group_without_values_is_left_out(answered):
    # The Web/EMEA and Fair/APAC leads without a response: no value in any of their groups.
    assert medians_by(rows().filter(response_seconds__isnull=True), "response_seconds", (None, "region")) == [{}, {}]


def test_the_same_grouping_twice(answered):
    # Equal windows are selected once (Django cannot select two equal window expressions in one filtered query).
    assert medians_by(rows(), "response_seconds", ("region", None, "region", None)) == [
        {"EMEA": (4, 15.0), "": (3, 7.0), "APAC": (1, 11.0)},
        {None: (8, 10.5)},
        {"EMEA": (4, 15.0), "": (3, 7.0), "APAC": (1, 11.0)},
        {None: (8, 10.5)},
    ]


def test_the_same_as_percentiles_group_by_group(answered):
    by_channel, by_region = medians_by(rows(), "response_seconds", ("channel", "region"))
    answered_rows = rows().filter(response_seconds__isnull=False)
    for group, found in (("channel", by_channel), ("region", by_region)):
        values = set(answered_rows.values_list(group, flat=True))
        assert set(found) == values
        for value in values:
            same = answered_rows.filter(**({group: value} if value is not None else {f"{group}__isnull": True}))
            assert found[value] == (same.count(), percentiles(same, "response_seconds", (0.5,))[1][0.5])


def test_no_rows_no_groups(answered):
    assert medians_by(Lead.objects.none(), "response_seconds", (None, "channel")) == [{}, {}]
