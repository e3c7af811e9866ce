"""Reads of the scoring app: models, a lead's breakdown and history, and how good a model is (computed in SQL)."""

import itertools
from dataclasses import dataclass

from django.db import connection
from django.db.models import QuerySet

from leads.models import Lead, Stage
from scoring.models import LeadScore, ScoreChange, ScoringModel, ScoringRun


def published_model() -> ScoringModel | None:
    return ScoringModel.objects.filter(status=ScoringModel.Status.PUBLISHED).first()


def scoring_models() -> QuerySet[ScoringModel]:
    return ScoringModel.objects.select_related("created_by", "published_by", "based_on").order_by("-version")


def latest_run(*, model: ScoringModel | None = None) -> ScoringRun | None:
    runs = ScoringRun.objects.select_related("model")
    if model is not None:
        runs = runs.filter(model=model)
    return runs.order_by("-created_at", "-id").first()


def lead_score_record(*, lead: Lead) -> LeadScore | None:
    return LeadScore.objects.select_related("model").filter(lead_id=lead.pk).first()


def lead_score_history(*, lead: Lead, limit: int = 60) -> list[ScoreChange]:
    """The lead's score changes, oldest first (for a trend line)."""
    rows = list(
        ScoreChange.objects.filter(lead_id=lead.pk).select_related("model").order_by("-recorded_at", "-id")[:limit]
    )
    rows.reverse()
    return rows


# --- what a model does to past leads ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class GradeStats:
    grade: str
    leads: int
    closed: int
    won: int

    @property
    def conversion(self) -> float | None:
        return self.won / self.closed if self.closed else None


@dataclass(frozen=True)
class ModelQuality:
    grades: tuple[GradeStats, ...]
    auc: float | None  # ROC AUC of score vs won/lost on closed leads; None without both outcomes
    closed: int
    won: int
    leads: int

    @property
    def calibrated(self) -> bool | None:
        """Does conversion rise from D to A (ignoring empty grades)?"""
        rates = [g.conversion for g in reversed(self.grades) if g.conversion is not None]
        if len(rates) < 2:
            return None
        return all(a <= b for a, b in itertools.pairwise(rates))


def auc_from_histogram(pairs: list[tuple[int, int, int]]) -> float | None:
    """ROC AUC from (score, won, lost) counts per distinct score: the chance that a random won lead outscores a
    random lost one, ties counting half (the Mann–Whitney statistic). Linear in the number of distinct scores."""
    total_won = sum(w for _, w, _ in pairs)
    total_lost = sum(lost for _, _, lost in pairs)
    if not total_won or not total_lost:
        return None
    lost_below = 0
    favourable = 0.0
    for _, won, lost in sorted(pairs):
        favourable += won * (lost_below + lost / 2)
        lost_below += lost
    return favourable / (total_won * total_lost)


def quality_from_rows(rows: list[tuple[str, int, int, int]], histogram: list[tuple[int, int, int]]) -> ModelQuality:
    by_grade = {g: GradeStats(g, leads, closed, won) for g, leads, closed, won in rows}
    grades = tuple(by_grade.get(g, GradeStats(g, 0, 0, 0)) for g in "ABCD")
    return ModelQuality(
        grades=grades,
        auc=auc_from_histogram(histogram),
        closed=sum(g.closed for g in by_grade.values()),
        won=sum(g.won for g in by_grade.values()),
        leads=sum(g.leads for g in by_grade.values()),
    )


def current_quality() -> ModelQuality:
    """The live scores as they are on the leads: grades, conversion per grade and AUC, two grouped queries."""
    won, lost = Stage.WON.value, Stage.LOST.value
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT grade, COUNT(*), SUM(CASE WHEN stage IN (%s, %s) THEN 1 ELSE 0 END),
                      SUM(CASE WHEN stage = %s THEN 1 ELSE 0 END)
               FROM leads_lead WHERE grade <> '' GROUP BY grade""",
            [won, lost, won],
        )
        rows = cursor.fetchall()
        cursor.execute(
            """SELECT score, SUM(CASE WHEN stage = %s THEN 1 ELSE 0 END), SUM(CASE WHEN stage = %s THEN 1 ELSE 0 END)
               FROM leads_lead WHERE score IS NOT NULL AND stage IN (%s, %s) GROUP BY score""",
            [won, lost, won, lost],
        )
        histogram = cursor.fetchall()
    return quality_from_rows(rows, histogram)
