"""A merge never loses a closed outcome or a deal value: the survivor takes the furthest stage with its value, the
review page shows each conflict field by field, the merged lead's address leads to the survivor, and the
timeline says which entries came from which lead."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from crm import clock
from leads import services
from leads.dedupe import services as dedupe
from leads.models import LeadHistory, LeadRedirect, Stage, StageChange
from tests.factories import InteractionFactory, LeadFactory

pytestmark = pytest.mark.django_db


def _at_stage(lead, user, stage, *, value=None, reason=""):
    return services.lead_change_stage(lead=lead, user=user, stage=stage, deal_value=value, lost_reason=reason)


@pytest.fixture
def contacted_and_won(rep, teammate):
    """The issue's case: an older Contacted lead, and a newer duplicate Won 8,500 through Proposal."""
    older = LeadFactory(
        owner=rep, name="Grace Hopper", email="grace@navy.mil", created_at=clock.now() - dt.timedelta(days=9)
    )
    _at_stage(older, rep, Stage.CONTACTED)
    twin = LeadFactory(owner=teammate, name="G. Hopper", email="grace@navy.mil", company="US Navy")
    _at_stage(twin, teammate, Stage.PROPOSAL)
    _at_stage(twin, teammate, Stage.WON, value=Decimal("8500"))
    return older.__class__.objects.get(pk=older.pk), twin.__class__.objects.get(pk=twin.pk)


def test_a_won_duplicate_merged_into_an_older_contacted_lead_keeps_won_and_its_value(manager, contacted_and_won):
    older, twin = contacted_and_won
    won_at = twin.won_at

    dedupe.leads_merge(user=manager, survivor_id=older.pk, merged_ids=[twin.pk])

    older.refresh_from_db()
    assert older.stage == Stage.WON and older.deal_value == Decimal("8500") and older.won_at == won_at
    # The stage history says how: Contacted → Won by the merge, beside the twin's own history (moved, marked).
    assert StageChange.objects.filter(lead=older, from_stage="contacted", to_stage="won", user=manager).exists()
    moved = StageChange.objects.filter(lead=older, merged_from_lead_id=twin.pk)
    assert set(moved.values_list("to_stage", flat=True)) == {"proposal", "won"}
    history = {row.field: row for row in LeadHistory.objects.filter(lead=older, kind="merge")}
    assert history["stage"].old_value == "contacted" and history["stage"].new_value == "won"
    assert history["deal_value"].new_value == "8500.00"
    assert "G. Hopper" in history["merged"].new_value


def test_the_review_page_shows_the_conflicts_field_by_field_with_the_default_ticked(client, manager, contacted_and_won):
    older, twin = contacted_and_won
    client.force_login(manager)
    page = client.get(reverse("leads:merge"), {"survivor": older.pk, "merged": twin.pk}).content.decode()
    assert 'id="conflict-outcome"' in page
    assert "Won 8,500.00" in page and "Won beats every other stage" in page
    assert f'name="pick_outcome" value="{twin.pk}" checked' in page
    assert f'name="pick_outcome" value="{older.pk}"' in page
    assert "After the merge:</strong> Won 8,500" in page


def test_a_pick_on_the_review_page_keeps_another_value(manager, rep, teammate):
    keep = LeadFactory(owner=rep, email="x@example.com", company="Acme", created_at=clock.now() - dt.timedelta(days=2))
    twin = LeadFactory(owner=teammate, email="x@example.com", company="Acme Corporation")
    plan = dedupe.merge_plan(user=manager, survivor_id=keep.pk, merged_ids=[twin.pk])
    company = next(c for c in plan.conflicts if c.name == "company")
    assert [c.shown for c in company.choices] == ["Acme", "Acme Corporation"]
    assert company.chosen.lead.pk == keep.pk  # the kept lead's own value by default

    dedupe.leads_merge(user=manager, survivor_id=keep.pk, merged_ids=[twin.pk], picks={"company": twin.pk})

    keep.refresh_from_db()
    assert keep.company == "Acme Corporation"
    row = LeadHistory.objects.get(lead=keep, field="company")
    assert (row.old_value, row.new_value, row.kind) == ("Acme", "Acme Corporation", "merge")


def test_the_posted_form_carries_the_picks(client, manager, rep, teammate):
    keep = LeadFactory(owner=rep, email="x@example.com", company="Acme", created_at=clock.now() - dt.timedelta(days=2))
    twin = LeadFactory(owner=teammate, email="x@example.com", company="Acme Corporation")
    client.force_login(manager)
    response = client.post(
        reverse("leads:merge"), {"survivor": keep.pk, "merged": [twin.pk], "pick_company": str(twin.pk)}
    )
    assert response.status_code == 302
    keep.refresh_from_db()
    assert keep.company == "Acme Corporation"


def test_lost_then_a_newer_open_record_means_the_person_came_back(manager, rep, teammate):
    lost = LeadFactory(owner=rep, email="x@example.com", created_at=clock.now() - dt.timedelta(days=30))
    _at_stage(lost, rep, Stage.LOST, reason="no_budget")
    returning = LeadFactory(owner=teammate, email="x@example.com")
    _at_stage(returning, teammate, Stage.QUALIFIED)
    outcome, reason = dedupe.outcome_default([lost.__class__.objects.get(pk=lost.pk), returning])
    assert outcome.pk == returning.pk and "came back" in reason


def test_a_loss_after_every_open_records_last_move_stays_lost(manager, rep, teammate):
    old_open = LeadFactory(owner=teammate, email="x@example.com", created_at=clock.now() - dt.timedelta(days=30))
    old_open.stage_changed_at = old_open.created_at
    old_open.save()
    lost = LeadFactory(owner=rep, email="x@example.com", created_at=clock.now() - dt.timedelta(days=10))
    _at_stage(lost, rep, Stage.LOST, reason="competitor")

    dedupe.leads_merge(user=manager, survivor_id=old_open.pk, merged_ids=[lost.pk])

    old_open.refresh_from_db()
    assert old_open.stage == Stage.LOST and old_open.lost_reason == "competitor"


