from django import template

register = template.Library()


@register.filter
def points(value) -> str:
    """Points with a sign; fractions (decayed points) to one decimal."""
    if value is None:
        return "–"
    if float(value).is_integer():
        return f"{int(value):+d}"
    return f"{value:+.1f}"
