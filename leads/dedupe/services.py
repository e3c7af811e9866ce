"""Duplicates and merge: groups of leads sharing a normalised email or phone, and merging them into one.

Selectors read the groups set-based (GROUP BY ... HAVING count > 1 over the indexed normalised columns, keyset
paginated by the shared value), the leads of a page of groups in one more query. `leads_merge` moves everything
hanging off the merged leads onto the survivor in one transaction and writes a `LeadMerge` audit entry.

Who: managers (for the leads they may work: their teams', their own and the pool) and admins (all). Reps
never merge: a merge deletes leads, which is a manager's call.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import BigIntegerField, Case, Count, F, Q, QuerySet, Value, When, Window
from django.db.models.functions import Coalesce, Concat, RowNumber, Substr
from django.http import Http404
from django.urls import reverse

from crm import access, clock
from crm.models import Notification, User
from leads.dedupe.conflicts import (
    FILLABLE_FACTS,
    Conflict,
    is_blank,
    merge_conflicts,
    outcome_default,
    same_value,
)
from leads.edits import history_record
from leads.models import (
    OPEN_STAGES,
    FollowUpTask,
    Interaction,
    Lead,
    LeadHistory,
    LeadMerge,
    LeadRedirect,
    ResponseClock,
    Stage,
    StageChange,
)
from leads.normalize import normalize_email, normalize_phone
from leads.services import lead_change_stage
from leads.signals import lead_changed
from leads.sla.services import leads_response_recompute

# The two keys a duplicate group is made of: the page shows one at a time.
KEYS = {"email": ("email_normalized", "Same email"), "phone": ("phone_normalized", "Same phone")}
DEFAULT_KEY = "email"
GROUPS_PER_PAGE = 25
# A group may be big (a shared switchboard number): the page shows its oldest leads, and says how many more.
LEADS_PER_GROUP = 20
MAX_MERGE = 50
# What the page shows of each lead in a group (a lead row is wide: reading only these keeps the page light).
GROUP_LEAD_FIELDS = (
    "name",
    "email",
    "phone",
    "email_normalized",
    "phone_normalized",
    "company",
    "stage",
    "created_at",
    "owner__first_name",
    "owner__last_name",
    "owner__username",
)

# What the audit entry keeps of each merged lead.
SNAPSHOT_FIELDS = (
    "id",
    "name",
    *FILLABLE_FACTS,
    "owner_id",
    "team_id",
    "stage",
    "lost_reason",
    "deal_value",
    "won_at",
    "score",
    "grade",
    "first_response_at",
    "created_at",
    "attributes",
)


# --- Who may merge -----------------------------------------------------------------------------------------------


def leads_mergeable_by(*, user: User) -> QuerySet[Lead]:
    """Leads a user may find duplicates among and merge: managers the leads they see (their teams', their own,
    the pool; all of which they may edit), admins all. Reps none."""
    if not access.can_merge_leads(user):
        return Lead.objects.none()
    return access.leads_visible_to(user)


# --- Selectors ---------------------------------------------------------------------------------------------------


@dataclass
class DuplicateGroup:
    key: str  # "email" or "phone"
    value: str  # the shared normalised email or phone
    size: int
    leads: list[Lead] = field(default_factory=list)

    @property
    def hidden(self) -> int:
        return self.size - len(self.leads)


@dataclass
class DuplicatePage:
    key: str
    groups: list[DuplicateGroup]
    next_after: str | None  # the keyset cursor of the next page, None on the last page


def duplicate_groups(
    *, user: User, key: str = DEFAULT_KEY, after: str = "", limit: int = GROUPS_PER_PAGE
) -> DuplicatePage:
    """One page of duplicate groups by `key`, ordered by the shared value, after the cursor `after`.

    Two queries whatever the page holds: the groups (GROUP BY the normalised column HAVING COUNT > 1, which
    PostgreSQL reads in index order and stops after `limit + 1` groups), then their leads, the oldest
    LEADS_PER_GROUP of each (row_number() over the group).
    """
    if key not in KEYS:
        raise ValueError(f"Unknown duplicate key {key!r}")
    column = KEYS[key][0]
    # "> cursor" (the empty string on the first page) also skips blank values, as an index condition; COUNT(*)
    # and the indexed columns only, so PostgreSQL reads the index alone (it covers a manager's filter too).
    leads = leads_mergeable_by(user=user).filter(**{f"{column}__gt": after})
    rows = list(leads.values(column).annotate(size=Count("*")).filter(size__gt=1).order_by(column)[: limit + 1])
    next_after = rows[limit - 1][column] if len(rows) > limit else None
    groups = [DuplicateGroup(key=key, value=row[column], size=row["size"]) for row in rows[:limit]]
    if groups:
        by_value = {group.value: group for group in groups}
        members = (
            leads_mergeable_by(user=user)
            .filter(**{f"{column}__in": list(by_value)})
            .select_related("owner")
            .only(*GROUP_LEAD_FIELDS)
            .annotate(
                position=Window(RowNumber(), partition_by=[F(column)], order_by=[F("created_at").asc(), F("pk").asc()])
            )
            .filter(position__lte=LEADS_PER_GROUP)
            .order_by(column, "position")
        )
        for lead in members:
            by_value[getattr(lead, column)].leads.append(lead)
    return DuplicatePage(key=key, groups=groups, next_after=next_after)


def lead_possible_duplicates(*, user: User, lead: Lead, limit: int = 10) -> list[Lead]:
    """Leads the user may merge that share this lead's normalised email or phone (the lead page's offer)."""
    condition = Q()
    if lead.email_normalized:
        condition |= Q(email_normalized=lead.email_normalized)
    if lead.phone_normalized:
        condition |= Q(phone_normalized=lead.phone_normalized)
    if not condition or not access.can_merge_leads(user):
        return []
    return list(
        leads_mergeable_by(user=user)
        .filter(condition)
        .exclude(pk=lead.pk)
        .select_related("owner")
        .order_by("created_at", "pk")[:limit]
    )


def lead_merges(*, lead: Lead) -> QuerySet[LeadMerge]:
    return LeadMerge.objects.filter(survivor=lead).select_related("merged_by").order_by("-merged_at", "-id")


@dataclass
class MergePlan:
    """What a merge would do, for the confirmation page."""

    survivor: Lead
    merged: list[Lead]
    filled: dict[str, object]  # facts the survivor would take from the merged leads
    moved: dict[str, int]
    conflicts: list[Conflict] = field(default_factory=list)
    outcome_from: Lead | None = None  # the lead whose stage (and deal value) the survivor takes


def _shares_a_key(survivor: Lead, other: Lead) -> bool:
    same_email = bool(survivor.email_normalized) and survivor.email_normalized == other.email_normalized
    same_phone = bool(survivor.phone_normalized) and survivor.phone_normalized == other.phone_normalized
    return same_email or same_phone


def _load_for_merge(*, user: User, survivor_id: int, merged_ids: list[int], lock: bool) -> tuple[Lead, list[Lead]]:
    """The survivor and the merged leads, checked: 403 for reps, 404 for a lead the user cannot merge, a
    ValidationError (keyed by form field) for a merge that makes no sense."""
    access.ensure(access.can_merge_leads, user)
    merged_ids = sorted(set(merged_ids) - {survivor_id})
    if not merged_ids:
        raise ValidationError({"merged": "Choose at least one other lead to merge into the one you keep."})
    if len(merged_ids) > MAX_MERGE:
        raise ValidationError({"merged": f"Merge at most {MAX_MERGE} leads at a time."})
    wanted = [survivor_id, *merged_ids]
    leads = Lead.objects.filter(pk__in=leads_mergeable_by(user=user).filter(pk__in=wanted).values("pk"))
    if lock:
        # Locked in id order, so two merges touching the same leads queue instead of deadlocking.
        leads = leads.select_for_update().order_by("pk")
    found = {lead.pk: lead for lead in leads}
    if len(found) != len(wanted):
        raise Http404("No such lead.")
    survivor = found[survivor_id]
    merged = sorted((found[pk] for pk in merged_ids), key=lambda lead: (lead.created_at, lead.pk))
    strangers = [lead for lead in merged if not _shares_a_key(survivor, lead)]
    if strangers:
        names = ", ".join(f"{lead.name} (#{lead.pk})" for lead in strangers)
        raise ValidationError({"merged": f"These leads share neither email nor phone with the one you keep: {names}."})
    return survivor, merged


def _facts_to_fill(survivor: Lead, merged: list[Lead], picks: dict[str, int] | None = None) -> dict[str, object]:
    """Facts the survivor takes from a merged lead: by default its blank ones, from the first merged lead (the
    oldest first) that has one; `picks` (field → lead id, from the review page) chooses another lead's value."""
    picks = picks or {}
    by_id = {lead.pk: lead for lead in merged}
    filled: dict[str, object] = {}
    for name in FILLABLE_FACTS:
        picked = by_id.get(picks.get(name))
        if picked is not None:
            if not same_value(getattr(picked, name), getattr(survivor, name)):
                filled[name] = getattr(picked, name)
            continue
        if not is_blank(name, getattr(survivor, name)):
            continue
        for lead in merged:
            value = getattr(lead, name)
            if not is_blank(name, value):
                filled[name] = value
                break
    return filled


