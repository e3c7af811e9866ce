"""Who may see a lead, by its id (`Lead.Meta.indexes`, "lead_visibility_idx"): the grade filter's leads, found in
scoring's index, are tested against the user's visibility without reading the leads table.

Written in SQL with `IF NOT EXISTS`, so that a large database can have it built ahead of the migration (for
instance `CREATE INDEX CONCURRENTLY` by the same name and definition).
"""

from django.db import migrations, models

CREATE_INDEX = "CREATE INDEX IF NOT EXISTS lead_visibility_idx ON leads_lead (id) INCLUDE (owner_id, team_id)"


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0019_search_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(CREATE_INDEX, "DROP INDEX IF EXISTS lead_visibility_idx", elidable=False),
            ],
            state_operations=[
                migrations.AddIndex(
                    model_name="lead",
                    index=models.Index(fields=["id"], include=["owner", "team"], name="lead_visibility_idx"),
                ),
            ],
        ),
    ]
