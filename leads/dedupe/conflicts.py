"""What the leads of a merge disagree on, and what the merge keeps by default (`leads.dedupe.services`).

The outcome (stage with its deal value, lost reason and dates) follows `outcome_default`: a merge never loses a
closed outcome or a deal value. Facts keep the kept lead's value; its blank ones are filled from the others. The
review page shows every field in conflict, each lead's value, the default ticked and why.
"""

from dataclasses import dataclass

from leads.facts import FACTS
from leads.models import FUNNEL, OPEN_STAGES, Lead, Stage

# Facts the survivor takes from a merged lead when its own is blank, and the value that counts as blank (the
# field's default): every editable fact of leads.facts but the name (the survivor's stays) and the attributes
# (merged key by key).
FILLABLE_FACTS: dict[str, object] = {
    fact.field.attname: fact.field.get_default()
    for fact in FACTS
    if fact.editable and fact.name not in ("name", "attributes")
}


@dataclass
class Choice:
    """One lead's value of a field in conflict, as the review page offers it."""

    lead: Lead
    shown: str
    chosen: bool = False


@dataclass
class Conflict:
    """A field the leads disagree on: each lead's value, the one the merge takes by default, and why."""

    name: str  # a fact's attribute name, or "outcome" (stage with its deal value, lost reason, dates)
    label: str
    choices: list[Choice]
    reason: str

    @property
    def chosen(self) -> Choice:
        return next(choice for choice in self.choices if choice.chosen)


def is_blank(name: str, value: object) -> bool:
    return value in (FILLABLE_FACTS[name], None, "")


def same_value(a: object, b: object) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.strip().casefold() == b.strip().casefold()
    return a == b


# --- The outcome: which lead's stage (and deal value) the survivor takes --------------------------------------


def outcome_shown(lead: Lead) -> str:
    if lead.stage == Stage.WON:
        return f"Won {lead.deal_value:,.2f} on {lead.won_at:%d %b %Y}"
    if lead.stage == Stage.LOST:
        return f"Lost ({lead.get_lost_reason_display()}) on {lead.stage_changed_at:%d %b %Y}"
    return f"{lead.get_stage_display()} since {lead.stage_changed_at:%d %b %Y}"


def outcome_default(leads: list[Lead]) -> tuple[Lead, str]:
    """The lead whose stage the merged lead takes, and why: a merge never loses a closed outcome or a deal value.

    1. Won beats everything (of two wins, the later): the deal happened, whatever the other records say.
    2. Otherwise, between Lost and open records, the most recent word wins: a lead lost after the last move of
       every open record stays Lost (its duplicates were older attempts); an open record that arrived or moved
       after the loss means the person came back, so the lead goes on, at that record's stage.
    3. Among open records, the furthest stage of the funnel (of two equal, the later move).
    """
    won = [lead for lead in leads if lead.stage == Stage.WON]
    if won:
        winner = max(won, key=lambda lead: (lead.won_at, lead.pk))
        return winner, "Won beats every other stage: the deal and its value are kept."
    open_ = [lead for lead in leads if lead.stage in OPEN_STAGES]
    lost = [lead for lead in leads if lead.stage == Stage.LOST]
    furthest = (
        max(open_, key=lambda lead: (FUNNEL.index(lead.stage), lead.stage_changed_at, lead.pk)) if open_ else None
    )
    if not lost:
        return furthest, "The furthest stage of the funnel is kept."
    last_loss = max(lost, key=lambda lead: (lead.stage_changed_at, lead.pk))
    if furthest is None:
        return last_loss, "Every record was lost: the latest loss and its reason are kept."
    last_open_move = max(lead.stage_changed_at for lead in open_)
    if last_open_move > last_loss.stage_changed_at:
        return furthest, (
            "A record arrived or moved after the loss: the person came back, so the lead stays open at its "
            "furthest stage (the loss stays in the history)."
        )
    return last_loss, "The lead was lost after the last move of every open record: the loss and its reason are kept."


def merge_conflicts(
    survivor: Lead, merged: list[Lead], outcome: Lead, reason: str, filled: dict[str, object]
) -> list[Conflict]:
    """The fields the leads disagree on, each with every lead's value and the one the merge takes."""
    leads = [survivor, *merged]
    conflicts = []
    stages = {lead.stage for lead in leads}
    # Two open records at the same stage differ only by date: no conflict. Two wins may differ by value: one.
    if len({outcome_shown(lead) for lead in leads}) > 1 and (len(stages) > 1 or Stage.WON in stages):
        choices = [Choice(lead=lead, shown=outcome_shown(lead), chosen=lead.pk == outcome.pk) for lead in leads]
        conflicts.append(Conflict(name="outcome", label="Stage and deal", choices=choices, reason=reason))
    for name in FILLABLE_FACTS:
        values = [(lead, getattr(lead, name)) for lead in leads if not is_blank(name, getattr(lead, name))]
        distinct = []
        for _, value in values:
            if not any(same_value(value, seen) for seen in distinct):
                distinct.append(value)
        if len(distinct) < 2:
            continue
        taken = filled.get(name, getattr(survivor, name))
        choices = []
        for lead, value in values:
            shown = value_shown(lead, name, value)
            chosen = same_value(value, taken) and not any(c.chosen for c in choices)
            choices.append(Choice(lead=lead, shown=shown, chosen=chosen))
        fact = next(f for f in FACTS if f.field is not None and f.field.attname == name)
        default = "picked" if name in filled and not is_blank(name, getattr(survivor, name)) else "kept"
        reason = (
            "The kept lead's own value is kept unless you pick another."
            if default == "kept"
            else "Your pick replaces the kept lead's value."
        )
        conflicts.append(Conflict(name=name, label=fact.verbose_label, choices=choices, reason=reason))
    return conflicts


def value_shown(lead: Lead, name: str, value: object) -> str:
    model_field = Lead._meta.get_field(name.removesuffix("_id")) if name.endswith("_id") else Lead._meta.get_field(name)
    if model_field.is_relation:
        return str(getattr(lead, model_field.name))
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    return str(value)
