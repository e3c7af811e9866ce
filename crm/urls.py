from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from crm import views as crm_views
from leads import views as lead_views

admin.site.site_header = "Mini CRM administration"
admin.site.site_title = "Mini CRM admin"

urlpatterns = [
    path("", lead_views.my_day, name="home"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("health/", crm_views.health, name="health"),
    path("leads/", include("leads.urls")),
    path("notifications/", include("crm.urls_app")),
    path("scoring/", include("scoring.urls")),
    path("admin/", admin.site.urls),
]
