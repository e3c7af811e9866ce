"""The protections every public form shares (the web-to-lead form, an event's registration page): a rate limit per
client address, a honeypot field, and one arrival per submission within WEBFORM_DUPLICATE_WINDOW.

A view asks `over_limit` first (a 429 page with Retry-After), answers a bot (`is_bot`) as it thanks anyone, so it
learns nothing, then validates its form and hands `arrive_once` the work that stores the arrival.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from crm import limits
from leads.channels.forms import HONEYPOT_FIELD
from leads.intake import services as intake


def over_limit(request: HttpRequest, *, bucket: str, limit: int, template: str, context: dict) -> HttpResponse | None:
    """A 429 page (with Retry-After) when this client address sent more than `limit` submissions to `bucket` in
    the last WEBFORM_RATE_WINDOW; None when it may go on."""
    retry_after = limits.rate_limit_hit(
        bucket=f"{bucket}:{intake.client_ip(request)}", limit=limit, window=settings.WEBFORM_RATE_WINDOW
    )
    if retry_after is None:
        return None
    context = {**context, "minutes": max(1, round(retry_after / 60))}
    response = render(request, template, context, status=429)
    response["Retry-After"] = str(retry_after)
    return response


def is_bot(request: HttpRequest) -> bool:
    """The honeypot field, hidden from people, was filled in."""
    return bool(request.POST.get(HONEYPOT_FIELD, "").strip())


def arrive_once(*, kind: str, form: Form, arrive: Callable[[], object]) -> bool | None:
    """Store one arrival per submission: True once `arrive()` ran, False when the same submission came within
    WEBFORM_DUPLICATE_WINDOW (a double click, a reload: thank them again, store nothing), None when `arrive()`
    refused it (its reasons are on the form, and the submission may be corrected and sent again)."""
    once_key = intake.fingerprint(kind, *form.duplicate_key())
    if not intake.claim_once(key=once_key, timeout=settings.WEBFORM_DUPLICATE_WINDOW):
        return False
    try:
        arrive()
    except ValidationError as error:
        intake.release_claim(key=once_key)
        for field, messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
        return None
    except Exception:
        intake.release_claim(key=once_key)
        raise
    return True
