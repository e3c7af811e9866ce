"""The search box's index (`Lead.Meta.indexes`, "lead_search_idx"): the trigrams of `search_text` beside
`leads.models.search_key` (who may see the lead, its block of ids), in place of the trigram index of migration
0002, which it answers for as well.

Written in SQL: Django puts the second expression's operator class inside parentheses, which PostgreSQL refuses.
`IF NOT EXISTS`, so that a large database can have it built ahead of the migration, by the same statement.
"""

import django.contrib.postgres.fields
import django.contrib.postgres.indexes
import django.db.models.expressions
import django.db.models.functions.comparison
from django.conf import settings
from django.db import migrations, models

CREATE_INDEX = (
    "CREATE INDEX IF NOT EXISTS lead_search_idx ON leads_lead USING gin"
    " ((ARRAY[COALESCE(owner_id, 0), (team_id * -1), ((id >> 16) + -4611686018427387904)]),"
    " search_text gin_trgm_ops)"
)
OLD_INDEX = "CREATE INDEX IF NOT EXISTS lead_search_trgm_idx ON leads_lead USING gin (search_text gin_trgm_ops)"


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0004_rep_availability"),
        ("leads", "0018_history_redirects_task_version"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(CREATE_INDEX, "DROP INDEX IF EXISTS lead_search_idx", elidable=False),
                migrations.RunSQL("DROP INDEX IF EXISTS lead_search_trgm_idx", OLD_INDEX, elidable=False),
            ],
            state_operations=[
                migrations.AddIndex(
                    model_name="lead",
                    index=django.contrib.postgres.indexes.GinIndex(
                        models.Func(
                            django.db.models.functions.comparison.Coalesce(
                                models.F("owner"), models.Value(0), output_field=models.BigIntegerField()
                            ),
                            django.db.models.expressions.CombinedExpression(models.F("team"), "*", models.Value(-1)),
                            django.db.models.expressions.CombinedExpression(
                                django.db.models.expressions.CombinedExpression(models.F("id"), ">>", models.Value(16)),
                                "+",
                                models.Value(-4611686018427387904),
                            ),
                            output_field=django.contrib.postgres.fields.ArrayField(
                                base_field=models.BigIntegerField(), size=None
                            ),
                            template="ARRAY[%(expressions)s]",
                        ),
                        django.contrib.postgres.indexes.OpClass(models.F("search_text"), name="gin_trgm_ops"),
                        name="lead_search_idx",
                    ),
                ),
            ],
        ),
    ]
