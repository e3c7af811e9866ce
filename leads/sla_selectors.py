"""Reads for speed to lead: which clocks are breached, the policies and calendars admins edit."""

import datetime as dt

from django.db.models import Count, Q, QuerySet

from crm import clock
from crm.models import BusinessCalendar
from leads.models import OPEN_STAGES, ResponsePolicy


def sla_breached_condition(*, now: dt.datetime | None = None) -> Q:
    """Open leads still unanswered after their response deadline (the `lead_sla_unanswered_idx` index)."""
    return Q(
        first_response_at__isnull=True,
        stage__in=OPEN_STAGES,
        sla_due_at__isnull=False,
        sla_due_at__lte=now or clock.now(),
    )


def response_policies() -> QuerySet[ResponsePolicy]:
    return ResponsePolicy.objects.select_related("channel", "calendar", "pool_team__manager").order_by(
        "-active", "channel__name", "grade", "name"
    )


def business_calendars() -> QuerySet[BusinessCalendar]:
    return BusinessCalendar.objects.annotate(holiday_count=Count("holidays")).order_by("name")
