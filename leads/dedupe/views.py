"""The duplicates page and the merge (managers and admins; reps are refused with 403)."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from crm import access
from leads.dedupe import services as dedupe
from leads.selectors import get_lead_for_user


def _require_merger(request: HttpRequest) -> None:
    access.ensure(access.can_merge_leads, request.user)


@require_GET
def lead_panel(request: HttpRequest, lead_id: int) -> HttpResponse:
    """The lead page's duplicates panel: possible duplicates to merge in (for those who may merge), past merges."""
    lead = get_lead_for_user(user=request.user, lead_id=lead_id)
    panel = {
        "duplicates": dedupe.lead_possible_duplicates(user=request.user, lead=lead),
        "merges": list(dedupe.lead_merges(lead=lead)),
    }
    return render(request, "leads/duplicates/_lead_panel.html", {"lead": lead, "merge_panel": panel})


@require_GET
def duplicates(request: HttpRequest) -> HttpResponse:
    _require_merger(request)
    key = request.GET.get("by", dedupe.DEFAULT_KEY)
    if key not in dedupe.KEYS:
        key = dedupe.DEFAULT_KEY
    after = request.GET.get("after", "")[:254]
    page = dedupe.duplicate_groups(user=request.user, key=key, after=after)
    context = {
        "page": page,
        "key": key,
        "after": after,
        "keys": [(name, label) for name, (_, label) in dedupe.KEYS.items()],
        "leads_per_group": dedupe.LEADS_PER_GROUP,
    }
    if request.htmx:
        return render(request, "leads/duplicates/list.html#groups", context)
    return render(request, "leads/duplicates/list.html", context)


class LeadIdsField(forms.Field):
    """Lead ids sent as repeated parameters (`merged=3&merged=7`)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value) -> list[int]:
        if not value:
            return []
        try:
            return sorted({int(v) for v in value})
        except (TypeError, ValueError):
            raise ValidationError("Choose leads from the list.", code="invalid") from None


class MergeForm(forms.Form):
    survivor = forms.IntegerField(
        min_value=1,
        widget=forms.HiddenInput,
        error_messages={"required": "Choose the lead to keep.", "invalid": "Choose the lead to keep."},
    )
    merged = LeadIdsField(
        required=True, error_messages={"required": "Choose at least one lead to merge into the one you keep."}
    )


def _picks(data) -> dict[str, int]:
    """The review page's choices, `pick_<field>=<lead id>`: which lead's value of each field in conflict to keep.
    At most one per known field (the outcome and the fillable facts); anything else is ignored."""
    picks = {}
    for name in ("outcome", *dedupe.FILLABLE_FACTS):
        value = data.get(f"pick_{name}", "")
        if value.isdigit() and len(value) < 19:
            picks[name] = int(value)
    return picks


@require_http_methods(["GET", "POST"])
def merge(request: HttpRequest) -> HttpResponse:
    """GET: what the merge would do, to confirm. POST: merge, then go to the survivor's page."""
    _require_merger(request)
    form = MergeForm(request.POST if request.method == "POST" else request.GET)
    plan = None
    if form.is_valid():
        ids = {
            "survivor_id": form.cleaned_data["survivor"],
            "merged_ids": form.cleaned_data["merged"],
            "picks": _picks(request.POST if request.method == "POST" else request.GET),
        }
        try:
            if request.method == "POST":
                audit = dedupe.leads_merge(user=request.user, **ids)
                count = len(audit.merged_lead_ids)
                messages.success(request, f"Merged {count} lead{'s' if count != 1 else ''} into this one.")
                return redirect(audit.survivor)
            plan = dedupe.merge_plan(user=request.user, **ids)
        except ValidationError as error:
            for name, errors in error.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
    status = 200 if form.is_valid() else 400
    return render(request, "leads/duplicates/merge.html", {"form": form, "plan": plan}, status=status)
