from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from crm import views as crm_views
from customers import views as customer_views
from leads import views as lead_views
from leads.intake import api as leads_api
from leads.intake import views as webform_views
from reports import views as report_views

admin.site.site_header = "Mini CRM administration"
admin.site.site_title = "Mini CRM admin"

urlpatterns = [
    # Managers and admins land on the reports dashboard, reps on My day (the dispatch lives in `reports`).
    path("", report_views.home, name="home"),
    path("my-day/", lead_views.my_day, name="my_day"),
    path("reports/", include("reports.urls")),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Passwords: Django's own views, in the app's layout; the reset link goes out through the email backend.
    path("password/change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password/change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("password/reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path("password/reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("password/reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("health/", crm_views.health, name="health"),
    path("leads/", include("leads.urls")),
    path("notifications/", include("crm.urls_app")),
    path("scoring/", include("scoring.urls")),
    # Campaigns: their pages under /campaigns/, and the public tracking, unsubscribe and registration URLs.
    path("", include("campaigns.urls")),
    path("customers/", include("customers.urls")),
    path("admin/", admin.site.urls),
    # Ways in from outside: the public web-to-lead forms and the JSON API (token-authenticated).
    path("f/<slug:slug>/", webform_views.web_form, name="webform"),
    # A customer's one-click satisfaction survey (a signed link, no login).
    path("s/<str:survey_token>/", customer_views.survey_page, name="survey"),
    *leads_api.urls(),
]

# Error pages in the app's layout; JSON under /api/; 503 with Retry-After when the database is away (crm.errors).
handler400 = "crm.errors.bad_request"
handler403 = "crm.errors.permission_denied"
handler404 = "crm.errors.page_not_found"
handler500 = "crm.errors.server_error"