def test_among_open_records_the_furthest_stage_wins(manager, rep, teammate):
    keep = LeadFactory(owner=rep, email="x@example.com", created_at=clock.now() - dt.timedelta(days=3))
    _at_stage(keep, rep, Stage.QUALIFIED)
    twin = LeadFactory(owner=teammate, email="x@example.com")
    _at_stage(twin, teammate, Stage.PROPOSAL)
    dedupe.leads_merge(user=manager, survivor_id=keep.pk, merged_ids=[twin.pk])
    keep.refresh_from_db()
    assert keep.stage == Stage.PROPOSAL and keep.deal_value is None


def test_the_merged_leads_old_address_redirects_for_whoever_sees_the_survivor(
    client, manager, rep, teammate, other_rep
):
    keep = LeadFactory(owner=rep, email="x@example.com", created_at=clock.now() - dt.timedelta(days=1))
    twin = LeadFactory(owner=teammate, email="x@example.com")
    dedupe.leads_merge(user=manager, survivor_id=keep.pk, merged_ids=[twin.pk])
    old_url = reverse("leads:detail", args=[twin.pk])

    client.force_login(manager)
    response = client.get(old_url)
    assert response.status_code == 302 and response["Location"].startswith(keep.get_absolute_url())
    client.force_login(rep)  # the survivor's owner
    assert client.get(old_url).status_code == 302
    # Those who may not see the survivor learn nothing: the same 404 as for an id that never existed.
    for person in (teammate, other_rep):
        client.force_login(person)
        assert client.get(old_url).status_code == 404
    assert client.get(reverse("leads:detail", args=[twin.pk + 1000])).status_code == 404


def test_a_redirect_follows_its_survivor_into_a_later_merge(manager, rep, teammate):
    first = LeadFactory(owner=rep, email="x@example.com", created_at=clock.now() - dt.timedelta(days=3))
    second = LeadFactory(owner=rep, email="x@example.com", created_at=clock.now() - dt.timedelta(days=2))
    third = LeadFactory(owner=teammate, email="x@example.com")
    dedupe.leads_merge(user=manager, survivor_id=second.pk, merged_ids=[third.pk])
    dedupe.leads_merge(user=manager, survivor_id=first.pk, merged_ids=[second.pk])
    assert dict(LeadRedirect.objects.values_list("old_lead_id", "lead_id")) == {third.pk: first.pk, second.pk: first.pk}


def test_after_a_merge_the_timeline_says_which_lead_each_entry_came_from(client, manager, rep, teammate):
    keep = LeadFactory(
        owner=rep, name="Grace Hopper", email="x@example.com", created_at=clock.now() - dt.timedelta(days=1)
    )
    twin = LeadFactory(owner=teammate, name="G. Hopper", email="x@example.com")
    own = InteractionFactory(lead=keep, user=rep, subject="Own call")
    theirs = InteractionFactory(lead=twin, user=teammate, subject="Twin call")
    dedupe.leads_merge(user=manager, survivor_id=keep.pk, merged_ids=[twin.pk])

    client.force_login(manager)
    html = client.get(keep.get_absolute_url()).content.decode()
    theirs_at = html.index(f'id="interaction-{theirs.pk}"')
    own_at = html.index(f'id="interaction-{own.pk}"')
    theirs_html = html[theirs_at : html.index("</li>", theirs_at)]
    own_html = html[own_at : html.index("</li>", own_at)]
    assert f"from merged lead G. Hopper (#{twin.pk})" in theirs_html
    assert "from merged lead" not in own_html
    assert "Merged in:" in html


def test_of_two_wins_the_later_one_and_its_value_are_kept_and_shown_as_a_conflict(manager, rep, teammate):
    keep = LeadFactory(owner=rep, email="x@example.com", created_at=clock.now() - dt.timedelta(days=5))
    _at_stage(keep, rep, Stage.WON, value=Decimal("1200"))
    twin = LeadFactory(owner=teammate, email="x@example.com")
    _at_stage(twin, teammate, Stage.WON, value=Decimal("8500"))
    # The twin won a moment later.
    type(twin).objects.filter(pk=twin.pk).update(won_at=clock.now() + dt.timedelta(minutes=1))

    plan = dedupe.merge_plan(user=manager, survivor_id=keep.pk, merged_ids=[twin.pk])
    outcome = next(c for c in plan.conflicts if c.name == "outcome")
    assert outcome.chosen.lead.pk == twin.pk

    dedupe.leads_merge(user=manager, survivor_id=keep.pk, merged_ids=[twin.pk])
    keep.refresh_from_db()
    assert keep.stage == Stage.WON and keep.deal_value == Decimal("8500")
    assert not StageChange.objects.filter(lead=keep, from_stage="won", to_stage="won").exists()


def test_the_same_event_recorded_on_both_records_survives_the_merge_twice(manager, rep, teammate):
    keep = LeadFactory(owner=rep, email="x@example.com", created_at=clock.now() - dt.timedelta(days=1))
    twin = LeadFactory(owner=teammate, email="x@example.com", created_at=clock.now() - dt.timedelta(days=1))
    for lead in (keep, twin):
        InteractionFactory(lead=lead, user=None, kind="email_open", direction="system", outcome="", event_key="id:m1")
    dedupe.leads_merge(user=manager, survivor_id=keep.pk, merged_ids=[twin.pk])
    assert keep.interactions.count() == 2
