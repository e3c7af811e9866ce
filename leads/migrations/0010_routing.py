"""Assignment rules, pool claims, reclaim rules and records."""

import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


# The schedule this migration once wrote is defined in settings.CELERY_BEAT_SCHEDULE (same entry name), which
# beat writes into django-celery-beat's tables when it starts; the operation is kept as a no-op.
class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0003_business_hours_and_email_preferences"),
        ("leads", "0009_imports"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="AssignmentRule",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=100)),
                ("position", models.PositiveIntegerField(db_index=True, default=0)),
                ("active", models.BooleanField(default=True)),
                ("regions", models.JSONField(blank=True, default=list)),
                ("countries", models.JSONField(blank=True, default=list)),
                ("industries", models.JSONField(blank=True, default=list)),
                ("company_size_min", models.PositiveIntegerField(blank=True, null=True)),
                ("company_size_max", models.PositiveIntegerField(blank=True, null=True)),
                (
                    "strategy",
                    models.CharField(
                        choices=[
                            ("round_robin", "Round-robin"),
                            ("weighted", "Weighted round-robin"),
                            ("least_loaded", "Least-loaded (fewest open leads)"),
                        ],
                        default="round_robin",
                        max_length=16,
                    ),
                ),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "ordering": ["position", "id"],
            },
        ),
        migrations.CreateModel(
            name="AssignmentRuleMember",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "weight",
                    models.PositiveSmallIntegerField(
                        default=1, validators=[django.core.validators.MaxValueValidator(100)]
                    ),
                ),
                ("current_weight", models.BigIntegerField(default=0, editable=False)),
            ],
        ),
        migrations.CreateModel(
            name="PoolClaim",
            fields=[
                (
                    "lead",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="pool_claim",
                        serialize=False,
                        to="leads.lead",
                    ),
                ),
                ("claimed_at", models.DateTimeField()),
            ],
        ),
        migrations.CreateModel(
            name="ReclaimRecord",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("rule_name", models.CharField(max_length=100)),
                ("reclaimed_at", models.DateTimeField(db_index=True)),
                ("warned", models.BooleanField(default=False)),
            ],
            options={
                "ordering": ["-reclaimed_at", "-id"],
            },
        ),
        migrations.CreateModel(
            name="ReclaimRule",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=100)),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("no_outbound", "No outbound call, email, meeting or message since assignment"),
                            ("no_progress", "No stage change"),
                        ],
                        default="no_outbound",
                        max_length=16,
                    ),
                ),
                (
                    "days",
                    models.PositiveIntegerField(
                        help_text="Within this many days",
                        validators=[
                            django.core.validators.MinValueValidator(1),
                            django.core.validators.MaxValueValidator(365),
                        ],
                    ),
                ),
                (
                    "warn_hours",
                    models.PositiveIntegerField(
                        default=24,
                        help_text="Warn the owner this many hours before (0: no warning).",
                        validators=[django.core.validators.MaxValueValidator(720)],
                    ),
                ),
                (
                    "action",
                    models.CharField(
                        choices=[("pool", "Return it to the pool"), ("reroute", "Reassign it by the assignment rules")],
                        default="pool",
                        max_length=10,
                    ),
                ),
                ("active", models.BooleanField(default=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "ordering": ["days", "id"],
            },
        ),
        migrations.CreateModel(
            name="ReclaimWarning",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("anchor_at", models.DateTimeField()),
                ("warned_at", models.DateTimeField()),
            ],
        ),
        migrations.AddIndex(
            model_name="lead",
            index=models.Index(
                models.F("owner"),
                condition=models.Q(("stage__in", ("new", "contacted", "qualified", "proposal"))),
                name="lead_open_owner_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="lead",
            index=models.Index(
                models.F("assigned_at"),
                condition=models.Q(
                    ("owner__isnull", False), ("stage__in", ("new", "contacted", "qualified", "proposal"))
                ),
                include=("owner", "team", "created_at", "stage_changed_at"),
                name="lead_reclaim_idx",
            ),
        ),
        migrations.AddField(
            model_name="assignmentrule",
            name="channels",
            field=models.ManyToManyField(blank=True, related_name="+", to="leads.channel"),
        ),
        migrations.AddField(
            model_name="assignmentrule",
            name="team",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="assignment_rules", to="crm.team"
            ),
        ),
        migrations.AddField(
            model_name="assignmentrulemember",
            name="rule",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="members", to="leads.assignmentrule"
            ),
        ),
        migrations.AddField(
            model_name="assignmentrulemember",
            name="user",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="+", to=settings.AUTH_USER_MODEL
            ),
        ),
        migrations.AddField(
            model_name="poolclaim",
            name="user",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="+", to=settings.AUTH_USER_MODEL
            ),
        ),
        migrations.AddField(
            model_name="reclaimrecord",
            name="from_user",
            field=models.ForeignKey(
                null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL
            ),
        ),
        migrations.AddField(
            model_name="reclaimrecord",
            name="lead",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="reclaims", to="leads.lead"
            ),
        ),
        migrations.AddField(
            model_name="reclaimrecord",
            name="to_user",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddConstraint(
            model_name="reclaimrule",
            constraint=models.CheckConstraint(
                condition=models.Q(("days__gte", 1), ("days__lte", 365)), name="reclaimrule_days_range"
            ),
        ),
        migrations.AddConstraint(
            model_name="reclaimrule",
            constraint=models.CheckConstraint(
                condition=models.Q(("warn_hours__lte", 720)), name="reclaimrule_warn_range"
            ),
        ),
        migrations.AddField(
            model_name="reclaimrecord",
            name="rule",
            field=models.ForeignKey(
                null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="records", to="leads.reclaimrule"
            ),
        ),
        migrations.AddField(
            model_name="reclaimwarning",
            name="lead",
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+", to="leads.lead"),
        ),
        migrations.AddField(
            model_name="reclaimwarning",
            name="owner",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="+", to=settings.AUTH_USER_MODEL
            ),
        ),
        migrations.AddField(
            model_name="reclaimwarning",
            name="rule",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="+", to="leads.reclaimrule"
            ),
        ),
        migrations.AddConstraint(
            model_name="assignmentrule",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("company_size_min__isnull", True),
                    ("company_size_max__isnull", True),
                    ("company_size_max__gte", models.F("company_size_min")),
                    _connector="OR",
                ),
                name="assignmentrule_size_range_ordered",
            ),
        ),
        migrations.AddConstraint(
            model_name="assignmentrulemember",
            constraint=models.UniqueConstraint(fields=("rule", "user"), name="assignmentrulemember_once"),
        ),
        migrations.AddConstraint(
            model_name="assignmentrulemember",
            constraint=models.CheckConstraint(
                condition=models.Q(("weight__lte", 100)), name="assignmentrulemember_weight_range"
            ),
        ),
        migrations.AddIndex(
            model_name="poolclaim",
            index=models.Index(fields=["user"], name="poolclaim_user_idx"),
        ),
        migrations.AddIndex(
            model_name="reclaimrecord",
            index=models.Index(
                models.F("lead"),
                models.OrderBy(models.F("reclaimed_at"), descending=True),
                name="reclaimrecord_lead_idx",
            ),
        ),
        migrations.AddConstraint(
            model_name="reclaimwarning",
            constraint=models.UniqueConstraint(fields=("lead", "rule", "anchor_at"), name="reclaimwarning_once"),
        ),
        migrations.RunPython(migrations.RunPython.noop, migrations.RunPython.noop),
    ]
