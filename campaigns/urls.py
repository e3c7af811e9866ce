"""Campaign URLs: the pages under /campaigns/, and the public ones a lead opens from an email or an event page
(short, at the root: /c/o/ open pixel, /c/c/ tracked link, /c/u/ unsubscribe, /e/ registration)."""

from django.urls import path

from campaigns import public, views, webhooks

app_name = "campaigns"

urlpatterns = [
    path("campaigns/", views.campaign_list, name="list"),
    path("campaigns/new/", views.campaign_edit, name="create"),
    path("campaigns/<int:campaign_id>/", views.campaign_detail, name="detail"),
    path("campaigns/<int:campaign_id>/edit/", views.campaign_edit, name="edit"),
    path("campaigns/<int:campaign_id>/members/", views.members_add, name="members_add"),
    path("campaigns/<int:campaign_id>/members/import/", views.members_import, name="members_import"),
    path("campaigns/<int:campaign_id>/members/<int:member_id>/remove/", views.member_remove, name="member_remove"),
    path("campaigns/<int:campaign_id>/emails/<int:position>/", views.step_edit, name="step_edit"),
    path("campaigns/<int:campaign_id>/schedule/", views.campaign_schedule, name="schedule"),
    path("campaigns/<int:campaign_id>/status/", views.campaign_status, name="status"),
    path("campaigns/<int:campaign_id>/retry/", views.campaign_retry, name="retry"),
    path("campaigns/<int:campaign_id>/check-in/", views.check_in, name="check_in"),
    path("campaigns/<int:campaign_id>/check-in/<int:member_id>/", views.check_in_member, name="check_in_member"),
    path("campaigns/<int:campaign_id>/attendance/", views.attendance_upload, name="attendance_upload"),
    path("campaigns/<int:campaign_id>/follow-up/", views.follow_up, name="follow_up"),
    path("campaigns/lead/<int:lead_id>/", views.lead_panel, name="lead_panel"),
    path("c/o/<str:open_token>/", public.track_open, name="track_open"),
    path("c/c/<str:click_token>/", public.track_click, name="track_click"),
    path("c/u/<str:unsubscribe_token>/", public.unsubscribe, name="unsubscribe"),
    path("c/bounces/", webhooks.bounces, name="bounces_webhook"),
    path("e/<slug:registration>/", public.registration, name="registration"),
]
