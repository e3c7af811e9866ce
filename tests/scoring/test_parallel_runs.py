"""Bulk scoring runs write several chunks at once (`SCORING_PARALLEL_CHUNKS` threads, each with its own
connection), and stay what a run must be: each chunk written once however many executors and threads share it,
resumable after an executor dies mid-chunk, and an event rescored during the run never overwritten by the run's
older view of the lead (issue 14: hundreds of rules within the rescore targets)."""

import datetime as dt
import threading

import pytest
from django.db import OperationalError, transaction
from django.db.models import Count

from crm import clock
from leads.models import Lead
from scoring import services
from scoring.models import LeadScore, ScoreChange, ScoringRun, ScoringRunChunk
from tests.factories import InteractionFactory, LeadFactory
from tests.scoring.conftest import make_model
from tests.threads import in_thread, rows_locked
from tests.workers import backends_waiting_on_locks, own_queue, transient_database_fault, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

INDUSTRY_50 = {"kind": "fit", "field": "industry", "operator": "equals", "value": "software", "points": 50}
FORM_30 = {"kind": "has_done", "interaction_kind": "form_submission", "points": 30, "decays": False}


def _history_rows_per_lead(model) -> dict[int, int]:
    return dict(
        ScoreChange.objects.filter(model=model).values("lead_id").annotate(n=Count("id")).values_list("lead_id", "n")
    )


def _publish_unqueued(model) -> ScoringRun:
    with own_queue("scoring-parallel"):  # the publish's own task is never run here
        return services.scoring_model_publish(model=model, user=None)


def test_while_one_chunk_waits_on_locked_leads_the_other_threads_write_every_other_chunk():
    leads = [LeadFactory(industry="Software") for _ in range(12)]
    model = make_model(rules=[INDUSTRY_50])
    run = _publish_unqueued(model)
    errors: list = []
    with rows_locked(Lead.objects.filter(pk__in=[x.pk for x in leads[:3]]), errors):  # the first chunk's leads
        executor = in_thread(lambda: services.scoring_run_execute(run_id=run.pk, chunk_size=3, parallel=2), errors)
        executor.start()
        # One thread is stuck in the first chunk; the other goes on with the three others (written in turn, they
        # would all wait behind the first).
        wait_for(
            lambda: ScoringRunChunk.objects.filter(run=run, done_at__isnull=False).count() == 3,
            what="the other chunks written while the first one waits",
        )
        assert ScoringRun.objects.get(pk=run.pk).status == "running"
    executor.join(60)
    assert errors == []
    run.refresh_from_db()
    assert (run.status, run.leads_done, run.last_lead_id) == ("done", 12, run.end_lead_id)
    assert not ScoringRunChunk.objects.filter(run=run).exists()  # a finished run keeps no chunks
    assert _history_rows_per_lead(model) == {x.pk: 1 for x in leads}
    assert set(Lead.objects.values_list("score", flat=True)) == {50}


def test_two_executors_of_two_threads_each_write_every_chunk_once():
    leads = [LeadFactory(industry="Software" if i % 3 else "Retail") for i in range(40)]
    model = make_model(rules=[INDUSTRY_50])
    run = _publish_unqueued(model)
    errors: list = []
    executors = [
        in_thread(lambda: services.scoring_run_execute(run_id=run.pk, chunk_size=3, parallel=2), errors)
        for _ in range(2)
    ]
    for executor in executors:
        executor.start()
    for executor in executors:
        executor.join(60)
    assert errors == []
    run.refresh_from_db()
    assert (run.status, run.leads_done, run.leads_changed) == ("done", 40, 40)
    assert _history_rows_per_lead(model) == {x.pk: 1 for x in leads}
    assert dict(LeadScore.objects.filter(model=model).values_list("lead_id", "score")) == {
        x.pk: 50 if i % 3 else 0 for i, x in enumerate(leads)
    }


