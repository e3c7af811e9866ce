"""Routing set-up (admins): assignment rules and reclaim rules; the Team page (everyone's availability); release.

Rules pages are admins' only: reps and managers get 403. On the Team page a rep sees and edits their own away
dates, a manager their teams' people (and their capacity and holding limits), an admin everyone.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, F
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from crm import access, clock
from crm.models import User
from leads import selectors
from leads.models import OPEN_STAGES, AssignmentRule, Lead, PoolClaim, ReclaimRule
from leads.routing import reclaim as reclaim
from leads.routing import services as routing
from leads.routing.forms import AssignmentRuleForm, AvailabilityForm, ReclaimRuleForm


def rules_queryset():
    return AssignmentRule.objects.select_related("team", "team__manager").prefetch_related("channels")


def _back_to_rules(request: HttpRequest) -> HttpResponse:
    url = reverse("leads:routing_rules")
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@require_GET
@access.require(access.can_configure_routing)
def rules(request: HttpRequest) -> HttpResponse:
    reclaim_rules = list(ReclaimRule.objects.all())
    # A rule that is off shows what it would take if switched on now (a dry run, `reclaim_rule_preview`).
    for rule in reclaim_rules:
        rule.preview = None if rule.active else reclaim.reclaim_rule_preview(rule)
    context = {"rules": rules_queryset(), "reclaim_rules": reclaim_rules}
    return render(request, "leads/setup/rules.html", context)


@access.require(access.can_configure_routing)
def rule_edit(request: HttpRequest, rule_id: int | None = None) -> HttpResponse:
    rule = get_object_or_404(AssignmentRule, pk=rule_id) if rule_id else AssignmentRule()
    if request.method == "POST":
        form = AssignmentRuleForm(request.POST, instance=rule)
        if form.is_valid():
            try:
                routing.assignment_rule_save(
                    user=request.user,
                    rule=form.instance,
                    channels=form.cleaned_data["channels"],
                    weights=form.weights(),
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, f"Assignment rule “{rule.name}” saved.")
                return _back_to_rules(request)
    elif request.GET.get("team") is not None:
        # The team changed (htmx): the same form again, with that team's reps for the weights.
        initial = {name: request.GET.get(name) for name in AssignmentRuleForm.Meta.fields if name != "channels"}
        initial["channels"] = request.GET.getlist("channels")
        initial["active"] = request.GET.get("active") == "on"
        form = AssignmentRuleForm(instance=rule, initial=initial, team_id=request.GET.get("team"))
    else:
        form = AssignmentRuleForm(instance=rule)
    template = "leads/setup/rule_form.html#form" if request.htmx else "leads/setup/rule_form.html"
    return render(request, template, {"form": form, "rule": rule})


@require_POST
@access.require(access.can_configure_routing)
def rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = get_object_or_404(AssignmentRule, pk=rule_id)
    routing.assignment_rule_delete(user=request.user, rule=rule)
    messages.success(request, f"Assignment rule “{rule.name}” deleted.")
    return _back_to_rules(request)


@require_POST
@access.require(access.can_configure_routing)
def rule_move(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = get_object_or_404(AssignmentRule, pk=rule_id)
    direction = request.POST.get("direction")
    if direction not in ("up", "down"):
        messages.error(request, "Move a rule up or down.")
    else:
        routing.assignment_rule_move(user=request.user, rule=rule, offset=-1 if direction == "up" else 1)
    if request.htmx:
        return render(request, "leads/setup/rules.html#assignment_rules", {"rules": rules_queryset()})
    return redirect("leads:routing_rules")


@access.require(access.can_configure_routing)
def reclaim_edit(request: HttpRequest, rule_id: int | None = None) -> HttpResponse:
    rule = get_object_or_404(ReclaimRule, pk=rule_id) if rule_id else ReclaimRule()
    form = ReclaimRuleForm(request.POST if request.method == "POST" else None, instance=rule)
    preview = None
    if request.method == "POST" and "preview" in request.POST:
        # "Count the leads it would take": a dry run of the rule as filled in, nothing saved.
        if form.is_valid():
            preview = reclaim.reclaim_rule_preview(form.instance)
    elif request.method == "POST" and form.is_valid():
        try:
            reclaim.reclaim_rule_save(user=request.user, rule=form.instance)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Reclaim rule “{rule.name}” saved.")
            return _back_to_rules(request)
    template = "leads/setup/reclaim_form.html#form" if request.htmx else "leads/setup/reclaim_form.html"
    if preview is None and rule.pk and request.method == "GET":
        preview = reclaim.reclaim_rule_preview(rule)
    return render(request, template, {"form": form, "rule": rule, "preview": preview})


@require_POST
@access.require(access.can_configure_routing)
def reclaim_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = get_object_or_404(ReclaimRule, pk=rule_id)
    reclaim.reclaim_rule_delete(user=request.user, rule=rule)
    messages.success(request, f"Reclaim rule “{rule.name}” deleted.")
    return _back_to_rules(request)


# --- The Team page: availability ---------------------------------------------------------------------------------


def _people_visible_to(user: User):
    """Whose availability a user sees (`crm.access.team_members_visible_to`)."""
    return access.team_members_visible_to(user).select_related("team")


def _rows(request: HttpRequest, people: list[User]) -> list[dict]:
    """Each person with their open leads and held pool claims: two grouped queries for the whole page."""
    ids = [p.pk for p in people]
    open_leads = dict(
        Lead.objects.filter(owner_id__in=ids, stage__in=OPEN_STAGES)
        .values("owner_id")
        .annotate(n=Count("pk"))
        .values_list("owner_id", "n")
        .order_by()
    )
    held = dict(
        PoolClaim.objects.filter(user_id__in=ids, lead__owner_id=F("user_id"), lead__stage__in=OPEN_STAGES)
        .values("user_id")
        .annotate(n=Count("pk"))
        .values_list("user_id", "n")
        .order_by()
    )
    today = clock.today()
    user = request.user
    rows = []
    for person in people:
        can_limits = access.can_set_capacity(user, person)
        rows.append(
            {
                "person": person,
                "away_today": person.is_away_on(today),
                "open_leads": open_leads.get(person.pk, 0),
                "held": held.get(person.pk, 0),
                "holding_limit": routing.pool_holding_limit(person),
                "at_capacity": person.max_open_leads is not None
                and open_leads.get(person.pk, 0) >= person.max_open_leads,
                "can_edit": access.can_edit_availability(user, person),
                "can_limits": can_limits,
            }
        )
    return rows


@require_GET
def team(request: HttpRequest) -> HttpResponse:
    people = list(_people_visible_to(request.user).order_by("team__name", "first_name", "last_name", "username"))
    return render(request, "leads/setup/team.html", {"rows": _rows(request, people), "today": clock.today()})


def availability_edit(request: HttpRequest, user_id: int) -> HttpResponse:
    person = _people_visible_to(request.user).filter(pk=user_id).first()
    if person is None:
        raise Http404("No such person.")
    user = request.user
    access.ensure(access.can_edit_availability, user, person)
    can_limits = access.can_set_capacity(user, person)
    form = AvailabilityForm(
        request.POST if request.method == "POST" else None,
        instance=User.objects.get(pk=person.pk),
        can_set_limits=can_limits,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            routing.user_availability_update(
                user=user,
                rep=User.objects.get(pk=person.pk),
                away_from=data["away_from"],
                away_until=data["away_until"],
                max_open_leads=data.get("max_open_leads"),
                pool_holding_limit=data.get("pool_holding_limit"),
                set_limits=can_limits,
            )
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            if request.htmx:
                person = _people_visible_to(user).get(pk=person.pk)
                return render(request, "leads/setup/team.html#row", {"row": _rows(request, [person])[0]})
            messages.success(request, f"Availability of {person} saved.")
            return redirect("leads:team")
    template = "leads/setup/team.html#row_form" if request.htmx else "leads/setup/availability_form.html"
    return render(request, template, {"form": form, "person": person})


# --- The lead page: release -------------------------------------------------------------------------------------


@require_POST
def lead_release(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = selectors.get_lead_for_user(user=request.user, lead_id=lead_id)
    access.ensure(access.can_edit_lead, request.user, lead)
    try:
        released = routing.lead_release(lead=lead, user=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        if released:
            messages.success(request, "The lead is back in the pool.")
        else:
            messages.error(request, "Someone changed this lead's owner a moment ago.")
    return redirect(lead)
