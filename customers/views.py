"""Customer pages: the list, a customer's page and its forms, converting a won lead (its panel on the lead page),
the churn rule (admins), the CSV export, and the public survey page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm import access, clock
from customers import exports, imports, selectors, services, surveys
from customers.forms import (
    ChurnForm,
    ChurnRuleForm,
    ContactForm,
    CustomerFilterForm,
    OrderForm,
    OrderMappingForm,
    OrderUploadForm,
    ReassignForm,
    SurveyAnswerForm,
    SurveySendForm,
)
from customers.models import Account, Order, OrderImport
from leads import services as lead_services
from leads.forms import TaskForm
from leads.selectors import get_lead_for_user, lead_timeline, tasks_for_lead

PAGE_SIZE = 50


def _editable(request: HttpRequest, account_id: int) -> Account:
    account = selectors.get_customer_for_user(user=request.user, account_id=account_id)
    access.ensure(access.can_edit_customer, request.user, account)
    return account


def _errors(request: HttpRequest, form_or_error) -> None:
    if isinstance(form_or_error, ValidationError):
        messages.error(request, " ".join(form_or_error.messages))
        return
    for field, errors in form_or_error.errors.items():
        label = form_or_error.fields[field].label if field in form_or_error.fields else ""
        messages.error(request, f"{label or field.replace('_', ' ').capitalize()}: {' '.join(errors)}")


@require_GET
def customer_list(request: HttpRequest) -> HttpResponse:
    form = CustomerFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    accounts = selectors.customers_list(
        user=request.user,
        query=filters.get("q", ""),
        status=filters.get("status", ""),
        channel_id=filters["channel"].pk if filters.get("channel") else None,
    )
    page = Paginator(accounts, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode(), "rule": selectors.churn_rule()}
    template = "customers/list.html"
    if request.htmx and not request.htmx.boosted:
        template += "#results"
    return render(request, template, context)


def _detail_context(request: HttpRequest, account: Account, **extra) -> dict:
    rule = selectors.churn_rule()
    churn_on = selectors.with_churn(Account.objects.filter(pk=account.pk), rule).values_list("churn_on", flat=True)[0]
    lead = account.lead
    context = {
        "account": account,
        "can_edit": access.can_edit_customer(request.user, account),
        "churn_on": churn_on,
        "rule": rule,
        "contacts": selectors.contacts_of(account=account),
        "orders": selectors.orders_of(account=account),
        "surveys": selectors.surveys_of(account=account),
        "lead": lead,
        "timeline": lead_timeline(lead=lead, limit=20) if lead else [],
        "tasks": tasks_for_lead(lead=lead) if lead else [],
        "order_form": OrderForm(),
        "contact_form": ContactForm(),
        "churn_form": ChurnForm(),
        "survey_form": SurveySendForm(account=account),
        "task_form": TaskForm(),
        "reassign_form": ReassignForm(user=request.user, account=account)
        if access.can_reassign_customer(request.user, account)
        else None,
        "now": clock.now(),
    }
    context.update(extra)
    return context


@require_GET
def customer_detail(request: HttpRequest, account_id: int) -> HttpResponse:
    account = selectors.get_customer_for_user(user=request.user, account_id=account_id)
    return render(request, "customers/detail.html", _detail_context(request, account))


@require_POST
def order_create(request: HttpRequest, account_id: int) -> HttpResponse:
    account = _editable(request, account_id)
    form = OrderForm(request.POST)
    if form.is_valid():
        try:
            order = services.order_add(account=account, user=request.user, **form.cleaned_data)
        except ValidationError as error:
            _errors(request, error)
        else:
            kind = "Refund" if order.is_refund else "Order"
            messages.success(request, f"{kind} of {order.amount:,.2f} on {order.ordered_on:%d %b %Y} added.")
    else:
        _errors(request, form)
    return redirect(account)


@require_POST
def order_delete(request: HttpRequest, order_id: int) -> HttpResponse:
    order = get_object_or_404(Order, pk=order_id)
    account = _editable(request, order.account_id)
    services.order_delete(order=order, user=request.user)
    messages.success(request, "Order deleted.")
    return redirect(account)


@require_POST
def contact_create(request: HttpRequest, account_id: int) -> HttpResponse:
    account = _editable(request, account_id)
    form = ContactForm(request.POST)
    if form.is_valid():
        services.contact_add(account=account, user=request.user, **form.cleaned_data)
        messages.success(request, "Contact added.")
    else:
        _errors(request, form)
    return redirect(account)


@require_POST
def customer_churn(request: HttpRequest, account_id: int) -> HttpResponse:
    """Mark the customer churned (with a day and a reason), or active again (`reactivate`)."""
    account = _editable(request, account_id)
    if request.POST.get("reactivate"):
        services.account_reactivate(account=account, user=request.user)
        messages.success(request, "Marked active again.")
        return redirect(account)
    form = ChurnForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.account_mark_churned(
                account=account,
                user=request.user,
                churned_on=data["churned_on"],
                reason=data["reason"],
                note=data["note"],
            )
        except ValidationError as error:
            _errors(request, error)
        else:
            messages.success(request, "Marked churned.")
    else:
        _errors(request, form)
    return redirect(account)


@require_POST
def customer_reassign(request: HttpRequest, account_id: int) -> HttpResponse:
    """Hand the customer to someone else (managers and admins)."""
    account = selectors.get_customer_for_user(user=request.user, account_id=account_id)
    access.ensure(access.can_reassign_customer, request.user, account)
    form = ReassignForm(request.POST, user=request.user, account=account)
    if not form.is_valid():
        _errors(request, form)
        return redirect(account)
    owner = form.cleaned_data["owner"]
    try:
        account = services.account_reassign(account=account, user=request.user, owner=owner)
    except ValidationError as error:
        _errors(request, error)
        return redirect(account)
    messages.success(request, f"{account} now belongs to {owner}.")
    if access.can_view_customer(request.user, account):
        return redirect(account)
    return redirect("customers:list")


@require_POST
def task_create(request: HttpRequest, account_id: int) -> HttpResponse:
    """A follow-up on the customer: a task on the lead it came from (the same tasks as the lead page's)."""
    account = _editable(request, account_id)
    if account.lead is None:
        messages.error(request, "This customer did not come from a lead: follow-ups live on leads.")
        return redirect(account)
    form = TaskForm(request.POST)
    if form.is_valid():
        lead_services.task_create(lead=account.lead, user=request.user, **form.cleaned_data)
        messages.success(request, "Follow-up added.")
    else:
        _errors(request, form)
    return redirect(account)


@require_POST
def survey_send(request: HttpRequest, account_id: int) -> HttpResponse:
    account = _editable(request, account_id)
    form = SurveySendForm(request.POST, account=account)
    if form.is_valid():
        data = form.cleaned_data
        try:
            surveys.survey_send(account=account, contact=data["contact"], kind=data["kind"], user=request.user)
        except ValidationError as error:
            _errors(request, error)
        else:
            messages.success(request, f"Survey sent to {data['contact'].email}.")
    else:
        _errors(request, form)
    return redirect(account)


# --- On the lead page -------------------------------------------------------------------------------------------


@require_GET
def lead_panel(request: HttpRequest, lead_id: int) -> HttpResponse:
    """The lead page's customer panel: the customer a won lead became, or the button that converts it."""
    lead = get_lead_for_user(user=request.user, lead_id=lead_id)
    contact = selectors.customer_for_lead(lead_id=lead.pk)
    context = {
        "lead": lead,
        "contact": contact,
        "may_see_customer": contact is not None and access.can_view_customer(request.user, contact.account),
        "can_convert": lead.stage == "won" and contact is None and access.can_convert_lead(request.user, lead),
    }
    if context["can_convert"]:
        context["match"] = services.account_match(lead=lead)
    return render(request, "customers/lead_panel.html", context)


@require_POST
def lead_convert(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = get_lead_for_user(user=request.user, lead_id=lead_id)
    access.ensure(access.can_convert_lead, request.user, lead)
    try:
        conversion = services.lead_convert(lead=lead, user=request.user)
    except ValidationError as error:
        _errors(request, error)
        return redirect(lead)
    if conversion.converted:
        verb = "is a new customer" if conversion.account_created else f"joined the customer {conversion.account}"
        messages.success(request, f"{lead.name} {verb}.")
    else:
        messages.info(request, f"{lead.name} was already converted.")
    if access.can_view_customer(request.user, conversion.account):
        return redirect(conversion.account)
    return redirect(lead)


# --- Settings and export --------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@access.require(access.can_configure_churn)
def churn_rule(request: HttpRequest) -> HttpResponse:
    rule = selectors.churn_rule()
    form = ChurnRuleForm(request.POST or None, instance=rule)
    if request.method == "POST" and form.is_valid():
        services.churn_rule_save(user=request.user, **form.cleaned_data)
        messages.success(request, "Churn rule saved: every churn figure now uses it.")
        return redirect("customers:churn_rule")
    return render(request, "customers/churn_rule.html", {"form": form, "rule": rule})


@require_GET
def customer_export(request: HttpRequest) -> StreamingHttpResponse:
    accounts = access.customers_visible_to(request.user)
    response = StreamingHttpResponse(exports.customers_csv(accounts=accounts), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="customers-{clock.today()}.csv"'
    return response


# --- Importing orders in the browser (admins) ------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@access.require(access.can_import_orders)
def orders_import(request: HttpRequest) -> HttpResponse:
    """Upload a CSV of orders; then its page maps the columns, checks (dry run) and imports."""
    posted = request.method == "POST"
    form = OrderUploadForm(request.POST if posted else None, request.FILES if posted else None)
    if posted and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = imports.order_import_create(
                user=request.user, file_name=upload.name, data=upload.read(), encoding=form.cleaned_data["encoding"]
            )
        except imports.ImportFileError as error:
            form.add_error("file", str(error))
        else:
            return redirect(job)
    jobs = OrderImport.objects.filter(created_by=request.user).defer("text", "rejects_csv")[:20]
    return render(request, "customers/orders_import.html", {"form": form, "jobs": jobs})


@require_http_methods(["GET", "POST"])
@access.require(access.can_import_orders)
def orders_import_detail(request: HttpRequest, order_import_id: int) -> HttpResponse:
    job = get_object_or_404(OrderImport.objects.defer("rejects_csv"), pk=order_import_id, created_by=request.user)
    form = OrderMappingForm(
        request.POST or None,
        header=job.header,
        user=request.user,
        initial_mapping=job.mapping or imports.guess_mapping(job.header),
    )
    if request.method == "POST" and job.state == OrderImport.State.UPLOADED and form.is_valid():
        data = form.cleaned_data
        try:
            imports.order_import_run(
                job=job,
                user=request.user,
                mapping=form.mapping(),
                channel=data["channel"],
                owner=data["owner"],
                dry_run="check" in request.POST,
            )
        except imports.ImportFileError as error:
            form.add_error(None, str(error))
        except imports.AlreadyImported:
            messages.info(request, "This file was imported already.")
            return redirect(job)
        else:
            return redirect(job)
    return render(request, "customers/orders_import_detail.html", {"job": job, "form": form})


@require_GET
@access.require(access.can_import_orders)
def orders_import_rejects(request: HttpRequest, order_import_id: int) -> HttpResponse:
    job = get_object_or_404(OrderImport, pk=order_import_id, created_by=request.user)
    response = HttpResponse(job.rejects_csv, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="rejected-orders-{job.pk}.csv"'
    return response


# --- The public survey page -----------------------------------------------------------------------------------------

LINK_PROBLEMS = {
    "invalid": (400, "This link is not valid", "The link may have been cut or changed. Use the link from the email."),
    "expired": (410, "This link has expired", "Survey links work for a limited time. Thank you all the same."),
    "answered": (409, "This survey was answered already", "Each link takes one answer, and this one has it."),
}


@login_not_required
@require_http_methods(["GET", "POST"])
def survey_page(request: HttpRequest, survey_token: str) -> HttpResponse:
    try:
        survey = surveys.survey_from_token(survey_token)
    except surveys.SurveyLinkError as problem:
        if problem.reason == "answered" and request.method == "GET" and request.GET.get("thanks"):
            return render(request, "customers/survey.html", {"thanks": True})
        status, title, text = LINK_PROBLEMS[problem.reason]
        return render(request, "customers/survey.html", {"problem": title, "text": text}, status=status)
    form = SurveyAnswerForm(request.POST or None, survey=survey)
    if request.method == "POST" and form.is_valid():
        if not surveys.survey_answer(survey=survey, **form.cleaned_data):
            status, title, text = LINK_PROBLEMS["answered"]
            return render(request, "customers/survey.html", {"problem": title, "text": text}, status=status)
        # To the thanks (a reload does not send the answer again, and the used link then says it was used).
        return redirect(f"{request.path}?thanks=1")
    context = {"survey": survey, "form": form, "question": surveys.survey_question(survey)}
    return render(request, "customers/survey.html", context, status=400 if form.errors else 200)
