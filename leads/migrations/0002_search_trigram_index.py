"""A trigram index for the leads list's search box (`search_text LIKE '%term%'`), with pg_trgm."""

from django.db import migrations


def create_index(apps, schema_editor):
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS lead_search_trgm_idx ON leads_lead USING gin (search_text gin_trgm_ops)"
    )


def drop_index(apps, schema_editor):
    schema_editor.execute("DROP INDEX IF EXISTS lead_search_trgm_idx")


class Migration(migrations.Migration):
    dependencies = [("leads", "0001_initial")]

    operations = [migrations.RunPython(create_index, drop_index, elidable=False)]
