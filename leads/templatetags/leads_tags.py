"""Badges drawn on every row of the leads list: plain functions, as template includes cost too much per row."""

import datetime as dt

from django import template
from django.utils import dateformat, formats, timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from crm import access, clock
from crm.templatetags.crm_tags import duration, seconds_from_now, since, sla_left
from leads.imports import columns

_UNSCORED = mark_safe('<span class="grade grade-none" title="Not scored yet">–</span>')

register = template.Library()


@register.simple_tag
def stage_badge(lead) -> str:
    return format_html('<span class="badge stage-{}">{}</span>', lead.stage, lead.get_stage_display())


@register.simple_tag
def grade_badge(lead) -> str:
    if not lead.grade:
        return _UNSCORED
    return format_html(
        '<span class="grade grade-{}" title="Grade {}, score {}">{}</span>',
        lead.grade,
        lead.grade,
        lead.score,
        lead.grade,
    )


@register.simple_tag(takes_context=True)
def lead_row(context, lead) -> str:
    """One row of the leads list, built in Python: fifty rows through the template engine cost the page about
    fifteen milliseconds, which is a third of its budget at a million leads (`python -m bench leads_pages`).

    The columns are those of the table head in `leads/list.html`; the response chip of a lead still awaiting an
    answer is the same `sla_chip` as on the lead page.
    """
    created = timezone.localtime(lead.created_at)
    cells = []
    if context.get("can_bulk"):
        cells.append(
            format_html(
                '<td class="col-check"><input type="checkbox" form="bulk" name="lead_ids" value="{}"'
                ' aria-label="Select {}"></td>',
                lead.pk,
                lead.name,
            )
        )
    chip = mark_safe("")
    if lead.awaiting_response:
        if lead.sla_due_at:
            chip = sla_chip(lead)
        else:
            chip = format_html(
                '<span class="chip chip-warn" title="No response yet">awaiting {}</span>', since(lead.created_at)
            )
    cells.append(
        format_html(
            '<td><a href="{}" class="lead-link">{}</a><div class="small muted contact">{}</div>{}</td>',
            lead.get_absolute_url(),
            lead.name,
            lead.email or lead.phone,
            chip,
        )
    )
    cells.append(format_html('<td class="hide-sm">{}</td>', lead.company))
    cells.append(format_html("<td>{}</td><td>{}</td>", stage_badge(lead), grade_badge(lead)))
    cells.append(format_html('<td class="hide-sm">{}</td>', lead.channel or "–"))
    cells.append(
        format_html('<td class="hide-sm">{}</td>', lead.owner)
        if lead.owner_id
        else mark_safe('<td class="hide-sm"><span class="chip">Pool</span></td>')
    )
    cells.append(
        format_html(
            '<td class="hide-sm nowrap" title="{}">{}</td><td class="hide-md nowrap">{} ago</td>',
            dateformat.format(created, "d M Y, H:i"),
            dateformat.format(created, "d M Y"),
            since(lead.last_activity_at),
        )
    )
    return mark_safe("<tr>" + "".join(cells) + "</tr>")


def _when(value, format_name: str = "DATETIME_FORMAT") -> str:
    return formats.date_format(timezone.localtime(value), format_name)


@register.simple_tag
def sla_chip(lead) -> str:
    """The lead's response clock as a chip: answered in how long (and whether within the target), the live
    countdown to the target (ticked by the script in `leads/_sla.html`), or how long an open lead has waited."""
    if lead.first_response_at:
        chip = format_html(
            '<span class="chip chip-ok" title="First response {}">answered in {}</span>',
            _when(lead.first_response_at),
            duration(lead.response_seconds),
        )
        if lead.sla_due_at:
            chip += format_html(
                ' <span class="chip {}" title="Response target: {}">{}</span>',
                "chip-bad" if lead.sla_breached else "chip-ok",
                _when(lead.sla_due_at, "D d M, H:i"),
                "missed the target" if lead.sla_breached else "within target",
            )
        return chip
    left = lead.sla_seconds_left
    if left is not None:
        due, remind = lead.sla_due_at, lead.sla_remind_at
        state = "chip-bad" if left <= 0 else "chip-warn" if remind and remind <= clock.now() else ""
        return format_html(
            '<span class="chip sla-clock {}" data-sla-left="{}"{} title="Response target{}: answer by {}">{}</span>',
            state,
            left,
            format_html(' data-sla-remind-left="{}"', seconds_from_now(remind)) if remind else "",
            format_html(" “{}”", lead.sla_policy) if lead.sla_policy else "",
            _when(due, "D d M, H:i"),
            f"answer by {_when(due, 'D H:i')}" if left > 43200 else sla_left(left),
        )
    if lead.is_open:
        return format_html(
            '<span class="chip chip-warn" title="Arrived {}">no response yet · waiting {}</span>',
            _when(lead.created_at),
            since(lead.created_at),
        )
    return mark_safe("")


# An entry logged more than this after its stated time is marked on the timeline with when it was logged.
BACKDATED_AFTER = dt.timedelta(minutes=5)


@register.filter
def backdated(interaction) -> bool:
    """Logged well after the time it says it happened (a person back-dated it)."""
    created, occurred = getattr(interaction, "created_at", None), getattr(interaction, "occurred_at", None)
    return bool(created and occurred and created - occurred > BACKDATED_AFTER)


@register.filter
def visible_to(lead, user) -> bool:
    """Whether the user may open the lead (a follow-up that stayed with them when the lead went to another team)."""
    return access.can_view_lead(user, lead)


# Words a custom attribute's key spells in lower case that people write in capitals.
_ACRONYMS = {"utm": "UTM", "id": "ID", "url": "URL", "crm": "CRM", "api": "API", "b2b": "B2B", "b2c": "B2C"}


@register.filter
def attribute_label(key) -> str:
    """A custom attribute's key as people read it: "utm_source" → "UTM source", "newsletter" → "Newsletter" (the
    import's rule, for attributes no import labelled)."""
    return columns.attribute_label(str(key))


@register.filter
def attribute_value(value) -> str:
    """A custom attribute's value as people read it: yes/no for true/false, lists joined, "–" for nothing."""
    if value is True:
        return "Yes"
    if value is False:
        return "No"
    if value is None or value == "":
        return "–"
    if isinstance(value, list | tuple):
        return ", ".join(attribute_value(item) for item in value)
    return str(value)
