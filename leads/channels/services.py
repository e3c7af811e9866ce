"""Channels: where leads come from, what they cost, and the ways in each one offers (web form, API tokens).

Admins only (`crm.access.can_configure_channels`). A token is shown once and stored as its SHA-256.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.db import transaction
from django.db.models import Q

from crm import access, clock
from crm.models import User
from leads.models import ApiToken, Channel, ChannelSpend, WebForm

TOKEN_PREFIX = "crm_"


@transaction.atomic
def channel_save(*, user: User, channel: Channel) -> Channel:
    access.ensure(access.can_configure_channels, user)
    channel.full_clean()
    channel.save()
    return channel


@transaction.atomic
def channel_spend_save(*, user: User, spend: ChannelSpend) -> ChannelSpend:
    access.ensure(access.can_configure_channels, user)
    spend.full_clean()
    spend.save()
    return spend


@transaction.atomic
def channel_spend_delete(*, user: User, spend: ChannelSpend) -> None:
    access.ensure(access.can_configure_channels, user)
    spend.delete()


@transaction.atomic
def web_form_save(*, user: User, form: WebForm) -> WebForm:
    access.ensure(access.can_configure_channels, user)
    form.full_clean()
    form.save()
    return form


def _token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, user: User, channel: Channel, name: str) -> tuple[ApiToken, str]:
    """A new token for a channel. Returns the row and the token itself, which is never stored nor shown again."""
    access.ensure(access.can_configure_channels, user)
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(channel=channel, name=name.strip(), prefix=raw[:12], token_hash=_token_hash(raw), created_by=user)
    token.full_clean()
    token.save()
    return token, raw


def api_token_revoke(*, user: User, token: ApiToken) -> ApiToken:
    """Revoke a token at once (idempotent: a revoked token keeps its first revocation time)."""
    access.ensure(access.can_configure_channels, user)
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=clock.now())
    token.refresh_from_db(fields=["revoked_at"])
    return token


def api_token_authenticate(*, raw: str) -> ApiToken | None:
    """The live token a bearer string belongs to (with its channel), or None for an unknown or revoked one."""
    if not raw or len(raw) > 200:
        return None
    token = (
        ApiToken.objects.select_related("channel").filter(token_hash=_token_hash(raw), revoked_at__isnull=True).first()
    )
    if token is not None:
        now = clock.now()
        # Written at most once a minute per token, so a busy integration does not rewrite the row per request (nor
        # send the statement: the row just read says when it was last written).
        if token.last_used_at is not None and token.last_used_at >= now - dt.timedelta(minutes=1):
            return token
        ApiToken.objects.filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - dt.timedelta(minutes=1)), pk=token.pk
        ).update(last_used_at=now)
    return token
