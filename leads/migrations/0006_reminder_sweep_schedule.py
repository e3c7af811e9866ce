"""The minute sweep (SLA reminders and escalations, follow-up reminders, email digests) in Celery beat's schedule.

A row of django-celery-beat, so `make run` and production get it without a step, and admins can pause it or
change its interval in the Django admin (Periodic tasks).
"""

from django.db import migrations

TASK_NAME = "Speed to lead: reminders, escalations and follow-up notices"


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=1, period="minutes")
    PeriodicTask.objects.update_or_create(
        name=TASK_NAME,
        defaults={
            "task": "leads.tasks.sweep_reminders",
            "interval": every_minute,
            "enabled": True,
            # A sweep queued while no worker ran is stale by the next one: let it expire instead of piling up.
            "expire_seconds": 55,
            "description": "Sends due response reminders, escalations and follow-up reminders, then email digests.",
        },
    )


def delete_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0005_response_clocks"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, delete_schedule)]
