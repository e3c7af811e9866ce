"""Signals `leads` sends so that higher apps (scoring, reports) can react without `leads` importing them.

Both are sent on transaction commit, with `lead_id`, so a receiver may queue a Celery task directly.
"""

from django.dispatch import Signal

# Sent when a lead's own facts (profile, stage, owner) changed. kwargs: lead_id, fields (list of names; a new lead's
# are "created", and "utm_campaign" when it arrived with one).
lead_changed = Signal()
# Sent when an interaction was logged on a lead. kwargs: lead_id, interaction_id.
interaction_logged = Signal()
# Sent on commit after many interactions were recorded at once (`leads.services.interactions_record`, e.g. a batch's
# repeat submissions), instead of one `interaction_logged` each. kwargs: lead_ids (list of ints).
interactions_bulk_logged = Signal()
# Sent INSIDE the transaction that creates leads (the arrival pipeline, every way in), before `lead_changed` or
# `leads_bulk_created` on commit: for receivers that must write in that same transaction (scoring notes the new
# leads as waiting to be scored), so an arriving lead costs one commit. Queue work only on commit from it.
# kwargs: lead_ids (list of ints), batch (a `crm.db.Batch` or None): when given, a receiver queues its statements
# in it (they reach PostgreSQL in the round trip of the arrival's own, after the leads are written) rather than
# running them. With a batch the leads' rows are themselves still queued in it: a receiver must not query them.
leads_arriving = Signal()
# Sent on commit after a bulk write (a CSV import chunk) created many leads at once, instead of one
# `lead_changed` per lead (the import has routed its unowned leads already). kwargs: lead_ids (list of ints).
leads_bulk_created = Signal()
# Sent on commit after a bulk write changed the facts of existing leads (an import with --on-duplicate update).
# kwargs: lead_ids (list of ints), fields (list of names).
leads_bulk_updated = Signal()
# Sent at the end of `manage.py seed_demo`'s transaction, so higher apps add their own demo data (customers).
# kwargs: seed (int, the run's random seed).
demo_seeded = Signal()
# Sent (synchronously, not on commit: every chunk is committed by then) when an import has written its whole file,
# before it says it is done, so that reports can rebuild the figures of the days it touched. kwargs: days (a sorted
# list of local dates whose leads the import created or changed), job_id (the ImportJob, or None on the command line).
import_finished = Signal()
