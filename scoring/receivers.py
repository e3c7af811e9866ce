"""How scoring hears about changed leads: `leads` sends signals on commit; we mark the lead dirty and, when it
was not already waiting, queue a sweep. Many events for one lead (or a bulk action) cost one rescore."""

from django.db import transaction

from crm.queue import enqueue_coalesced
from scoring import services

# Facts that cannot change a score: skip them (owner changes are frequent and score-neutral).
IGNORED_FIELDS = {"owner"}
# A lead's creation: marked dirty in its own transaction already (`leads_arriving_receiver`).
ARRIVED = {"created"}


def _queue_sweep() -> None:
    # One sweep a second at most, whatever the traffic (an API taking hundreds of leads a second would otherwise
    # send a message per lead): the sweep rescores every lead marked by then. A broker outage is logged, not
    # raised: the lead stays marked dirty and the minute's sweep rescores it.
    enqueue_coalesced("scoring.tasks.rescore_dirty_leads", window=1)


def leads_arriving_receiver(sender, lead_ids=(), batch=None, **kwargs) -> None:
    """New leads, in the transaction creating them: marked dirty with them (one commit for both; in the arrival's
    round trip when it sends a `batch`); the sweep is queued once that commits. Their `lead_changed` ("created")
    or `leads_bulk_created` that follows on commit then has nothing left to do."""
    if not lead_ids:
        return
    if batch is not None:
        batch.add(*services.leads_mark_dirty_statement(lead_ids=list(lead_ids)), then=_queue_sweep_if_marked)
    elif services.leads_mark_dirty(lead_ids=list(lead_ids)):
        transaction.on_commit(_queue_sweep)


def _queue_sweep_if_marked(marked: list) -> None:
    if marked:
        transaction.on_commit(_queue_sweep)


def lead_changed_receiver(sender, lead_id: int, fields=(), **kwargs) -> None:
    if fields and set(fields) <= IGNORED_FIELDS | ARRIVED:
        return
    if services.lead_mark_dirty(lead_id=lead_id):
        transaction.on_commit(_queue_sweep)


def interaction_logged_receiver(sender, lead_id: int, **kwargs) -> None:
    if services.lead_mark_dirty(lead_id=lead_id):
        transaction.on_commit(_queue_sweep)


def leads_bulk_receiver(sender, lead_ids=(), fields=(), **kwargs) -> None:
    """A CSV import chunk created (or updated) many leads: mark them all in one statement, queue one sweep."""
    if fields and set(fields) <= IGNORED_FIELDS:
        return
    if lead_ids and services.leads_mark_dirty(lead_ids=list(lead_ids)):
        transaction.on_commit(_queue_sweep)
