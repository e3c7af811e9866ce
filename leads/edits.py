"""Telling one person's edit of a lead from everyone else's: how a fact's values compare, and the refusal."""

from django.core.exceptions import ValidationError

from leads.models import Channel, Lead


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
