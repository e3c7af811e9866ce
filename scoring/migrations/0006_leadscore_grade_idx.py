from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('leads', '0012_stagechange_recovery_idx'),
        ('scoring', '0005_score_sort_index_and_lighter_history'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='leadscore',
            index=models.Index(models.F('grade'), models.F('lead'), condition=models.Q(('grade__in', ['A', 'B'])), name='leadscore_grade_idx'),
        ),
    ]
