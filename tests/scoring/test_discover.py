"""A model discovered from data: planted effects come back as readable rules with positive points, noise is
dropped, activity after a lead's close is not counted, and the draft scores as its report says."""

import datetime as dt
import io
import math
import random
import re
import threading

import pytest
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse

from leads.models import Interaction, Lead
from scoring import selectors, services
from scoring.engine import scored_leads
from scoring.models import Rule, ScoringModel
from scoring.services.discovery import discover, draft_from_discovery
from scoring.spec import model_spec
from tests.scoring.conftest import NOW
from tests.threads import together
from tests.workers import backends_waiting_on_locks, wait_for

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)


def make_history(n: int = 1500, seed: int = 11) -> None:
    """Closed leads with planted effects and noise.

    Effects: industry "Software", the attribute plan = "enterprise", the numeric attribute seats (more is better)
    and a demo request (a form submission on /demo) before the close. Noise: the attribute colour and the
    country. After the close, every LOST lead downloads a guide: counted as of today, downloads would look like a
    strong (negative) signal; counted as of the close, they are never seen.
    """
    rng = random.Random(seed)
    leads, plans = [], []
    for i in range(n):
        software = rng.random() < 0.35
        enterprise = rng.random() < 0.3
        seats = rng.randint(1, 100)
        demo = rng.random() < 0.3
        logit = -2.4 + 1.3 * software + 1.2 * enterprise + 1.5 * (seats > 60) + 1.6 * demo
        won = rng.random() < 1 / (1 + 2.718281828**-logit)
        closed_at = NOW - rng.randint(5, 200) * DAY
        leads.append(
            Lead(
                name=f"L{i}",
                industry="Software" if software else rng.choice(["Retail", "Health"]),
                country=rng.choice(["DE", "FR", "US"]),
                attributes={"plan": "enterprise" if enterprise else "starter", "seats": seats,
                            "colour": rng.choice(["red", "green", "blue"])},
                stage="won" if won else "lost",
                deal_value=100 if won else None,
                won_at=closed_at if won else None,
                lost_reason="" if won else "no_need",
                stage_changed_at=closed_at,
                created_at=closed_at - 20 * DAY,
                last_activity_at=closed_at,
            )
        )  # fmt: skip
        plans.append((demo, won, closed_at))
    Lead.objects.bulk_create(leads)
    interactions = []
    for lead, (demo, won, closed_at) in zip(leads, plans, strict=True):
        if demo:
            interactions.append(
                Interaction(
                    lead=lead, kind="form_submission", direction="inbound", occurred_at=closed_at - 10 * DAY,
                    details={"url": "/demo"},
                )
            )  # fmt: skip
        if rng.random() < 0.5:
            interactions.append(
                Interaction(
                    lead=lead, kind="form_submission", direction="inbound", occurred_at=closed_at - 15 * DAY,
                    details={"url": "/contact"},
                )
            )  # fmt: skip
        if not won:
            interactions.append(
                Interaction(lead=lead, kind="download", direction="inbound", occurred_at=closed_at + 2 * DAY)
            )
    Interaction.objects.bulk_create(interactions)


def _rules(draft: ScoringModel) -> dict[str, Rule]:
    return {r.name: r for r in Rule.objects.filter(model=draft)}


