"""The audit trail: every field a person changes, every reassignment and merge, on the lead's timeline."""

import pytest
from django.urls import reverse

from leads import services
from leads.models import LeadHistory
from tests.factories import InteractionFactory

pytestmark = pytest.mark.django_db


def test_an_edit_records_each_changed_field_from_what_to_what_by_whom(lead, rep):
    services.lead_update(lead=lead, user=rep, data={"company": "Engines Ltd", "industry": "", "name": lead.name})
    rows = list(LeadHistory.objects.filter(lead=lead))
    assert [(r.field, r.old_value, r.new_value, r.user_id, r.kind) for r in rows] == [
        ("company", "Analytical Engines", "Engines Ltd", rep.pk, "edit")
    ]


def test_an_edit_that_changes_nothing_records_nothing(lead, rep):
    services.lead_update(lead=lead, user=rep, data={"company": lead.company})
    assert not LeadHistory.objects.exists()


def test_a_failed_edit_records_nothing(lead, rep):
    with pytest.raises(Exception):  # noqa: B017 - any refusal: the history goes with the edit's transaction
        services.lead_update(lead=lead, user=rep, data={"email": "not an email"})
    assert not LeadHistory.objects.exists()


def test_the_timeline_shows_changes_and_filters_them(rep_client, lead, rep, manager, teammate, htmx):
    InteractionFactory(lead=lead, user=rep, subject="Intro call")
    services.lead_update(lead=lead, user=rep, data={"budget": "confirmed"})
    services.lead_assign(lead=lead, owner=teammate, user=manager)
    services.lead_assign(lead=lead, owner=rep, user=manager)

    page = rep_client.get(lead.get_absolute_url()).content.decode()
    assert "Intro call" in page
    assert "Budget:</strong>" in page and "Unknown</span> → <span" in page and "Has budget" in page
    assert "Reassigned by" in page and str(teammate) in page

    changes = rep_client.get(
        reverse("leads:detail", args=[lead.pk]), {"partial": "timeline", "show": "changes"}, headers=htmx
    ).content.decode()
    assert "Has budget" in changes and "Owner:</strong>" in changes
    assert "Intro call" not in changes
    assert 'aria-current="true">Changes</a>' in changes


def test_the_timeline_reads_history_in_a_fixed_number_of_queries(
    rep_client, lead, rep, manager, teammate, channel, django_assert_max_num_queries
):
    for i in range(5):
        services.lead_update(lead=lead, user=rep, data={"company": f"Company {i}", "channel": channel})
        services.lead_assign(lead=lead, owner=teammate if i % 2 == 0 else rep, user=manager)
    services.lead_assign(lead=lead, owner=rep, user=manager)
    # The lead page's usual queries, plus the owners' and channels' names of the history (one query each).
    with django_assert_max_num_queries(11):
        rep_client.get(lead.get_absolute_url())
