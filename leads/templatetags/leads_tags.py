"""Badges drawn on every row of the leads list: plain functions, as template includes cost too much per row."""

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

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
