"""Admins' channel set-up: channels (kind, on/off), their spend periods, web form and API tokens.

Only admins reach these pages; reps and managers get 403, as on the other settings pages.
"""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_POST

from crm import access
from leads.channels import services as channel_services
from leads.channels.forms import (
    HONEYPOT_FIELD,
    UTM_FIELDS,
    ApiTokenForm,
    ChannelForm,
    ChannelSpendForm,
    WebFormSettingsForm,
    WebToLeadForm,
)
from leads.models import ApiToken, Channel, ChannelSpend, WebForm


def _form_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, messages_ in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages_)
    else:
        form.add_error(None, error)


@require_GET
@access.require(access.can_configure_channels)
def channel_list(request: HttpRequest) -> HttpResponse:
    channels = list(Channel.objects.select_related("web_form").order_by("-active", "name"))
    # Tokens and spend are summed in their own grouped queries: joined together they would multiply each other.
    live_tokens = dict(
        ApiToken.objects.filter(revoked_at__isnull=True)
        .values("channel")
        .annotate(n=Count("id"))
        .values_list("channel", "n")
    )
    spend: dict[int, list[tuple]] = {}
    for channel_id, currency, total in (
        ChannelSpend.objects.values("channel", "currency")
        .annotate(total=Sum("amount"))
        .order_by("channel", "currency")
        .values_list("channel", "currency", "total")
    ):
        spend.setdefault(channel_id, []).append((total, currency))  # never adds up different currencies
    for channel in channels:
        channel.live_tokens = live_tokens.get(channel.pk, 0)
        channel.spend_totals = spend.get(channel.pk, [])
    return render(request, "leads/channels/list.html", {"channels": channels})


@access.require(access.can_configure_channels)
def channel_edit(request: HttpRequest, channel_id: int | None = None) -> HttpResponse:
    channel = get_object_or_404(Channel, pk=channel_id) if channel_id else Channel()
    form = ChannelForm(request.POST if request.method == "POST" else None, instance=channel)
    if request.method == "POST" and form.is_valid():
        try:
            channel_services.channel_save(user=request.user, channel=form.instance)
        except ValidationError as error:
            _form_errors(form, error)
        else:
            messages.success(request, f"Channel “{channel.name}” saved.")
            return redirect("leads:channel_edit", channel.pk)
    context = {"form": form, "channel": channel, "status": 400 if form.errors else 200}
    if channel.pk:
        context.update(_channel_sections(request, channel))
    return render(request, "leads/channels/channel.html", context, status=context["status"])


def _channel_sections(request: HttpRequest, channel: Channel, **forms) -> dict:
    return {
        "spends": channel.spends.order_by("-period_start"),
        "tokens": channel.api_tokens.select_related("created_by").order_by("revoked_at", "-created_at"),
        "web_form": WebForm.objects.filter(channel=channel).first(),
        "spend_form": forms.get("spend_form") or ChannelSpendForm(channel=channel),
        "token_form": forms.get("token_form") or ApiTokenForm(),
        "api_base": request.build_absolute_uri("/api/v1/"),
    }


@access.require(access.can_configure_channels)
def spend_edit(request: HttpRequest, channel_id: int, spend_id: int | None = None) -> HttpResponse:
    channel = get_object_or_404(Channel, pk=channel_id)
    spend = get_object_or_404(ChannelSpend, pk=spend_id, channel=channel) if spend_id else ChannelSpend()
    form = ChannelSpendForm(request.POST if request.method == "POST" else None, instance=spend, channel=channel)
    if request.method == "POST" and form.is_valid():
        try:
            channel_services.channel_spend_save(user=request.user, spend=form.instance)
        except ValidationError as error:
            _form_errors(form, error)
        else:
            messages.success(request, f"Spend for {spend.period_start:%Y-%m-%d} – {spend.period_end:%Y-%m-%d} saved.")
            return redirect(reverse("leads:channel_edit", args=[channel.pk]) + "#spend")
    status = 400 if form.errors else 200
    return render(
        request, "leads/channels/spend_form.html", {"form": form, "channel": channel, "spend": spend}, status=status
    )


@require_POST
@access.require(access.can_configure_channels)
def spend_delete(request: HttpRequest, channel_id: int, spend_id: int) -> HttpResponse:
    spend = get_object_or_404(ChannelSpend, pk=spend_id, channel_id=channel_id)
    channel_services.channel_spend_delete(user=request.user, spend=spend)
    messages.success(request, f"Spend for {spend.period_start:%Y-%m-%d} – {spend.period_end:%Y-%m-%d} deleted.")
    return redirect(reverse("leads:channel_edit", args=[channel_id]) + "#spend")


@access.require(access.can_configure_channels)
def web_form_edit(request: HttpRequest, channel_id: int) -> HttpResponse:
    channel = get_object_or_404(Channel, pk=channel_id)
    web_form = WebForm.objects.filter(channel=channel).first() or WebForm(
        channel=channel, slug=slugify(channel.name)[:60] or f"channel-{channel.pk}"
    )
    form = WebFormSettingsForm(request.POST if request.method == "POST" else None, instance=web_form)
    if request.method == "POST" and form.is_valid():
        try:
            channel_services.web_form_save(user=request.user, form=form.instance)
        except ValidationError as error:
            _form_errors(form, error)
        else:
            state = "published" if web_form.published else "saved (not published)"
            messages.success(request, f"Web form {state}.")
            return redirect("leads:channel_web_form", channel.pk)
    context = {
        "form": form,
        "channel": channel,
        "web_form": web_form,
        "rate_limit": settings.WEBFORM_RATE_LIMIT,
        "rate_minutes": max(1, settings.WEBFORM_RATE_WINDOW // 60),
    }
    if web_form.pk:
        saved = WebForm.objects.get(pk=web_form.pk)  # the snippet shows what is saved, not what was just typed
        # The address this page was opened at (its host and port), not a setting that may name another port.
        context["form_url"] = request.build_absolute_uri(saved.get_absolute_url())
        context["snippet"] = render_to_string(
            "leads/webform/_snippet.html",
            {
                "web_form": saved,
                "action": context["form_url"],
                "fields": WebToLeadForm(web_form=saved),
                "honeypot": HONEYPOT_FIELD,
                "utm_fields": UTM_FIELDS,
            },
        ).strip()
    return render(request, "leads/channels/web_form.html", context, status=400 if form.errors else 200)


@require_POST
@access.require(access.can_configure_channels)
def token_create(request: HttpRequest, channel_id: int) -> HttpResponse:
    channel = get_object_or_404(Channel, pk=channel_id)
    form = ApiTokenForm(request.POST)
    if not form.is_valid():
        context = {"form": ChannelForm(instance=channel), "channel": channel}
        context.update(_channel_sections(request, channel, token_form=form))
        return render(request, "leads/channels/channel.html", context, status=400)
    token, raw = channel_services.api_token_create(user=request.user, channel=channel, name=form.cleaned_data["name"])
    # Shown this once: only its hash is kept. Not a redirect, so the token never sits in a URL or a session.
    context = {
        "channel": channel,
        "token": token,
        "raw_token": raw,
        "api_base": request.build_absolute_uri("/api/v1/"),
    }
    response = render(request, "leads/channels/token_created.html", context)
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@access.require(access.can_configure_channels)
def token_revoke(request: HttpRequest, channel_id: int, token_id: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=token_id, channel_id=channel_id)
    channel_services.api_token_revoke(user=request.user, token=token)
    messages.success(request, f"Token “{token.name}” revoked: calls with it are refused from now on.")
    return redirect(reverse("leads:channel_edit", args=[channel_id]) + "#tokens")