def _attributes(survivor: Lead, merged: list[Lead]) -> dict:
    """Custom attributes of all the leads; on a clash the survivor's value wins, then the oldest merged lead's."""
    attributes: dict = {}
    for lead in reversed(merged):
        attributes.update(lead.attributes or {})
    attributes.update(survivor.attributes or {})
    return attributes


def _moved_counts(merged_ids: list[int]) -> dict[str, int]:
    def count_of(model) -> int:
        return model.objects.filter(lead_id__in=merged_ids).count()

    return {
        "interactions": count_of(Interaction),
        "tasks": count_of(FollowUpTask),
        "stage_changes": count_of(StageChange),
    }


def _outcome_pick(survivor: Lead, merged: list[Lead], picks: dict[str, int]) -> tuple[Lead, str]:
    leads = [survivor, *merged]
    outcome, reason = outcome_default(leads)
    picked = next((lead for lead in leads if lead.pk == picks.get("outcome")), None)
    if picked is not None and picked.pk != outcome.pk:
        return picked, "Your pick replaces the default."
    return outcome, reason


def merge_plan(
    *, user: User, survivor_id: int, merged_ids: list[int], picks: dict[str, int] | None = None
) -> MergePlan:
    survivor, merged = _load_for_merge(user=user, survivor_id=survivor_id, merged_ids=merged_ids, lock=False)
    picks = picks or {}
    filled = _facts_to_fill(survivor, merged, picks)
    outcome, reason = _outcome_pick(survivor, merged, picks)
    return MergePlan(
        survivor=survivor,
        merged=merged,
        filled=filled,
        moved=_moved_counts([lead.pk for lead in merged]),
        conflicts=merge_conflicts(survivor, merged, outcome, reason, filled),
        outcome_from=outcome,
    )


