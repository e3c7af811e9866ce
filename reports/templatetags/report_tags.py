from django import template

register = template.Library()


@register.filter
def get_cell(row: dict, key: str):
    """A table row's cell by column key (templates cannot index a dict by a variable)."""
    return row.get(key)
