"""Badges drawn on every row of the leads list: plain functions, as template includes cost too much per row."""

import datetime as dt
import html

from django import template
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.dates import MONTHS_3
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from crm import access, clock
from crm.templatetags.crm_tags import duration, seconds_from_now, since, since_by, sla_left
from leads.imports import columns
from leads.models import Stage

_UNSCORED = mark_safe('<span class="grade grade-none" title="Not scored yet">–</span>')

register = template.Library()


_STAGE_LABELS = dict(Stage.choices)


def _escape(value) -> str:
    """`conditional_escape`, without the lazy-text check around `escape` that costs more than the escaping itself
    (the leads list escapes some 500 values a page)."""
    return value.__html__() if hasattr(value, "__html__") else html.escape(str(value))


@register.simple_tag
def stage_badge(lead) -> str:
    # A dict of the labels, not `get_stage_display()`: that builds the field's choices anew on every call.
    stage = _escape(lead.stage)
    return mark_safe(f'<span class="badge stage-{stage}">{_escape(_STAGE_LABELS.get(lead.stage, lead.stage))}</span>')


@register.simple_tag
def grade_badge(lead) -> str:
    if not lead.grade:
        return _UNSCORED
    grade = _escape(lead.grade)
    return mark_safe(
        f'<span class="grade grade-{grade}" title="Grade {grade}, score {_escape(lead.score)}">{grade}</span>'
    )


_POOL_CELL = '<td class="hide-sm"><span class="chip">Pool</span></td>'
# Any id: the lead page's address is reversed once with it, then each row's id takes its place.
_ANY_ID = 987654321


class _RowContext:
    """What every row of one list shares, worked out once per page: the time zone, the clock's reading, the
    month names and the lead page's address."""

    def __init__(self, can_bulk: bool) -> None:
        self.can_bulk = can_bulk
        self.zone = timezone.get_current_timezone()
        self.now = clock.now()
        # `dateformat`'s "M", in the active language.
        self.months = {month: str(name).title() for month, name in MONTHS_3.items()}
        url = _escape(reverse("leads:detail", args=[_ANY_ID]))
        self.url_head, self.url_tail = url.rsplit(str(_ANY_ID), 1)


@register.simple_tag(takes_context=True)
def lead_row(context, lead) -> str:
    """One row of the leads list, built in Python: fifty rows through the template engine cost the page about
    fifteen milliseconds, which is a third of its budget at a million leads (`python -m bench leads_pages`). What
    the rows share (`_RowContext`) is worked out for the first row and kept for the others; every value is escaped
    (`_escape`) as it goes in.

    The columns are those of the table head in `leads/list.html`; the response chip of a lead still awaiting an
    answer is the same `sla_chip` as on the lead page.
    """
    shared = context.render_context.get(_RowContext)
    if shared is None:
        shared = context.render_context[_RowContext] = _RowContext(bool(context.get("can_bulk")))
    name = _escape(lead.name)
    chip = ""
    if lead.awaiting_response:
        if lead.sla_due_at:
            chip = sla_chip(lead)
        else:
            waited = _escape(since_by(lead.created_at, shared.now))
            chip = f'<span class="chip chip-warn" title="No response yet">awaiting {waited}</span>'
    created = lead.created_at.astimezone(shared.zone)
    day = _escape(f"{created.day:02d} {shared.months[created.month]} {created.year:04d}")
    owner = f'<td class="hide-sm">{_escape(lead.owner)}</td>' if lead.owner_id else _POOL_CELL
    cells = [
        f'<td><a href="{shared.url_head}{lead.pk}{shared.url_tail}" class="lead-link">{name}</a>'
        f'<div class="small muted contact">{_escape(lead.email or lead.phone)}</div>{chip}</td>',
        f'<td class="hide-sm">{_escape(lead.company)}</td><td>{stage_badge(lead)}</td><td>{grade_badge(lead)}</td>',
        f'<td class="hide-sm">{_escape(lead.channel or "–")}</td>{owner}',
        f'<td class="hide-sm nowrap" title="{day}, {created.hour:02d}:{created.minute:02d}">{day}</td>'
        f'<td class="hide-md nowrap">{_escape(since_by(lead.last_activity_at, shared.now))} ago</td>',
    ]
    if shared.can_bulk:
        cells.insert(
            0,
            f'<td class="col-check"><input type="checkbox" form="bulk" name="lead_ids" value="{lead.pk}"'
            f' aria-label="Select {name}"></td>',
        )
    return mark_safe(f"<tr>{''.join(cells)}</tr>")


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