def test_a_parallel_run_whose_executor_died_mid_chunk_is_resumed_and_writes_each_lead_once():
    leads = [LeadFactory(industry="Software") for _ in range(30)]
    model = make_model(rules=[INDUSTRY_50])
    run = _publish_unqueued(model)
    # The database goes away under the thread writing the chunk of leads 10-14; the other thread stops after its
    # own chunk, and the executor reports the error (the task would retry).
    fault = transient_database_fault(table="leads_lead", when=f"NEW.id = {int(leads[12].pk)}", event="UPDATE")
    with fault, pytest.raises(OperationalError):
        services.scoring_run_execute(run_id=run.pk, chunk_size=5, parallel=2)
    run.refresh_from_db()
    assert run.status == "running" and "Interrupted" in run.error
    interrupted = ScoringRunChunk.objects.get(run=run, start_lead_id__lte=leads[12].pk, end_lead_id__gt=leads[12].pk)
    assert interrupted.done_at is None  # rolled back whole: free for the next executor
    assert not LeadScore.objects.filter(model=model, lead_id__in=[x.pk for x in leads[10:15]]).exists()
    assert run.last_lead_id <= interrupted.start_lead_id  # the progress bar never claims leads not written

    run = services.scoring_run_execute(run_id=run.pk, chunk_size=5, parallel=2)
    assert (run.status, run.leads_done) == ("done", 30)
    assert _history_rows_per_lead(model) == {x.pk: 1 for x in leads}
    assert set(Lead.objects.values_list("score", flat=True)) == {50}


def test_an_event_rescored_while_the_run_scores_its_chunk_is_not_overwritten_by_the_run():
    leads = [LeadFactory(industry="Retail") for _ in range(6)]
    target = leads[4]
    model = make_model(rules=[FORM_30])
    run = _publish_unqueued(model)
    # The run's moment: before the event below.
    ScoringRun.objects.filter(pk=run.pk).update(started_at=clock.now() - dt.timedelta(minutes=1))
    errors: list = []
    holding, release = threading.Event(), threading.Event()

    def event_rescored_but_not_committed():
        # A form submission and its rescoring (what the dirty-leads sweep does), committed only once the run has
        # scored the lead's chunk without the submission.
        with transaction.atomic():
            InteractionFactory(lead=target, kind="form_submission", outcome="")
            services.lead_rescore(lead_id=target.pk)
            holding.set()
            release.wait(60)

    event = in_thread(event_rescored_but_not_committed, errors)
    event.start()
    assert holding.wait(30), errors
    executor = in_thread(lambda: services.scoring_run_execute(run_id=run.pk, chunk_size=3, parallel=2), errors)
    executor.start()
    # The run's chunk has computed the lead's score (no submission in its view) and waits for the event's record.
    wait_for(lambda: backends_waiting_on_locks() >= 1, what="the run waiting for the event's record")
    release.set()
    for thread in [event, executor]:
        thread.join(60)
    assert errors == []
    assert ScoringRun.objects.get(pk=run.pk).status == "done"
    assert LeadScore.objects.get(lead=target).score == 30
    assert Lead.objects.get(pk=target.pk).score == 30
    assert list(ScoreChange.objects.filter(lead_id=target.pk).values_list("reason", "score")) == [("event", 30)]
    # The other leads got the run's scores and history.
    assert _history_rows_per_lead(model) == {x.pk: 1 for x in leads}
    assert set(Lead.objects.exclude(pk=target.pk).values_list("score", flat=True)) == {0}


def test_a_chunk_rolled_back_by_a_deadlock_with_an_event_is_written_again():
    leads = [LeadFactory(industry="Software") for _ in range(6)]
    target = leads[1]
    services.scoring_run_execute(run_id=_publish_unqueued(make_model(rules=[FORM_30])).pk)  # records to lock
    model = make_model(rules=[INDUSTRY_50])
    run = _publish_unqueued(model)
    errors: list = []
    locked, chunk_waiting, done = threading.Event(), threading.Event(), threading.Event()

    def event_locking_the_lead_then_its_record():
        # What an event's rescoring does (`lead_rescore`): the lead row first, then its score record, which the
        # run's chunk has locked by then while it waits for the lead row: a deadlock.
        with transaction.atomic():
            list(Lead.objects.select_for_update().filter(pk=target.pk).values_list("pk"))
            locked.set()
            assert chunk_waiting.wait(30)
            list(LeadScore.objects.select_for_update().filter(lead_id=target.pk).values_list("pk"))
        done.set()

    event = in_thread(event_locking_the_lead_then_its_record, errors)
    event.start()
    assert locked.wait(30), errors
    executor = in_thread(lambda: services.scoring_run_execute(run_id=run.pk, chunk_size=3, parallel=2), errors)
    executor.start()
    wait_for(lambda: backends_waiting_on_locks() >= 1, what="the chunk waiting for the lead row")
    chunk_waiting.set()
    for thread in [event, executor]:
        thread.join(60)
    assert errors == [] and done.is_set()
    run.refresh_from_db()
    assert (run.status, run.leads_done) == ("done", 6)
    assert _history_rows_per_lead(model) == {x.pk: 1 for x in leads}
    assert set(Lead.objects.values_list("score", flat=True)) == {50}
