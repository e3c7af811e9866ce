"""The lead page's duplicates panel: possible duplicates to merge in (managers, admins) and past merges."""

from django import template

from leads.dedupe import services as dedupe

register = template.Library()


@register.simple_tag
def lead_merge_panel(lead, user) -> dict:
    """Two small queries: the lead's possible duplicates (only for those who may merge) and its merge records."""
    return {
        "duplicates": dedupe.lead_possible_duplicates(user=user, lead=lead),
        "merges": list(dedupe.lead_merges(lead=lead)),
    }
