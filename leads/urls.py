from django.urls import path

from leads import views

app_name = "leads"

urlpatterns = [
    path("", views.lead_list, name="list"),
    path("new/", views.lead_create, name="create"),
    path("count/", views.lead_count, name="count"),
    path("bulk/", views.lead_bulk, name="bulk"),
    path("duplicates-check/", views.lead_duplicates_check, name="duplicates_check"),
    path("<int:lead_id>/", views.lead_detail, name="detail"),
    path("<int:lead_id>/edit/", views.lead_edit, name="edit"),
    path("<int:lead_id>/log/", views.interaction_create, name="log"),
    path("<int:lead_id>/stage/", views.lead_stage, name="stage"),
    path("<int:lead_id>/assign/", views.lead_assign, name="assign"),
    path("<int:lead_id>/claim/", views.lead_claim, name="claim"),
    path("<int:lead_id>/tasks/", views.task_create, name="task_create"),
    path("tasks/<int:task_id>/toggle/", views.task_toggle, name="task_toggle"),
]
