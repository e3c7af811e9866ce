"""The leads list's filters: every one of them is in the URL, so a view can be bookmarked."""

import re

import django_filters
from django import forms
from django.db.models.functions import Coalesce

from crm.pagination import Sort
from leads.models import OPEN_STAGES, Channel, Grade, Lead, Stage
from leads.selectors import owners_visible_to
from leads.sla_selectors import sla_breached_condition

SORTS = {
    "-created": ("Newest first", Sort("created_at")),
    "created": ("Oldest first", Sort("created_at", descending=False)),
    "-activity": ("Recently active", Sort("last_activity_at")),
    "-score": ("Highest score", Sort("score_key")),
}
DEFAULT_SORT = "-created"
_PHONE_LIKE = re.compile(r"^[\d\s()+.\-]{4,}$")


class LeadFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    stage = django_filters.ChoiceFilter(choices=Stage.choices, empty_label="Any stage")
    channel = django_filters.ModelChoiceFilter(queryset=Channel.objects.all(), empty_label="Any channel")
    owner = django_filters.ModelChoiceFilter(queryset=None, empty_label="Anyone")
    grade = django_filters.ChoiceFilter(choices=Grade.choices, empty_label="Any grade")
    created_after = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__gte", label="Created from", widget=forms.DateInput({"type": "date"})
    )
    created_before = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__lte", label="Created to", widget=forms.DateInput({"type": "date"})
    )
    awaiting = django_filters.BooleanFilter(
        method="filter_awaiting", label="No response yet", widget=forms.CheckboxInput
    )
    breached = django_filters.BooleanFilter(method="filter_breached", label="SLA breached", widget=forms.CheckboxInput)
    pool = django_filters.BooleanFilter(method="filter_pool", label="In the pool", widget=forms.CheckboxInput)
    sort = django_filters.ChoiceFilter(
        choices=[(k, label) for k, (label, _) in SORTS.items()], method="noop", empty_label=None, label="Sort"
    )

    class Meta:
        model = Lead
        fields = []

    def __init__(self, data=None, *args, user, **kwargs):
        super().__init__(data, *args, **kwargs)
        self.filters["owner"].queryset = owners_visible_to(user=user)
        self.filters["channel"].queryset = Channel.objects.filter(active=True)

    def search(self, queryset, name, value):
        value = value.strip().lower()
        if not value:
            return queryset
        if _PHONE_LIKE.match(value):
            # The searched text holds phones in E.164 form: match on the digits alone.
            value = re.sub(r"\D", "", value)
        return queryset.filter(search_text__contains=value)

    def filter_awaiting(self, queryset, name, value):
        if value:
            return queryset.filter(first_response_at__isnull=True, stage__in=OPEN_STAGES)
        return queryset

    def filter_breached(self, queryset, name, value):
        # Unanswered past the response deadline, by the CRM's clock (see leads.sla_selectors).
        return queryset.filter(sla_breached_condition()) if value else queryset

    def filter_pool(self, queryset, name, value):
        return queryset.filter(owner__isnull=True) if value else queryset

    def noop(self, queryset, name, value):
        return queryset

    @property
    def sort_order(self) -> Sort:
        key = self.form.cleaned_data.get("sort") if self.form.is_valid() else None
        return SORTS.get(key or DEFAULT_SORT, SORTS[DEFAULT_SORT])[1]

    @property
    def qs(self):
        # The score sort reads a never-NULL key that matches the `lead_score_idx` expression index.
        return super().qs.annotate(score_key=Coalesce("score", -1))
