"""Let a publish rewrite every lead's score in place (HOT updates).

A publish or the nightly decay changes `score` and `grade` on most lead rows. While an index reads either of them,
each of those updates adds an entry to every one of the table's indexes (twenty of them, a trigram one among them):
over a million leads that took minutes. Without such an index, and with room on each page for the new row
versions (fillfactor 50: a rescoring run rewrites every row of a page in one transaction), PostgreSQL writes
the new version beside the old one and touches no index. The score sort reads `scoring.LeadScore`'s index
instead (scoring 0005); the grade filter reads the other indexes and checks the grade on the row.

The fillfactor applies to pages written from now on; rewrite an existing table once to apply it everywhere
(`VACUUM FULL leads_lead`, or pg_repack without the lock).
"""

from django.db import migrations


def set_fillfactor(apps, schema_editor):
    schema_editor.execute("ALTER TABLE leads_lead SET (fillfactor = 50)")


def reset_fillfactor(apps, schema_editor):
    schema_editor.execute("ALTER TABLE leads_lead RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("leads", "0010_routing")]

    operations = [
        migrations.RemoveIndex(model_name="lead", name="lead_score_idx"),
        migrations.RemoveIndex(model_name="lead", name="lead_grade_created_idx"),
        migrations.RunPython(set_fillfactor, reset_fillfactor, elidable=False),
    ]
