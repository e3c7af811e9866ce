"""Report pages: one view for every report (page, htmx partial, CSV), the dashboard, and the home page dispatch."""

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from crm import access
from leads import views as lead_views
from reports.freshness import report_freshness
from reports.registry import REPORTS, reports_for
from reports.scope import ReportFilterForm
from reports.selectors.dashboard import dashboard as dashboard_figures


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Managers and admins land on their dashboard; reps on My day."""
    if access.can_see_team_reports(request.user):
        return dashboard(request)
    return lead_views.my_day(request)


def _common(request: HttpRequest, form: ReportFilterForm) -> dict:
    scope = form.scope()
    return {
        "form": form,
        "scope": scope,
        "reports": reports_for(request.user),
        "freshness": report_freshness(),
        "filter_query": scope.filter_query(),
    }


@require_GET
@vary_on_headers("HX-Request")
def dashboard(request: HttpRequest) -> HttpResponse:
    form = ReportFilterForm(request.GET or None, user=request.user)
    context = _common(request, form)
    context["dashboard"] = dashboard_figures(context["scope"])
    context["current"] = "dashboard"
    template = "reports/dashboard.html"
    if request.htmx and not request.htmx.boosted:
        template += "#results"
    return render(request, template, context)


@require_GET
@vary_on_headers("HX-Request")
def report(request: HttpRequest, slug: str) -> HttpResponse:
    definition = REPORTS.get(slug)
    if definition is None:
        raise Http404("No such report.")
    if not definition.allowed_for(request.user):
        raise PermissionDenied(access.can_see_team_reports.refusal)
    form = ReportFilterForm(request.GET or None, user=request.user)
    if request.GET.get("format") == "csv":
        return _csv(request, definition, form)
    context = _common(request, form)
    option = request.GET.get("by", "") if definition.options else ""
    option = option if option in definition.options else definition.default_option
    context.update(
        report=definition, result=definition.run(context["scope"], option), option=option, current=definition.slug
    )
    template = "reports/report.html"
    if request.htmx and not request.htmx.boosted:
        template += "#results"
    return render(request, template, context)


def _csv(request: HttpRequest, definition, form: ReportFilterForm) -> HttpResponse:
    if form.is_bound and not form.is_valid():
        errors = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in form.errors.items())
        return HttpResponse(f"Invalid filters: {errors}\n", status=400, content_type="text/plain; charset=utf-8")
    scope = form.scope()
    result = definition.run(scope, request.GET.get("by", ""))
    key = request.GET.get("table")
    table = result.table(key) if key else result.tables[0]
    if table is None:
        return HttpResponse(
            f"No table “{key}”; this report has: {', '.join(t.key for t in result.tables)}\n",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    response = HttpResponse(table.csv_text(), content_type="text/csv; charset=utf-8")
    filename = f"{definition.slug}-{table.key}-{scope.period.start}-{scope.period.end}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
