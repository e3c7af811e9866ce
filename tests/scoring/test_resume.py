"""Scoring runs resume by themselves and never write a chunk twice: a heartbeat per chunk, a sweep that queues
runs whose heartbeat stopped, a per-chunk claim shared by every executor of a run, and `recalculate_scores`
joining a run in progress instead of starting a second one (issue 12, items 2 and 3)."""

import datetime as dt
import io

import pytest
import time_machine
from django.core.management import call_command
from django.db import OperationalError
from django.db.models import Count

from leads.models import Lead
from scoring import services, tasks
from scoring.models import LeadScore, ScoreChange, ScoringRun
from tests.factories import InteractionFactory, LeadFactory
from tests.scoring.conftest import NOW, make_model
from tests.threads import in_thread, rows_locked
from tests.workers import (
    backends_waiting_on_locks,
    own_queue,
    purge,
    transient_database_fault,
    wait_for,
    worker_on,
)

INDUSTRY_50 = {"kind": "fit", "field": "industry", "operator": "equals", "value": "software", "points": 50}
# Points that fade with the visit's age: a run scored at another moment gives other scores.
VISITS_80 = {"kind": "has_done", "interaction_kind": "web_visit", "points": 80}


def _history_rows_per_lead(model) -> dict[int, int]:
    return dict(
        ScoreChange.objects.filter(model=model).values("lead_id").annotate(n=Count("id")).values_list("lead_id", "n")
    )


def _interrupted_by_the_database(run: ScoringRun, *, at_lead: Lead, chunk_size: int) -> None:
    """Execute `run` until the chunk holding `at_lead`, where the database goes away, and the task's retries run
    out: the run is left running, its heartbeat where its last chunk committed."""
    fault = transient_database_fault(table="leads_lead", when=f"NEW.id = {int(at_lead.pk)}", event="UPDATE")
    with fault, pytest.raises(OperationalError):
        services.scoring_run_execute(run_id=run.pk, chunk_size=chunk_size)


# --- the sweep ------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_sweep_queues_active_runs_whose_heartbeat_stopped_and_nothing_else(
    settings, django_capture_on_commit_callbacks
):
    settings.BACKGROUND_STALL_SECONDS = 300
    model = make_model(rules=[INDUSTRY_50])

    def run(status, *, heartbeat_minutes_ago=None, created_minutes_ago=0):
        return ScoringRun.objects.create(
            model=model,
            reason="recalculate",
            status=status,
            created_at=NOW - dt.timedelta(minutes=created_minutes_ago),
            heartbeat_at=None if heartbeat_minutes_ago is None else NOW - dt.timedelta(minutes=heartbeat_minutes_ago),
        )

    stalled = run("running", heartbeat_minutes_ago=6, created_minutes_ago=30)
    never_taken = run("queued", created_minutes_ago=6)
    beating = run("running", heartbeat_minutes_ago=4, created_minutes_ago=30)
    waiting = run("queued", created_minutes_ago=1)  # its turn has not come yet
    run("done", heartbeat_minutes_ago=60, created_minutes_ago=90)
    run("failed", heartbeat_minutes_ago=60, created_minutes_ago=90)
    with time_machine.travel(NOW, tick=False):
        with django_capture_on_commit_callbacks() as queued:
            assert tasks.resume_stalled_runs() == [stalled.pk, never_taken.pk]
        assert len(queued) == 2
        # Each got a fresh heartbeat with its new task: the next sweeps leave them to it for a stall period.
        assert services.scoring_runs_resume_stalled() == []
    # A stall period later, every run still active has stopped beating; finished runs are never touched.
    with time_machine.travel(NOW + dt.timedelta(minutes=5, seconds=1), tick=False):
        assert services.scoring_runs_resume_stalled() == [stalled.pk, never_taken.pk, beating.pk, waiting.pk]


@pytest.mark.django_db
def test_each_chunk_moves_the_heartbeat_and_a_finished_run_keeps_its_last_one():
    leads = [LeadFactory(industry="Software") for _ in range(4)]
    model = make_model(rules=[INDUSTRY_50])
    run = services.scoring_model_publish(model=model, user=None)
    beats = []
    with time_machine.travel(NOW, tick=False) as traveller:

        def progress(current):
            beats.append(ScoringRun.objects.get(pk=current.pk).heartbeat_at)
            traveller.shift(dt.timedelta(minutes=1))

        run = services.scoring_run_execute(run_id=run.pk, chunk_size=2, progress=progress)
    assert run.status == "done" and run.leads_done == len(leads)
    assert beats == [NOW, NOW + dt.timedelta(minutes=1)]
    assert run.heartbeat_at == NOW + dt.timedelta(minutes=2)


