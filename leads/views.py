"""Pages of the rep's working day: My day, the leads list, the lead page and its inline (htmx) actions."""

import copy

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import reswap, retarget, trigger_client_event

from crm import access, clock
from crm.limits import rate_limit_hit
from crm.pagination import capped_count
from leads import selectors, services
from leads.at_risk import leads_at_risk
from leads.filters import LeadFilter
from leads.followups.services import SNOOZES
from leads.forms import BulkActionForm, InteractionForm, LeadForm, OwnerForm, StageForm, TaskForm
from leads.models import Interaction, Lead, LostReason, Stage
from leads.panels import LEAD_PAGE_PANELS
from leads.search import MAX_TERM_LENGTH, capped_search_count, search_term, visible_leads


def _render_partials(request: HttpRequest, template: str, names: list[str], context: dict) -> HttpResponse:
    """Several named partials of one template in one response, after a change to the lead; all but the first swap
    out of band, and the lead page's panels hear `lead-changed` and reload (leads/panels.py)."""
    html = "".join(
        render_to_string(f"{template}#{name}", {**context, "oob": i > 0}, request=request)
        for i, name in enumerate(names)
    )
    return trigger_client_event(HttpResponse(html), "lead-changed")


def _editable_lead(request: HttpRequest, lead_id: int) -> Lead:
    """The lead, if the user may change it: 404 if they may not see it, 403 if they only see it (the pool)."""
    lead = selectors.get_lead_for_user(user=request.user, lead_id=lead_id)
    access.ensure(access.can_edit_lead, request.user, lead)
    return lead


def _lead_context(request: HttpRequest, lead: Lead, **extra) -> dict:
    user = request.user
    can_edit = access.can_edit_lead(user, lead)
    show = request.GET.get("show", "all")
    if show not in dict(selectors.TIMELINE_FILTERS):
        show = "all"
    timeline = selectors.lead_timeline(lead=lead, show=show)
    context = {
        "lead": lead,
        "attributes": selectors.lead_attribute_rows(lead=lead),
        "can_edit": can_edit,
        "can_assign": access.can_reassign_leads(user),
        "timeline": timeline,
        "timeline_show": show,
        "timeline_filters": selectors.TIMELINE_FILTERS,
        # Marked on the timeline: the interaction that stopped the response clock (the first one recorded).
        "first_response_id": next(
            (
                e["item"].pk
                for e in reversed(timeline)
                if e["type"] == "interaction"
                and e["item"].is_response
                and e["item"].created_at == lead.first_response_at
            ),
            None,
        ),
        "tasks": selectors.tasks_for_lead(lead=lead),
        "snoozes": SNOOZES,
        "interaction_form": InteractionForm(),
        "task_form": TaskForm(),
        "stage_form": StageForm(initial={"stage": lead.stage}),
        "stages": Stage,
        "lost_reasons": LostReason.choices,
        "call_outcomes": Interaction.Outcome.choices,
        "now": clock.now(),
        "lead_panels": LEAD_PAGE_PANELS,
    }
    if context["can_assign"]:
        context["owner_form"] = OwnerForm(user=user, initial={"owner": lead.owner_id})
    context.update(extra)
    return context


@require_GET
def my_day(request: HttpRequest) -> HttpResponse:
    user = request.user
    tasks = list(selectors.tasks_due_for(user=user)[:50])
    now = clock.now()
    context = {
        "tasks_due": len(tasks),
        "overdue_tasks": [t for t in tasks if t.due_at < now],
        "today_tasks": [t for t in tasks if t.due_at >= now],
        "awaiting": selectors.leads_awaiting_response(user=user)[:20],
        "hot": selectors.leads_hot(user=user),
        "recent": selectors.leads_recently_active(user=user),
        "at_risk": leads_at_risk(user=user),
        "now": now,
        "snoozes": SNOOZES,
    }
    return render(request, "leads/my_day.html", context)


