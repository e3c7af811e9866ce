"""The JSON API, /api/v1/ (django-ninja): create and read leads, record behavioural events.

Authentication: `Authorization: Bearer <token>`, a per-channel token admins create and revoke on the channel's
set-up page. A token creates leads in its channel and reads, matches and records events on its channel's leads
only: to a token, a lead of another channel is a lead that does not exist. Errors are JSON:
`{"errors": {"field": ["message", ...]}}` with 400 (bad input, malformed JSON), 401 (no, unknown or revoked
token), 403 (channel switched off), 404, 422 (an Idempotency-Key reused with another request), 429 (over
API_RATE_LIMIT requests per minute; Retry-After says when to come back).

Schema: /api/v1/openapi.json; documentation page: /api/v1/docs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, path
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer
from pydantic import ConfigDict, Field, create_model, field_validator, model_validator

from crm import access, clock, errors, generations
from crm.db import Batch
from leads.channels import services as channel_services
from leads.facts import API_FACTS, API_OUT_FACTS, Fact, attributes_problem
from leads.intake import services as intake
from leads.intake.pipeline import OWN_CHANNEL
from leads.models import ApiToken, Lead
from leads.normalize import email_problem, normalize_email, normalize_phone
from leads.routing import services as routing
from leads.sla import services as sla


class ApiError(Exception):
    def __init__(self, status: int, errors: dict[str, list[str]], headers: dict[str, str] | None = None):
        super().__init__(status, errors)
        self.status, self.errors, self.headers = status, errors, headers or {}


class TokenAuth(HttpBearer):
    """A live channel token; then the token's rate limit (so a flood of bad tokens costs one query each)."""

    openapi_description = "A channel's API token: `Authorization: Bearer crm_…`"

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        api_token, retry_after, generations_read = channel_services.api_token_for_call(
            raw=token,
            limit=settings.API_RATE_LIMIT,
            window=60,
            also_read=(routing.RULES_GENERATION_KEY, sla.POLICIES_GENERATION_KEY),
        )
        if api_token is None:
            return None
        # The routing rules' and response policies' generations, read in the same round trip: the call's work
        # uses them (`_idempotent`).
        request.generations_read = generations_read
        if not api_token.channel.active:
            raise ApiError(403, {"Authorization": [f"The channel “{api_token.channel}” is switched off."]})
        if retry_after is not None:
            raise ApiError(
                429,
                {"Authorization": [f"Over {settings.API_RATE_LIMIT} requests a minute; retry in {retry_after} s."]},
                headers={"Retry-After": str(retry_after)},
            )
        return api_token


api = NinjaAPI(
    title="Mini CRM API",
    version="1",
    description=__doc__,
    auth=TokenAuth(),
    urls_namespace="api-v1",
    docs_url="/docs",
    openapi_url="/openapi.json",
)


