from django import template

from scoring.describe import rule_condition, rule_points_text

register = template.Library()


@register.filter
def condition(rule) -> str:
    return rule_condition(rule)


@register.filter
def points_text(rule) -> str:
    return rule_points_text(rule)
