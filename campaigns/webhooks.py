"""The bounce webhook, `POST /c/bounces/`: a mail provider (or a relay of its bounce notices) reports bounced
campaign messages by their Message-IDs, with a channel's API token (`Authorization: Bearer crm_…`, the tokens
admins create on the channel's set-up page). A token reports bounces of its own channel's campaigns only.

    POST /c/bounces/   {"message_ids": ["<campaign-send-12@crm.localhost>", …]}
    200 {"recorded": 1, "already_bounced": 0, "not_found": []}

Idempotent: a repeated report changes nothing and counts the message as already bounced. Errors are JSON
`{"errors": {"field": ["message"]}}`: 400 (not JSON, not a list of strings, more than CAMPAIGN_BOUNCE_BATCH ids,
an id longer than 1,000 characters), 401 (no, unknown or revoked token), 403 (channel switched off), 405 (not
POST), 413 (body over CAMPAIGN_BOUNCE_MAX_BYTES), 429 (over API_RATE_LIMIT requests a minute, with Retry-After).
"""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from campaigns.tracking import bounces_record
from crm import limits
from leads.channels import services as channel_services

MAX_ID = 1000


def _error(status: int, field: str, message: str, **headers) -> JsonResponse:
    response = JsonResponse({"errors": {field: [message]}}, status=status)
    for name, value in headers.items():
        response[name] = value
    return response


@login_not_required
@csrf_exempt
@never_cache
def bounces(request: HttpRequest) -> JsonResponse:
    if request.method != "POST":
        return _error(405, "method", 'POST a JSON body: {"message_ids": [...]}.', Allow="POST")
    header = request.headers.get("Authorization", "")
    raw = header[7:].strip() if header[:7].lower() == "bearer " else ""
    token = channel_services.api_token_authenticate(raw=raw)
    if token is None:
        return _error(
            401,
            "Authorization",
            "Send a live API token: Authorization: Bearer <token>. This one is missing, unknown or revoked.",
            **{"WWW-Authenticate": "Bearer"},
        )
    if not token.channel.active:
        return _error(403, "Authorization", f"The channel “{token.channel}” is switched off.")
    retry_after = limits.rate_limit_hit(bucket=f"api:{token.pk}", limit=settings.API_RATE_LIMIT, window=60)
    if retry_after is not None:
        return _error(
            429,
            "Authorization",
            f"Over {settings.API_RATE_LIMIT} requests a minute; retry in {retry_after} s.",
            **{"Retry-After": str(retry_after)},
        )
    body = request.read(settings.CAMPAIGN_BOUNCE_MAX_BYTES + 1)
    if len(body) > settings.CAMPAIGN_BOUNCE_MAX_BYTES:
        return _error(413, "body", f"At most {settings.CAMPAIGN_BOUNCE_MAX_BYTES:,} bytes a request.")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return _error(400, "body", "The body is not valid JSON.")
    ids = payload.get("message_ids") if isinstance(payload, dict) else None
    if not isinstance(ids, list) or not all(isinstance(item, str) for item in ids):
        return _error(400, "message_ids", "Give message_ids: a list of Message-IDs (strings).")
    if len(ids) > settings.CAMPAIGN_BOUNCE_BATCH:
        return _error(400, "message_ids", f"At most {settings.CAMPAIGN_BOUNCE_BATCH:,} Message-IDs a request.")
    if any(len(item) > MAX_ID for item in ids):
        return _error(400, "message_ids", f"A Message-ID is at most {MAX_ID:,} characters.")
    return JsonResponse(bounces_record(references=ids, channel_id=token.channel_id))
