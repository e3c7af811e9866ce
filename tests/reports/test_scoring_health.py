"""Scoring health: conversion per grade for closed leads and the ROC AUC of the published model, by hand.

Closed leads created in March 2026, scored by the published model:
    won  (rep):          80 (A), 60 (B), 60 (B)
    lost (teammate):     60 (B), 45 (C), 40 (C)
    lost (other_rep):    90 (A)
Not counted: an open lead (70), a lost lead scored by an archived version, a won lead never scored, a lost lead
created in February.

AUC by ranks (Mann–Whitney, ties averaged), team only (manager): the six scores sorted are 40 45 60 60 60 80 with
ranks 1 2 4 4 4 6 (the three 60s share ranks 3–5); won ranks 4 + 4 + 6 = 14; U = 14 − 3·4/2 = 8;
AUC = 8 / (3·3) = 0.888889. With the other team's lost 90 (admin): ranks 1 2 4 4 4 6 7, won 14 again,
U = 8, AUC = 8 / (3·4) = 0.666667.
Conversion of closed per grade (admin): A 1 / 2 = 50.0%, B 2 / 3 = 66.7%, C 0 / 2 = 0.0%, D – (0 / 0).
"""

import csv
import datetime as dt
import io

import pytest
import time_machine

from reports.periods import Period
from reports.registry import REPORTS
from reports.scope import ReportScope
from reports.services import stats_refresh
from scoring.models import LeadScore, ScoringModel
from scoring.selectors import auc_from_histogram, published_model
from tests.factories import LeadFactory
from tests.reports.conftest import by_group

pytestmark = pytest.mark.django_db
UTC = dt.UTC
NOW = dt.datetime(2026, 4, 2, 12, 0, tzinfo=UTC)
MARCH = Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
MARCH_QUERY = {"period": "custom", "start": "2026-03-01", "end": "2026-03-31"}
GRADES = {90: "A", 80: "A", 70: "B", 60: "B", 45: "C", 40: "C"}


@pytest.fixture
def scored(settings, rep, teammate, other_rep, manager, admin_user):
    settings.TIME_ZONE = "UTC"
    with time_machine.travel(NOW, tick=False):
        model = published_model() or ScoringModel.objects.create(
            version=1, name="Live", status=ScoringModel.Status.PUBLISHED
        )
        old = ScoringModel.objects.create(version=99, name="Old", status=ScoringModel.Status.ARCHIVED)
        day = iter(range(1, 28))

        def lead(owner, stage, score=None, by=model, created=None):
            created = created or dt.datetime(2026, 3, next(day), 10, tzinfo=UTC)
            facts = {"deal_value": 100, "won_at": created + dt.timedelta(days=3)} if stage == "won" else {}
            if stage == "lost":
                facts["lost_reason"] = "no_need"
            made = LeadFactory(
                owner=owner, stage=stage, created_at=created, grade=GRADES.get(score, ""), score=score, **facts
            )
            if score is not None:
                LeadScore.objects.update_or_create(
                    lead=made,
                    defaults={"model": by, "score": score, "grade": GRADES.get(score, "D"), "computed_at": NOW},
                )
            return made

        for score in (80, 60, 60):
            lead(rep, "won", score)
        for score in (60, 45, 40):
            lead(teammate, "lost", score)
        lead(other_rep, "lost", 90)
        lead(rep, "new", 70)
        lead(teammate, "lost", 10, by=old)  # graded by no band here: "not scored" on the lead
        lead(rep, "won")
        lead(teammate, "lost", 45, created=dt.datetime(2026, 2, 20, 10, tzinfo=UTC))
        stats_refresh(full=True)
        yield model


def run(user, **filters):
    return REPORTS["grades"].run(ReportScope.for_user(user, MARCH, **filters))


def auc_of(result):
    return next(h.cell for h in result.headlines if h.label == "ROC AUC")


def test_auc_of_the_published_model_by_rank_statistics(scored, admin_user, manager):
    admin = auc_of(run(admin_user))
    assert admin.value == pytest.approx(8 / 12) and admin.text == "0.667"
    assert admin.sub == "3 won / 4 lost"
    team = auc_of(run(manager))
    assert team.value == pytest.approx(8 / 9) and team.text == "0.889"


def test_auc_agrees_with_scorings_own_helper(scored, admin_user):
    histogram = [(80, 1, 0), (60, 2, 1), (45, 0, 1), (40, 0, 1), (90, 0, 1)]
    assert auc_of(run(admin_user)).value == pytest.approx(auc_from_histogram(histogram))


def test_auc_without_both_outcomes_or_without_a_published_model_is_a_dash(scored, rep, admin_user):
    # The rep's closed leads are all won: no lost lead to compare with.
    assert auc_of(run(rep)).text == "–"
    ScoringModel.objects.filter(status=ScoringModel.Status.PUBLISHED).update(status=ScoringModel.Status.ARCHIVED)
    result = run(admin_user)
    assert auc_of(result).text == "–"
    assert result.table("auc").rows[0]["group"].text == "No published model"


def test_conversion_per_grade_of_closed_leads(scored, admin_user):
    table = run(admin_user).table("grades")
    rates = {
        row["group"].text: (row["closed_conversion_rate"].text, row["closed_conversion_rate"].sub) for row in table.rows
    }
    assert rates["A (hot)"] == ("50.0%", "1 / 2")
    assert rates["B"] == ("66.7%", "2 / 3")
    assert rates["C"] == ("0.0%", "0 / 2")
    assert rates["D"] == ("–", "0 / 0")


def test_grade_distribution_by_month(scored, admin_user):
    table = run(admin_user).table("by_month")
    assert by_group(table, "leads") == {"Mar 2026": "10"}


def test_csv_of_the_auc_and_of_the_grades(scored, client, admin_user):
    client.force_login(admin_user)
    with time_machine.travel(NOW, tick=False):
        auc = client.get("/reports/grades/", {**MARCH_QUERY, "format": "csv", "table": "auc"})
        grades = client.get("/reports/grades/", {**MARCH_QUERY, "format": "csv", "table": "grades"})
    [row] = list(csv.DictReader(io.StringIO(auc.content.decode())))
    assert row["won"] == "3" and row["lost"] == "4" and row["roc_auc"] == "0.666667"
    by_grade = {r["group"]: r for r in csv.DictReader(io.StringIO(grades.content.decode()))}
    assert by_grade["D"]["closed_conversion_rate"] == ""


def test_scoring_health_page_for_managers_and_reps(scored, client, manager, rep, django_assert_max_num_queries):
    client.force_login(manager)
    with time_machine.travel(NOW, tick=False), django_assert_max_num_queries(20):
        response = client.get("/reports/grades/", MARCH_QUERY)
    html = response.content.decode()
    assert response.status_code == 200 and "Scoring health" in html and "0.889" in html
    client.force_login(rep)
    with time_machine.travel(NOW, tick=False):
        assert client.get("/reports/grades/", MARCH_QUERY).status_code == 200
