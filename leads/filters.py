"""The leads list's filters: every one of them is in the URL, so a view can be bookmarked."""

import copy
import datetime as dt

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet

from crm import access, clock
from crm.models import Team, User
from crm.pagination import Page, Sort, keyset_page
from crm.widgets import OneQueryChoiceIterator, PlainSelect
from leads.models import (
    FUNNEL,
    OPEN_STAGES,
    Channel,
    FollowUpTask,
    Grade,
    Lead,
    LostReason,
    ReclaimRecord,
    Stage,
    StageChange,
)
from leads.scores import SCORE_KEY, UNSCORED, filter_by_grade, order_by_score
from leads.search import leads_matching, newest_matches, search_term
from leads.selectors import owners_visible_to
from leads.sla.selectors import sla_breached_condition

SORTS = {
    "-created": ("Newest first", Sort("created_at")),
    "created": ("Oldest first", Sort("created_at", descending=False)),
    "-activity": ("Recently active", Sort("last_activity_at")),
    "-score": ("Highest score", Sort(SCORE_KEY)),
}
DEFAULT_SORT = "-created"

# A filter value meaning "this text field is empty", for links from reports that group blank values together.
BLANK = "__blank__"

# Company size bands (employees): key, label, lowest, highest (inclusive; None = no bound). Reports group by
# these and link to the list filtered by the same key, so both read one definition.
SIZE_BANDS: tuple[tuple[str, str, int | None, int | None], ...] = (
    ("1-10", "1–10", 0, 10),
    ("11-50", "11–50", 11, 50),
    ("51-200", "51–200", 51, 200),
    ("201-1000", "201–1,000", 201, 1000),
    ("1001-5000", "1,001–5,000", 1001, 5000),
    ("5001+", "5,001 or more", 5001, None),
)

# First response time buckets (seconds): key, label, from (inclusive), to (exclusive). "never" = no response yet.
RESPONSE_BUCKETS: tuple[tuple[str, str, int | None, int | None], ...] = (
    ("under-5m", "< 5 min", 0, 5 * 60),
    ("5-30m", "5–30 min", 5 * 60, 30 * 60),
    ("30-60m", "30–60 min", 30 * 60, 60 * 60),
    ("1-24h", "1–24 h", 60 * 60, 24 * 60 * 60),
    ("over-24h", "> 24 h", 24 * 60 * 60, None),
    ("never", "Never (no response yet)", None, None),
)


# How long an open lead has been in its current stage (days): key, label, from (inclusive), to (exclusive).
STAGE_AGES: tuple[tuple[str, str, int, int | None], ...] = (
    ("0-7d", "Up to 7 days", 0, 8),
    ("8-30d", "8–30 days", 8, 31),
    ("31-90d", "31–90 days", 31, 91),
    ("over-90d", "Over 90 days", 91, None),
)
# Facts whose absence the data-completeness report counts.
KEY_FIELDS = {
    "email": "Email",
    "phone": "Phone",
    "company": "Company",
    "job_title": "Job title",
    "industry": "Industry",
    "company_size": "Company size",
    "region": "Region",
}


def field_missing_condition(name: str) -> Q:
    if name not in KEY_FIELDS:
        raise ValueError(f"Unknown key field {name!r}")
    return Q(company_size__isnull=True) if name == "company_size" else Q(**{name: ""})


def stage_age_condition(key: str, now: dt.datetime) -> Q:
    """Open leads that entered their current stage between the bucket's bounds, counted back from `now`."""
    for bucket_key, _, low, high in STAGE_AGES:
        if bucket_key == key:
            condition = Q(stage__in=OPEN_STAGES, stage_changed_at__lte=now - dt.timedelta(days=low))
            if high is not None:
                condition &= Q(stage_changed_at__gt=now - dt.timedelta(days=high))
            return condition
    raise ValueError(f"Unknown stage age {key!r}")


