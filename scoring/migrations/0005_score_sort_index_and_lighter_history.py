"""The score sort's index on LeadScore (the lead rows no longer index their copy), and history and record rows
written without a database constraint check per row (Django still cascades and protects)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('leads', '0011_score_updates_in_place'),
        ('scoring', '0004_leadscore_fillfactor'),
    ]

    operations = [
        migrations.AlterField(
            model_name='leadscore',
            name='lead',
            field=models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='score_record', serialize=False, to='leads.lead'),
        ),
        migrations.AlterField(
            model_name='leadscore',
            name='model',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='scoring.scoringmodel'),
        ),
        migrations.AlterField(
            model_name='scorechange',
            name='lead',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='leads.lead'),
        ),
        migrations.AlterField(
            model_name='scorechange',
            name='model',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='scoring.scoringmodel'),
        ),
        migrations.AddIndex(
            model_name='leadscore',
            index=models.Index(models.OrderBy(models.F('score'), descending=True), models.OrderBy(models.F('lead'), descending=True), name='leadscore_score_idx'),
        ),
    ]
