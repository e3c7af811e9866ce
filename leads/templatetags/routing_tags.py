"""The lead page's pool panel reads the lead's reclaim history through this tag (one query)."""

from django import template

from leads.routing.reclaim import reclaim_history

register = template.Library()


@register.simple_tag
def lead_reclaim_history(lead):
    return reclaim_history(lead=lead)