def size_band_condition(key: str) -> Q:
    """The leads whose company size falls in the band `key` ("unknown": no size recorded)."""
    if key == "unknown":
        return Q(company_size__isnull=True)
    for band_key, _, low, high in SIZE_BANDS:
        if band_key == key:
            condition = Q(company_size__gte=low)
            return condition & Q(company_size__lte=high) if high is not None else condition
    raise ValueError(f"Unknown size band {key!r}")


def response_bucket_condition(key: str) -> Q:
    """The leads whose first response time falls in the bucket `key`."""
    for bucket_key, _, low, high in RESPONSE_BUCKETS:
        if bucket_key == key:
            if low is None:
                return Q(response_seconds__isnull=True)
            condition = Q(response_seconds__gte=low)
            return condition & Q(response_seconds__lt=high) if high is not None else condition
    raise ValueError(f"Unknown response bucket {key!r}")


def reached_stage_condition(stage: str) -> Exists:
    """Leads that reached a funnel stage: a recorded change to it or to any later funnel stage."""
    later = list(FUNNEL[FUNNEL.index(stage) :])
    return Exists(StageChange.objects.filter(lead=OuterRef("pk"), to_stage__in=later))


class _FilterChoiceIterator(django_filters.fields.ModelChoiceIterator, OneQueryChoiceIterator):
    """django-filters' options (with its "null" choice) read in one statement (`OneQueryChoiceIterator`)."""


class _ModelChoiceField(django_filters.fields.ModelChoiceField):
    iterator = _FilterChoiceIterator


