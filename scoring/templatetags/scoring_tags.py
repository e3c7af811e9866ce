from django import template

from scoring.panel import lead_panel_context

register = template.Library()


@register.inclusion_tag("scoring/lead_panel.html")
def lead_score_panel(lead):
    return lead_panel_context(lead=lead)


@register.filter
def points(value) -> str:
    """Points with a sign; fractions (decayed points) to one decimal."""
    if value is None:
        return "–"
    if float(value).is_integer():
        return f"{int(value):+d}"
    return f"{value:+.1f}"
