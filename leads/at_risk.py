"""My day's "at risk" list: the rep's leads about to go back to the pool or about to miss their response target,
the nearest deadline first, so the rep can act before a rule or a clock decides for them."""

import datetime as dt
from dataclasses import dataclass

from crm import clock
from crm.models import User
from leads.models import OPEN_STAGES, Lead, ReclaimRule, ReclaimWarning
from leads.routing.reclaim import leads_past

# How far ahead a reclaim deadline counts as "about to" (at least; a rule's warning may reach further), and a
# response deadline.
RECLAIM_HORIZON = dt.timedelta(hours=48)
RESPONSE_HORIZON = dt.timedelta(hours=2)
AT_RISK_LIMIT = 20


@dataclass(frozen=True)
class AtRisk:
    lead: Lead
    deadline: dt.datetime
    why: str  # "reclaim" or "response"
    rule_name: str = ""

    @property
    def overdue(self) -> bool:
        return self.deadline <= clock.now()


def leads_at_risk(*, user: User, limit: int = AT_RISK_LIMIT) -> list[AtRisk]:
    """The user's leads whose reclaim or response deadline is near (or passed, for a reclaim waiting out its
    warning), the nearest first; a lead at risk twice appears once, with its nearest deadline.

    One query per active reclaim rule (a handful) plus one for the response clocks and one for the warnings."""
    now = clock.now()
    found: dict[int, AtRisk] = {}

    def keep(item: AtRisk) -> None:
        if item.lead.pk not in found or item.deadline < found[item.lead.pk].deadline:
            found[item.lead.pk] = item

    rules = list(ReclaimRule.objects.filter(active=True).order_by("days", "pk"))
    for rule in rules:
        horizon = max(RECLAIM_HORIZON, dt.timedelta(hours=rule.warn_hours))
        leads = list(
            leads_past(rule, now - dt.timedelta(days=rule.days) + horizon)
            .filter(owner=user)
            .select_related("channel")
            .order_by("anchor")[:limit]
        )
        warned = dict(
            ReclaimWarning.objects.filter(rule=rule, lead__in=[lead.pk for lead in leads]).values_list(
                "lead_id", "warned_at"
            )
        )
        for lead in leads:
            deadline = lead.anchor + dt.timedelta(days=rule.days)
            if rule.warn_hours:
                # Never before the warning has run its course (`leads_due`).
                warned_at = warned.get(lead.pk, now)
                deadline = max(deadline, warned_at + dt.timedelta(hours=rule.warn_hours))
            keep(AtRisk(lead=lead, deadline=deadline, why="reclaim", rule_name=rule.name))

    responding = (
        Lead.objects.filter(
            owner=user,
            stage__in=OPEN_STAGES,
            first_response_at__isnull=True,
            response_clock__due_at__gt=now,
            response_clock__due_at__lte=now + RESPONSE_HORIZON,
        )
        .select_related("channel", "response_clock")
        .order_by("response_clock__due_at")[:limit]
    )
    for lead in responding:
        keep(AtRisk(lead=lead, deadline=lead.response_clock.due_at, why="response"))
    return sorted(found.values(), key=lambda item: (item.deadline, item.lead.pk))[:limit]
