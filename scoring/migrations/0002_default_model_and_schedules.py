"""A published default model (so a new install shows grades). The beat schedule of scoring's tasks it once wrote
is in settings.CELERY_BEAT_SCHEDULE."""

from django.db import migrations

GROUPS = [("Fit", 50), ("Engagement", 50), ("Recency", None)]

# (group, name, kind, settings)
RULES = [
    ("Fit", "Target industry", "fit", dict(field="industry", operator="in", values=["Software & SaaS", "Financial Services", "Professional Services"], points=10)),
    ("Fit", "Company of 50–5,000 people", "fit", dict(field="company_size", operator="range", range_min=50, range_max=5000, points=5)),
    ("Fit", "Director in the title", "fit", dict(field="job_title", operator="contains", value="director", points=8)),
    ("Fit", "VP in the title", "fit", dict(field="job_title", operator="contains", value="vp", points=8)),
    ("Fit", "Head of … in the title", "fit", dict(field="job_title", operator="contains", value="head of", points=6)),
    ("Fit", "Budget confirmed", "fit", dict(field="budget", operator="equals", value="confirmed", points=12)),
    ("Fit", "Decision maker", "fit", dict(field="authority", operator="equals", value="decision_maker", points=12)),
    ("Fit", "Influencer", "fit", dict(field="authority", operator="equals", value="influencer", points=5)),
    ("Fit", "Buying within 90 days", "fit", dict(field="timeline", operator="in", values=["30", "90"], points=10)),
    ("Engagement", "Web visits in the last 30 days", "activity", dict(interaction_kind="web_visit", window_days=30, tiers=[{"min": 3, "max": 5, "points": 5}, {"min": 6, "max": None, "points": 10}])),
    ("Engagement", "Pages viewed in the last 30 days", "activity", dict(interaction_kind="web_visit", measure="pages", window_days=30, tiers=[{"min": 10, "max": 24, "points": 3}, {"min": 25, "max": None, "points": 6}])),
    ("Engagement", "Visited the pricing page", "has_done", dict(interaction_kind="web_visit", detail_key="url", detail_contains="/pricing", window_days=60, points=15)),
    ("Engagement", "Requested a demo", "has_done", dict(interaction_kind="form_submission", detail_key="url", detail_contains="/demo", window_days=90, points=30)),
    ("Engagement", "Submitted a form", "has_done", dict(interaction_kind="form_submission", window_days=90, points=10)),
    ("Engagement", "Clicked email links", "activity", dict(interaction_kind="email_click", window_days=30, tiers=[{"min": 2, "max": None, "points": 5}])),
    ("Engagement", "Attended an event", "has_done", dict(interaction_kind="event_attended", window_days=90, points=8)),
    ("Recency", "Unsubscribed", "has_done", dict(interaction_kind="unsubscribe", points=-20, decays=False)),
    ("Recency", "No activity for 30 days", "inactivity", dict(inactive_days=30, points=-10)),
    ("Recency", "No activity for 90 days", "inactivity", dict(inactive_days=90, points=-10)),
]

BANDS = [("A", 80, 100), ("B", 60, 79), ("C", 40, 59), ("D", 0, 39)]


def create_default_model(apps, schema_editor):
    ScoringModel = apps.get_model("scoring", "ScoringModel")
    RuleGroup = apps.get_model("scoring", "RuleGroup")
    Rule = apps.get_model("scoring", "Rule")
    GradeBand = apps.get_model("scoring", "GradeBand")
    if ScoringModel.objects.exists():
        return
    from django.utils import timezone

    model = ScoringModel.objects.create(
        version=1,
        name="Default: fit, engagement, recency",
        status="published",
        notes="Profile fit (BANT, industry, seniority) plus recent engagement; engagement fades with a 30-day half-life.",
        half_life_days=30,
        published_at=timezone.now(),
    )
    groups = {}
    for position, (name, cap) in enumerate(GROUPS):
        groups[name] = RuleGroup.objects.create(model=model, name=name, cap=cap, position=position)
    for position, (group, name, kind, settings) in enumerate(RULES):
        Rule.objects.create(model=model, group=groups[group], name=name, kind=kind, position=position, **settings)
    for grade, low, high in BANDS:
        GradeBand.objects.create(model=model, grade=grade, min_score=low, max_score=high)


# The schedule this migration once wrote is defined in settings.CELERY_BEAT_SCHEDULE (same entry name), which
# beat writes into django-celery-beat's tables when it starts; the operation is kept as a no-op.
class Migration(migrations.Migration):
    dependencies = [
        ("scoring", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.RunPython(create_default_model, migrations.RunPython.noop),
        migrations.RunPython(migrations.RunPython.noop, migrations.RunPython.noop),
    ]
