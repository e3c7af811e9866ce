"""Reads of leads, always starting from what the user may see (`crm.access.leads_visible_to`)."""

import datetime as dt

from django.db.models import Case, Exists, F, OuterRef, Q, QuerySet, Value, When
from django.http import Http404

from crm import access, clock
from crm.models import User
from leads.edits import history_shown
from leads.imports.columns import attribute_label
from leads.models import (
    AttributeLabel,
    FollowUpTask,
    Interaction,
    Lead,
    LeadHistory,
    LeadMerge,
    LeadRedirect,
    PoolClaim,
    Stage,
    StageChange,
)
from leads.normalize import normalize_email, normalize_phone
from leads.scores import hot_leads

# What a row of the leads list shows (`leads_tags.lead_row`, its response chip included): the list reads these
# columns of its leads alone, not all 43 (the custom attributes' JSON and the search text among them), which saves
# a good part of the page's time in fetching and building its fifty rows. A row that needed another column would
# read it lead by lead (tests/leads/test_list_view.py bounds the page's queries).
LIST_ROW_FIELDS = (
    "name",
    "email",
    "phone",
    "company",
    "stage",
    "grade",
    "score",
    "first_response_at",
    "response_seconds",
    "created_at",
    "last_activity_at",
    "owner__username",
    "owner__first_name",
    "owner__last_name",
    "channel__name",
    "response_clock__due_at",
    "response_clock__remind_at",
    "response_clock__policy__name",
)


def get_lead_for_user(*, user: User, lead_id: int) -> Lead:
    """The lead, if the user may see it; 404 otherwise (never a 403 that confirms it exists)."""
    lead = (
        access.leads_visible_to(user)
        .select_related("owner", "channel", "team", "response_clock__policy")
        .filter(pk=lead_id)
        .first()
    )
    if lead is None:
        raise Http404("No such lead.")
    return lead


def owners_visible_to(*, user: User) -> QuerySet[User]:
    """Owners a user may filter the leads list by."""
    return access.users_assignable_by(user).order_by("first_name", "last_name", "username")


def lead_duplicates(*, email: str = "", phone: str = "", exclude_id: int | None = None) -> QuerySet[Lead]:
    """Leads that share the normalised email or phone, the one a new arrival would match first.

    The order is the arrival pipeline's duplicate rule (`leads.intake.pipeline`): leads with the email before leads with
    only the phone, each the oldest first.
    """
    email, phone = normalize_email(email), normalize_phone(phone)
    condition = Q()
    if email:
        condition |= Q(email_normalized=email)
    if phone:
        condition |= Q(phone_normalized=phone)
    if not condition:
        return Lead.objects.none()
    qs = Lead.objects.filter(condition).select_related("owner")
    if exclude_id:
        qs = qs.exclude(pk=exclude_id)
    email_first = Case(When(email_normalized=email, then=Value(0)), default=Value(1)) if email else Value(0)
    return qs.order_by(email_first, "created_at", "pk")[:5]


def lead_claimed_moments_ago(*, lead_id: int, seconds: int = 60) -> bool:
    """Whether someone claimed this lead from the pool in the last `seconds` (one indexed lookup)."""
    since = clock.now() - dt.timedelta(seconds=seconds)
    return PoolClaim.objects.filter(lead_id=lead_id, claimed_at__gte=since).exists()


def lead_attribute_rows(*, lead: Lead) -> list[tuple[str, object]]:
    """A lead's custom attributes as (label, value), labels as imported ("UTM term" for `utm_term`); one query."""
    attributes = lead.attributes or {}
    if not attributes:
        return []
    labels = dict(AttributeLabel.objects.filter(key__in=list(attributes)).values_list("key", "label"))
    return [(labels.get(key) or attribute_label(key), value) for key, value in attributes.items()]


def lead_merged_into(*, user: User, lead_id: int) -> Lead | None:
    """The lead a merged lead's id now leads to, if the user may see it (None otherwise: no leak of either)."""
    survivor_id = LeadRedirect.objects.filter(old_lead_id=lead_id).values_list("lead_id", flat=True).first()
    if survivor_id is None:
        return None
    return access.leads_visible_to(user).filter(pk=survivor_id).only("pk").first()


