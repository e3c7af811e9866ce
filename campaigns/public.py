"""What a lead opens from a campaign without logging in: the open pixel, tracked links, the unsubscribe page
(and its one-click POST, RFC 8058), and an event's registration page.

A tracking URL whose signature does not match is a 404, as is a click URL naming a link the email does not have:
the redirect only ever goes to one of the campaign's own links.
"""

import base64

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from campaigns import events, tracking
from campaigns.forms import registration_form
from campaigns.models import Campaign
from leads.channels.forms import HONEYPOT_FIELD
from leads.intake import public

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


@login_not_required
@never_cache
@require_GET
def track_open(request: HttpRequest, open_token: str) -> HttpResponse:
    send = tracking.send_for_open(open_token)
    if send is None:
        raise Http404("No such message.")
    tracking.open_record(send=send)
    return HttpResponse(PIXEL, content_type="image/gif")


@login_not_required
@never_cache
@require_GET
def track_click(request: HttpRequest, click_token: str) -> HttpResponse:
    target = tracking.click_target(click_token)
    if target is None:
        raise Http404("No such link.")
    send, link = target
    tracking.click_record(send=send, link=link)
    # The link is one of the campaign's own (written by its author), never taken from the URL.
    return HttpResponseRedirect(link)


@login_not_required
@csrf_exempt  # one-click unsubscribe is POSTed by mail clients, which have no CSRF token
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, unsubscribe_token: str) -> HttpResponse:
    send = tracking.send_for_unsubscribe(unsubscribe_token)
    if send is None:
        raise Http404("No such message.")
    if request.method == "POST":
        tracking.unsubscribe_record(send=send)
        return render(request, "campaigns/public/unsubscribed.html", {"send": send})
    return render(request, "campaigns/public/unsubscribe.html", {"send": send, "token": unsubscribe_token})


def _page(request, campaign, form, *, status=200):
    context = {"campaign": campaign, "form": form, "honeypot": HONEYPOT_FIELD}
    return render(request, "campaigns/public/registration.html", context, status=status)


@login_not_required
@csrf_exempt  # like the web forms: anonymous visitors, and it only ever adds a registration
@require_http_methods(["GET", "POST"])
def registration(request: HttpRequest, registration: str) -> HttpResponse:
    campaign = get_object_or_404(
        Campaign.objects.select_related("channel"),
        registration_slug=registration,
        kind=Campaign.Kind.EVENT,
        registration_open=True,
    )
    if request.method == "GET":
        initial = {name: request.GET.get(name, "")[:200] for name in ("utm_source", "utm_medium", "utm_campaign")}
        return _page(request, campaign, registration_form(campaign, initial=initial))
    limited = public.over_limit(
        request,
        bucket="event-registration",
        limit=settings.EVENT_REGISTRATION_RATE_LIMIT,
        template="campaigns/public/limited.html",
        context={"campaign": campaign},
    )
    if limited is not None:
        return limited
    if public.is_bot(request):
        return render(request, "campaigns/public/registered.html", {"campaign": campaign})  # a bot learns nothing
    form = registration_form(campaign, request.POST)
    if not form.is_valid():
        return _page(request, campaign, form, status=400)
    utm = form.utm()
    stored = public.arrive_once(
        kind="event",
        form=form,
        arrive=lambda: events.registration_submit(
            campaign=campaign,
            facts=form.lead_facts(utm=utm),
            submission={"utm": {name: value for name, value in utm.items() if value}},
        ),
    )
    if stored is None:
        return _page(request, campaign, form, status=400)
    return render(request, "campaigns/public/registered.html", {"campaign": campaign})
