"""Versioning, publishing, rollback, bulk runs, history, and the refusal to edit what is live."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from leads.models import Lead
from scoring import selectors, services
from scoring.models import LeadScore, Rule, ScoreChange, ScoringModel, ScoringRun
from tests.factories import LeadFactory
from tests.scoring.conftest import NOW, make_model, publish_now

pytestmark = pytest.mark.django_db

INDUSTRY_50 = {"kind": "fit", "field": "industry", "operator": "equals", "value": "software", "points": 50}


def test_the_default_model_from_the_migration_is_published_and_complete():
    live = selectors.published_model()
    assert live is not None and live.version == 1
    assert live.rules.count() >= 15
    assert sorted(live.bands.values_list("grade", flat=True)) == ["A", "B", "C", "D"]


def test_publishing_archives_the_live_version_and_rescoring_records_the_version(clock):
    leads = [LeadFactory(industry="Software"), LeadFactory(industry="Retail")]
    model = publish_now(make_model(rules=[INDUSTRY_50]))
    assert ScoringModel.objects.filter(status="published").get() == model
    assert ScoringModel.objects.get(version=1).status == "archived"
    scores = dict(Lead.objects.filter(pk__in=[x.pk for x in leads]).values_list("industry", "score"))
    assert scores == {"Software": 50, "Retail": 0}
    assert set(LeadScore.objects.values_list("model_id", flat=True)) == {model.pk}
    assert Lead.objects.get(pk=leads[0].pk).grade == "C"


def test_rolling_back_republishes_an_earlier_version_and_rescores(clock):
    lead = LeadFactory(industry="Software")
    first = publish_now(make_model(rules=[INDUSTRY_50]))
    second = publish_now(make_model(rules=[{**INDUSTRY_50, "points": 90}]))
    assert Lead.objects.get(pk=lead.pk).grade == "A"
    publish_now(first)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("published", "archived")
    lead.refresh_from_db()
    assert (lead.score, lead.grade) == (50, "C")
    assert LeadScore.objects.get(lead_id=lead.pk).model_id == first.pk


def test_history_keeps_every_change_of_grade_with_the_version_that_made_it(clock):
    lead = LeadFactory(industry="Software")
    first = publish_now(make_model(rules=[INDUSTRY_50]))
    publish_now(make_model(rules=[{**INDUSTRY_50, "points": 55}]))  # same grade C: no history row
    third = publish_now(make_model(rules=[{**INDUSTRY_50, "points": 85}]))
    rows = list(ScoreChange.objects.filter(lead_id=lead.pk).order_by("id").values_list("score", "grade", "model_id"))
    assert rows[0] == (50, "C", first.pk)
    assert rows[-1] == (85, "A", third.pk)
    assert len(rows) == 2


def test_published_and_archived_versions_are_read_only(clock):
    live = selectors.published_model()
    rule = live.rules.first()
    with pytest.raises(ValidationError, match="copy it to a draft"):
        services.rule_update(rule=rule, user=None, data={"points": 3})
    with pytest.raises(ValidationError):
        services.bands_set(model=live, user=None, bands=[("A", 0, 100)])


def test_only_admins_change_scoring(rep, manager, admin_user):
    for user in (rep, manager):
        with pytest.raises(PermissionDenied):
            services.scoring_model_create_draft(user=user)
    assert services.scoring_model_create_draft(user=admin_user).is_draft


def test_a_copy_brings_rules_groups_and_bands_along():
    live = selectors.published_model()
    copy = services.scoring_model_create_draft(user=None, based_on=live)
    assert copy.version == live.version + 1 and copy.based_on == live
    assert copy.rules.count() == live.rules.count()
    assert copy.groups.count() == live.groups.count()
    assert {g.cap for g in copy.groups.all()} == {g.cap for g in live.groups.all()}
    assert copy.bands.count() == 4


def test_bands_must_cover_the_range_without_overlap():
    draft = make_model(rules=[INDUSTRY_50])
    with pytest.raises(ValidationError, match="overlap"):
        services.bands_set(model=draft, user=None, bands=[("A", 70, 100), ("B", 60, 75), ("C", 40, 59), ("D", 0, 39)])
    with pytest.raises(ValidationError, match="fall between"):
        services.bands_set(model=draft, user=None, bands=[("A", 80, 100), ("B", 60, 75), ("C", 40, 59), ("D", 0, 39)])
    with pytest.raises(ValidationError, match="A must be the highest"):
        services.bands_set(model=draft, user=None, bands=[("D", 80, 100), ("B", 60, 79), ("C", 40, 59), ("A", 0, 39)])


def test_a_rule_on_an_unknown_field_is_refused():
    draft = make_model(rules=[])
    with pytest.raises(ValidationError) as error:
        services.rule_create(
            model=draft,
            user=None,
            group=draft.groups.first(),
            data={"name": "x", "kind": "fit", "field": "shoe_size", "operator": "equals", "value": "9", "points": 1},
        )
    assert "Unknown field “shoe_size”" in error.value.message_dict["field"][0]


def test_a_run_goes_chunk_by_chunk_and_resumes_after_the_last_chunk_done(clock):
    leads = [LeadFactory(industry="Software") for _ in range(5)]
    model = make_model(rules=[INDUSTRY_50])
    run = services.scoring_model_publish(model=model, user=None)
    # As if a worker had died after the first two chunks: the retried task goes on from there.
    ScoringRun.objects.filter(pk=run.pk).update(status="running", last_lead_id=leads[2].pk)
    run = services.scoring_run_execute(run_id=run.pk, chunk_size=2)
    assert run.status == "done" and run.percent == 100
    scored = dict(Lead.objects.filter(pk__in=[x.pk for x in leads]).values_list("pk", "score"))
    assert [scored[x.pk] for x in leads] == [None, None, 50, 50, 50]
    assert services.scoring_run_execute(run_id=run.pk).status == "done"  # a finished run is left alone


def test_a_run_of_a_version_no_longer_live_stops(clock):
    LeadFactory()
    old = make_model(rules=[INDUSTRY_50])
    run = services.scoring_model_publish(model=old, user=None)
    publish_now(make_model(rules=[INDUSTRY_50]))
    run = services.scoring_run_execute(run_id=run.pk)
    assert run.status == "failed" and "Superseded" in run.error


def test_a_failing_chunk_leaves_no_lead_half_updated(clock):
    leads = [LeadFactory(industry="Software") for _ in range(4)]
    model = make_model(rules=[INDUSTRY_50])
    run = services.scoring_model_publish(model=model, user=None)
    with connection.cursor() as cursor:
        refused_id = int(leads[3].pk)
        cursor.execute(
            f"""CREATE FUNCTION refuse_lead() RETURNS trigger AS $$ BEGIN
                 IF NEW.id = {refused_id} THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"""
        )
        cursor.execute("CREATE TRIGGER refuse BEFORE UPDATE ON leads_lead FOR EACH ROW EXECUTE FUNCTION refuse_lead()")
    with pytest.raises(Exception, match="refused"):
        services.scoring_run_execute(run_id=run.pk, chunk_size=2)
    run.refresh_from_db()
    assert run.last_lead_id == leads[2].pk  # the first chunk committed, the second did not
    scores = dict(Lead.objects.filter(pk__in=[x.pk for x in leads]).values_list("pk", "score"))
    assert [scores[x.pk] for x in leads] == [50, 50, None, None]
    assert not LeadScore.objects.filter(lead_id__in=[leads[2].pk, leads[3].pk], model=model).exists()


def test_the_event_path_rescoring_one_lead_records_each_score_change(clock):
    lead = LeadFactory(industry="Software")
    model = publish_now(
        make_model(rules=[INDUSTRY_50, {**INDUSTRY_50, "field": "job_title", "value": "cto", "points": 5}])
    )
    Lead.objects.filter(pk=lead.pk).update(job_title="CTO")
    result = services.lead_rescore(lead_id=lead.pk)
    assert result.score == 55
    change = ScoreChange.objects.filter(lead_id=lead.pk).latest("id")
    assert (change.previous_score, change.score, change.reason, change.model_id) == (50, 55, "event", model.pk)


def test_many_dirty_leads_are_swept_in_one_set_based_pass(clock):
    model = publish_now(make_model(rules=[INDUSTRY_50]))
    leads = [LeadFactory(industry="Software") for _ in range(services.rescore.PER_LEAD_LIMIT + 5)]
    for lead in leads:
        assert services.lead_mark_dirty(lead_id=lead.pk) is True
        assert services.lead_mark_dirty(lead_id=lead.pk) is False  # already waiting: no second sweep queued
    assert services.dirty_leads_rescore() == len(leads)
    assert set(Lead.objects.filter(pk__in=[x.pk for x in leads]).values_list("score", flat=True)) == {50}
    assert set(LeadScore.objects.filter(lead_id__in=[x.pk for x in leads]).values_list("model", flat=True)) == {
        model.pk
    }
    assert services.dirty_leads_rescore() == 0


def test_nightly_decay_lowers_scores_as_engagement_ages(clock):
    lead = LeadFactory()
    from tests.factories import InteractionFactory

    InteractionFactory(lead=lead, kind="web_visit", outcome="", occurred_at=NOW)
    publish_now(
        make_model(rules=[{"kind": "has_done", "interaction_kind": "web_visit", "points": 80}], half_life_days=7)
    )
    assert Lead.objects.get(pk=lead.pk).grade == "A"
    clock.move_to(NOW + dt.timedelta(days=7))
    run = services.scores_decay()
    assert run.reason == "decay" and run.status == "done"
    lead.refresh_from_db()
    assert (lead.score, lead.grade) == (40, "C")
    assert ScoreChange.objects.filter(lead_id=lead.pk, reason="decay").exists()


def test_rules_keep_their_order_in_groups():
    draft = make_model(rules=[INDUSTRY_50, {**INDUSTRY_50, "points": 1}])
    assert list(Rule.objects.filter(model=draft).values_list("points", flat=True)) == [50, 1]


def test_an_owner_change_alone_does_not_queue_a_rescore(lead):
    from scoring.models import DirtyLead
    from scoring.receivers import lead_changed_receiver

    lead_changed_receiver(sender=Lead, lead_id=lead.pk, fields=["owner"])
    assert not DirtyLead.objects.filter(lead_id=lead.pk).exists()
    lead_changed_receiver(sender=Lead, lead_id=lead.pk, fields=["industry"])
    assert DirtyLead.objects.filter(lead_id=lead.pk).exists()


def test_a_burst_rescored_in_bulk_marks_every_record_as_computed_now(clock):
    publish_now(make_model(rules=[INDUSTRY_50]))
    leads = [LeadFactory(industry="Software") for _ in range(services.rescore.PER_LEAD_LIMIT + 1)]
    services.leads_rescore(lead_ids=[x.pk for x in leads])
    clock.shift(60)
    services.leads_rescore(lead_ids=[x.pk for x in leads])
    assert set(LeadScore.objects.filter(lead_id__in=[x.pk for x in leads]).values_list("computed_at", flat=True)) == {
        NOW + dt.timedelta(seconds=60)
    }
