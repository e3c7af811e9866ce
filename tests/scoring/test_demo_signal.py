"""The demo data carries signal the scoring can learn: fit and intent shape conversion as in real funnels, the
default model grades a believable mix with hot leads for every rep, and Suggest weights finds the effects the
generator planted."""

import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db.models import Count, Exists, OuterRef, Q

from crm.models import User
from crm.roles import Role
from leads.models import Interaction, Lead
from leads.selectors import leads_hot
from scoring import selectors, services
from scoring.models import Rule

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 15, 14, 30, tzinfo=dt.UTC)
LEADS = 6000


def win_rate(leads) -> float:
    counts = leads.aggregate(
        won=Count("id", filter=Q(stage="won")), closed=Count("id", filter=Q(stage__in=["won", "lost"]))
    )
    return counts["won"] / counts["closed"]


def test_demo_data_converts_by_fit_and_intent_grades_a_believable_mix_and_teaches_suggest_weights(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with time_machine.travel(NOW, tick=False):
        call_command("seed_demo", "--leads", str(LEADS), "--seed", "7", "--demo-passwords", stdout=StringIO())
        call_command("recalculate_scores", stdout=StringIO())

        # Conversion: demo requests and pricing visits several times better, some channels better than others.
        form = "attributes__source_form"
        demo, whitepaper = (
            win_rate(Lead.objects.filter(**{form: "demo_request"})),
            win_rate(Lead.objects.filter(**{form: "whitepaper"})),
        )
        no_form = win_rate(Lead.objects.filter(**{f"{form}__isnull": True}))
        assert demo >= 3 * whitepaper and demo >= 2 * no_form, (demo, whitepaper, no_form)
        pricing_visit = Interaction.objects.filter(lead=OuterRef("pk"), kind="web_visit", details__url="/pricing")
        visited = Lead.objects.annotate(p=Exists(pricing_visit))
        assert win_rate(visited.filter(p=True)) >= 2 * win_rate(visited.filter(p=False))
        assert win_rate(Lead.objects.filter(channel__name="Referrals")) >= 3 * win_rate(
            Lead.objects.filter(channel__name="Cold outreach")
        )

        # The default model's grades: a few hot leads, a long tail of D, every grade used.
        grades = dict(Lead.objects.values_list("grade").annotate(n=Count("id")))
        assert set(grades) == {"A", "B", "C", "D"}, grades
        assert 0.003 * LEADS <= grades["A"] <= 0.05 * LEADS, grades
        assert grades["A"] < grades["B"] < grades["C"] < grades["D"], grades
        assert grades["D"] >= 0.6 * LEADS, grades
        open_leads = Lead.objects.exclude(stage__in=["won", "lost"])
        assert open_leads.filter(grade="A").count() >= 0.01 * open_leads.count()
        # My day's hot leads: something for (nearly) every rep.
        reps = User.objects.filter(groups__name=Role.REP)
        with_hot = [rep.username for rep in reps if leads_hot(user=rep).exists()]
        assert len(with_hot) >= reps.count() - 1, with_hot

        # Suggest weights recovers what the generator planted: a demo request is the strongest behaviour, above a
        # mere form, and a confirmed budget and a decision maker count.
        draft = services.scoring_model_suggest(user=None, based_on=selectors.published_model())
        points = {r.name: r.points for r in Rule.objects.filter(model=draft, kind__in=["fit", "has_done"])}
        assert points["Requested a demo"] > 10 and points["Requested a demo"] > points["Submitted a form"], points
        assert points["Budget confirmed"] > 0 and points["Decision maker"] > 0, points
        assert draft.suggestion["test_auc_points"] > draft.suggestion["test_auc_current"] > 0.55
