"""Room on each page of scoring_leadscore for updated rows.

A publish rewrites every lead's record (new model version); with free space on the page and no index on the
changed columns, PostgreSQL updates in place (HOT) instead of adding a new entry to the primary key index.
"""

from django.db import migrations


def set_fillfactor(apps, schema_editor):
    schema_editor.execute("ALTER TABLE scoring_leadscore SET (fillfactor = 50)")


def reset_fillfactor(apps, schema_editor):
    schema_editor.execute("ALTER TABLE scoring_leadscore RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("scoring", "0003_leadscore_model_not_indexed")]

    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor, elidable=False)]
