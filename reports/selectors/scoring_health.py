"""Scoring health: how well the published scoring model ranks the leads whose outcome is known.

ROC AUC over the closed (won or lost) leads created in the period and scored by the published model: the chance
that a random won lead outscores a random lost one, ties counting half. That is the Mann–Whitney statistic,
AUC = (R_won − n_won(n_won + 1)/2) / (n_won · n_lost) with R_won the sum of the won leads' ranks (ties averaged),
computed in the database in one statement: the leads are grouped by score (at most 2,001 distinct scores), and a
window sum over the groups gives, for each score, the lost leads scored below it, so
U = Σ_score won(score) · (lost below + lost(score)/2).
"""

from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, Q

from leads.models import Stage
from reports.scope import ReportScope
from reports.tables import Cell, Column, Headline, Table, count, text
from scoring.models import LeadScore, ScoringModel
from scoring.selectors import published_model

DASH = "–"


@dataclass(frozen=True)
class ModelAuc:
    model: ScoringModel | None
    won: int
    lost: int
    auc: float | None  # None without a published model, or without both won and lost leads


def closed_score_histogram(scope: ReportScope, model: ScoringModel):
    """(score, won, lost) per distinct score of the published model over the closed leads in scope."""
    won, lost = Q(lead__stage=Stage.WON), Q(lead__stage=Stage.LOST)
    return (
        LeadScore.objects.filter(
            scope._who("lead__"),
            model=model,
            lead__stage__in=(Stage.WON, Stage.LOST),
            lead__created_at__gte=scope.period.starts_at,
            lead__created_at__lt=scope.period.ends_before,
        )
        .values("score")
        .annotate(won=Count("pk", filter=won), lost=Count("pk", filter=lost))
        .order_by()
    )


def published_model_auc(scope: ReportScope) -> ModelAuc:
    model = published_model()
    if model is None:
        return ModelAuc(model=None, won=0, lost=0, auc=None)
    histogram_sql, params = closed_score_histogram(scope, model).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""WITH histogram (score, won, lost) AS ({histogram_sql}),
                     ranked AS (
                       SELECT won, lost,
                              COALESCE(SUM(lost) OVER (ORDER BY score ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING),
                                       0) AS lost_below
                       FROM histogram)
                SELECT COALESCE(SUM(won), 0), COALESCE(SUM(lost), 0),
                       COALESCE(SUM(won * (lost_below + lost / 2.0)), 0)
                FROM ranked""",
            params,
        )
        won, lost, favourable = cursor.fetchone()
    won, lost = int(won), int(lost)
    auc = float(favourable) / (won * lost) if won and lost else None
    return ModelAuc(model=model, won=won, lost=lost, auc=auc)


def auc_cell(result: ModelAuc) -> Cell:
    sub = f"{result.won:,} won / {result.lost:,} lost"
    if result.auc is None:
        return Cell(value=None, text=DASH, sub=sub)
    return Cell(value=round(result.auc, 6), text=f"{result.auc:.3f}", sub=sub)


def auc_headlines(result: ModelAuc) -> list[Headline]:
    if result.model is None:
        detail = "no scoring model is published"
    else:
        detail = f"model v{result.model.version}, closed leads of the period: {result.won:,} won, {result.lost:,} lost"
    return [
        Headline("ROC AUC", auc_cell(result), detail=detail),
        Headline("Closed leads scored", count(result.won + result.lost)),
    ]


def auc_table(result: ModelAuc) -> Table:
    """The same figure as a one-row table, so that `?format=csv&table=auc` exports it."""
    table = Table(
        key="auc",
        title="Ranking quality of the published model",
        columns=[
            Column("group", "Model", "text"),
            Column("won", "Won (scored)"),
            Column("lost", "Lost (scored)"),
            Column("roc_auc", "ROC AUC", "points"),
        ],
        note=(
            "ROC AUC: the chance that a won lead of the period outscores a lost one (ties count half); 0.5 is no "
            "better than chance. Over the closed leads created in the period that the published model scored."
        ),
    )
    label = f"v{result.model.version} {result.model.name}" if result.model else "No published model"
    table.rows.append(
        {"group": text(label), "won": count(result.won), "lost": count(result.lost), "roc_auc": auc_cell(result)}
    )
    return table
