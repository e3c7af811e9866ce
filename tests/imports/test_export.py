"""Export of the leads list's current filter as CSV: permissions, filters, columns, streaming."""

import csv
import io
import json

import pytest
from django.urls import reverse

from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def rows(response) -> list[dict]:
    assert response.streaming
    text = b"".join(response.streaming_content).decode()  # COPY blocks
    return list(csv.DictReader(io.StringIO(text)))


def test_a_rep_exports_only_their_own_leads(rep_client, rep, other_rep, pool_lead):
    mine = LeadFactory(owner=rep, name="Mine")
    LeadFactory(owner=other_rep, name="Theirs")
    exported = rows(rep_client.get(reverse("leads:export")))
    assert [r["id"] for r in exported] == [str(mine.pk)]


def test_a_manager_exports_their_team_and_the_pool(client, manager, rep, other_rep, pool_lead):
    LeadFactory(owner=rep, name="Team")
    LeadFactory(owner=other_rep, name="Other team")
    client.force_login(manager)
    names = {r["name"] for r in rows(client.get(reverse("leads:export")))}
    assert names == {"Team", "Pooled Person"}


def test_the_export_follows_the_lists_filter_and_has_every_column(client, admin_user, rep, channel):
    import datetime as dt
    from decimal import Decimal

    won = LeadFactory(
        owner=rep,
        channel=channel,
        stage="won",
        deal_value=Decimal("1200.50"),
        won_at=dt.datetime(2024, 3, 1, tzinfo=dt.UTC),
        attributes={"tier": "gold", "seats": 5},
        score=88,
        grade="A",
    )
    LeadFactory(stage="new")
    client.force_login(admin_user)
    response = client.get(reverse("leads:export") + f"?stage=won&channel={channel.pk}")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    (row,) = rows(response)
    assert row["id"] == str(won.pk) and row["channel"] == "Google Ads" and row["owner"] == "rep"
    assert (row["stage"], row["score"], row["grade"], row["deal_value"]) == ("won", "88", "A", "1200.50")
    from django.utils.dateparse import parse_datetime

    assert parse_datetime(row["won_at"]) == dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
    assert parse_datetime(row["created_at"]) == won.created_at
    assert json.loads(row["attributes"]) == {"seats": 5, "tier": "gold"}


def test_a_bad_filter_is_a_400_not_every_lead(client, admin_user):
    client.force_login(admin_user)
    assert client.get(reverse("leads:export") + "?stage=nonsense").status_code == 400


def test_the_export_does_not_query_per_row(client, admin_user, rep, channel, django_assert_max_num_queries):
    for _ in range(30):
        LeadFactory(owner=rep, channel=channel)
    client.force_login(admin_user)
    with django_assert_max_num_queries(6):
        assert len(rows(client.get(reverse("leads:export")))) == 30


def test_the_search_box_filters_the_export_too(client, admin_user):
    LeadFactory(name="Ada Lovelace", company="Engines 100%")
    LeadFactory(name="Bob Builder")
    client.force_login(admin_user)
    exported = rows(client.get(reverse("leads:export") + "?q=lovelace"))
    assert [(r["name"], r["company"]) for r in exported] == [("Ada Lovelace", "Engines 100%")]
