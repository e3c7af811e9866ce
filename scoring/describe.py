"""Rules in words, for the scoring pages and the lead's score breakdown."""

from leads.models import Interaction
from scoring.fields import fit_field
from scoring.models import Rule
from scoring.spec import RuleSpec
from scoring.tiers import tiers_from_json, tiers_text

# (one, many) of each interaction kind, for sentences.
KIND_NOUNS = {
    "call": ("call", "calls"),
    "email": ("email", "emails"),
    "meeting": ("meeting", "meetings"),
    "message": ("message", "messages"),
    "note": ("note", "notes"),
    "web_visit": ("web visit", "web visits"),
    "form_submission": ("form submission", "form submissions"),
    "download": ("content download", "content downloads"),
    "email_open": ("email opened", "emails opened"),
    "email_click": ("email link click", "email link clicks"),
    "event_attended": ("event attended", "events attended"),
    "unsubscribe": ("unsubscribe", "unsubscribes"),
}


def _kind_label(kind: str, many: bool = False) -> str:
    if kind in KIND_NOUNS:
        return KIND_NOUNS[kind][1 if many else 0]
    try:
        return Interaction.Kind(kind).label.lower()
    except ValueError:
        return kind or "?"


def _number(value) -> str:
    """50.00 → 50, 2.50 → 2.5."""
    text = format(value.normalize(), "f") if hasattr(value, "normalize") else str(value)
    return text


def rule_condition(rule: Rule | RuleSpec) -> str:
    """ "Industry is one of Software, SaaS", "3-5 = +5; 6+ = +10 web visits in 30 days"..."""
    if rule.kind == Rule.Kind.FIT:
        field = fit_field(rule.field)
        label = field.label if field else f"“{rule.field}”"
        op = rule.operator
        if op == Rule.Operator.EQUALS:
            return f"{label} is “{rule.value}”"
        if op == Rule.Operator.IN:
            return f"{label} is one of {', '.join(str(v) for v in rule.values)}"
        if op == Rule.Operator.CONTAINS:
            return f"{label} contains “{rule.value}”"
        if op == Rule.Operator.IS_SET:
            return f"{label} is filled in"
        if op == Rule.Operator.RANGE:
            low, high = rule.range_min, rule.range_max
            if low is not None and high is not None:
                return f"{label} between {_number(low)} and {_number(high)}"
            if low is not None:
                return f"{label} at least {_number(low)}"
            return f"{label} at most {_number(high)}"
        return label
    if rule.kind == Rule.Kind.INACTIVITY:
        return f"No activity for {rule.inactive_days} days"
    detail = f" with {rule.detail_key} containing “{rule.detail_contains}”" if rule.detail_key else ""
    window = f" in the last {rule.window_days} days" if rule.window_days else " ever"
    if rule.kind == Rule.Kind.HAS_DONE:
        return f"At least one {_kind_label(rule.interaction_kind)}{detail}{window}"
    if rule.measure == Rule.Measure.COUNT:
        return f"Number of {_kind_label(rule.interaction_kind, many=True)}{detail}{window}"
    measure = {"pages": "Pages viewed", "seconds": "Seconds on site"}.get(rule.measure, rule.measure)
    return f"{measure} over {_kind_label(rule.interaction_kind, many=True)}{detail}{window}"


def rule_points_text(rule: Rule | RuleSpec) -> str:
    if rule.kind == Rule.Kind.ACTIVITY:
        tiers = rule.tiers if isinstance(rule, RuleSpec) else tiers_from_json(rule.tiers or [])
        return tiers_text(tiers)
    return f"{rule.points:+d}"
