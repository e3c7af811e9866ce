"""Error pages people can act on, and API errors in the API's own JSON shape.

- 400, 403, 404: the app's layout with its navigation and the reason (a 403 says why: "Only admins …").
- 500: a page of its own that needs nothing but the template files, since whatever failed may be the database.
- 503, with `Retry-After`: the database (or the broker under it) is unreachable. The request did nothing that
  needs undoing, and trying again in a moment is the right thing to do: browsers are told so, clients too.

Every path under `/api/` answers JSON `{"detail": …}` instead, like the API's own errors.
"""

import logging
import sys

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.views import defaults

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30
UNAVAILABLE_ERRORS = (OperationalError, InterfaceError)


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _json(status: int, detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status)


def bad_request(request: HttpRequest, exception: Exception, template_name: str = "400.html") -> HttpResponse:
    if _is_api(request):
        return _json(400, "Bad request.")
    return defaults.bad_request(request, exception, template_name="errors/400.html")


def permission_denied(request: HttpRequest, exception: Exception, template_name: str = "403.html") -> HttpResponse:
    if _is_api(request):
        return _json(403, str(exception) or "Not allowed.")
    return defaults.permission_denied(request, exception, template_name="errors/403.html")


def page_not_found(request: HttpRequest, exception: Exception, template_name: str = "404.html") -> HttpResponse:
    if _is_api(request):
        return _json(404, "Not found.")
    return defaults.page_not_found(request, exception, template_name="errors/404.html")


def server_error(request: HttpRequest, template_name: str = "500.html") -> HttpResponse:
    """500, or 503 with Retry-After when the database could not be reached. Renders without a request context:
    the context processors (the user, their notifications) would ask the database that may be the fault."""
    return server_error_response(request, sys.exc_info()[1])


def server_error_response(request: HttpRequest, error: BaseException | None) -> HttpResponse:
    unavailable = isinstance(error, UNAVAILABLE_ERRORS)
    status = 503 if unavailable else 500
    if _is_api(request):
        detail = "The service is briefly unavailable; try again shortly." if unavailable else "Server error."
        response = _json(status, detail)
    else:
        template = "errors/503.html" if unavailable else "errors/500.html"
        response = HttpResponse(
            loader.get_template(template).render({"retry_after": RETRY_AFTER_SECONDS}), status=status
        )
    if unavailable:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def remember_unavailable(sender, request: HttpRequest | None = None, **kwargs) -> None:
    """`got_request_exception` receiver: note on the request that the database was unreachable, for
    `UnavailablePageMiddleware` (the exception itself is gone by the time the response passes it)."""
    error = sys.exc_info()[1]
    if request is not None and isinstance(error, UNAVAILABLE_ERRORS):
        request.database_unavailable = error


class UnavailablePageMiddleware:
    """The 503 with Retry-After when the database is unreachable, under DEBUG too (`make run`), wherever it failed
    (a middleware loading the session as well as a view): clients told to retry, and people, get the same answer
    as in production instead of Django's debug page. First in MIDDLEWARE, so it sees every inner failure."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        error = getattr(request, "database_unavailable", None)
        if error is not None and response.status_code == 500:
            return server_error_response(request, error)
        return response


class NotFoundPageMiddleware:
    """The app's 404 page under DEBUG too (`make run`): people trying the CRM see where to go next, not Django's
    list of URL patterns. (Without DEBUG, Django already uses `page_not_found` above.)

    Two ways to a 404: a view raising Http404 (`process_exception`), and an address no URL pattern matches, which
    Django answers before any view runs, with its debug page under DEBUG; such a request has no `resolver_match`.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        unresolved = getattr(request, "resolver_match", None) is None
        if settings.DEBUG and response.status_code == 404 and unresolved and not request.path.startswith("/static/"):
            return page_not_found(request, Http404(request.path))
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, Http404):
            return page_not_found(request, exception)
        return None


class RefuseNulMiddleware:
    """400 for a NUL character in the query string or in a JSON body: PostgreSQL text cannot hold one, so it would
    fail deep in a query (Django's forms already refuse NUL in form fields with a message next to the field)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = request.META.get("QUERY_STRING", "")
        has_nul = "%00" in query or "\x00" in query
        if not has_nul and request.content_type == "application/json":
            body = request.body  # bounded by DATA_UPLOAD_MAX_MEMORY_SIZE (a larger body is a 400 of its own)
            has_nul = b"\x00" in body or b"\\u0000" in body
        if has_nul:
            if _is_api(request):
                return _json(400, "The request contains a NUL character, which no field can hold.")
            return HttpResponse("The request contains a NUL character, which no field can hold.", status=400)
        return self.get_response(request)
