"""Writes of the scoring app: editing models (drafts), publishing, and computing scores.

Split by subdomain: `models_edit` (drafts, rules, groups, bands, publish, rollback), `rescore` (writing scores,
bulk and per lead, runs, the dirty-leads sweep), `learning` (suggested weights), `discovery` (a model
discovered from data: rules proposed and learned).
"""

from scoring.services.discovery import scoring_model_discover
from scoring.services.learning import scoring_model_suggest
from scoring.services.models_edit import (
    bands_set,
    group_create,
    group_delete,
    group_update,
    rule_create,
    rule_delete,
    rule_update,
    scoring_model_create_draft,
    scoring_model_delete_draft,
    scoring_model_publish,
    scoring_model_update,
)
from scoring.services.rescore import (
    dirty_leads_rescore,
    lead_mark_dirty,
    lead_rescore,
    leads_mark_dirty,
    leads_mark_dirty_statement,
    leads_rescore,
    scores_decay,
    scoring_run_execute,
    scoring_run_join_or_start,
    scoring_run_start,
    scoring_runs_resume_stalled,
)

__all__ = [
    "bands_set",
    "dirty_leads_rescore",
    "group_create",
    "group_delete",
    "group_update",
    "lead_mark_dirty",
    "lead_rescore",
    "leads_mark_dirty",
    "leads_mark_dirty_statement",
    "leads_rescore",
    "rule_create",
    "rule_delete",
    "rule_update",
    "scores_decay",
    "scoring_model_create_draft",
    "scoring_model_delete_draft",
    "scoring_model_discover",
    "scoring_model_publish",
    "scoring_model_suggest",
    "scoring_model_update",
    "scoring_run_execute",
    "scoring_run_join_or_start",
    "scoring_run_start",
    "scoring_runs_resume_stalled",
]