class _DrawnPlain:
    """A filter whose select is a `PlainSelect` unless it is given another widget."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", PlainSelect)
        super().__init__(*args, **kwargs)


class ModelChoiceFilter(_DrawnPlain, django_filters.ModelChoiceFilter):
    """A choice of channel, owner...: its options read in one statement and drawn without templates."""

    field_class = _ModelChoiceField


class ChoiceFilter(_DrawnPlain, django_filters.ChoiceFilter):
    """A choice among fixed values, drawn without templates."""


class LeadFilter(django_filters.FilterSet):
    # Every select is a `PlainSelect`, drawn without the form renderer's templates (crm/widgets.py).
    q = django_filters.CharFilter(method="search", label="Search")
    stage = ChoiceFilter(choices=Stage.choices, empty_label="Any stage")
    channel = ModelChoiceFilter(queryset=Channel.objects.all(), empty_label="Any channel")
    owner = ModelChoiceFilter(queryset=None, empty_label="Anyone")
    # Read through scoring's record (leads.scores.filter_by_grade), whose index finds a rare grade's leads.
    grade = ChoiceFilter(method="by_grade", label="Grade", choices=Grade.choices, empty_label="Any grade")
    created_after = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__gte", label="Created from", widget=forms.DateInput({"type": "date"})
    )
    created_before = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__lte", label="Created to", widget=forms.DateInput({"type": "date"})
    )
    # Filters the reports link to; the list shows them only when they are set (see `is_report_filter`).
    team = django_filters.ModelMultipleChoiceFilter(queryset=Team.objects.none(), label="Team")
    industry = django_filters.CharFilter(method="filter_blank_or_exact", label="Industry")
    region = django_filters.CharFilter(method="filter_blank_or_exact", label="Region")
    size = ChoiceFilter(
        choices=[(k, label) for k, label, _, _ in SIZE_BANDS] + [("unknown", "Unknown")],
        method="filter_size",
        label="Company size",
    )
    response = ChoiceFilter(
        choices=[(k, label) for k, label, _, _ in RESPONSE_BUCKETS],
        method="filter_response",
        label="First response",
    )
    reached = ChoiceFilter(choices=[(s.value, s.label) for s in FUNNEL], method="filter_reached", label="Reached stage")
    lost_reason = ChoiceFilter(choices=LostReason.choices, label="Lost reason")
    open = django_filters.BooleanFilter(
        method="filter_open", label="Open (not won or lost)", widget=forms.CheckboxInput
    )
    stage_age = ChoiceFilter(
        choices=[(k, label) for k, label, _, _ in STAGE_AGES],
        method="filter_stage_age",
        label="In stage for",
    )
    missing = ChoiceFilter(choices=list(KEY_FIELDS.items()), method="filter_missing", label="Missing")
    filled = ChoiceFilter(choices=list(KEY_FIELDS.items()), method="filter_filled", label="Filled in")
    overdue_for = ModelChoiceFilter(queryset=User.objects.none(), method="filter_overdue_for", label="Overdue tasks of")
    awaiting = django_filters.BooleanFilter(
        method="filter_awaiting", label="No response yet", widget=forms.CheckboxInput
    )
    breached = django_filters.BooleanFilter(method="filter_breached", label="SLA breached", widget=forms.CheckboxInput)
    pool = django_filters.BooleanFilter(method="filter_pool", label="In the pool", widget=forms.CheckboxInput)
    # "42 of your leads went back to the pool": the leads one reclaim took (its batch, `ReclaimRecord.batch`).
    reclaimed = django_filters.CharFilter(method="filter_reclaimed", label="Taken back by reclaim", max_length=32)
    # "See the leads" after an import: the leads it created (among those the user may see).
    import_job = django_filters.NumberFilter(field_name="import_job", label="From import #", min_value=1)
    sort = ChoiceFilter(
        choices=[(k, label) for k, (label, _) in SORTS.items()],
        method="noop",
        empty_label=None,
        label="Sort",
    )

    class Meta:
        model = Lead
        fields = []

    def __init__(self, data=None, *args, user, **kwargs):
        super().__init__(data, *args, **kwargs)
        self.filters["owner"].queryset = owners_visible_to(user=user)
        self.filters["overdue_for"].queryset = owners_visible_to(user=user)
        self.filters["channel"].queryset = Channel.objects.filter(active=True)
        if access.can_manage_team(user):
            self.filters["team"].queryset = access.teams_visible_to(user)
        elif user.team_id:
            self.filters["team"].queryset = Team.objects.filter(pk=user.team_id)
        # Inactive channels still have leads, and reports link to them.
        if data and data.get("channel"):
            self.filters["channel"].queryset = Channel.objects.all()

    def get_form_class(self):
        """The form class, built once for all requests from the declared filters: django-filters builds one, and
        its two dozen fields, for every request (a millisecond of each). Each form still gets its own copies of the
        fields (Django's `Form` copies them), and `form` gives them the user's choices."""
        cls = type(self)
        if cls.__dict__.get("_form_class") is None:
            fields = {name: filter_.field for name, filter_ in copy.deepcopy(cls.base_filters).items()}
            cls._form_class = type(f"{cls.__name__}Form", (cls._meta.form,), fields)
        return cls._form_class

    @property
    def form(self):
        if not hasattr(self, "_form"):
            form = super().form
            # The choices of this request's filters (`__init__` sets them per user), not the shared class's.
            for name, filter_ in self.filters.items():
                if isinstance(filter_, django_filters.filters.QuerySetRequestMixin):
                    form.fields[name].queryset = filter_.get_queryset(self.request)
        return self._form

    REPORT_FILTERS = (
        "team",
        "industry",
        "region",
        "size",
        "response",
        "reached",
        "lost_reason",
        "open",
        "stage_age",
        "missing",
        "filled",
        "overdue_for",
        "import_job",
        "reclaimed",
    )

    @property
    def shown_fields(self) -> list:
        """The form's fields for the list's filter bar: the filters reports link with appear only when set."""
        return [
            field
            for field in self.form
            if field.name != "q"
            and (field.name not in self.REPORT_FILTERS or (self.data and self.data.get(field.name)))
        ]

    def search(self, queryset, name, value):
        return leads_matching(queryset, search_term(value))

    def _without_search(self) -> QuerySet:
        """The leads every filter but the search lets through (the form is valid: `page` read `self.qs` first)."""
        leads = self.queryset.all()
        for name, value in self.form.cleaned_data.items():
            if name != "q":
                leads = self.filters[name].filter(leads, value)
        return leads

    def filter_awaiting(self, queryset, name, value):
        if value:
            return queryset.filter(first_response_at__isnull=True, stage__in=OPEN_STAGES)
        return queryset

    def filter_breached(self, queryset, name, value):
        # Unanswered past the response deadline, by the CRM's clock (see leads.sla.selectors).
        return queryset.filter(sla_breached_condition()) if value else queryset

    def filter_blank_or_exact(self, queryset, name, value):
        if value == BLANK:
            return queryset.filter(**{name: ""})
        return queryset.filter(**{name: value}) if value else queryset

    def filter_size(self, queryset, name, value):
        return queryset.filter(size_band_condition(value)) if value else queryset

    def filter_response(self, queryset, name, value):
        return queryset.filter(response_bucket_condition(value)) if value else queryset

    def filter_reached(self, queryset, name, value):
        return queryset.filter(reached_stage_condition(value)) if value else queryset

    def filter_open(self, queryset, name, value):
        return queryset.filter(stage__in=OPEN_STAGES) if value else queryset

    def filter_stage_age(self, queryset, name, value):
        return queryset.filter(stage_age_condition(value, clock.now())) if value else queryset

    def filter_missing(self, queryset, name, value):
        return queryset.filter(field_missing_condition(value)) if value else queryset

    def filter_filled(self, queryset, name, value):
        return queryset.exclude(field_missing_condition(value)) if value else queryset

    def filter_overdue_for(self, queryset, name, value):
        if not value:
            return queryset
        overdue = FollowUpTask.objects.filter(
            lead=OuterRef("pk"), assignee=value, done_at__isnull=True, due_at__lt=clock.now()
        )
        return queryset.filter(Exists(overdue))

    def filter_reclaimed(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(Exists(ReclaimRecord.objects.filter(lead=OuterRef("pk"), batch=value)))

    def filter_pool(self, queryset, name, value):
        return queryset.filter(owner__isnull=True) if value else queryset

    def by_grade(self, queryset, name, value):
        return filter_by_grade(queryset, value)

    def noop(self, queryset, name, value):
        return queryset

    @property
    def sort_order(self) -> Sort:
        key = self.form.cleaned_data.get("sort") if self.form.is_valid() else None
        return SORTS.get(key or DEFAULT_SORT, SORTS[DEFAULT_SORT])[1]

    def page(self, *, cursor: str | None, size: int, related: tuple[str, ...] = (), only: tuple[str, ...] = ()) -> Page:
        """One page of the filtered leads in the chosen order (keyset pagination, `crm.pagination`), with the
        `related` objects and, when given, `only` those columns (and the sort's).

        The score sort (`leads.scores.order_by_score`) walks scoring's index of the score: first the scored leads,
        highest first, then the leads not scored yet, latest added first, as if their score were below any score.
        """
        sort = self.sort_order

        def rows(leads: QuerySet) -> QuerySet:
            leads = leads.select_related(*related)
            return leads.only(*only, *([sort.key] if sort.key != SCORE_KEY else [])) if only else leads

        leads = rows(self.qs)
        term = search_term(self.form.cleaned_data.get("q")) if self.is_valid() else ""
        if term and sort.key != SCORE_KEY:
            # A search walks the list's index newest first before it asks the trigram index (`leads.search`).
            return keyset_page(
                rows(self._without_search()),
                sort=sort,
                cursor=cursor,
                size=size,
                fetch=lambda ordered, limit, seek: newest_matches(
                    ordered, term=term, sort=sort, limit=limit, seek=seek
                ),
            )
        if sort.key != SCORE_KEY:
            return keyset_page(leads, sort=sort, cursor=cursor, size=size)
        scored, unscored = order_by_score(leads)
        return keyset_page(scored, sort=sort, cursor=cursor, size=size, rest=unscored, rest_key=UNSCORED)
