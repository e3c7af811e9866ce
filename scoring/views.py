"""Scoring pages (admins only): versions, the draft's rules edited inline with htmx, bands, preview, publish,
rollback, suggested weights and the progress of a rescoring run. Plus the score panel of a lead's page, which
anyone who may see the lead may see."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from crm import access
from leads.selectors import get_lead_for_user
from scoring import selectors, services
from scoring.fields import FIT_FIELDS
from scoring.forms import BandsForm, GroupForm, ModelSettingsForm, RuleForm
from scoring.models import Rule, RuleGroup, ScoringModel, ScoringRun
from scoring.panel import lead_panel_context


def _model(version: int) -> ScoringModel:
    return get_object_or_404(ScoringModel, version=version)


def _errors_to_form(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


def _model_context(model: ScoringModel, **extra) -> dict:
    groups = list(RuleGroup.objects.filter(model=model).order_by("position", "id"))
    rules = list(Rule.objects.filter(model=model).order_by("position", "id"))
    for group in groups:
        group.rule_list = [r for r in rules if r.group_id == group.pk]
    context = {
        "model": model,
        "groups": groups,
        "rule_count": len(rules),
        "settings_form": ModelSettingsForm(instance=model),
        "bands_form": BandsForm(model=model),
        "bands": list(model.bands.order_by("-min_score")),
        "new_rule_form": RuleForm(model=model, initial={"kind": Rule.Kind.FIT, "decays": True}) if groups else None,
        "group_form": GroupForm(),
        "run": selectors.latest_run(model=model),
        "published": selectors.published_model(),
        "fit_fields": FIT_FIELDS.values(),
    }
    context.update(extra)
    return context


@access.require(access.can_configure_scoring)
@require_GET
def model_list(request: HttpRequest) -> HttpResponse:
    context = {
        "models": selectors.scoring_models(),
        "published": selectors.published_model(),
        "run": selectors.latest_run(),
    }
    return render(request, "scoring/models.html", context)


@access.require(access.can_configure_scoring)
@require_POST
def model_create(request: HttpRequest) -> HttpResponse:
    based_on = None
    if request.POST.get("based_on"):
        based_on = _model(int(request.POST["based_on"]))
    draft = services.scoring_model_create_draft(user=request.user, based_on=based_on)
    messages.success(request, f"Draft v{draft.version} created.")
    return redirect(draft)


@access.require(access.can_configure_scoring)
@require_GET
def model_detail(request: HttpRequest, version: int) -> HttpResponse:
    return render(request, "scoring/model.html", _model_context(_model(version)))


@access.require(access.can_configure_scoring)
@require_POST
def model_settings(request: HttpRequest, version: int) -> HttpResponse:
    model = _model(version)
    form = ModelSettingsForm(request.POST, instance=ScoringModel.objects.get(pk=model.pk))
    if form.is_valid():
        try:
            model = services.scoring_model_update(
                model=model, user=request.user, data={k: form.cleaned_data[k] for k in form.Meta.fields}
            )
        except ValidationError as error:
            _errors_to_form(form, error)
        else:
            if not request.htmx:
                messages.success(request, "Settings saved.")
                return redirect(model)
            form = ModelSettingsForm(instance=model)
            return render(request, "scoring/model.html#settings", _model_context(model, settings_form=form, saved=True))
    model.refresh_from_db()
    return render(
        request,
        "scoring/model.html#settings" if request.htmx else "scoring/model.html",
        _model_context(model, settings_form=form),
        status=422 if request.htmx else 200,
    )


@access.require(access.can_configure_scoring)
@require_POST
def model_delete(request: HttpRequest, version: int) -> HttpResponse:
    model = _model(version)
    try:
        services.scoring_model_delete_draft(model=model, user=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(model)
    messages.success(request, f"Draft v{version} deleted.")
    return redirect("scoring:models")


@access.require(access.can_configure_scoring)
@require_POST
def model_publish(request: HttpRequest, version: int) -> HttpResponse:
    """Publish a draft, or roll back to an archived version; every lead is rescored in the background."""
    model = _model(version)
    rollback = model.status == ScoringModel.Status.ARCHIVED
    try:
        services.scoring_model_publish(model=model, user=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        verb = "Rolled back to" if rollback else "Published"
        messages.success(request, f"{verb} v{version}. Every lead is being rescored in the background.")
    return redirect(model)


@access.require(access.can_configure_scoring)
@require_POST
def model_suggest(request: HttpRequest, version: int) -> HttpResponse:
    model = _model(version)
    try:
        draft = services.scoring_model_suggest(user=request.user, based_on=model)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(model)
    auc = draft.suggestion.get("test_auc_points")
    messages.success(
        request,
        f"Suggested weights saved as draft v{draft.version}"
        + (f" (held-out ROC AUC {auc:.3f})" if auc is not None else "")
        + ". Preview it before publishing.",
    )
    return redirect(draft)


@access.require(access.can_configure_scoring)
@require_POST
def model_discover(request: HttpRequest) -> HttpResponse:
    """Build a new draft from the closed leads: rules proposed from the data, points learned."""
    try:
        draft = services.scoring_model_discover(user=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("scoring:models")
    report = draft.suggestion
    auc = report.get("test_auc_points")
    messages.success(
        request,
        f"Draft v{draft.version} discovered from the data: {report['rules']} of {report['candidates']} candidate rules "
        "kept" + (f", held-out ROC AUC {auc:.3f}" if auc is not None else "") + ". Review and preview it before "
        "publishing.",
    )
    return redirect(draft)


@access.require(access.can_configure_scoring)
@require_GET
def model_preview(request: HttpRequest, version: int) -> HttpResponse:
    model = _model(version)
    context = {"model": model, "published": selectors.published_model()}
    if request.htmx or request.GET.get("run"):
        context["preview"] = selectors.model_preview(model=model)
        template = "scoring/preview.html#results" if request.htmx else "scoring/preview.html"
        return render(request, template, context)
    return render(request, "scoring/preview.html", context)


# --- rules and groups (inline, htmx) --------------------------------------------------------------------------------


def _rule(rule_id: int) -> Rule:
    return get_object_or_404(Rule.objects.select_related("model", "group"), pk=rule_id)


@access.require(access.can_configure_scoring)
@require_POST
def rule_create(request: HttpRequest, version: int) -> HttpResponse:
    model = _model(version)
    form = RuleForm(request.POST, model=model)
    if form.is_valid():
        data = form.rule_data()
        group = data.pop("group")
        try:
            services.rule_create(model=model, user=request.user, group=group, data=data)
        except ValidationError as error:
            _errors_to_form(form, error)
        else:
            if not request.htmx:
                messages.success(request, "Rule added.")
                return redirect(model)
            return render(request, "scoring/model.html#rules", _model_context(model))
    if not request.htmx:
        return render(request, "scoring/model.html", _model_context(model, new_rule_form=form, open_new=True))
    response = render(request, "scoring/model.html#new_rule", _model_context(model, new_rule_form=form, open_new=True))
    response["HX-Retarget"] = "#new-rule"
    return response


@access.require(access.can_configure_scoring)
def rule_edit(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = _rule(rule_id)
    model = rule.model
    if request.method == "POST":
        form = RuleForm(request.POST, model=model, rule=rule)
        if form.is_valid():
            try:
                rule = services.rule_update(rule=rule, user=request.user, data=form.rule_data())
            except ValidationError as error:
                _errors_to_form(form, error)
            else:
                if not request.htmx:
                    messages.success(request, "Rule saved.")
                    return redirect(model)
                # The rule may have moved to another group: redraw the whole list.
                response = render(request, "scoring/model.html#rules", _model_context(model))
                response["HX-Retarget"] = "#rules"
                return response
    else:
        form = RuleForm(model=model, rule=rule)
    context = _model_context(model, rule=rule, form=form)
    if request.htmx:
        return render(request, "scoring/model.html#rule_form", context)
    return render(request, "scoring/rule_edit.html", context)


@access.require(access.can_configure_scoring)
@require_GET
def rule_row(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = _rule(rule_id)
    return render(request, "scoring/model.html#rule_row", {"rule": rule, "model": rule.model})


@access.require(access.can_configure_scoring)
@require_POST
def rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = _rule(rule_id)
    model = rule.model
    try:
        services.rule_delete(rule=rule, user=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    if request.htmx:
        return render(request, "scoring/model.html#rules", _model_context(model))
    return redirect(model)


@access.require(access.can_configure_scoring)
@require_POST
def group_create(request: HttpRequest, version: int) -> HttpResponse:
    model = _model(version)
    form = GroupForm(request.POST)
    if form.is_valid():
        try:
            services.group_create(model=model, user=request.user, **form.cleaned_data)
        except ValidationError as error:
            _errors_to_form(form, error)
        else:
            form = GroupForm()
    context = _model_context(model, group_form=form)
    if request.htmx:
        return render(request, "scoring/model.html#rules", context)
    if form.errors:
        return render(request, "scoring/model.html", context)
    return redirect(model)


@access.require(access.can_configure_scoring)
@require_POST
def group_edit(request: HttpRequest, group_id: int) -> HttpResponse:
    group = get_object_or_404(RuleGroup.objects.select_related("model"), pk=group_id)
    form = GroupForm(request.POST)
    error_text = None
    if form.is_valid():
        try:
            services.group_update(group=group, user=request.user, **form.cleaned_data)
        except ValidationError as error:
            error_text = " ".join(error.messages)
    else:
        error_text = " ".join(e for errs in form.errors.values() for e in errs)
    if error_text:
        messages.error(request, f"Group “{group.name}”: {error_text}")
    if request.htmx:
        return render(request, "scoring/model.html#rules", _model_context(group.model))
    return redirect(group.model)


@access.require(access.can_configure_scoring)
@require_POST
def group_delete(request: HttpRequest, group_id: int) -> HttpResponse:
    group = get_object_or_404(RuleGroup.objects.select_related("model"), pk=group_id)
    try:
        services.group_delete(group=group, user=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    if request.htmx:
        return render(request, "scoring/model.html#rules", _model_context(group.model))
    return redirect(group.model)


@access.require(access.can_configure_scoring)
@require_POST
def bands_edit(request: HttpRequest, version: int) -> HttpResponse:
    model = _model(version)
    form = BandsForm(request.POST, model=model)
    saved = False
    if form.is_valid():
        try:
            services.bands_set(model=model, user=request.user, bands=form.bands())
        except ValidationError as error:
            form.add_error(None, error.messages)
        else:
            saved = True
            form = BandsForm(model=model)
    context = _model_context(model, bands_form=form, bands_saved=saved)
    if request.htmx:
        return render(request, "scoring/model.html#bands", context)
    if saved:
        messages.success(request, "Grade bands saved.")
        return redirect(model)
    return render(request, "scoring/model.html", context)


# --- runs and the lead panel --------------------------------------------------------------------------------------


@access.require(access.can_configure_scoring)
@require_GET
def run_progress(request: HttpRequest, run_id: int) -> HttpResponse:
    run = get_object_or_404(ScoringRun.objects.select_related("model"), pk=run_id)
    return render(request, "scoring/_run.html", {"run": run})


@require_GET
def lead_panel(request: HttpRequest, lead_id: int) -> HttpResponse:
    """The score breakdown and trend of a lead (the lead page polls it while a rescore is pending)."""
    lead = get_lead_for_user(user=request.user, lead_id=lead_id)
    try:
        tries = max(0, min(100, int(request.GET.get("tries", 0))))
    except ValueError:
        tries = 0
    return render(request, "scoring/lead_panel.html", {**lead_panel_context(lead=lead), "tries": tries})
