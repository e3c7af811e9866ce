"""The public web-to-lead form: /f/<slug>/, a hosted page and the target of the embeddable snippet.

No login, no CSRF token: the form is posted from other sites' pages by anonymous visitors, and it changes
nothing a session could be tricked into (it only ever adds a lead). Spam is kept out by a honeypot field and a
per-address rate limit in the cache; a double submission within WEBFORM_DUPLICATE_WINDOW creates one lead.
"""

from csp.decorators import csp_replace
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from crm import limits
from leads.channels.forms import HONEYPOT_FIELD, UTM_FIELDS, WebToLeadForm
from leads.intake import services as intake
from leads.models import WebForm


def _published_form(slug: str) -> WebForm:
    return get_object_or_404(WebForm.objects.select_related("channel"), slug=slug, published=True, channel__active=True)


def _page(request: HttpRequest, web_form: WebForm, form: WebToLeadForm, *, status: int = 200) -> HttpResponse:
    context = {"web_form": web_form, "form": form, "honeypot": HONEYPOT_FIELD}
    return render(request, "leads/webform/page.html", context, status=status)


def _thanks(request: HttpRequest, web_form: WebForm) -> HttpResponse:
    if web_form.redirect_url:
        return redirect(web_form.redirect_url)
    return render(request, "leads/webform/thanks.html", {"web_form": web_form})


@login_not_required
@csrf_exempt
@xframe_options_exempt
# Embeddable in the company's own site, and may send the visitor on to the site's own thank-you page.
@csp_replace({"frame-ancestors": None, "form-action": None})
@require_http_methods(["GET", "POST"])
def web_form(request: HttpRequest, slug: str) -> HttpResponse:
    web_form = _published_form(slug)
    if request.method == "GET":
        # The hosted page keeps what brought the visitor: UTM parameters of its own address, and the referrer.
        initial = {name: request.GET.get(name, "")[:200] for name in UTM_FIELDS}
        initial["referrer"] = request.headers.get("Referer", "")[:2000]
        initial["page"] = request.build_absolute_uri()[:2000]
        return _page(request, web_form, WebToLeadForm(web_form=web_form, initial=initial))

    retry_after = limits.rate_limit_hit(
        bucket=f"webform:{intake.client_ip(request)}",
        limit=settings.WEBFORM_RATE_LIMIT,
        window=settings.WEBFORM_RATE_WINDOW,
    )
    if retry_after is not None:
        response = render(
            request,
            "leads/webform/limited.html",
            {"web_form": web_form, "minutes": max(1, round(retry_after / 60))},
            status=429,
        )
        response["Retry-After"] = str(retry_after)
        return response
    if request.POST.get(HONEYPOT_FIELD, "").strip():
        # A bot: it is thanked like anyone, so it learns nothing, and nothing is created.
        return _thanks(request, web_form)

    form = WebToLeadForm(request.POST, web_form=web_form)
    if not form.is_valid():
        return _page(request, web_form, form, status=400)

    # The page the form sat on: posted by the snippet or the hosted page, else the browser's Referer.
    page_url = form.cleaned_data["page"] or request.headers.get("Referer", "")[:2000]
    utm = form.utm(page_url=page_url)
    once_key = intake.fingerprint("webform", *form.duplicate_key())
    if not intake.claim_once(key=once_key, timeout=settings.WEBFORM_DUPLICATE_WINDOW):
        return _thanks(request, web_form)  # the same submission again (a double click, a reload)
    submission = {
        "form": web_form.slug,
        "url": page_url,
        "referrer": form.cleaned_data["referrer"],
        "utm": {name: value for name, value in utm.items() if value},
    }
    try:
        intake.lead_arrive(
            channel=web_form.channel,
            facts=form.lead_facts(utm=utm),
            submission=submission,
            message=form.cleaned_data.get("message", ""),
        )
    except ValidationError as error:
        intake.release_claim(key=once_key)
        for field, messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
        return _page(request, web_form, form, status=400)
    except Exception:
        intake.release_claim(key=once_key)
        raise
    return _thanks(request, web_form)
