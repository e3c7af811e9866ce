from django.urls import path

from scoring import views

app_name = "scoring"

urlpatterns = [
    path("", views.model_list, name="models"),
    path("new/", views.model_create, name="model_create"),
    path("discover/", views.model_discover, name="discover"),
    path("v<int:version>/", views.model_detail, name="model"),
    path("v<int:version>/settings/", views.model_settings, name="settings"),
    path("v<int:version>/delete/", views.model_delete, name="model_delete"),
    path("v<int:version>/publish/", views.model_publish, name="publish"),
    path("v<int:version>/suggest/", views.model_suggest, name="suggest"),
    path("v<int:version>/preview/", views.model_preview, name="preview"),
    path("v<int:version>/rules/new/", views.rule_create, name="rule_create"),
    path("v<int:version>/groups/new/", views.group_create, name="group_create"),
    path("v<int:version>/bands/", views.bands_edit, name="bands"),
    path("rules/<int:rule_id>/", views.rule_row, name="rule_row"),
    path("rules/<int:rule_id>/edit/", views.rule_edit, name="rule_edit"),
    path("rules/<int:rule_id>/delete/", views.rule_delete, name="rule_delete"),
    path("groups/<int:group_id>/edit/", views.group_edit, name="group_edit"),
    path("groups/<int:group_id>/delete/", views.group_delete, name="group_delete"),
    path("runs/<int:run_id>/", views.run_progress, name="run"),
    path("leads/<int:lead_id>/panel/", views.lead_panel, name="lead_panel"),
]
