"""Channels: where leads come from, what they cost, and the ways in each one offers (web form, API tokens).

Admins only (`crm.access.can_configure_channels`). A token is shown once and stored as its SHA-256.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.db.models.signals import post_delete, post_save

from crm import access, clock, generations, limits
from crm.models import User
from leads.models import ApiToken, Channel, ChannelSpend, WebForm

logger = logging.getLogger(__name__)

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
    api_tokens_changed()
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
        _touch(token)
    return token


def _touch(token: ApiToken) -> None:
    """Write down that the token was used: at most once a minute per token, so a busy integration does not
    rewrite the row per request (nor send the statement: the row read says when it was last written)."""
    now = clock.now()
    if token.last_used_at is not None and token.last_used_at >= now - dt.timedelta(minutes=1):
        return
    ApiToken.objects.filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - dt.timedelta(minutes=1)), pk=token.pk
    ).update(last_used_at=now)
    token.last_used_at = now


# --- Tokens of an API call: remembered per process, checked against a generation in the cache -------------------
#
# An API call must not pay a query for its token (issue 11: intake within a few milliseconds). Each process keeps
# the tokens it has seen, each with the generation of the token set it was read under; a change to any token or
# channel (created, revoked, renamed, switched off, deleted) writes a new generation to the cache, at once and again
# on commit. Every call reads the generation in the same round trip to Redis as its rate-limit count, so a revoked
# token is refused by every worker on its next call. Without the cache (away, or no generation) the token is read
# from the database, as the truth always is.

GENERATION_KEY = "api-tokens:generation"
# However the generations go, a remembered token is read again after this long.
REMEMBER_SECONDS = 60
_REMEMBER_MOST = 1000


@dataclass(frozen=True)
class _Remembered:
    token: ApiToken
    generation: str
    until: float


_remembered: dict[str, _Remembered] = {}


def api_tokens_changed() -> None:
    """Tokens or channels changed: every process reads its tokens again (now, and once the change commits)."""
    generations.renew(GENERATION_KEY)


def _on_change(sender, **kwargs) -> None:
    api_tokens_changed()


def connect_signals() -> None:
    """Renew the generation whenever a token or channel row is saved or deleted, by any code (from `apps.ready`,
    so every process does, the admin's and the workers' too). `api_token_revoke` updates in bulk and says so."""
    for model in (ApiToken, Channel):
        post_save.connect(_on_change, sender=model, dispatch_uid=f"api-tokens-changed:{model.__name__}:save")
        post_delete.connect(_on_change, sender=model, dispatch_uid=f"api-tokens-changed:{model.__name__}:delete")


def api_token_for_call(
    *, raw: str, limit: int, window: int = 60, also_read: Sequence[str] = ()
) -> tuple[ApiToken | None, int | None, dict[str, object]]:
    """The live token of an API call and its rate limit: (token or None, seconds to wait when over `limit` calls
    in `window` seconds else None, the generations `also_read`). A known token costs one round trip to Redis and
    no query, and that round trip also reads the generations in `also_read` (keys of `crm.generations`, e.g. the
    routing rules'; None for one absent, `generations.AWAY` when the cache is unreachable; not read, so not in the
    dict, on a token's first call); an unknown token
    is looked up in the database (and a bad token's flood costs one query each, uncounted, as before)."""
    if not raw or len(raw) > 200:
        return None, None, {}
    digest = _token_hash(raw)
    remembered = _remembered.get(digest)
    if remembered is not None:
        retry_after, (generation, *others) = limits.rate_limit_hit_reading(
            bucket=f"api:{remembered.token.pk}", limit=limit, window=window, read=(GENERATION_KEY, *also_read)
        )
        read = {key: _generation_read(value) for key, value in zip(also_read, others, strict=True)}
        if generation == remembered.generation and time.monotonic() < remembered.until:
            _touch(remembered.token)
            return remembered.token, retry_after, read
        token = _remember(digest, generation)
        return token, retry_after if token is not None else None, read
    token = _remember(digest, generations.current(GENERATION_KEY))
    if token is None:
        return None, None, {}
    retry_after = limits.rate_limit_hit(bucket=f"api:{token.pk}", limit=limit, window=window)
    return token, retry_after, {}


def _generation_read(value: object) -> object:
    """A generation as `rate_limit_hit_reading` read it, as `generations.read_together` takes it."""
    if value is limits.UNREACHABLE:
        return generations.AWAY
    return value if isinstance(value, str) else None


def _remember(digest: str, generation) -> ApiToken | None:
    """The token with this hash from the database; remembered under `generation` (read before the database, so
    a change committed in between renews it) when that is a real one."""
    _remembered.pop(digest, None)
    token = ApiToken.objects.select_related("channel").filter(token_hash=digest, revoked_at__isnull=True).first()
    if token is None:
        return None
    _touch(token)
    if isinstance(generation, str):
        if len(_remembered) >= _REMEMBER_MOST:
            _remembered.clear()
        _remembered[digest] = _Remembered(token, generation, time.monotonic() + REMEMBER_SECONDS)
    return token