def _errors_response(request: HttpRequest, status: int, errors: dict, headers: dict | None = None) -> HttpResponse:
    response = api.create_response(request, {"errors": errors}, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


@api.exception_handler(ApiError)
def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return _errors_response(request, exc.status, exc.errors, exc.headers)


@api.exception_handler(NinjaValidationError)
def _validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    """400 with each bad field named: {"errors": {"email": ["..."]}} (not ninja's 422 list)."""
    errors: dict[str, list[str]] = {}
    for error in exc.errors:
        loc = [str(part) for part in error.get("loc", ())]
        # ("body", "payload", "email") → "email"; ("body", "payload") → "body" (the body as a whole).
        if loc[:1] == ["body"]:
            loc = loc[2:]
        field = ".".join(loc) or "body"
        message = re.sub(r"^(Value error|Assertion failed), ", "", error.get("msg", "Invalid value."))
        # A rule across fields names its field first ("email: Give an email or a phone number.").
        named = re.fullmatch(r"([a-z_]+): (.+)", message, flags=re.DOTALL)
        if named and (field == "body" or re.fullmatch(r"leads\.\d+", field)):  # a batch's lead: leads.3.email
            name, message = named.groups()
            field = name if field == "body" else f"{field}.{name}"
        errors.setdefault(field, []).append(message)
    return _errors_response(request, 400, errors)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    message = "Send a live API token: Authorization: Bearer <token>. This one is missing, unknown or revoked."
    return _errors_response(request, 401, {"Authorization": [message]}, {"WWW-Authenticate": "Bearer"})


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 400:  # ninja's "Cannot parse request body"
        return _errors_response(request, 400, {"body": ["The body is not valid JSON."]})
    return _errors_response(request, exc.status_code, {"detail": [str(exc)]})


@api.exception_handler(OperationalError)
@api.exception_handler(InterfaceError)
def _database_unavailable(request: HttpRequest, exc: Exception) -> HttpResponse:
    # 503 with Retry-After, as the site's handler answers; under DEBUG too, where ninja would answer a traceback.
    return errors.server_error_response(request, exc)


# --- Schemas ---------------------------------------------------------------------------------------------------

# What the API says of a fact beyond the model's help text.
_API_NOTES = {"name": "Full name; or give first_name and last_name."}


def _fact_input(fact: Fact) -> tuple[Any, Any]:
    """A fact's type and default in the API's input, from its model field (lengths, choices, bounds)."""
    description = " ".join(filter(None, (fact.help, _API_NOTES.get(fact.name, "")))) or None
    kind = fact.kind
    if kind in ("text", "email"):
        return Annotated[str, Field(max_length=fact.longest, description=description)], ""
    if kind == "int":
        low, high = fact.bounds
        return Annotated[int, Field(ge=low, le=high, description=description)] | None, None
    if kind == "decimal":
        low, high = fact.bounds
        field = fact.field
        number = Field(
            ge=low, le=high, max_digits=field.max_digits, decimal_places=field.decimal_places, description=description
        )
        return Annotated[Decimal, number] | None, None
    if kind == "choice":
        return Annotated[Literal[tuple(value for value, _ in fact.choices)], Field(description=description)], (
            fact.field.get_default()
        )
    if kind == "json":
        return dict[str, Any], Field(default_factory=dict, description=description)
    raise TypeError(f"The API has no input type for {fact.name} ({kind})")


def _fact_output(fact: Fact) -> Any:
    kind = fact.kind
    if kind in ("text", "email", "choice"):
        return str
    if kind == "relation":
        return str | None
    return {"int": int, "decimal": Decimal, "datetime": dt.datetime}.get(kind, Any) | None


class _LeadInRules(Schema):
    """The checks of a lead's input across the API's facts (the fields themselves come from leads.facts)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("email", check_fields=False)
    @classmethod
    def _email(cls, value: str) -> str:
        if value and email_problem(value):
            raise ValueError("Enter a valid email address.")
        return value

    @field_validator("phone", check_fields=False)
    @classmethod
    def _phone(cls, value: str) -> str:
        if value and not normalize_phone(value):
            raise ValueError("Not a phone number; include the country code, e.g. +49 30 1234567.")
        return value

    @field_validator("country", check_fields=False)
    @classmethod
    def _country(cls, value: str) -> str:
        if value and not re.fullmatch(r"[A-Za-z]{2}", value):
            raise ValueError("Two letters (ISO 3166), e.g. DE.")
        return value.upper()

    @field_validator("attributes", check_fields=False)
    @classmethod
    def _attributes(cls, value: dict) -> dict:
        problem = attributes_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _contactable(self) -> _LeadInRules:
        if not self.name:
            self.name = f"{self.first_name} {self.last_name}".strip()
        if not self.name:
            raise ValueError("name: Give a name (or first_name and last_name).")
        if not self.email and not self.phone:
            raise ValueError("email: Give an email or a phone number.")
        return self


LeadIn = create_model(
    "LeadIn",
    __base__=_LeadInRules,
    **{fact.name: _fact_input(fact) for fact in API_FACTS},
    message=(Annotated[str, Field(max_length=5000)], ""),
    page_url=(Annotated[str, Field(max_length=2000)], ""),
    referrer=(Annotated[str, Field(max_length=2000)], ""),
)


class LeadsBatchIn(Schema):
    model_config = ConfigDict(extra="forbid")

    leads: list[LeadIn] = Field(  # type: ignore[valid-type]
        min_length=1, max_length=intake.BATCH_MAX_LEADS, description="1 to 100 leads, each as for POST /leads/."
    )


class ErrorsOut(Schema):
    errors: dict[str, list[str]] = Field(description="Each bad field (or header, or `body`) with its messages.")


ERRORS = {
    400: ErrorsOut,
    401: ErrorsOut,
    403: ErrorsOut,
    404: ErrorsOut,
    422: ErrorsOut,
    429: ErrorsOut,
}


class OwnerOut(Schema):
    id: int
    username: str
    name: str


LeadOut = create_model(
    "LeadOut",
    __base__=Schema,
    id=(int, ...),
    **{fact.name: (_fact_output(fact), ...) for fact in API_OUT_FACTS},
    owner=(OwnerOut | None, ...),
    in_pool=(bool, ...),
    stage=(str, ...),
    score=(int | None, ...),
    grade=(str | None, ...),
    created_at=(dt.datetime, ...),
    first_response_at=(dt.datetime | None, ...),
    url=(str, ...),
)


class LeadCreated(Schema):
    created: bool = Field(description="True: a new lead of the token's channel.")
    lead: LeadOut


class LeadRef(Schema):
    id: int


class LeadMatched(Schema):
    created: bool = Field(description="False: the channel already had a lead with this email or phone.")
    lead: LeadRef = Field(description="Only its id: the answer tells nothing the request did not send.")


class LeadsBatchOut(Schema):
    results: list[LeadMatched] = Field(description="One per lead sent, in the same order.")


EventKind = Literal["web_visit", "form_submission", "download", "email_open", "email_click", "event_attended"]


class EventIn(Schema):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: EventKind
    lead_id: int | None = Field(None, description="The lead, by id…")
    email: Annotated[str, Field(max_length=254)] = Field("", description="…or by email (the latest such lead).")
    occurred_at: dt.datetime | None = Field(None, description="When it happened (ISO 8601); default now.")
    url: Annotated[str, Field(max_length=2000)] = Field("", description="The page, link or asset.")
    pages: Annotated[int, Field(ge=0, le=10_000)] | None = Field(None, description="Web visits: pages viewed.")
    seconds: Annotated[int, Field(ge=0, le=86_400 * 7)] | None = Field(None, description="Web visits: time on site.")
    subject: Annotated[str, Field(max_length=200)] = Field("", description="e.g. the email's subject, the event.")
    event_id: Annotated[str, Field(max_length=64)] = Field(
        "",
        description="Your id for this event: a retried delivery with the same id is recorded once (answer 200). "
        "Without it, an event that gives `occurred_at` is recognised by what it says; one with neither is "
        "retry-safe only with an Idempotency-Key.",
    )

    def event_key(self) -> str:
        """The event's identity for `intake.event_record`: the sender's id, else a digest of an event that says
        when it happened (two deliveries of one event say the same), else none."""
        if self.event_id:
            return f"id:{self.event_id}"
        if self.occurred_at is None:
            return ""
        said = [self.kind, self.occurred_at.isoformat(), self.url, self.subject, self.pages, self.seconds]
        return "sha:" + hashlib.sha256(json.dumps(said).encode()).hexdigest()[:56]

    @field_validator("occurred_at")
    @classmethod
    def _not_future(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("Give a time zone, e.g. 2026-05-01T10:00:00Z.")
        if value > clock.now() + dt.timedelta(minutes=5):
            raise ValueError("Cannot be in the future.")
        return value

    @model_validator(mode="after")
    def _one_lead(self) -> EventIn:
        if self.lead_id is None and not self.email:
            raise ValueError("lead_id: Give lead_id or email.")
        if self.kind != "web_visit" and (self.pages is not None or self.seconds is not None):
            raise ValueError("pages: Pages and seconds belong to web_visit events only.")
        return self


class EventOut(Schema):
    id: int
    lead_id: int
    kind: str
    direction: str
    occurred_at: dt.datetime


# --- Endpoints ------------------------------------------------------------------------------------------------


def _fact_value(lead: Lead, fact: Fact) -> Any:
    value = getattr(lead, fact.name)
    if fact.kind == "relation":  # by the name the export uses too ("channel__name")
        return getattr(value, fact.source.partition("__")[2]) if value is not None else None
    return value


def _lead_out(request: HttpRequest, lead: Lead) -> dict:
    owner = lead.owner
    return {
        "id": lead.pk,
        **{fact.name: _fact_value(lead, fact) for fact in API_OUT_FACTS},
        "owner": {"id": owner.pk, "username": owner.username, "name": owner.get_full_name() or owner.username}
        if owner
        else None,
        "in_pool": owner is None,
        "stage": lead.stage,
        "score": lead.score,
        "grade": lead.grade or None,
        "created_at": lead.created_at.isoformat(),
        "first_response_at": lead.first_response_at.isoformat() if lead.first_response_at else None,
        "url": request.build_absolute_uri(lead.get_absolute_url()),
    }


def _idempotent(request: HttpRequest, produce) -> HttpResponse:
    key = request.headers.get("Idempotency-Key")
    if key is not None:
        key = key.strip()
        if not key or len(key) > 255:
            raise ApiError(400, {"Idempotency-Key": ["Give 1 to 255 characters, e.g. a UUID."]})
    token: ApiToken = request.auth
    try:
        with generations.read_together(getattr(request, "generations_read", {})):
            status, body, replayed = intake.idempotent(
                token=token,
                key=key,
                request_hash=intake.fingerprint(request.method, request.path, request.body.decode("utf-8", "replace")),
                produce=produce,
            )
    except intake.IdempotencyMismatch:
        raise ApiError(
            422, {"Idempotency-Key": ["This key was used with a different request; use a new key."]}
        ) from None
    response = api.create_response(request, body, status=status)
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return response


@api.post(
    "/leads/",
    response={201: LeadCreated, 200: LeadMatched, **ERRORS},
    summary="Create a lead in the token's channel",
    description="When the token's channel already has a lead with this email or phone, no lead is created: the "
    "submission is recorded on that lead as a form-submission interaction and the answer is 200 with "
    "`created: false` and the lead's id only. Leads of other channels are never matched nor shown: the "
    "submission becomes a new lead of the token's channel (201), which the CRM lists among possible duplicates.",
)
def create_lead(request: HttpRequest, payload: LeadIn):
    token: ApiToken = request.auth

    def produce(pending: Batch) -> tuple[int, dict]:
        data = payload.model_dump()
        message, page_url, referrer = data.pop("message"), data.pop("page_url"), data.pop("referrer")
        facts = {
            fact.name: data[fact.name]
            for fact in API_FACTS
            if fact.field is not None and data[fact.name] not in ("", None, {})  # name parts made the name
        }
        try:
            arrival = intake.lead_arrive(
                channel=token.channel,
                facts=facts,
                submission={"via": "api", "token": token.name, "url": page_url, "referrer": referrer},
                message=message,
                record_new=False,
                # What the token sees (`access.leads_for_token`: its channel's leads), read the quick way.
                among=OWN_CHANNEL,
                # The new lead's last statements go with the idempotency key's (`intake.idempotent`).
                pending=pending,
            )
        except DjangoValidationError as error:
            errors = error.message_dict if hasattr(error, "error_dict") else {"body": error.messages}
            raise ApiError(400, errors) from None
        if not arrival.created:
            return 200, {"created": False, "lead": {"id": arrival.lead.pk}}
        # The lead as stored, without reading it back: its channel is the token's; an owner routing chose is read.
        lead = arrival.lead
        lead.channel = token.channel
        return 201, {"created": True, "lead": _lead_out(request, lead)}

    return _idempotent(request, produce)


@api.post(
    "/leads/batch/",
    response={200: LeadsBatchOut, **ERRORS},
    summary="Create up to 100 leads in the token's channel in one call",
    description="For syncing a backlog or a busy form provider: each lead is handled as by POST /leads/ (created, "
    "or recorded on the channel's lead with its email or phone, including an earlier lead of the same batch), in "
    "one transaction and one pass of the pipeline. The answer lists, in order, `created` and the lead's id. If "
    "any lead is refused (400, its fields named `leads.<index>.<field>`) nothing is stored. An Idempotency-Key "
    "covers the whole batch.",
)
def create_leads_batch(request: HttpRequest, payload: LeadsBatchIn):
    token: ApiToken = request.auth

    def produce(pending: Batch) -> tuple[int, dict]:
        batch = []
        for item in payload.leads:
            data = item.model_dump()
            message, page_url, referrer = data.pop("message"), data.pop("page_url"), data.pop("referrer")
            facts = {
                fact.name: data[fact.name]
                for fact in API_FACTS
                if fact.field is not None and data[fact.name] not in ("", None, {})
            }
            submission = {"via": "api", "token": token.name, "url": page_url, "referrer": referrer}
            batch.append(intake.BatchArrival(facts=facts, submission=submission, message=message))
        try:
            intake.leads_arrive(channel=token.channel, batch=batch, among=OWN_CHANNEL)  # the token's leads
        except DjangoValidationError as error:
            errors = {f"leads.{field}": messages for field, messages in error.message_dict.items()}
            raise ApiError(400, errors) from None
        return 200, {"results": [{"created": item.created, "lead": {"id": item.lead_id}} for item in batch]}

    return _idempotent(request, produce)


@api.get("/leads/{lead_id}/", response={200: LeadOut, **ERRORS}, summary="Read a lead of the token's channel")
def read_lead(request: HttpRequest, lead_id: int):
    token: ApiToken = request.auth
    lead = access.leads_for_token(token).select_related("channel", "owner").filter(pk=lead_id).first()
    if lead is None:
        raise ApiError(404, {"lead_id": [f"No lead {lead_id} in the channel “{token.channel}”."]})
    return _lead_out(request, lead)


@api.post(
    "/events/",
    response={201: EventOut, 200: EventOut, **ERRORS},
    summary="Record a behavioural event on a lead of the token's channel",
    description="The lead is found by `lead_id`, by `email` (the channel's latest such lead), or by both (then "
    "both must match). A lead that is not the channel's answers exactly like one that does not exist (404). "
    "A redelivered event (same `event_id`, or same `occurred_at` and contents) answers 200 with the first one.",
)
def create_event(request: HttpRequest, payload: EventIn):
    token: ApiToken = request.auth

    def produce(pending: Batch) -> tuple[int, dict]:
        leads = access.leads_for_token(token)
        if payload.email:
            leads = leads.filter(email_normalized=normalize_email(payload.email))
        if payload.lead_id is not None:
            leads = leads.filter(pk=payload.lead_id)
        lead = leads.order_by("-created_at", "-id").first()
        if lead is None:
            # One answer for "no such lead", "another channel's lead" and "another email": nothing to learn.
            field = "lead_id" if payload.lead_id is not None else "email"
            raise ApiError(404, {field: [f"No such lead in the channel “{token.channel}”."]})
        details = {"via": "api", "token": request.auth.name}
        for name in ("url", "pages", "seconds"):
            value = getattr(payload, name)
            if value not in ("", None):
                details[name] = value
        try:
            interaction, created = intake.event_record(
                lead=lead,
                kind=payload.kind,
                occurred_at=payload.occurred_at,
                subject=payload.subject,
                details=details,
                event_key=payload.event_key(),
            )
        except DjangoValidationError as error:  # e.g. a time before the lead existed
            errors = error.message_dict if hasattr(error, "error_dict") else {"body": error.messages}
            raise ApiError(400, errors) from None
        return 201 if created else 200, {
            "id": interaction.pk,
            "lead_id": lead.pk,
            "kind": interaction.kind,
            "direction": interaction.direction,
            "occurred_at": interaction.occurred_at.isoformat(),
        }

    return _idempotent(request, produce)


def urls() -> list[URLPattern | URLResolver]:
    """The API's URL patterns for crm/urls.py: token-authenticated, so outside the login requirement; its docs
    and schema are for people logged in, unless API_DOCS_PUBLIC."""
    patterns, app_name, namespace = api.urls

    def exempt(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                exempt(pattern.url_patterns)
            elif pattern.name not in ("openapi-json", "openapi-view") or settings.API_DOCS_PUBLIC:
                login_not_required(pattern.callback)

    exempt(patterns)
    return [path("api/v1/", (patterns, app_name, namespace))]
