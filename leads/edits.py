"""Edits of a lead: telling one person's edit from everyone else's (how a fact's values compare, and the refusal),
and the audit trail every edit, reassignment and merge writes in its own transaction (`LeadHistory`)."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import connection

from crm.models import User
from leads.facts import BY_NAME
from leads.models import Channel, Lead, LeadHistory


class EditConflict(ValidationError):
    """Fields someone else changed while this person was editing them: nothing was written.

    `conflicts` maps each field to (its value now, the value this person gave); the messages, one per field, say
    both, so a form can show them next to the fields.
    """

    def __init__(self, conflicts: dict[str, tuple[object, object]]):
        self.conflicts = conflicts
        super().__init__(
            {
                name: (
                    f"Someone else changed this to {_shown(name, theirs)} while you were editing; "
                    f"your value: {_shown(name, yours)}."
                )
                for name, (theirs, yours) in conflicts.items()
            }
        )


def _shown(name: str, value: object) -> str:
    """A lead fact's value as a person reads it: the choice's label, the channel's name, "nothing" when empty."""
    if value is None or value == "":
        return "nothing"
    field = Lead._meta.get_field(name)
    if field.is_relation:
        if not isinstance(value, Channel):
            value = Channel.objects.filter(pk=value).first() or value
        return f"“{value}”"
    if field.choices:
        return f"“{dict(field.flatchoices).get(value, value)}”"
    return f"“{value}”"


def _comparable(value: object) -> object:
    """A fact's value reduced to what is stored: a row to its key, line ends as a textarea's or a hidden input's."""
    if isinstance(value, Channel):
        return value.pk
    if isinstance(value, str):
        return value.replace("\r\n", "\n")
    return value


def stored(lead: Lead, name: str) -> object:
    """The fact as the row holds it (a channel as its key)."""
    return getattr(lead, Lead._meta.get_field(name).attname)


def same(a: object, b: object) -> bool:
    """Whether two values of a fact are the same for the person: a shown value, a typed one or a stored one."""
    return _comparable(a) == _comparable(b)


# --- The audit trail: who changed what, from what, to what, when (`LeadHistory`) ---------------------------------

# Labels of what is not a fact of leads.facts.
_HISTORY_LABELS = {
    "owner": "Owner",
    "stage": "Stage",
    "deal_value": "Deal value",
    "won_at": "Won on",
    "lost_reason": "Lost reason",
    "merged": "Merged in",
    "tasks": "Follow-ups",
}


def history_text(value: object) -> str | None:
    """A value as the audit trail stores it: as the row holds it (a key, a choice's code), None for nothing."""
    value = _comparable(value)
    if value is None or value == "":
        return None
    if hasattr(value, "pk"):  # a user
        return str(value.pk)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def history_rows(
    *,
    lead_id: int,
    user,
    kind: str,
    changes: dict[str, tuple[object, object]],
    at,
    note: str = "",
) -> list[LeadHistory]:
    """One `LeadHistory` row per changed field, unsaved: the caller writes them with the change, in one INSERT."""
    return [
        LeadHistory(
            lead_id=lead_id,
            user=user,
            kind=kind,
            field=name,
            old_value=history_text(old),
            new_value=history_text(new),
            note=note[:300],
            changed_at=at,
        )
        for name, (old, new) in changes.items()
        if history_text(old) != history_text(new) or name in ("merged", "tasks")
    ]


def history_record(**kwargs) -> list[LeadHistory]:
    """Write the rows of `history_rows` in one statement (in the caller's transaction)."""
    return LeadHistory.objects.bulk_create(history_rows(**kwargs))


def history_label(name: str) -> str:
    if name in _HISTORY_LABELS:
        return _HISTORY_LABELS[name]
    fact = BY_NAME.get(name) or BY_NAME.get(name.removesuffix("_id"))
    return fact.verbose_label if fact is not None else name.replace("_", " ").capitalize()


def history_shown(entries: list[LeadHistory]) -> list[LeadHistory]:
    """Give each entry `label`, `old_shown` and `new_shown` as a person reads them: people and channels by name (one
    query each for the whole list), choices by label, "nothing" for nothing."""
    user_ids, channel_ids = set(), set()
    for entry in entries:
        target = (
            user_ids if entry.field == "owner" else channel_ids if entry.field in ("channel", "channel_id") else None
        )
        if target is not None:
            target.update(int(v) for v in (entry.old_value, entry.new_value) if v and v.isdigit())
    users = {u.pk: str(u) for u in User.objects.filter(pk__in=user_ids)} if user_ids else {}
    channels = {c.pk: str(c) for c in Channel.objects.filter(pk__in=channel_ids)} if channel_ids else {}

    def shown(field: str, value: str | None) -> str:
        if value is None or value == "":
            return "the pool" if field == "owner" else "nothing"
        if field == "owner":
            return users.get(int(value), f"user #{value}") if value.isdigit() else value
        if field in ("channel", "channel_id"):
            return channels.get(int(value), value) if value.isdigit() else value
        if field in ("merged", "tasks"):
            return value
        try:
            model_field = Lead._meta.get_field(field)
        except Exception:  # not a lead field: shown as stored
            return value
        if model_field.choices:
            return str(dict(model_field.flatchoices).get(value, value))
        if field == "won_at" and "T" in value:
            return value[:10]
        return value

    for entry in entries:
        entry.label = history_label(entry.field)
        entry.old_shown = shown(entry.field, entry.old_value)
        entry.new_shown = shown(entry.field, entry.new_value)
    return entries


def history_bulk_reassign(*, lead_ids: list[int], owner_id: int | None, user, at: dt.datetime) -> int:
    """One history row per lead whose owner changes, in ONE statement (INSERT ... SELECT from the leads)."""
    history = connection.ops.quote_name(LeadHistory._meta.db_table)
    leads = connection.ops.quote_name(Lead._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {history} (lead_id, user_id, kind, field, old_value, new_value, note, changed_at) "
            f"SELECT id, %s, %s, 'owner', owner_id::text, %s, %s, %s FROM {leads} "
            "WHERE id = ANY(%s) AND owner_id IS DISTINCT FROM %s",
            [
                user.pk if user else None,
                LeadHistory.Kind.ASSIGN,
                str(owner_id) if owner_id is not None else None,
                "Bulk reassignment",
                at,
                lead_ids,
                owner_id,
            ],
        )
        return cursor.rowcount
