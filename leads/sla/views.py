"""Admins' speed-to-lead settings: response targets (policies) and business-hours calendars.

Only admins reach these pages; reps and managers get 403 (the pages exist for them, they may not use them).
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from crm import access
from crm.models import BusinessCalendar
from leads.models import ResponsePolicy
from leads.sla import selectors as sla_selectors
from leads.sla import services as sla_services
from leads.sla.forms import BusinessCalendarForm, ResponsePolicyForm


def _back_to_settings(request: HttpRequest) -> HttpResponse:
    url = reverse("leads:sla_policies")
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@require_GET
@access.require(access.can_configure_response_targets)
def policy_list(request: HttpRequest) -> HttpResponse:
    context = {"policies": sla_selectors.response_policies(), "calendars": sla_selectors.business_calendars()}
    return render(request, "leads/sla/settings.html", context)


@access.require(access.can_configure_response_targets)
def policy_edit(request: HttpRequest, policy_id: int | None = None) -> HttpResponse:
    policy = get_object_or_404(ResponsePolicy, pk=policy_id) if policy_id else ResponsePolicy()
    form = ResponsePolicyForm(request.POST if request.method == "POST" else None, instance=policy)
    if request.method == "POST" and form.is_valid():
        try:
            sla_services.response_policy_save(user=request.user, policy=form.instance)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request, f"Response target “{policy.name}” saved; running response clocks are being re-timed."
            )
            return _back_to_settings(request)
    template = "leads/sla/policy_form.html#form" if request.htmx else "leads/sla/policy_form.html"
    return render(request, template, {"form": form, "policy": policy})


@require_POST
@access.require(access.can_configure_response_targets)
def policy_delete(request: HttpRequest, policy_id: int) -> HttpResponse:
    policy = get_object_or_404(ResponsePolicy, pk=policy_id)
    sla_services.response_policy_delete(user=request.user, policy=policy)
    messages.success(request, f"Response target “{policy.name}” deleted.")
    return _back_to_settings(request)


@access.require(access.can_configure_response_targets)
def calendar_edit(request: HttpRequest, calendar_id: int | None = None) -> HttpResponse:
    calendar = get_object_or_404(BusinessCalendar, pk=calendar_id) if calendar_id else BusinessCalendar()
    form = BusinessCalendarForm(request.POST if request.method == "POST" else None, instance=calendar)
    if request.method == "POST" and form.is_valid():
        try:
            sla_services.business_calendar_save(
                user=request.user, calendar=form.instance, holidays=form.cleaned_data["holidays"]
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Calendar “{calendar.name}” saved; running response clocks are being re-timed.")
            return _back_to_settings(request)
    template = "leads/sla/calendar_form.html#form" if request.htmx else "leads/sla/calendar_form.html"
    return render(request, template, {"form": form, "calendar": calendar})


@require_POST
@access.require(access.can_configure_response_targets)
def calendar_delete(request: HttpRequest, calendar_id: int) -> HttpResponse:
    calendar = get_object_or_404(BusinessCalendar, pk=calendar_id)
    try:
        sla_services.business_calendar_delete(user=request.user, calendar=calendar)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Calendar “{calendar.name}” deleted.")
    return _back_to_settings(request)
