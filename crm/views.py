import logging
import math

from celery import current_app
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from crm import selectors, services
from crm.errors import RETRY_AFTER_SECONDS
from crm.forms import NotificationPreferencesForm
from crm.models import Notification

logger = logging.getLogger(__name__)


@login_not_required
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """For load balancers and operators: database, broker and cache, each "ok" or "down".

    200 while the database answers (the app can serve, even with the broker or cache away: work is queued later and
    rate limits wait); 503 with Retry-After when it does not.
    """
    checks = {"database": _check(_database_answers), "broker": _check(_broker_answers), "cache": _check(_cache_answers)}
    status = 200 if checks["database"] == "ok" else 503
    response = JsonResponse({"status": "ok" if status == 200 else "unavailable", **checks}, status=status)
    if status == 503:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _check(probe) -> str:
    try:
        probe()
    except Exception:
        logger.warning("Health check %s failed", probe.__name__, exc_info=True)
        return "down"
    return "ok"


def _database_answers() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _broker_answers() -> None:
    with current_app.connection_for_write() as broker:
        broker.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)


def _cache_answers() -> None:
    cache.set("health-check", "ok", timeout=10)
    if cache.get("health-check") != "ok":
        raise RuntimeError("The cache did not keep a value.")


def login_locked_out(
    request: HttpRequest, response: HttpResponse | None, credentials: dict | None, retry_after: int | None = None
) -> HttpResponse:
    """django-axes's answer to a login refused after too many failures (AXES_LOCKOUT_CALLABLE), and crm.limits' for
    an address that failed too often: the app's layout, 429 Too Many Requests, and how long to wait (by default the
    whole cool-off: each try while locked out starts it again)."""
    seconds = retry_after if retry_after is not None else int(settings.AXES_COOLOFF_TIME.total_seconds())
    minutes = math.ceil(seconds / 60)
    page = render(request, "registration/locked_out.html", {"minutes": minutes}, status=429)
    page["Retry-After"] = str(seconds)
    return page


@require_GET
def notification_bell(request: HttpRequest) -> HttpResponse:
    """The bell's unread count; the layout polls it with htmx."""
    return render(
        request, "crm/notifications.html#bell", {"unread": selectors.unread_notification_count(user=request.user)}
    )


@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    notifications = selectors.notifications_for(user=request.user)[:100]
    unread = selectors.unread_notification_count(user=request.user)
    return render(request, "crm/notifications.html", {"notifications": notifications, "unread": unread})


@require_POST
def notification_open(request: HttpRequest, notification_id: int) -> HttpResponse:
    """Mark one notice read and go where it points."""
    notification = get_object_or_404(Notification, pk=notification_id, user=request.user)
    services.notifications_mark_read(user=request.user, ids=[notification.pk])
    url = notification.url
    if not url or not url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}):
        url = "crm:notifications"
    return redirect(url)


@require_POST
def notification_mark_all_read(request: HttpRequest) -> HttpResponse:
    services.notifications_mark_read(user=request.user)
    return redirect("crm:notifications")


def notification_settings(request: HttpRequest) -> HttpResponse:
    """Each person's own choice: email digests on or off."""
    form = NotificationPreferencesForm(request.POST if request.method == "POST" else None, instance=request.user)
    saved = False
    if request.method == "POST" and form.is_valid():
        services.user_preferences_update(
            user=request.user, email_notifications=form.cleaned_data["email_notifications"]
        )
        if not request.htmx:
            messages.success(request, "Notification settings saved.")
            return redirect("crm:notification_settings")
        form, saved = NotificationPreferencesForm(instance=request.user), True
    template = "crm/notification_settings.html#settings_form" if request.htmx else "crm/notification_settings.html"
    return render(request, template, {"form": form, "saved": saved})
