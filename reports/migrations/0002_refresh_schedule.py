"""Celery beat's schedule for the reports: the changed days every 5 minutes, everything nightly at 03:15.

In a migration so that `make run` and production get the rows without anyone clicking in the admin.
"""

from django.db import migrations

INCREMENTAL = "reports: refresh changed days"
NIGHTLY = "reports: nightly full rebuild"


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_5_minutes, _ = IntervalSchedule.objects.get_or_create(every=5, period="minutes")
    nightly, _ = CrontabSchedule.objects.get_or_create(
        minute="15", hour="3", day_of_week="*", day_of_month="*", month_of_year="*"
    )
    PeriodicTask.objects.update_or_create(
        name=INCREMENTAL,
        defaults={"task": "reports.tasks.reports_refresh_stats", "interval": every_5_minutes, "kwargs": "{}"},
    )
    PeriodicTask.objects.update_or_create(
        name=NIGHTLY,
        defaults={"task": "reports.tasks.reports_refresh_stats", "crontab": nightly, "kwargs": '{"full": true}'},
    )


def drop_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name__in=[INCREMENTAL, NIGHTLY]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0001_daily_stats"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, drop_schedule)]
