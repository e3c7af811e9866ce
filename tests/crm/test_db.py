"""crm.db: a query compiled once and re-bound answers like the same query built afresh."""

import datetime as dt

import pytest
from django.db import connection

from crm.db import ReboundQuery, any_of
from leads.models import Lead
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

MARKER = dt.datetime(1, 1, 1, 0, 0, 0, 123457, tzinfo=dt.UTC)


def _rows(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return sorted(row[0] for row in cursor.fetchall())


def test_a_rebound_query_gives_what_the_query_built_afresh_gives():
    early, late, other = (LeadFactory(created_at=dt.datetime(2026, 1, day, tzinfo=dt.UTC)) for day in (1, 20, 25))

    def build(ids, since):
        return Lead.objects.filter(any_of("id", ids), created_at__gte=since).values_list("pk")

    query = ReboundQuery(build, ids=[], since=MARKER)
    for ids, since in [([early.pk, late.pk], dt.datetime(2026, 1, 10, tzinfo=dt.UTC)), ([other.pk, early.pk], MARKER)]:
        fresh = build(ids, since).query.sql_with_params()
        assert _rows(*query.bind(ids=ids, since=since)) == _rows(*fresh)
    assert _rows(*query.bind(ids=[early.pk, late.pk, other.pk], since=dt.datetime(2026, 1, 10, tzinfo=dt.UTC))) == [
        late.pk,
        other.pk,
    ]


def test_a_marker_the_query_does_not_take_as_a_parameter_is_refused():
    query = ReboundQuery(lambda ids: Lead.objects.filter(pk__in=[1, 2]).values_list("pk"), ids=[])
    with pytest.raises(RuntimeError, match="does not take ids"):
        query.bind(ids=[1])
