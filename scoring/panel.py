"""The score panel on a lead's page: breakdown (which rules gave how many points) and trend over time.

`leads` shows it without importing scoring: scoring registers its URL (`scoring:lead_panel`) with `leads.panels`
in `ScoringConfig.ready()`, and the lead page loads it once shown and after each change to the lead.
"""

from crm import clock
from leads.models import Lead
from scoring import selectors
from scoring.describe import rule_condition, rule_points_text
from scoring.engine import interactions_for_scoring, score_lead
from scoring.spec import model_spec

TREND_WIDTH, TREND_HEIGHT = 300, 64


def _trend(history, spec_min: int, spec_max: int) -> dict | None:
    """An SVG polyline of the score over time (one point per recorded change)."""
    if not history:
        return None
    times = [h.recorded_at.timestamp() for h in history]
    start, end = times[0], max(times[-1], times[0] + 1)
    span = max(1, spec_max - spec_min)
    points = []
    for h, t in zip(history, times, strict=True):
        x = 4 + (TREND_WIDTH - 8) * (t - start) / (end - start) if len(history) > 1 else TREND_WIDTH / 2
        y = 4 + (TREND_HEIGHT - 8) * (1 - (min(max(h.score, spec_min), spec_max) - spec_min) / span)
        points.append((round(x, 1), round(y, 1)))
    if len(points) == 1:
        points = [(4, points[0][1]), (TREND_WIDTH - 4, points[0][1])]
    return {
        "points": " ".join(f"{x},{y}" for x, y in points),
        "last": points[-1],
        "width": TREND_WIDTH,
        "height": TREND_HEIGHT,
    }


def lead_panel_context(*, lead: Lead) -> dict:
    record = selectors.lead_score_record(lead=lead)
    model = record.model if record else selectors.published_model()
    context = {"lead": lead, "record": record, "model": model, "lines": [], "history": [], "trend": None, "tries": 0}
    if model is None:
        return context
    now = clock.now()
    spec = model_spec(model)
    result = score_lead(
        spec=spec, lead=lead, interactions=interactions_for_scoring(spec=spec, lead_id=lead.pk, now=now), now=now
    )
    lines = []
    for item in result.rules:
        if not item.matched:
            continue
        lines.append(
            {
                "name": item.rule.name,
                "condition": rule_condition(item.rule),
                "points": item.points,
                "base_points": item.base_points,
                "value": item.value,
                "faded": item.points != item.base_points,
                "group": spec.groups[item.rule.group].name,
            }
        )
    history = selectors.lead_score_history(lead=lead)
    context.update(
        lines=lines,
        result=result,
        capped=[
            {"name": g.name, "cap": g.cap, "uncapped": g.uncapped, "cut": g.total - g.uncapped}
            for g in result.groups
            if g.cap is not None and g.uncapped > g.cap
        ],
        history=history,
        history_recent=list(reversed(history))[:6],
        trend=_trend(history, spec.score_min, spec.score_max),
        # The lead changed after its score was computed: a rescore is on its way (the panel polls).
        pending=record is None or record.computed_at < lead.updated_at,
        drift=lead.score is not None and lead.score != result.score,
        rule_points_text=rule_points_text,
    )
    return context
