"""The public web-to-lead form: /f/<slug>/, a hosted page and the target of the embeddable snippet.

No login, no CSRF token: the form is posted from other sites' pages by anonymous visitors, and it changes
nothing a session could be tricked into (it only ever adds a lead). Spam is kept out by a honeypot field and a
per-address rate limit in the cache; a double submission within WEBFORM_DUPLICATE_WINDOW creates one lead.
"""

from csp.decorators import csp_replace
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from leads.channels.forms import HONEYPOT_FIELD, UTM_FIELDS, WebToLeadForm
from leads.intake import public
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

    limited = public.over_limit(
        request,
        bucket="webform",
        limit=settings.WEBFORM_RATE_LIMIT,
        template="leads/webform/limited.html",
        context={"web_form": web_form},
    )
    if limited is not None:
        return limited
    if public.is_bot(request):
        return _thanks(request, web_form)  # a bot is thanked like anyone: it learns nothing, nothing is created

    form = WebToLeadForm(request.POST, web_form=web_form)
    if not form.is_valid():
        return _page(request, web_form, form, status=400)

    # The page the form sat on: posted by the snippet or the hosted page, else the browser's Referer.
    page_url = form.cleaned_data["page"] or request.headers.get("Referer", "")[:2000]
    utm = form.utm(page_url=page_url)
    submission = {
        "form": web_form.slug,
        "url": page_url,
        "referrer": form.cleaned_data["referrer"],
        "utm": {name: value for name, value in utm.items() if value},
    }
    stored = public.arrive_once(
        kind="webform",
        form=form,
        arrive=lambda: intake.lead_arrive(
            channel=web_form.channel,
            facts=form.lead_facts(utm=utm),
            submission=submission,
            message=form.cleaned_data.get("message", ""),
        ),
    )
    if stored is None:
        return _page(request, web_form, form, status=400)
    return _thanks(request, web_form)
