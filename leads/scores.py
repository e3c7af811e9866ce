"""A lead's score and grade, as `leads` sees them: the one door between leads and scoring.

Scoring owns how a score is computed and keeps its own record of it (`scoring.LeadScore`, reached from a lead as
`lead.score_record`, with the indexes that find the hot grades and sort by score). `leads` keeps a copy of score
and grade on the lead row for display and export. The two talk only here:

- **Writes** (scoring calls them): `leads_scores_copy` copies a scored chunk onto the lead rows set-based,
  `lead_score_set` does it for one lead, and `leads_grade_changed` applies what a new grade means for the leads
  (response targets can depend on the grade: their running clocks are re-timed).
- **Reads** (the leads list, My day): `order_by_score`, `filter_by_grade` and `hot_leads` read scoring's record
  through the `score_record` relation, whose indexes give the order; the lead rows carry no index on their copy
  (see `Lead.Meta.indexes`) so that rescoring rewrites them in place.
"""

import datetime as dt
from collections.abc import Iterable

from django.db import connection
from django.db.models import F, QuerySet, Value

from leads.models import OPEN_STAGES, Lead
from leads.sla.services import response_clocks_recompute

# The score sort's key; leads not scored yet come after every score a model can give (the lowest allowed is
# -1000, constraint `scoringmodel_range_fits_lead_score`).
SCORE_KEY = "score_key"
UNSCORED = -1001


def leads_scores_copy(
    *, scores_table: str, scored_at: dt.datetime, id_range: tuple[int, int] | None = None, ids: Iterable[int] = ()
) -> int:
    """Copy scores onto the lead rows from `scores_table`, a table with columns (id, score, grade): one UPDATE,
    only the rows whose score or grade differs. `id_range` (start, end) or `ids` bound the leads it touches, so
    PostgreSQL walks the primary key over that range only. Returns how many lead rows changed."""
    if id_range is not None:
        where_sql, params = "leads_lead.id >= %s AND leads_lead.id < %s", list(id_range)
    else:
        ids = list(ids)
        if not ids:
            return 0
        where_sql, params = f"leads_lead.id IN ({', '.join(['%s'] * len(ids))})", ids
    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE leads_lead SET score = c.score, grade = c.grade, scored_at = %s
                FROM {connection.ops.quote_name(scores_table)} c
                WHERE c.id = leads_lead.id AND {where_sql}
                  AND (leads_lead.score IS NULL OR leads_lead.score <> c.score OR leads_lead.grade <> c.grade)""",
            [scored_at, *params],
        )
        return cursor.rowcount


def lead_score_set(*, lead_id: int, score: int, grade: str, scored_at: dt.datetime) -> bool:
    """Copy one lead's score and grade onto its row (when they differ). True if the row changed."""
    changed = (
        Lead.objects.filter(pk=lead_id)
        .exclude(score=score, grade=grade)
        .update(score=score, grade=grade, scored_at=scored_at)
    )
    return bool(changed)


def leads_grade_changed(*, lead_ids: Iterable[int] | None = None) -> None:
    """The grade of these leads (None: of any lead) may have changed: re-time their running response clocks,
    set-based, since response targets can depend on the grade."""
    if lead_ids is None:
        response_clocks_recompute()
    else:
        response_clocks_recompute(lead_ids=list(lead_ids))


def order_by_score(leads: QuerySet) -> tuple[QuerySet, QuerySet]:
    """The score sort in two parts for keyset paging: scored leads annotated with their score (highest first by
    scoring's `leadscore_score_idx`), then the leads not scored yet, annotated with a key below any score."""
    scored = leads.filter(score_record__isnull=False).annotate(**{SCORE_KEY: F("score_record__score")})
    unscored = leads.filter(score_record__isnull=True).annotate(**{SCORE_KEY: Value(UNSCORED)})
    return scored, unscored


def filter_by_grade(leads: QuerySet, grade: str) -> QuerySet:
    """Leads of one grade, found through scoring's record (its partial index finds a hot grade's few leads)."""
    return leads.filter(score_record__grade=grade)


def hot_leads(*, leads: QuerySet, limit: int) -> QuerySet:
    """Open A-grade leads among `leads`, highest score first: whom to call first."""
    return (
        leads.filter(score_record__grade="A", stage__in=OPEN_STAGES)
        .select_related("channel")
        .order_by("-score_record__score", "-last_activity_at", "-id")[:limit]
    )
