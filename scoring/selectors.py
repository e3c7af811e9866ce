"""Reads of the scoring app: models, a lead's breakdown and history, and how good a model is (computed in SQL)."""

import itertools
from dataclasses import dataclass

from django.db import connection
from django.db.models import Max, Min, QuerySet

from crm import clock
from leads.models import Lead, Stage
from scoring.engine import grade_case_sql, scored_leads
from scoring.models import LeadScore, ScoreChange, ScoringModel, ScoringRun
from scoring.spec import model_spec


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


@dataclass(frozen=True)
class Preview:
    """What publishing a model would do, side by side with the live scores."""

    current: ModelQuality
    draft: ModelQuality
    grade_moves: dict[tuple[str, str], int]  # (current grade, draft grade) → open leads
    open_changing: int
    sample: list[dict]

    @property
    def distribution(self) -> list[dict]:
        rows = []
        for now, then in zip(self.current.grades, self.draft.grades, strict=True):
            rows.append({"grade": now.grade, "current": now, "draft": then})
        return rows


PREVIEW_CHUNK = 100_000


def model_preview(*, model: ScoringModel, sample_size: int = 20) -> Preview:
    """Score every lead with `model` in the database and compare with the live scores.

    One pass per chunk of lead ids: the scores are computed once (a CTE) and feed both a grouped count (score,
    new grade, current grade, outcome: a few hundred rows) and the chunk's open leads that move most.
    """
    spec = model_spec(model)
    now = clock.now()
    grade_sql, grade_params = grade_case_sql(spec, "s0.new_score")
    won, lost = Stage.WON.value, Stage.LOST.value
    outcome = "CASE WHEN l.stage = %s THEN 'won' WHEN l.stage = %s THEN 'lost' ELSE 'open' END"
    bounds = Lead.objects.aggregate(low=Min("id"), high=Max("id"))
    groups: list[tuple] = []
    candidates: list[dict] = []
    start, end = bounds["low"] or 0, (bounds["high"] or -1) + 1
    with connection.cursor() as cursor:
        while start < end:
            stop = min(start + PREVIEW_CHUNK, end)
            leads = Lead.objects.filter(id__gte=start, id__lt=stop)
            inner_sql, inner_params = scored_leads(
                spec=spec, leads=leads, now=now, id_range=(start, stop)
            ).query.sql_with_params()
            # OFFSET 0: the score is computed once per lead, not once per read of it in the grade's CASE.
            cursor.execute(
                f"""WITH s AS (SELECT s0.id, s0.new_score, {grade_sql} AS new_grade FROM ({inner_sql} OFFSET 0) s0)
                SELECT 0, s.new_score, s.new_grade, l.grade, {outcome}, COUNT(*), CAST(NULL AS bigint),
                    CAST(NULL AS varchar(200)), CAST(NULL AS varchar(200)), CAST(NULL AS integer)
                FROM s JOIN leads_lead l ON l.id = s.id
                GROUP BY s.new_score, s.new_grade, l.grade, {outcome}
                UNION ALL
                SELECT * FROM (
                    SELECT 1, s.new_score, s.new_grade, l.grade, CAST(NULL AS varchar(8)), CAST(NULL AS bigint),
                        l.id, l.name, l.company, l.score
                    FROM s JOIN leads_lead l ON l.id = s.id
                    WHERE l.stage NOT IN (%s, %s) AND l.grade <> s.new_grade
                    ORDER BY ABS(s.new_score - COALESCE(l.score, 0)) DESC, l.id LIMIT %s
                ) moved""",
                [*grade_params, *inner_params, won, lost, won, lost, won, lost, sample_size],
            )
            for part, new_score, new_grade, grade, result, count, lead_id, name, company, score in cursor.fetchall():
                if part == 0:
                    groups.append((new_score, new_grade, grade, result, count))
                else:
                    candidates.append(
                        {
                            "id": lead_id,
                            "name": name,
                            "company": company,
                            "score": score,
                            "grade": grade,
                            "new_score": new_score,
                            "new_grade": new_grade,
                        }
                    )
            start = stop
    candidates.sort(key=lambda c: (-abs(c["new_score"] - (c["score"] or 0)), c["id"]))
    sample = candidates[:sample_size]
    per_grade: dict[str, list[int]] = {}
    histogram: dict[int, list[int]] = {}
    moves: dict[tuple[str, str], int] = {}
    for score, new_grade, grade, result, count in groups:
        stats = per_grade.setdefault(new_grade, [0, 0, 0])
        stats[0] += count
        if result != "open":
            stats[1] += count
            bucket = histogram.setdefault(score, [0, 0])
            bucket[0 if result == "won" else 1] += count
            if result == "won":
                stats[2] += count
        elif grade != new_grade:
            moves[(grade, new_grade)] = moves.get((grade, new_grade), 0) + count
    draft = quality_from_rows(
        [(g, *v) for g, v in per_grade.items() if g],
        [(score, w, lo) for score, (w, lo) in histogram.items()],
    )
    return Preview(
        current=current_quality(),
        draft=draft,
        grade_moves=moves,
        open_changing=sum(moves.values()),
        sample=sample,
    )