def _lead_filter(request: HttpRequest, params: QueryDict) -> LeadFilter:
    """The list's filters over the leads the user may see; for a search, the same leads in the search index's
    terms (`leads.search.visible_leads`)."""
    user = request.user
    visible = visible_leads(user) if search_term(params.get("q")) else access.leads_visible_to(user)
    return LeadFilter(params or None, queryset=visible, user=user)


def _list_context(request: HttpRequest, params: QueryDict) -> dict:
    user = request.user
    lead_filter = _lead_filter(request, params)
    page = lead_filter.page(
        cursor=params.get("after"),
        size=settings.LEADS_PAGE_SIZE,
        related=("owner", "channel", "response_clock__policy"),
        only=selectors.LIST_ROW_FIELDS,
    )
    first_page = params.copy()
    first_page.pop("after", None)
    count_query = first_page.copy()
    count_query.pop("sort", None)
    next_page = first_page.copy()
    if page.next_cursor:
        next_page["after"] = page.next_cursor
    context = {
        "filter": lead_filter,
        "page": page,
        "first_page_query": first_page.urlencode(),
        "next_page_query": next_page.urlencode(),
        "count_query": count_query.urlencode(),
        "can_bulk": access.can_bulk_edit_leads(user),
        "now": clock.now(),
    }
    return context


@require_GET
def lead_list(request: HttpRequest) -> HttpResponse:
    context = _list_context(request, request.GET)
    if request.htmx and not request.htmx.boosted:
        return render(request, "leads/list.html#results", context)
    if context["can_bulk"]:
        context["bulk_form"] = BulkActionForm(user=request.user)
    return render(request, "leads/list.html", context)


@require_GET
def lead_count(request: HttpRequest) -> HttpResponse:
    """The list's "N leads", asked for by the page once its rows are shown: counting is the slow part."""
    lead_filter = _lead_filter(request, request.GET)
    if lead_filter.is_valid() and search_term(lead_filter.form.cleaned_data.get("q")):
        keys = access.lead_visibility_keys(request.user)
        count = capped_search_count(lead_filter.qs, cap=settings.LEADS_COUNT_CAP, keys=keys)
    else:
        count = capped_count(lead_filter.qs, cap=settings.LEADS_COUNT_CAP)
    return render(request, "leads/list.html#count", {"count": count})


QUICK_SEARCH_RESULTS = 8


@require_GET
def lead_search(request: HttpRequest) -> HttpResponse:
    """The top bar's search: the first few leads the user may see whose name, email, phone or company match, the
    same search as the list's (`leads.search`). Without htmx (no JavaScript), the list filtered by the words."""
    params = QueryDict(mutable=True)
    params["q"] = (request.GET.get("q") or "").strip()[:MAX_TERM_LENGTH]
    list_url = f"{reverse('leads:list')}?{params.urlencode()}"
    if not request.htmx:
        return redirect(list_url)
    rows = []
    if params["q"]:
        page = _lead_filter(request, params).page(cursor=None, size=QUICK_SEARCH_RESULTS + 1, related=("owner",))
        rows = page.rows
    context = {
        "query": params["q"],
        "results": rows[:QUICK_SEARCH_RESULTS],
        "more": len(rows) > QUICK_SEARCH_RESULTS,
        "list_url": list_url,
    }
    return render(request, "leads/_search_results.html", context)


@require_POST
@access.require(access.can_bulk_edit_leads)
def lead_bulk(request: HttpRequest) -> HttpResponse:
    """Reassign or move the ticked leads, then show the same filtered list again."""
    user = request.user
    form = BulkActionForm(request.POST, user=user)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    else:
        data = form.cleaned_data
        try:
            if data["action"] == "reassign":
                count = services.leads_bulk_reassign(
                    user=user, lead_ids=data["lead_ids"], owner=data["owner"], tasks_follow=data["tasks"]
                )
                messages.success(request, f"{count} lead(s) given to {data['owner'] or 'the pool'}.")
            else:
                count = services.leads_bulk_change_stage(
                    user=user, lead_ids=data["lead_ids"], stage=data["stage"], lost_reason=data["lost_reason"]
                )
                messages.success(request, f"{count} lead(s) moved to {Stage(data['stage']).label}.")
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
    # The filter form comes along (hx-include), so the list is shown again as the manager had it.
    params = QueryDict(mutable=True)
    for name in LeadFilter.base_filters:
        params.setlist(name, request.POST.getlist(name))
    if request.htmx:
        return render(request, "leads/list.html#results", _list_context(request, params))
    return redirect(f"{reverse('leads:list')}?{params.urlencode()}")