# The timeline's filters: (value, label); "all" shows everything.
TIMELINE_FILTERS = (
    ("all", "All"),
    ("interactions", "Calls, emails, notes"),
    ("stages", "Stages"),
    ("changes", "Changes"),
)


def lead_timeline(*, lead: Lead, limit: int = 50, show: str = "all") -> list[dict]:
    """Interactions, stage changes and field changes (the audit trail) of a lead, newest first, as one list: a
    query per kind shown, whatever the size. `show` keeps one kind ("interactions", "stages", "changes").
    Entries a merge moved here carry `origin`, the name and id of the lead they were first recorded on."""
    entries = []
    if show in ("all", "interactions"):
        interactions = Interaction.objects.filter(lead=lead).select_related("user").order_by("-occurred_at", "-id")
        entries += [{"type": "interaction", "at": i.occurred_at, "item": i} for i in interactions[:limit]]
    if show in ("all", "stages"):
        changes = StageChange.objects.filter(lead=lead).select_related("user").order_by("-changed_at", "-id")
        entries += [{"type": "stage", "at": c.changed_at, "item": c} for c in changes[:limit]]
    if show in ("all", "changes"):
        history = list(
            LeadHistory.objects.filter(lead=lead).select_related("user").order_by("-changed_at", "-id")[:limit]
        )
        entries += [{"type": "change", "at": h.changed_at, "item": h} for h in history_shown(history)]
    entries.sort(key=lambda e: e["at"], reverse=True)
    entries = entries[:limit]
    origins = {e["item"].merged_from_lead_id for e in entries if e["item"].merged_from_lead_id}
    if origins:
        names = _merged_lead_names(lead, origins)
        for entry in entries:
            origin = entry["item"].merged_from_lead_id
            if origin:
                entry["origin"] = f"{names.get(origin, 'a merged lead')} (#{origin})"
    return entries


def _merged_lead_names(lead: Lead, ids: set[int]) -> dict[int, str]:
    """Names of merged leads, from the merge records' snapshots (the leads are gone): one query."""
    names = {}
    for snapshot in LeadMerge.objects.filter(survivor=lead).values_list("snapshot", flat=True):
        for facts in snapshot:
            if facts.get("id") in ids:
                names[facts["id"]] = facts.get("name", "")
    return names


def tasks_for_lead(*, lead: Lead) -> QuerySet[FollowUpTask]:
    return FollowUpTask.objects.filter(lead=lead).select_related("assignee").order_by("done_at", "due_at")


def tasks_due_for(*, user: User, until: dt.datetime | None = None) -> QuerySet[FollowUpTask]:
    """Open tasks assigned to the user, due before `until` (end of today by default): overdue ones first."""
    until = until or clock.end_of_today()
    return (
        FollowUpTask.objects.filter(assignee=user, done_at__isnull=True, due_at__lt=until)
        .select_related("lead")
        .order_by("due_at")
    )


def leads_awaiting_response(*, user: User) -> QuerySet[Lead]:
    """The user's new leads nobody has answered yet: first those whose response deadline is still ahead, the
    nearest first (they can still be answered in time), then the others, the longest waiting first."""
    still_in_time = Q(response_clock__due_at__gt=clock.now())
    return (
        Lead.objects.filter(owner=user, stage=Stage.NEW, first_response_at__isnull=True)
        .select_related("channel", "response_clock__policy")
        .order_by(
            Case(When(still_in_time, then=Value(0)), default=Value(1)),
            Case(When(still_in_time, then=F("response_clock__due_at"))),
            "created_at",
        )
    )


def leads_hot(*, user: User, limit: int = 8) -> QuerySet[Lead]:
    """The user's open A-grade leads, highest score first: whom to call first (see `leads.scores`)."""
    return hot_leads(leads=Lead.objects.filter(owner=user), limit=limit)


def leads_recently_active(*, user: User, limit: int = 8) -> QuerySet[Lead]:
    return Lead.objects.filter(owner=user).select_related("channel").order_by("-last_activity_at", "-id")[:limit]


def lead_has_open_tasks() -> Exists:
    return Exists(FollowUpTask.objects.filter(lead=OuterRef("pk"), done_at__isnull=True))
