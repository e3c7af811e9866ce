"""The Celery paths with a real worker on Redis: events rescore a lead within seconds, a publish rescores all."""

import pytest

from leads import services as lead_services
from leads.models import Lead
from scoring import services
from scoring.models import DirtyLead, ScoringRun
from tests.factories import LeadFactory
from tests.scoring.conftest import make_model
from tests.workers import own_queue, wait_for, worker_on

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def worker():
    # This module's own queue: no other test's tasks reach its worker, nor its tasks theirs.
    with own_queue("scoring-celery"), worker_on("scoring-celery"):
        yield


def test_logging_an_interaction_rescores_the_lead_through_the_queued_sweep(worker, rep, channel):
    draft = make_model(
        rules=[{"kind": "has_done", "interaction_kind": "form_submission", "points": 30, "decays": False}]
    )
    run = services.scoring_model_publish(model=draft, user=None)  # queued on commit: the worker runs it
    wait_for(lambda: ScoringRun.objects.get(pk=run.pk).status == "done", timeout=10)
    lead = lead_services.lead_create(user=rep, name="Grace", company="Navy")
    lead_services.interaction_log(lead=lead, user=None, kind="form_submission", direction="inbound")
    # No beat runs here: only the sweep the event queued on commit can score the lead.
    wait_for(lambda: Lead.objects.get(pk=lead.pk).score == 30, timeout=10, what="the event's rescoring")
    # Nothing is left waiting (a sweep queued by the lead's creation may still be finishing its pass).
    wait_for(lambda: not DirtyLead.objects.exists(), timeout=10)


def test_a_burst_of_events_is_swept_in_one_pass(worker, admin_user):
    publish = services.scoring_model_publish(
        model=make_model(
            rules=[{"kind": "fit", "field": "industry", "operator": "equals", "value": "saas", "points": 20}]
        ),
        user=None,
    )
    wait_for(lambda: ScoringRun.objects.get(pk=publish.pk).status == "done", timeout=10)
    leads = [LeadFactory(industry="SaaS") for _ in range(40)]
    lead_services.leads_bulk_change_stage(user=admin_user, lead_ids=[x.pk for x in leads], stage="contacted")
    wait_for(lambda: Lead.objects.filter(pk__in=[x.pk for x in leads], score=20).count() == 40, timeout=10)


def test_publishing_rescores_every_lead_in_the_background_with_progress(worker):
    leads = [LeadFactory(industry="SaaS") for _ in range(30)]
    run = services.scoring_model_publish(
        model=make_model(
            rules=[{"kind": "fit", "field": "industry", "operator": "in", "values": ["saas"], "points": 85}]
        ),
        user=None,
    )
    wait_for(lambda: ScoringRun.objects.get(pk=run.pk).status == "done", timeout=15)
    run.refresh_from_db()
    assert run.percent == 100 and run.leads_done >= 30
    assert set(Lead.objects.filter(pk__in=[x.pk for x in leads]).values_list("grade", flat=True)) == {"A"}
