"""Two people merging overlapping groups at the same moment, in two real PostgreSQL transactions: the leads are
locked, so one merge wins and the other finds the lead gone (404); nothing is lost or merged twice."""

import threading
from decimal import Decimal

import pytest
from django.db import connections
from django.http import Http404

from leads import services
from leads.dedupe import services as dedupe
from leads.models import Interaction, Lead, LeadMerge, LeadRedirect, Stage
from tests.factories import InteractionFactory, LeadFactory
from tests.threads import together
from tests.workers import backends_waiting_on_locks, wait_for


@pytest.mark.django_db(transaction=True)
def test_two_merges_of_the_same_lead_at_once_one_wins(admin_user, manager, rep, teammate, monkeypatch):
    first = LeadFactory(owner=rep, email="x@example.com")
    contested = LeadFactory(owner=teammate, email="x@example.com")
    third = LeadFactory(owner=rep, email="x@example.com")
    for lead in (first, contested, third):
        InteractionFactory.create_batch(2, lead=lead, user=lead.owner)

    recompute = dedupe.leads_response_recompute

    def slow_recompute(**kwargs):
        # Hold the locks until the other merge waits on them, so the two surely meet.
        wait_for(lambda: backends_waiting_on_locks() >= 1, what="the other merge waiting on the locks")
        return recompute(**kwargs)

    monkeypatch.setattr(dedupe, "leads_response_recompute", slow_recompute)
    barrier = threading.Barrier(2)
    results = [None, None]

    def merge(index, user, survivor):
        try:
            barrier.wait()
            results[index] = dedupe.leads_merge(user=user, survivor_id=survivor.pk, merged_ids=[contested.pk])
        except Http404 as error:
            results[index] = error
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=merge, args=(0, admin_user, first)),
        threading.Thread(target=merge, args=(1, manager, third)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    merges = [r for r in results if isinstance(r, LeadMerge)]
    refused = [r for r in results if isinstance(r, Http404)]
    assert len(merges) == 1 and len(refused) == 1
    winner = merges[0].survivor_id
    assert not Lead.objects.filter(pk=contested.pk).exists()
    assert Interaction.objects.count() == 6
    assert Interaction.objects.filter(lead_id=winner).count() == 4
    assert LeadMerge.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_crossed_merges_at_once_keep_one_lead_its_won_deal_and_one_redirect(manager, admin_user, rep, teammate):
    """A into B and B into A at the same moment: the leads are locked in id order, so one merge waits for the other,
    then finds its lead gone (404); the won deal survives whichever wins, and the loser's id redirects to it."""
    a = LeadFactory(owner=rep, email="x@example.com")
    b = LeadFactory(owner=teammate, email="x@example.com")
    services.lead_change_stage(lead=b, user=teammate, stage=Stage.WON, deal_value=Decimal("8500"))

    _results, errors = together(
        lambda: dedupe.leads_merge(user=manager, survivor_id=a.pk, merged_ids=[b.pk]),
        lambda: dedupe.leads_merge(user=admin_user, survivor_id=b.pk, merged_ids=[a.pk]),
    )

    assert sorted(type(e).__name__ for e in errors if e is not None) == ["Http404"]
    (kept,) = Lead.objects.all()
    assert kept.stage == Stage.WON and kept.deal_value == Decimal("8500")
    gone = b.pk if kept.pk == a.pk else a.pk
    assert list(LeadRedirect.objects.values_list("old_lead_id", "lead_id")) == [(gone, kept.pk)]
    assert LeadMerge.objects.count() == 1
