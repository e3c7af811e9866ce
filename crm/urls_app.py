from django.urls import path

from crm import views

app_name = "crm"

urlpatterns = [
    path("", views.notification_list, name="notifications"),
    path("bell/", views.notification_bell, name="notification_bell"),
    path("read-all/", views.notification_mark_all_read, name="notifications_read_all"),
    path("settings/", views.notification_settings, name="notification_settings"),
    path("<int:notification_id>/open/", views.notification_open, name="notification_open"),
]
