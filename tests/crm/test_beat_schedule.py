"""What runs when: settings.CELERY_BEAT_SCHEDULE is the one definition, written into django-celery-beat's tables
(editable in the admin) when beat starts."""

import datetime as dt

import pytest
from django.conf import settings
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from crm.celery import app as celery_app
from tests.conftest import beat_start


def test_every_task_named_in_the_beat_schedule_is_a_registered_celery_task():
    celery_app.loader.import_default_modules()  # what a worker does at start: autodiscover the apps' tasks
    named = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert named and named <= set(celery_app.tasks), named - set(celery_app.tasks)


def test_beat_writes_every_entry_of_the_settings_into_its_tables_under_the_same_name(beat):
    tasks = {task.name: task for task in PeriodicTask.objects.exclude(name__startswith="celery.")}
    assert set(tasks) == set(settings.CELERY_BEAT_SCHEDULE)
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert tasks[name].task == entry["task"] and tasks[name].enabled
        expected, written = entry["schedule"], tasks[name].schedule
        if isinstance(expected, dt.timedelta):
            assert written.run_every == expected
        else:
            assert written == expected


def test_the_schedules_keep_their_timing_and_options(beat):
    tasks = {task.name: task for task in PeriodicTask.objects.all()}
    sweep = tasks["Speed to lead: reminders, escalations and follow-up notices"]
    assert sweep.interval.schedule.run_every == dt.timedelta(minutes=1) and sweep.expire_seconds == 55
    reclaim = tasks["Reclaim: warn owners, then return neglected leads to the pool"]
    assert reclaim.interval.schedule.run_every == dt.timedelta(minutes=15) and reclaim.expire_seconds == 14 * 60
    nightly = tasks["reports: nightly full rebuild"]
    assert (nightly.crontab.hour, nightly.crontab.minute, nightly.kwargs) == ("3", "15", '{"full": true}')
    decay = tasks["scoring: nightly decay"]
    assert (decay.crontab.hour, decay.crontab.minute) == ("2", "30")


@pytest.mark.django_db(transaction=True)
def test_beat_starting_writes_the_schedule_and_keeps_a_pause_made_in_the_admin():
    DatabaseScheduler(app=celery_app)
    assert set(PeriodicTask.objects.exclude(name__startswith="celery.").values_list("name", flat=True)) == set(
        settings.CELERY_BEAT_SCHEDULE
    )
    name = "reports: refresh changed days"
    PeriodicTask.objects.filter(name=name).update(enabled=False)
    DatabaseScheduler(app=celery_app)
    assert not PeriodicTask.objects.get(name=name).enabled


def test_a_timing_changed_in_the_admin_comes_back_from_the_settings_when_beat_starts_again(beat):
    name = "scoring: sweep leads waiting to be rescored"
    decay = PeriodicTask.objects.get(name="scoring: nightly decay")
    PeriodicTask.objects.filter(name=name).update(interval=None, crontab=decay.crontab)
    beat_start()
    assert PeriodicTask.objects.get(name=name).interval.schedule.run_every == dt.timedelta(seconds=60)