def lead_create(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = LeadForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        try:
            lead = services.lead_create(user=user, owner=form.cleaned_data.get("owner"), **form.facts())
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Lead “{lead.name}” created.")
            return redirect(lead)
    context = {"form": form, "duplicates": form.duplicates, "visible_ids": _visible_ids(request, form.duplicates)}
    return render(request, "leads/form.html", context)


# A person typing new leads checks an email or phone a few times a minute; a script walking addresses, far more.
DUPLICATES_CHECKS_PER_MINUTE = 60


def _visible_ids(request: HttpRequest, leads) -> set[int]:
    """Which of these leads the user may open (the others are named in a warning, not linked)."""
    ids = [lead.pk for lead in leads]
    return set(access.leads_visible_to(request.user).filter(pk__in=ids).values_list("pk", flat=True))


@require_GET
def lead_duplicates_check(request: HttpRequest) -> HttpResponse:
    """While typing a new lead: warn when the email or phone is already known (htmx). A lead the user may not see
    is only said to exist; the check is limited per user, so it cannot be used to walk the address book."""
    retry_after = rate_limit_hit(
        bucket=f"duplicates-check:{request.user.pk}", limit=DUPLICATES_CHECKS_PER_MINUTE, window=60
    )
    if retry_after is not None:
        response = HttpResponse("Too many checks; try again in a minute.", status=429)
        response["Retry-After"] = str(retry_after)
        return response
    email, phone = request.GET.get("email", "")[:254], request.GET.get("phone", "")[:64]
    duplicates = selectors.lead_duplicates(email=email, phone=phone)
    context = {"duplicates": duplicates, "visible_ids": _visible_ids(request, duplicates)}
    return render(request, "leads/form.html#duplicates", context)


@require_GET
def lead_detail(request: HttpRequest, lead_id: int) -> HttpResponse:
    try:
        lead = selectors.get_lead_for_user(user=request.user, lead_id=lead_id)
    except Http404:
        # A merged lead's old address leads to the lead it was merged into, for whoever may see that one; to anyone
        # else it is a lead that does not exist, like any other.
        survivor = selectors.lead_merged_into(user=request.user, lead_id=lead_id)
        if survivor is None:
            raise
        messages.info(request, f"Lead #{lead_id} was merged into this one; this is its page now.")
        return redirect(f"{survivor.get_absolute_url()}?merged_from={lead_id}")
    if request.htmx and request.GET.get("edit") == "facts":
        lead = _editable_lead(request, lead_id)
        return render(
            request, "leads/detail.html#facts_form", {"lead": lead, "form": LeadForm(instance=lead, user=request.user)}
        )
    if request.htmx and request.GET.get("partial") == "facts":
        context = {"lead": lead, "can_edit": True, "attributes": selectors.lead_attribute_rows(lead=lead)}
        return render(request, "leads/detail.html#facts", context)
    if request.htmx and request.GET.get("partial") == "timeline":
        return render(request, "leads/detail.html#timeline", _lead_context(request, lead))
    return render(request, "leads/detail.html", _lead_context(request, lead))


def lead_edit(request: HttpRequest, lead_id: int) -> HttpResponse:
    """The lead's facts, on their own page or inline (htmx). Only the fields this person changed are written; one
    that someone else changed meanwhile is refused (409 inline) with both values shown next to it."""
    lead = _editable_lead(request, lead_id)
    # Validating a model form writes the input to its instance: the form gets its own copy of the lead.
    form = LeadForm(request.POST or None, instance=copy.copy(lead), user=request.user)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            services.lead_update(
                lead=lead,
                user=request.user,
                data=form.facts(),
                rendered=form.shown_facts(),
                version=form.shown_version(),
            )
        except services.EditConflict as conflict:
            lead = selectors.get_lead_for_user(user=request.user, lead_id=lead_id)
            form = form.rebased(lead, conflict.message_dict)
            status = 409 if request.htmx else 200  # the full page shows the form again, as with any form error
        except ValidationError as error:
            form.add_error(None, error)
        else:
            lead = selectors.get_lead_for_user(user=request.user, lead_id=lead_id)
            if request.htmx:
                # The timeline too: the change is on it (the lead's history).
                context = _lead_context(request, lead)
                return _render_partials(request, "leads/detail.html", ["facts", "header", "timeline"], context)
            messages.success(request, "Lead saved.")
            return redirect(lead)
    if request.htmx:
        return render(request, "leads/detail.html#facts_form", {"lead": lead, "form": form}, status=status)
    return render(request, "leads/form.html", {"form": form, "lead": lead}, status=status)


@require_POST
def interaction_create(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = _editable_lead(request, lead_id)
    form = InteractionForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.interaction_log(
                lead=lead,
                user=request.user,
                kind=data["kind"],
                direction=data["direction"],
                outcome=data.get("outcome", ""),
                occurred_at=data.get("occurred_at"),
                subject=data.get("subject", ""),
                body=data.get("body", ""),
            )
        except ValidationError as error:  # e.g. a time before the lead existed: shown next to the field
            for field, errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
    if form.is_valid():
        label = Interaction.Kind(data["kind"]).label
        if not request.htmx:
            messages.success(request, f"{label} logged.")
            return redirect(lead)
        lead = selectors.get_lead_for_user(user=request.user, lead_id=lead_id)
        context = _lead_context(request, lead, logged=label)
        return _render_partials(request, "leads/detail.html", ["log", "timeline", "header", "stage"], context)
    if not request.htmx:
        for field, errors in form.errors.items():
            messages.error(request, f"{field}: {' '.join(errors)}")
        return redirect(lead)
    return render(request, "leads/detail.html#log", _lead_context(request, lead, interaction_form=form), status=422)


@require_POST
def lead_stage(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = _editable_lead(request, lead_id)
    form = StageForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.lead_change_stage(
                lead=lead,
                user=request.user,
                stage=data["stage"],
                deal_value=data.get("deal_value"),
                lost_reason=data.get("lost_reason") or "",
            )
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
    if not request.htmx:
        if form.errors:
            messages.error(request, " ".join(e for errs in form.errors.values() for e in errs))
        return redirect(lead)
    lead = selectors.get_lead_for_user(user=request.user, lead_id=lead_id)
    context = _lead_context(request, lead, stage_form=form)
    names = ["stage"] if form.errors else ["stage", "timeline", "header"]
    return _render_partials(request, "leads/detail.html", names, context)


@require_POST
def lead_assign(request: HttpRequest, lead_id: int) -> HttpResponse:
    user = request.user
    lead = _editable_lead(request, lead_id)
    access.ensure(access.can_reassign_leads, user)
    form = OwnerForm(request.POST, user=user)
    if form.is_valid():
        owner, tasks_follow = form.cleaned_data["owner"], form.cleaned_data["tasks"]
        services.lead_assign(lead=lead, owner=owner, user=user, tasks_follow=tasks_follow)
        if owner is None:
            messages.success(request, "Lead put back in the pool.")
        else:
            follow = "its open follow-ups went along" if tasks_follow else "its follow-ups stayed with their assignee"
            messages.success(request, f"Lead given to {owner}; {follow}.")
        if not access.can_view_lead(user, lead):
            return redirect("leads:list")
    else:
        messages.error(request, "Choose someone from your team.")
    return redirect(lead)


@require_POST
def lead_claim(request: HttpRequest, lead_id: int) -> HttpResponse:
    try:
        lead = selectors.get_lead_for_user(user=request.user, lead_id=lead_id)
    except Http404:
        # Claimed by someone else between the pool page and this click, and out of this rep's sight now: the same
        # news as a claim lost in the race below. Only for a claim made this minute, so nothing else is revealed.
        if not selectors.lead_claimed_moments_ago(lead_id=lead_id):
            raise
        messages.error(request, "Someone else claimed this lead a moment ago.")
        return redirect(f"{reverse('leads:list')}?pool=on")
    try:
        claimed = services.lead_claim(lead=lead, user=request.user)
    except ValidationError as error:  # at the pool holding limit
        messages.error(request, " ".join(error.messages))
    else:
        if claimed:
            messages.success(request, "The lead is yours now.")
        else:
            # The lead is no longer in the pool (and may be out of sight): back to the pool, with the news.
            messages.error(request, "Someone else claimed this lead a moment ago.")
            return redirect(f"{reverse('leads:list')}?pool=on")
    return redirect(lead)


@require_POST
def task_create(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = _editable_lead(request, lead_id)
    form = TaskForm(request.POST)
    if form.is_valid():
        services.task_create(lead=lead, user=request.user, **form.cleaned_data)
        form = TaskForm()
        if not request.htmx:
            messages.success(request, "Task added.")
    if not request.htmx:
        if form.errors:
            messages.error(request, " ".join(e for errs in form.errors.values() for e in errs))
        return redirect(lead)
    return render(request, "leads/detail.html#tasks", _lead_context(request, lead, task_form=form))


def _interaction_for_editing(request: HttpRequest, interaction_id: int) -> tuple[Interaction, Lead]:
    """The interaction and its lead: 404 if the user may not see the lead, 403 if they may not change it."""
    interaction = get_object_or_404(Interaction, pk=interaction_id)
    lead = selectors.get_lead_for_user(user=request.user, lead_id=interaction.lead_id)
    interaction.lead = lead
    access.ensure(access.can_edit_interaction, request.user, interaction)
    return interaction, lead


def _after_interaction_change(request: HttpRequest, lead_id: int, message: str) -> HttpResponse:
    lead = selectors.get_lead_for_user(user=request.user, lead_id=lead_id)
    if not request.htmx:
        messages.success(request, message)
        return redirect(lead)
    # The first response, the countdown and the stage may all have changed.
    context = _lead_context(request, lead)
    response = _render_partials(request, "leads/detail.html", ["timeline", "header", "stage"], context)
    return reswap(retarget(response, "#timeline"), "outerHTML")


def interaction_edit(request: HttpRequest, interaction_id: int) -> HttpResponse:
    interaction, lead = _interaction_for_editing(request, interaction_id)
    form = InteractionForm(
        request.POST if request.method == "POST" else None, instance=interaction, prefix=f"i{interaction.pk}"
    )
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in services.INTERACTION_EDITABLE_FIELDS}
        data["occurred_at"] = data["occurred_at"] or interaction.occurred_at
        try:
            services.interaction_update(
                interaction=Interaction.objects.get(pk=interaction.pk), user=request.user, data=data
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return _after_interaction_change(request, lead.pk, f"{Interaction.Kind(data['kind']).label} updated.")
    context = {"item": interaction, "lead": lead, "form": form}
    template = "leads/detail.html#interaction_form" if request.htmx else "leads/interaction_form.html"
    return render(request, template, context)


@require_POST
def interaction_delete(request: HttpRequest, interaction_id: int) -> HttpResponse:
    interaction, lead = _interaction_for_editing(request, interaction_id)
    label = interaction.get_kind_display()
    services.interaction_delete(interaction=interaction, user=request.user)
    return _after_interaction_change(request, lead.pk, f"{label} deleted.")
