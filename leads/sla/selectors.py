"""Reads for speed to lead: which clocks are breached, the policies and calendars admins edit."""

import datetime as dt

from django.db.models import Case, Count, Q, QuerySet, Value, When

from crm import clock
from crm.models import BusinessCalendar
from leads.models import OPEN_STAGES, ResponsePolicy


def sla_breached_condition(*, now: dt.datetime | None = None) -> Q:
    """Open leads still unanswered after their response deadline (a range on the `clock_due_idx` index)."""
    return Q(
        first_response_at__isnull=True,
        stage__in=OPEN_STAGES,
        response_clock__due_at__isnull=False,
        response_clock__due_at__lte=now or clock.now(),
    )


def policy_specificity():
    """SQL for `leads.models.policy_rank` (`ResponsePolicy.specificity`): grade and channel 3, channel 2, grade 1,
    catch-all 0; higher wins."""
    return Case(When(channel__isnull=False, then=Value(2)), default=Value(0)) + Case(
        When(~Q(grade=""), then=Value(1)), default=Value(0)
    )


def response_policies() -> QuerySet[ResponsePolicy]:
    """Active targets first, in the order they win (most specific first), then the ones switched off."""
    return (
        ResponsePolicy.objects.select_related("channel", "calendar", "pool_team")
        .annotate(rank=policy_specificity())
        .order_by("-active", "-rank", "channel__name", "grade", "name")
    )


def business_calendars() -> QuerySet[BusinessCalendar]:
    return BusinessCalendar.objects.annotate(holiday_count=Count("holidays")).order_by("name")