def test_discover_recovers_planted_effects_and_drops_noise(clock):
    make_history(n=2000, seed=12)
    live_before = selectors.published_model()
    out = io.StringIO()
    call_command("suggest_weights", "--discover", stdout=out)
    text = out.getvalue()
    version = int(re.search(r"Saved as draft v(\d+)", text).group(1))
    draft = ScoringModel.objects.get(version=version)
    assert draft.is_draft
    assert selectors.published_model() == live_before  # nothing published behind the admin's back

    rules = _rules(draft)
    assert rules["Industry is Software"].points > 0
    plan = {r.value: r.points for r in rules.values() if r.field == "attributes.plan"}
    assert plan.get("enterprise", 0) > 0 or plan.get("starter", 0) < 0  # two values: either says it
    demo = next(r for r in rules.values() if r.detail_contains == "/demo")
    assert demo.kind == "has_done" and demo.interaction_kind == "form_submission" and demo.points > 0
    seats = [r for r in rules.values() if r.field == "attributes.seats" and r.operator == "range"]
    assert seats and max(r.points for r in seats if r.range_min >= 60) > 0
    # Noise is dropped by the regularisation.
    noise = [r for r in rules.values() if r.field in ("attributes.colour", "country")]
    assert not noise, [(r.name, r.points) for r in noise]
    # Downloads happened after the close only: as of the close there are none, so no rule on them.
    assert not [r for r in rules.values() if r.interaction_kind == "download"]

    report = draft.suggestion
    assert report["discovered"] and report["rules"] == len(rules) < report["candidates"]
    assert 0.7 < report["test_auc_points"] <= 1.0
    assert f"{report['test_auc_points']:.3f}" in text
    # Every rule is an ordinary, valid, editable rule.
    for rule in rules.values():
        rule.full_clean(exclude=["model", "group"])


def test_the_draft_scores_the_history_as_the_discovery_computed(clock):
    """The rules saved score each lead (in the engine's SQL) exactly as the fit's whole points said: features
    computed in Python agree with the engine's comparisons. Checked on leads with nothing after their close."""
    make_history(n=600, seed=3)
    found = discover(seed=0)
    draft = draft_from_discovery(found=found, user=None)
    expected = {
        i: min(max(math.floor(raw + 0.5), draft.score_min), draft.score_max)
        for i, raw in zip(found["history"].ids, found["x"] @ found["points"], strict=True)
    }
    after_close = set(Interaction.objects.filter(kind="download").values_list("lead_id", flat=True))
    spec = model_spec(draft)
    rows = scored_leads(spec=spec, leads=Lead.objects.exclude(id__in=after_close), now=NOW)
    got = {row["id"]: row["new_score"] for row in rows}
    assert got and all(got[i] == expected[i] for i in got), "the engine and the discovery disagree"
    # Bands: ordered, covering the whole range.
    bands = sorted(spec.bands, key=lambda b: b[1])
    assert bands[0][1] == draft.score_min and bands[-1][2] == draft.score_max


def test_too_little_history_is_a_clear_error(clock):
    with pytest.raises(Exception, match="Not enough history"):
        call_command("suggest_weights", "--discover")


def test_the_button_discovers_a_draft_for_admins(client, admin_user, clock):
    make_history(n=400, seed=5)
    client.force_login(admin_user)
    page = client.get(reverse("scoring:models"))
    assert b"Suggest a model from data" in page.content
    response = client.post(reverse("scoring:discover"))
    draft = ScoringModel.objects.order_by("-version").first()
    assert response.status_code == 302 and response["Location"] == draft.get_absolute_url()
    assert draft.suggestion["discovered"] and draft.rules.exists()
    page = client.get(draft.get_absolute_url())
    assert b"Discovered from data" in page.content


@pytest.mark.parametrize("who", ["rep", "manager"])
def test_the_button_is_refused_to_reps_and_managers(client, request, who, clock):
    make_history(n=100, seed=5)
    client.force_login(request.getfixturevalue(who))
    before = ScoringModel.objects.count()
    response = client.post(reverse("scoring:discover"))
    assert response.status_code in (403, 404)
    assert ScoringModel.objects.count() == before


@pytest.mark.django_db(transaction=True)
def test_two_drafts_made_at_once_get_distinct_versions():
    """A discovery (or any new draft) while another is being saved: the second waits for the first's version
    number to commit and takes the next, instead of failing on the unique version."""
    created, release = threading.Event(), threading.Event()

    def first():
        with transaction.atomic():
            draft = services.scoring_model_create_draft(user=None, name="first")
            created.set()
            assert release.wait(30)
        return draft

    def second():
        assert created.wait(30)
        return services.scoring_model_create_draft(user=None, name="second")

    def release_once_the_second_waits():
        assert created.wait(30)
        wait_for(lambda: backends_waiting_on_locks() >= 1, what="the second draft's transaction waiting for a lock")
        release.set()

    (one, two, _), errors = together(first, second, release_once_the_second_waits)
    assert errors == [None, None, None], errors
    assert two.version == one.version + 1
