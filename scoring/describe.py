"""Rules in words, for the scoring pages and the lead's score breakdown."""

from leads.models import Interaction
from scoring.fields import fit_field
from scoring.models import Rule
from scoring.spec import RuleSpec, tiers_from_json, tiers_text


def _kind_label(kind: str) -> str:
    try:
        return Interaction.Kind(kind).label.lower()
    except ValueError:
        return kind or "?"


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
                return f"{label} between {low:g} and {high:g}"
            if low is not None:
                return f"{label} at least {low:g}"
            return f"{label} at most {high:g}"
        return label
    if rule.kind == Rule.Kind.INACTIVITY:
        return f"No activity for {rule.inactive_days} days"
    what = _kind_label(rule.interaction_kind)
    if rule.detail_key and rule.detail_contains:
        what += f" with {rule.detail_key} containing “{rule.detail_contains}”"
    window = f" in the last {rule.window_days} days" if rule.window_days else ""
    if rule.kind == Rule.Kind.HAS_DONE:
        return f"Has a {what}{window}"
    measure = {"count": "Number of", "pages": "Pages viewed in", "seconds": "Seconds on site in"}.get(rule.measure, "")
    return f"{measure} {what}s{window}"


def rule_points_text(rule: Rule | RuleSpec) -> str:
    if rule.kind == Rule.Kind.ACTIVITY:
        tiers = rule.tiers if isinstance(rule, RuleSpec) else tiers_from_json(rule.tiers or [])
        return tiers_text(tiers)
    return f"{rule.points:+d}"
