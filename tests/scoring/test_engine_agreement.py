"""The bulk SQL path and the per-lead Python path give the same score, for random leads, interactions and rules."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leads.models import Channel, Interaction, Lead
from scoring.engine import interactions_for_scoring, score_lead, scored_leads
from scoring.spec import GroupSpec, ModelSpec, RuleSpec
from scoring.tiers import Tier

NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)
WORDS = ["Software", "software", "SaaS", "Retail", "Director of Sales", "vp sales", "", "Head of IT", "42", "7.5"]
KINDS = ["web_visit", "form_submission", "email_click", "unsubscribe"]
URLS = ["/pricing", "/demo", "/", "/Pricing/plans", "/blog", "/a_b%c", "/axbyc"]

# Texts on the edge of a count and a number: a final newline, ten digits, empty, spaces, a float.
detail_values = st.one_of(
    st.none(),
    st.integers(0, 40),
    st.sampled_from(["3", "12", "abc", "-4", "2.5", "12\n", "1234567890", "123456789", "", " 7", "1e3"]),
)
attribute_values = st.one_of(
    st.none(),
    st.integers(-5, 100),
    st.sampled_from(["pricing", "Pricing", "contact_us", "", "15", "3.25", "15\n", "-0.5"]),
    st.booleans(),
)
leads_strategy = st.lists(
    st.fixed_dictionaries(
        {
            "industry": st.sampled_from(WORDS),
            "job_title": st.sampled_from(WORDS),
            "company_size": st.one_of(st.none(), st.integers(0, 10_000)),
            "budget_amount": st.one_of(st.none(), st.decimals(0, 100_000, places=2)),
            "budget": st.sampled_from(["unknown", "confirmed", "none"]),
            "timeline": st.sampled_from(["unknown", "30", "90", "180"]),
            "channel": st.sampled_from([None, "Google Ads", "Referral"]),
            "attributes": st.dictionaries(st.sampled_from(["source_form", "seats"]), attribute_values, max_size=2),
            "inactive_seconds": st.integers(0, 200 * 86400),
            "interactions": st.lists(
                st.fixed_dictionaries(
                    {
                        "kind": st.sampled_from(KINDS),
                        # Seconds before NOW, including exact day boundaries and a little future.
                        "age": st.one_of(
                            st.integers(-3600, 40 * 86400),
                            st.integers(0, 60).map(lambda d: d * 86400),
                            st.integers(0, 200 * 86400),
                        ),
                        "micro": st.sampled_from([0, 0, 123, 999_999]),
                        "url": st.sampled_from(URLS),
                        "pages": detail_values,
                    }
                ),
                min_size=1,
                max_size=10,
            ),
        }
    ),
    min_size=1,
    max_size=4,
)

fit_rules = st.one_of(
    st.builds(
        lambda f, v, p: {"kind": "fit", "field": f, "operator": "equals", "value": v, "points": p},
        st.sampled_from(["industry", "job_title", "channel", "budget", "attributes.source_form"]),
        st.sampled_from(["software", "Pricing", "confirmed", "google ads", "42"]),
        st.integers(-20, 30),
    ),
    st.builds(
        lambda f, vs, p: {"kind": "fit", "field": f, "operator": "in", "values": tuple(vs), "points": p},
        st.sampled_from(["industry", "timeline", "attributes.source_form"]),
        st.lists(st.sampled_from(["SOFTWARE", "saas", "30", "90", "pricing", "true"]), min_size=1, max_size=3),
        st.integers(-20, 30),
    ),
    st.builds(
        lambda f, v, p: {"kind": "fit", "field": f, "operator": "contains", "value": v, "points": p},
        st.sampled_from(["job_title", "industry", "channel"]),
        st.sampled_from(["dir", "VP", "ware", "ads", "%", "_"]),
        st.integers(-20, 30),
    ),
    st.builds(
        lambda f, lo, hi, p: {
            "kind": "fit",
            "field": f,
            "operator": "range",
            "range_min": lo,
            "range_max": hi,
            "points": p,
        },
        st.sampled_from(["company_size", "budget_amount", "attributes.seats", "attributes.source_form"]),
        st.one_of(st.none(), st.decimals(0, 5000, places=2)),
        st.one_of(st.none(), st.decimals(0, 20000, places=2)),
        st.integers(-20, 30),
    ),
    st.builds(
        lambda f, p: {"kind": "fit", "field": f, "operator": "is_set", "points": p},
        st.sampled_from(["industry", "company_size", "attributes.seats", "channel"]),
        st.integers(-20, 30),
    ),
)


def _tiers(points):
    return st.lists(st.integers(0, 12), min_size=1, max_size=3, unique=True).map(
        lambda mins: tuple(
            Tier(m, (sorted(mins)[i + 1] - 1) if i + 1 < len(mins) else None, p)
            for i, (m, p) in enumerate(zip(sorted(mins), points, strict=False))
        )
    )


engagement_rules = st.one_of(
    st.builds(
        lambda k, w, m, tiers, decays: {
            "kind": "activity",
            "interaction_kind": k,
            "window_days": w,
            "measure": m,
            "tiers": tiers,
            "decays": decays,
        },
        st.sampled_from(KINDS),
        st.one_of(st.none(), st.integers(1, 120)),
        st.sampled_from(["count", "pages"]),
        st.lists(st.integers(-15, 30), min_size=3, max_size=3).flatmap(_tiers),
        st.booleans(),
    ),
    st.builds(
        lambda k, w, contains, p, decays: {
            "kind": "has_done",
            "interaction_kind": k,
            "window_days": w,
            "detail_key": "url" if contains else "",
            "detail_contains": contains,
            "points": p,
            "decays": decays,
        },
        st.sampled_from(KINDS),
        st.one_of(st.none(), st.integers(1, 120)),
        st.sampled_from(["", "pricing", "DEMO", "/", "_b%", "b%c"]),  # % and _ are no wildcards here
        st.integers(-25, 40),
        st.booleans(),
    ),
    st.builds(
        lambda d, p: {"kind": "inactivity", "inactive_days": d, "points": p}, st.integers(1, 120), st.integers(-20, 5)
    ),
)


@st.composite
def model_specs(draw):
    groups = tuple(
        GroupSpec(f"g{i}", draw(st.one_of(st.none(), st.integers(0, 60)))) for i in range(draw(st.integers(1, 3)))
    )
    raw_rules = draw(st.lists(st.one_of(fit_rules, engagement_rules, engagement_rules), min_size=1, max_size=9))
    rules = tuple(
        RuleSpec(id=i + 1, name=f"r{i}", group=draw(st.integers(0, len(groups) - 1)), **r)
        for i, r in enumerate(raw_rules)
    )
    low = draw(st.integers(-40, 0))
    high = draw(st.integers(low + 8, 150))
    step = (high - low) // 4
    bands = (
        ("A", low + 3 * step, high),
        ("B", low + 2 * step, low + 3 * step - 1),
        ("C", low + step, low + 2 * step - 1),
        ("D", low, low + step - 1),
    )
    return ModelSpec(
        id=None,
        version=None,
        groups=groups,
        rules=rules,
        bands=bands,
        score_min=low,
        score_max=high,
        half_life_days=draw(st.one_of(st.none(), st.integers(1, 60), st.integers(1, 5))),
    )


def _make_leads(rows):
    channels = {name: Channel.objects.get_or_create(name=name)[0] for name in ("Google Ads", "Referral")}
    leads = []
    for row in rows:
        lead = Lead.objects.create(
            name="Lead",
            industry=row["industry"],
            job_title=row["job_title"],
            company_size=row["company_size"],
            budget_amount=row["budget_amount"],
            budget=row["budget"],
            timeline=row["timeline"],
            channel=channels.get(row["channel"]),
            attributes=row["attributes"],
            last_activity_at=NOW - dt.timedelta(seconds=row["inactive_seconds"]),
        )
        Interaction.objects.bulk_create(
            Interaction(
                lead=lead,
                kind=i["kind"],
                direction="inbound",
                occurred_at=NOW - dt.timedelta(seconds=i["age"], microseconds=i["micro"]),
                details={"url": i["url"], **({"pages": i["pages"]} if i["pages"] is not None else {})},
            )
            for i in row["interactions"]
        )
        leads.append(lead)
    return leads


@pytest.mark.django_db
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=model_specs(), rows=leads_strategy)
def test_bulk_and_per_lead_scores_agree_for_random_leads_and_rules(spec, rows):
    with transaction.atomic():
        leads = _make_leads(rows)
        bulk = {
            row["id"]: row["new_score"]
            for row in scored_leads(spec=spec, leads=Lead.objects.filter(id__in=[x.pk for x in leads]), now=NOW)
        }
        for lead in Lead.objects.filter(id__in=[x.pk for x in leads]).select_related("channel"):
            result = score_lead(
                spec=spec,
                lead=lead,
                interactions=interactions_for_scoring(spec=spec, lead_id=lead.pk, now=NOW),
                now=NOW,
            )
            assert bulk[lead.pk] == result.score, (result, lead.attributes)
        transaction.set_rollback(True)


def test_has_done_is_a_single_tier_from_one():
    rule = RuleSpec(id=1, name="x", group=0, kind="has_done", points=Decimal(7))
    assert rule.effective_tiers == (Tier(1, None, 7),)


@pytest.mark.django_db
def test_only_plain_counts_are_summed_on_both_paths():
    """Pages of "12\\n", ten digits, " 7", "" or "1e3" are no count, in SQL as in Python: only the "7" is summed."""
    lead = Lead.objects.create(name="Lead")
    Interaction.objects.bulk_create(
        Interaction(lead=lead, kind="web_visit", direction="inbound", occurred_at=NOW, details={"pages": pages})
        for pages in ["7", "12\n", "1234567890", " 7", "", "1e3", "-2", 3.5]
    )
    rule = RuleSpec(
        id=1,
        name="pages",
        group=0,
        kind="activity",
        interaction_kind="web_visit",
        measure="pages",
        tiers=(Tier(1, 9, 5), Tier(10, None, 50)),
    )
    spec = ModelSpec(
        id=None,
        version=None,
        groups=(GroupSpec("g", None),),
        rules=(rule,),
        bands=(("A", 40, 100), ("B", 20, 39), ("C", 1, 19), ("D", 0, 0)),
        score_min=0,
        score_max=100,
        half_life_days=None,
    )
    (bulk,) = scored_leads(spec=spec, leads=Lead.objects.filter(pk=lead.pk), now=NOW)
    per_lead = score_lead(
        spec=spec, lead=lead, interactions=interactions_for_scoring(spec=spec, lead_id=lead.pk, now=NOW), now=NOW
    )
    assert bulk["new_score"] == per_lead.score == 5
