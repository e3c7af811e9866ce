"""Signals `leads` sends so that higher apps (scoring, reports) can react without `leads` importing them.

Both are sent on transaction commit, with `lead_id`, so a receiver may queue a Celery task directly.
"""

from django.dispatch import Signal

# Sent when a lead's own facts (profile, stage, owner) changed. kwargs: lead_id, fields (list of names).
lead_changed = Signal()
# Sent when an interaction was logged on a lead. kwargs: lead_id, interaction_id.
interaction_logged = Signal()
