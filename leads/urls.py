from django.urls import path

from leads import views
from leads.channels import views as channel_views
from leads.dedupe import views as dedupe_views
from leads.followups import views as followup_views
from leads.imports import views as import_views
from leads.routing import views as routing_views
from leads.sla import views as sla_views

app_name = "leads"

urlpatterns = [
    path("", views.lead_list, name="list"),
    path("new/", views.lead_create, name="create"),
    path("count/", views.lead_count, name="count"),
    path("search/", views.lead_search, name="search"),
    path("bulk/", views.lead_bulk, name="bulk"),
    path("duplicates-check/", views.lead_duplicates_check, name="duplicates_check"),
    path("<int:lead_id>/", views.lead_detail, name="detail"),
    path("<int:lead_id>/edit/", views.lead_edit, name="edit"),
    path("<int:lead_id>/log/", views.interaction_create, name="log"),
    path("<int:lead_id>/stage/", views.lead_stage, name="stage"),
    path("<int:lead_id>/assign/", views.lead_assign, name="assign"),
    path("<int:lead_id>/claim/", views.lead_claim, name="claim"),
    path("<int:lead_id>/tasks/", views.task_create, name="task_create"),
    path("tasks/<int:task_id>/toggle/", followup_views.task_toggle, name="task_toggle"),
    path("tasks/<int:task_id>/snooze/", followup_views.task_snooze, name="task_snooze"),
    path("tasks/<int:task_id>/edit/", followup_views.task_edit, name="task_edit"),
    path("tasks/<int:task_id>/delete/", followup_views.task_delete, name="task_delete"),
    path("interactions/<int:interaction_id>/edit/", views.interaction_edit, name="interaction_edit"),
    path("interactions/<int:interaction_id>/delete/", views.interaction_delete, name="interaction_delete"),
    # Speed to lead settings (admins).
    path("sla/", sla_views.policy_list, name="sla_policies"),
    path("sla/new/", sla_views.policy_edit, name="sla_policy_create"),
    path("sla/<int:policy_id>/", sla_views.policy_edit, name="sla_policy_edit"),
    path("sla/<int:policy_id>/delete/", sla_views.policy_delete, name="sla_policy_delete"),
    path("sla/calendars/new/", sla_views.calendar_edit, name="sla_calendar_create"),
    path("sla/calendars/<int:calendar_id>/", sla_views.calendar_edit, name="sla_calendar_edit"),
    path("sla/calendars/<int:calendar_id>/delete/", sla_views.calendar_delete, name="sla_calendar_delete"),
    # Duplicates and merge (managers and admins).
    path("duplicates/", dedupe_views.duplicates, name="duplicates"),
    path("duplicates/merge/", dedupe_views.merge, name="merge"),
    path("<int:lead_id>/duplicates-panel/", dedupe_views.lead_panel, name="merge_panel"),
    # Channels, their spend, web form and API tokens (admins).
    path("channels/", channel_views.channel_list, name="channels"),
    path("channels/new/", channel_views.channel_edit, name="channel_create"),
    path("channels/<int:channel_id>/", channel_views.channel_edit, name="channel_edit"),
    path("channels/<int:channel_id>/spend/new/", channel_views.spend_edit, name="channel_spend_create"),
    path("channels/<int:channel_id>/spend/<int:spend_id>/", channel_views.spend_edit, name="channel_spend_edit"),
    path(
        "channels/<int:channel_id>/spend/<int:spend_id>/delete/",
        channel_views.spend_delete,
        name="channel_spend_delete",
    ),
    path("channels/<int:channel_id>/form/", channel_views.web_form_edit, name="channel_web_form"),
    path("channels/<int:channel_id>/tokens/", channel_views.token_create, name="channel_token_create"),
    path(
        "channels/<int:channel_id>/tokens/<int:token_id>/revoke/",
        channel_views.token_revoke,
        name="channel_token_revoke",
    ),
]

urlpatterns += [
    # CSV import (managers and admins) and export (anyone, within what they may see).
    path("imports/", import_views.import_list, name="imports"),
    path("imports/<int:job_id>/", import_views.import_detail, name="import_detail"),
    path("imports/<int:job_id>/map/", import_views.import_map, name="import_map"),
    path("imports/<int:job_id>/rejected.csv", import_views.import_rejects, name="import_rejects"),
    path("imports/<int:job_id>/warnings.csv", import_views.import_warnings, name="import_warnings"),
    path("export.csv", import_views.lead_export, name="export"),
    # Assignment, pool and reclaim: rules (admins), the Team page (availability), release.
    path("setup/routing/", routing_views.rules, name="routing_rules"),
    path("setup/routing/rules/new/", routing_views.rule_edit, name="routing_rule_create"),
    path("setup/routing/rules/<int:rule_id>/", routing_views.rule_edit, name="routing_rule_edit"),
    path("setup/routing/rules/<int:rule_id>/delete/", routing_views.rule_delete, name="routing_rule_delete"),
    path("setup/routing/rules/<int:rule_id>/move/", routing_views.rule_move, name="routing_rule_move"),
    path("setup/routing/reclaim/new/", routing_views.reclaim_edit, name="reclaim_rule_create"),
    path("setup/routing/reclaim/<int:rule_id>/", routing_views.reclaim_edit, name="reclaim_rule_edit"),
    path("setup/routing/reclaim/<int:rule_id>/delete/", routing_views.reclaim_delete, name="reclaim_rule_delete"),
    path("setup/team/", routing_views.team, name="team"),
    path("setup/team/<int:user_id>/", routing_views.availability_edit, name="availability_edit"),
    path("<int:lead_id>/release/", routing_views.lead_release, name="release"),
]
