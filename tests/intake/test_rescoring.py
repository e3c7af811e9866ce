"""An event sent to the API rescores its lead within seconds, with a real Celery worker on Redis."""

import json

import pytest

from leads.channels import services as channel_services
from leads.models import Lead
from scoring import services
from scoring.models import ScoringRun
from tests.factories import LeadFactory
from tests.scoring.conftest import make_model
from tests.workers import own_queue, wait_for, worker_on

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def worker():
    # This module's own queue: no other test's tasks reach its worker, nor its tasks theirs.
    with own_queue("intake-rescoring"), worker_on("intake-rescoring"):
        yield


def test_a_pricing_page_visit_sent_to_the_api_rescores_the_lead(worker, client, admin_user, channel):
    pricing = {
        "kind": "has_done",
        "interaction_kind": "web_visit",
        "detail_key": "url",
        "detail_contains": "/pricing",
        "points": 15,
        "decays": False,
    }
    run = services.scoring_model_publish(model=make_model(rules=[pricing]), user=None)
    wait_for(lambda: ScoringRun.objects.get(pk=run.pk).status == "done", timeout=15)
    lead = LeadFactory(channel=channel, email="ada@example.com")
    _token, raw = channel_services.api_token_create(user=admin_user, channel=channel, name="Site tracker")
    response = client.post(
        "/api/v1/events/",
        json.dumps({"kind": "web_visit", "email": "ada@example.com", "url": "https://example.com/pricing", "pages": 3}),
        "application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert response.status_code == 201
    wait_for(lambda: Lead.objects.get(pk=lead.pk).score == 15, timeout=10, what="the rescoring")
