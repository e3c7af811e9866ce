"""Once the minute sweep's row in Celery beat's schedule; now a no-op (see settings.CELERY_BEAT_SCHEDULE)."""

from django.db import migrations


# The schedule this migration once wrote is defined in settings.CELERY_BEAT_SCHEDULE (same entry name), which
# beat writes into django-celery-beat's tables when it starts; the operation is kept as a no-op.
class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0005_response_clocks"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(migrations.RunPython.noop, migrations.RunPython.noop)]