# --- The merge ---------------------------------------------------------------------------------------------------


def _relink_notifications(merged_ids: list[int], survivor_url: str) -> int:
    """Notifications linking to a merged lead's page (or an anchor on it, "#task-7") link to the survivor's: one
    UPDATE, keeping the anchor."""
    condition, whens = Q(), []
    for pk in merged_ids:
        url = reverse("leads:detail", args=[pk])
        match = Q(url=url) | Q(url__startswith=f"{url}#")
        condition |= match
        whens.append(When(match, then=Concat(Value(survivor_url), Substr("url", len(url) + 1))))
    return Notification.objects.filter(condition).update(url=Case(*whens, default=F("url")))


def _snapshot(lead: Lead) -> dict:
    """The lead's facts as JSON values: times in full ISO 8601 (microseconds kept), amounts as strings."""
    facts = {}
    for name in SNAPSHOT_FIELDS:
        value = getattr(lead, name)
        if isinstance(value, dt.datetime):
            value = value.isoformat()
        elif isinstance(value, Decimal):
            value = str(value)
        facts[name] = value
    return facts


OUTCOME_FIELDS = ("stage", "stage_changed_at", "lost_reason", "deal_value", "won_at")


@transaction.atomic
def leads_merge(
    *, user: User, survivor_id: int, merged_ids: list[int], picks: dict[str, int] | None = None
) -> LeadMerge:
    """Merge leads into the survivor, in one transaction, the leads locked; nothing they held is lost.

    1. Interactions, follow-up tasks, stage history and earlier merge records move to the survivor (one UPDATE
       each); in-app notifications that linked to a merged lead link to the survivor.
    2. The survivor takes the outcome of `outcome_default` (Won beats everything, then the most recent of Lost
       and open, then the furthest stage) with its deal value, lost reason and dates; its blank facts are filled
       from the merged leads (its own values are kept); `picks` (field → lead id, from the review page) choose
       other values, the outcome included. Custom attributes are combined (the survivor's win on a clash).
       Every field the merge changed is on the lead's history, and the moved entries say which lead they came
       from (`merged_from_lead_id`); the merged leads' addresses redirect to the survivor (`LeadRedirect`).
    3. The merged leads are deleted (their response clocks and scores with them), after their facts were kept
       in the `LeadMerge` audit entry.
    4. The survivor's first response, response time, last activity and response clock are recomputed from
       the interactions it now has (a New lead with a response becomes Contacted, as when one is logged), and
       `lead_changed` (on commit) makes scoring rescore it.
    """
    survivor, merged = _load_for_merge(user=user, survivor_id=survivor_id, merged_ids=merged_ids, lock=True)
    merged_ids = [lead.pk for lead in merged]
    picks = picks or {}
    now = clock.now()

    # A behavioural event is recorded once per lead by its key: the same event on two of the merged records stays
    # twice (both moved, nothing lost), without the key that would make the survivor hold it twice.
    keys = Interaction.objects.filter(lead_id__in=[survivor.pk, *merged_ids]).exclude(event_key="")
    shared = keys.values("event_key").annotate(leads=Count("lead_id", distinct=True)).filter(leads__gt=1)
    Interaction.objects.filter(lead_id__in=merged_ids, event_key__in=shared.values("event_key")).update(event_key="")
    # Each moved entry remembers the lead it was first recorded on (kept through later merges).
    origin = {
        "lead_id": survivor.pk,
        "merged_from_lead_id": Coalesce("merged_from_lead_id", "lead_id", output_field=BigIntegerField()),
    }
    moved = {
        "interactions": Interaction.objects.filter(lead_id__in=merged_ids).update(**origin),
        "tasks": FollowUpTask.objects.filter(lead_id__in=merged_ids).update(lead_id=survivor.pk),
        "stage_changes": StageChange.objects.filter(lead_id__in=merged_ids).update(**origin),
    }
    LeadHistory.objects.filter(lead_id__in=merged_ids).update(**origin)
    LeadMerge.objects.filter(survivor_id__in=merged_ids).update(survivor_id=survivor.pk)
    moved["notifications"] = _relink_notifications(merged_ids, survivor.get_absolute_url())
    # The merged leads' addresses (and those of leads merged into them before) lead to the survivor.
    LeadRedirect.objects.filter(lead_id__in=merged_ids).update(lead_id=survivor.pk)
    LeadRedirect.objects.bulk_create(
        [LeadRedirect(old_lead_id=pk, lead_id=survivor.pk, created_at=now) for pk in merged_ids],
        update_conflicts=True,
        unique_fields=["old_lead_id"],
        update_fields=["lead_id", "created_at"],
    )

    before = {name: getattr(survivor, name) for name in (*FILLABLE_FACTS, *OUTCOME_FIELDS)}
    outcome, _ = _outcome_pick(survivor, merged, picks)
    if outcome.pk != survivor.pk and outcome.stage != survivor.stage:
        for name in OUTCOME_FIELDS:
            setattr(survivor, name, getattr(outcome, name))
    elif outcome.pk != survivor.pk and outcome.stage == Stage.WON:
        # Both won: the later win and its value.
        for name in ("deal_value", "won_at"):
            setattr(survivor, name, getattr(outcome, name))
    filled = _facts_to_fill(survivor, merged, picks)
    for name, value in filled.items():
        setattr(survivor, name, value)
    survivor.attributes = _attributes(survivor, merged)
    survivor.email_normalized = normalize_email(survivor.email)
    survivor.phone_normalized = normalize_phone(survivor.phone)
    # The lead's arrival is the earliest of the records: speed to lead counts from the first contact we had.
    arrived_before = survivor.created_at
    arrival = min([arrived_before, *(lead.created_at for lead in merged)])
    arrival_moved = arrival != arrived_before
    survivor.created_at = arrival
    # Only what the merge writes is validated: a survivor with an odd legacy value can still be merged into.
    checked = {name.removesuffix("_id") for name in filled} | {"attributes"}
    survivor.full_clean(exclude=[f.name for f in Lead._meta.fields if f.name not in checked])

    audit = LeadMerge.objects.create(
        survivor=survivor,
        merged_lead_ids=merged_ids,
        snapshot=[_snapshot(lead) for lead in merged],
        moved=moved | {"filled": sorted(filled), "outcome_from": outcome.pk},
        merged_by=user,
        merged_at=now,
        survivor_arrived_at=arrived_before,
    )
    Lead.objects.filter(pk__in=merged_ids).delete()
    survivor.save()
    if survivor.stage != before["stage"]:
        # The stage history says how the kept lead got its new stage: by this merge, from the other record.
        StageChange.objects.create(
            lead=survivor, from_stage=before["stage"], to_stage=survivor.stage, changed_at=now, user=user
        )
        if (before["stage"] in OPEN_STAGES) != (survivor.stage in OPEN_STAGES):
            ResponseClock.objects.filter(lead_id=survivor.pk).update(next_at=None)
    names = ", ".join(f"{lead.name} (#{lead.pk})" for lead in merged)
    changes = {name: (before[name], getattr(survivor, name)) for name in before if name != "stage_changed_at"}
    history_record(
        lead_id=survivor.pk,
        user=user,
        kind=LeadHistory.Kind.MERGE,
        changes={"merged": (None, names), **changes},
        at=now,
        note=f"Merged in {names}",
    )
    if arrival_moved:
        # An answered lead's clock is not re-timed by the recompute (only running ones are): reset it to the new
        # arrival so that it is timed again, against the same target.
        ResponseClock.objects.filter(lead_id=survivor.pk).update(
            arrived_at=arrival, due_at=None, remind_at=None, next_at=None
        )
    leads_response_recompute(lead_ids=[survivor.pk])
    # Nothing is left to remind anyone of on an answered or closed lead.
    ResponseClock.objects.filter(lead_id=survivor.pk, next_at__isnull=False).filter(
        Q(lead__first_response_at__isnull=False) | ~Q(lead__stage__in=OPEN_STAGES)
    ).update(next_at=None)
    survivor.refresh_from_db()
    if survivor.first_response_at is not None and survivor.stage == Stage.NEW:
        # As when a response is logged: a response to a New lead makes it Contacted.
        lead_change_stage(lead=survivor, user=user, stage=Stage.CONTACTED)
    transaction.on_commit(
        lambda: lead_changed.send(sender=Lead, lead_id=survivor.pk, fields=["merged", *sorted(filled)])
    )
    return audit