# --- the per-chunk claim ------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_executors_of_one_run_at_once_write_each_chunk_once():
    leads = [LeadFactory(industry="Software") for _ in range(12)]
    model = make_model(rules=[INDUSTRY_50])
    with own_queue("scoring-two-executors"):  # the publish's own task is never run here
        run = services.scoring_model_publish(model=model, user=None)
    errors: list = []
    # Both executors reach the first chunk before either can commit it: its lead rows are locked meanwhile.
    with rows_locked(Lead.objects.filter(pk__in=[x.pk for x in leads[:3]]), errors):
        executors = [
            in_thread(lambda: services.scoring_run_execute(run_id=run.pk, chunk_size=3), errors) for _ in range(2)
        ]
        for executor in executors:
            executor.start()
        # One executor waits on the locked leads, inside its chunk; the other waits for the chunk's claim.
        wait_for(lambda: backends_waiting_on_locks() >= 2, what="both executors in the first chunk")
    for executor in executors:
        executor.join(60)
    assert errors == []
    run.refresh_from_db()
    assert (run.status, run.leads_done, run.last_lead_id) == ("done", 12, run.end_lead_id)
    assert _history_rows_per_lead(model) == {x.pk: 1 for x in leads}
    assert LeadScore.objects.filter(model=model).count() == 12
    assert set(Lead.objects.values_list("score", flat=True)) == {50}


# --- resuming after the database went away ------------------------------------------------------------------------


def _leads_with_fading_visits(count: int) -> list[Lead]:
    leads = []
    for i in range(count):
        lead = LeadFactory(industry="Software" if i % 2 else "Retail")
        InteractionFactory(lead=lead, kind="web_visit", outcome="", occurred_at=NOW - dt.timedelta(days=i % 9))
        leads.append(lead)
    return leads


@pytest.mark.django_db(transaction=True)
def test_a_run_whose_heartbeat_stopped_is_resumed_by_the_sweep_and_scores_as_if_never_interrupted(settings):
    settings.BACKGROUND_STALL_SECONDS = 300
    queue = "scoring-resume"
    with own_queue(queue):
        with time_machine.travel(NOW, tick=False):
            leads = _leads_with_fading_visits(30)
            model = make_model(rules=[INDUSTRY_50, VISITS_80], half_life_days=3)
            run = services.scoring_model_publish(model=model, user=None)
        purge(queue)  # the publish's task is lost with the worker that took it
        with time_machine.travel(NOW, tick=False):
            _interrupted_by_the_database(run, at_lead=leads[15], chunk_size=10)
        run.refresh_from_db()
        assert (run.status, run.last_lead_id, run.heartbeat_at) == ("running", leads[10].pk, NOW)
        assert "Interrupted" in run.error
        # Three days on the database is back; beat fires the sweep, which queues the run for a real worker.
        with time_machine.travel(NOW + dt.timedelta(days=3), tick=False):
            assert tasks.resume_stalled_runs() == [run.pk]
        with worker_on(queue):
            wait_for(lambda: ScoringRun.objects.get(pk=run.pk).status == "done", what="the resumed run")
    resumed = dict(LeadScore.objects.filter(model=model).values_list("lead_id", "score"))
    assert len(resumed) == 30 and _history_rows_per_lead(model) == {x.pk: 1 for x in leads}

    # The same model over the same leads, uninterrupted, at the run's moment: nothing to change.
    with time_machine.travel(NOW, tick=False):
        again = services.scoring_run_start(model=model, reason="recalculate", queue=False)
        again = services.scoring_run_execute(run_id=again.pk)
    assert (again.status, again.leads_done, again.leads_changed) == ("done", 30, 0)
    assert dict(LeadScore.objects.filter(model=model).values_list("lead_id", "score")) == resumed
    assert len(set(resumed.values())) > 2  # the scores do depend on the moment (fading visits)


# --- recalculate_scores joins the run in progress ---------------------------------------------------------------


@pytest.mark.django_db
def test_recalculate_scores_joins_the_run_in_progress_instead_of_starting_another(clock):
    leads = [LeadFactory(industry="Software") for _ in range(9)]
    model = make_model(rules=[INDUSTRY_50])
    run = services.scoring_model_publish(model=model, user=None)
    _interrupted_by_the_database(run, at_lead=leads[5], chunk_size=4)
    out = io.StringIO()
    call_command("recalculate_scores", "--chunk-size", "4", stdout=out)
    assert f"A run of v{model.version} is already in progress (model published, 44%): joining it." in out.getvalue()
    assert list(ScoringRun.objects.filter(model=model).values_list("pk", "status")) == [(run.pk, "done")]
    assert _history_rows_per_lead(model) == {x.pk: 1 for x in leads}
    run.refresh_from_db()
    assert run.leads_done == 9
    # Once it is done, the command starts a run of its own again.
    call_command("recalculate_scores", stdout=io.StringIO())
    assert ScoringRun.objects.filter(model=model).count() == 2


@pytest.mark.django_db(transaction=True)
def test_recalculate_scores_with_a_version_shares_its_publish_run_with_a_running_worker():
    leads = [LeadFactory(industry="Software") for _ in range(40)]
    model = make_model(rules=[INDUSTRY_50])
    queue = "scoring-recalculate"
    with own_queue(queue), worker_on(queue):
        # The publish queues its run for the worker, and the command executes the same run at once.
        call_command("recalculate_scores", "--model", str(model.version), "--chunk-size", "3", stdout=io.StringIO())
        run = ScoringRun.objects.get(model=model)
        assert run.status == "done"
    assert run.leads_done == 40
    assert _history_rows_per_lead(model) == {x.pk: 1 for x in leads}
    assert LeadScore.objects.filter(model=model).count() == 40
