"""The reclaim sweep as Celery beat runs it: the settings' periodic task, fired at a real worker on Redis."""

import datetime as dt

import pytest
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from crm.celery import app as celery_app
from crm.models import Notification
from leads import services
from leads.models import Lead, ReclaimRecord, ReclaimRule
from leads.routing import reclaim as reclaim
from leads.tasks import reclaim_sweep as reclaim_sweep_task
from tests.routing.conftest import at
from tests.workers import own_queue, tasks_finished, wait_for, worker_on

TASK_NAME = "Reclaim: warn owners, then return neglected leads to the pool"


def test_beat_schedules_the_reclaim_sweep_every_fifteen_minutes(beat):
    periodic = PeriodicTask.objects.get(name=TASK_NAME)
    assert periodic.task == "leads.tasks.reclaim_sweep" and periodic.enabled
    assert periodic.interval.schedule.run_every == dt.timedelta(minutes=15)
    assert reclaim_sweep_task.acks_late and "leads.tasks.reclaim_sweep" in celery_app.tasks


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_sweep_when_beat_fires_and_a_second_run_changes_nothing(admin_user, rep, manager):
    reclaim.reclaim_rule_save(
        user=admin_user, rule=ReclaimRule(name="Untouched a day", kind="no_outbound", days=1, warn_hours=0)
    )
    with at(2026, 1, 5, 9, 0):
        leads = [services.lead_create(user=rep, name=f"Lead {i}") for i in range(5)]
    with own_queue("reclaim-beat"), worker_on("reclaim-beat"), tasks_finished(reclaim_sweep_task.name) as sweeps:
        scheduler = DatabaseScheduler(app=celery_app)
        entry = scheduler.schedule[TASK_NAME]
        scheduler.apply_entry(entry, producer=scheduler.producer)
        wait_for(lambda: sweeps() == 1, what="the worker's first sweep")
        assert ReclaimRecord.objects.count() == 5
        scheduler.apply_entry(entry, producer=scheduler.producer)  # beat fires again: nothing left to take
        wait_for(lambda: sweeps() == 2, what="the worker's second sweep")
    assert ReclaimRecord.objects.count() == 5
    assert not Lead.objects.filter(pk__in=[x.pk for x in leads], owner__isnull=False).exists()
    assert Notification.objects.filter(user=rep, key__startswith="reclaimed:").count() == 1
