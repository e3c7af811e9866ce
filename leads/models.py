from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Func, Q, Value
from django.db.models.functions import Coalesce, Concat, Lower
from django.urls import reverse

from crm import clock
from leads.normalize import validate_standard_email

# A lead's block of ids in `search_key`: 65,536 ids, leads added one after the other.
SEARCH_BUCKET_BITS = 16
# Where the blocks' keys start: far below any other key of `search_key`, so no key means two things.
SEARCH_BUCKET_BASE = -(2**62)


def search_bucket(lead_id: int) -> int:
    """The key of `search_key` for the block of ids `lead_id` is in."""
    return (lead_id >> SEARCH_BUCKET_BITS) + SEARCH_BUCKET_BASE


def visibility_key() -> Func:
    """Who may see the lead, as an array: its owner's id (0 in the pool) and its team's id negated, the keys
    `crm.access.lead_visibility_keys` gives a user (`key && keys`). No index holds this array on its own: asked
    for it, PostgreSQL tests each row it reads anyway, where `owner = me OR owner IS NULL` would have it read the
    owner index too (some 200,000 entries for a rep at a million leads) to intersect with a search's matches."""
    return Func(
        Coalesce(F("owner"), Value(0), output_field=models.BigIntegerField()),
        F("team") * Value(-1),
        template="ARRAY[%(expressions)s]",
        output_field=ArrayField(models.BigIntegerField()),
    )


def search_key() -> Func:
    """What the search index holds beside a lead's trigrams (`Lead.Meta.indexes`, "lead_search_idx"), as one array:

    - who may see the lead (`visibility_key`), so that a count narrows its matches to what the user may see
      inside the index, and
    - its block of ids (`search_bucket`), so that a count reads the newest blocks first and stops at its cap.
    """
    return Func(
        Coalesce(F("owner"), Value(0), output_field=models.BigIntegerField()),
        F("team") * Value(-1),
        F("id").bitrightshift(SEARCH_BUCKET_BITS) + Value(SEARCH_BUCKET_BASE),
        template="ARRAY[%(expressions)s]",
        output_field=ArrayField(models.BigIntegerField()),
    )


class Channel(models.Model):
    class Kind(models.TextChoices):
        PAID_SEARCH = "paid_search", "Paid search"
        SOCIAL = "social", "Social"
        CONTENT = "content", "Content / SEO"
        EMAIL = "email", "Email campaign"
        EVENT = "event", "Event / trade show"
        REFERRAL = "referral", "Referral"
        PARTNER = "partner", "Partner"
        COLD = "cold", "Cold outreach"
        IMPORT = "import", "Import"
        OTHER = "other", "Other"

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.OTHER)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ChannelSpend(models.Model):
    """Money spent on a channel over a period; cost figures for any period are computed from these."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="spends")
    period_start = models.DateField()
    period_end = models.DateField()
    amount = models.DecimalField(max_digits=14, decimal_places=2, validators=[MinValueValidator(Decimal(0))])
    currency = models.CharField(max_length=3, default="USD")

    class Meta:
        ordering = ["channel", "-period_start"]
        constraints = [
            models.CheckConstraint(condition=Q(period_end__gte=F("period_start")), name="channelspend_period_ordered"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="channelspend_amount_not_negative"),
            models.UniqueConstraint(
                fields=["channel", "period_start", "period_end"], name="channelspend_unique_period"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.period_start}–{self.period_end}: {self.amount} {self.currency}"


class Stage(models.TextChoices):
    NEW = "new", "New"
    CONTACTED = "contacted", "Contacted"
    QUALIFIED = "qualified", "Qualified"
    PROPOSAL = "proposal", "Proposal"
    WON = "won", "Won"
    LOST = "lost", "Lost"


OPEN_STAGES = (Stage.NEW, Stage.CONTACTED, Stage.QUALIFIED, Stage.PROPOSAL)
CLOSED_STAGES = (Stage.WON, Stage.LOST)
# The funnel's order; Lost stands beside it, reachable from any open stage.
FUNNEL = (Stage.NEW, Stage.CONTACTED, Stage.QUALIFIED, Stage.PROPOSAL, Stage.WON)


class LostReason(models.TextChoices):
    NO_BUDGET = "no_budget", "No budget"
    NO_NEED = "no_need", "No need"
    COMPETITOR = "competitor", "Chose a competitor"
    NO_RESPONSE = "no_response", "No response"
    BAD_DATA = "bad_data", "Bad data"
    TIMING = "timing", "Bad timing"
    OTHER = "other", "Other"


class Grade(models.TextChoices):
    A = "A", "A (hot)"
    B = "B", "B"
    C = "C", "C"
    D = "D", "D"


class Budget(models.TextChoices):
    UNKNOWN = "unknown", "Unknown"
    CONFIRMED = "confirmed", "Has budget"
    NONE = "none", "No budget"


class Authority(models.TextChoices):
    UNKNOWN = "unknown", "Unknown"
    DECISION_MAKER = "decision_maker", "Decision maker"
    INFLUENCER = "influencer", "Influencer"
    OTHER = "other", "No authority"


class Timeline(models.TextChoices):
    UNKNOWN = "unknown", "Unknown"
    DAYS_30 = "30", "Within 30 days"
    DAYS_90 = "90", "Within 90 days"
    DAYS_180 = "180", "Within 180 days"
    LATER = "later", "Later"


class StandardEmailFormField(forms.EmailField):
    """A form's email address as the standards define it (see `StandardEmailField`). A text input, not
    `type=email`: browsers refuse internationalised addresses there."""

    default_validators = [validate_standard_email]
    widget = forms.TextInput(attrs={"inputmode": "email", "autocomplete": "email"})


class StandardEmailField(models.EmailField):
    """An email address as the standards define it, internationalised ones included (`josé@bücher.de`), checked by
    `leads.normalize.email_problem` (email-validator) rather than Django's ASCII-only validator, in forms too."""

    default_validators = [validate_standard_email]

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": StandardEmailFormField, **kwargs})


class Lead(models.Model):
    name = models.CharField(max_length=200)
    email = StandardEmailField(max_length=254, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    # Normalised copies for duplicate detection: lower-cased email, E.164 phone.
    email_normalized = models.CharField(max_length=254, blank=True, editable=False)
    phone_normalized = models.CharField(max_length=20, blank=True, editable=False)
    company = models.CharField(max_length=200, blank=True)
    job_title = models.CharField(max_length=200, blank=True)
    industry = models.CharField(max_length=100, blank=True)
    company_size = models.PositiveIntegerField(null=True, blank=True, help_text="Employees")
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166 code, e.g. DE")
    region = models.CharField(max_length=100, blank=True)
    city = models.CharField(max_length=100, blank=True)

    channel = models.ForeignKey(Channel, null=True, blank=True, on_delete=models.PROTECT, related_name="leads")
    utm_source = models.CharField(max_length=200, blank=True)
    utm_medium = models.CharField(max_length=200, blank=True)
    utm_campaign = models.CharField(max_length=200, blank=True)

    # No owner: the lead sits in the pool. `team` follows the owner's team, so managers' lists filter on
    # one indexed column instead of joining users.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="leads"
    )
    team = models.ForeignKey("crm.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="leads")
    assigned_at = models.DateTimeField(null=True, blank=True)

    stage = models.CharField(max_length=12, choices=Stage.choices, default=Stage.NEW)
    stage_changed_at = models.DateTimeField(default=clock.now)
    lost_reason = models.CharField(max_length=20, choices=LostReason.choices, blank=True)
    deal_value = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(Decimal(0))]
    )
    won_at = models.DateTimeField(null=True, blank=True)

    budget = models.CharField(max_length=12, choices=Budget.choices, default=Budget.UNKNOWN)
    budget_amount = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(Decimal(0))]
    )
    authority = models.CharField(max_length=16, choices=Authority.choices, default=Authority.UNKNOWN)
    need = models.TextField(blank=True, help_text="The need the lead stated, and how well the product fits")
    timeline = models.CharField(max_length=8, choices=Timeline.choices, default=Timeline.UNKNOWN)

    attributes = models.JSONField(default=dict, blank=True)
    # The lead's id in the system it came from ("Record ID", "Prospect ID", "Lead Number" of an export): enough to
    # name a lead that arrives with no name, email or phone.
    # db_default: rows written by COPY without this column (the demo writer, older code) get "" too.
    external_id = models.CharField(
        max_length=100, blank=True, default="", db_default="", help_text="Its id in the system it came from"
    )

    # Copies of scoring's LeadScore, written by the scoring engine (see the note on the indexes below).
    score = models.SmallIntegerField(null=True, blank=True)
    grade = models.CharField(max_length=1, choices=Grade.choices, blank=True)
    scored_at = models.DateTimeField(null=True, blank=True)

    # Speed to lead: the first outbound interaction by a person.
    first_response_at = models.DateTimeField(null=True, blank=True)
    response_seconds = models.PositiveIntegerField(null=True, blank=True)
    last_activity_at = models.DateTimeField(default=clock.now)
    created_at = models.DateTimeField(default=clock.now)
    updated_at = models.DateTimeField(auto_now=True)
    # The import row that created the lead (a fingerprint, `leads.imports.services.RowKeys`): a rerun of the file skips it.
    import_row_key = models.CharField(max_length=64, null=True, blank=True, editable=False)
    # The import job that created the lead (the browser's imports): "See the leads" after an import lists them.
    import_job = models.ForeignKey(
        "ImportJob", null=True, blank=True, editable=False, on_delete=models.SET_NULL, related_name="+", db_index=False
    )

    # What the list's search box matches: one lower-cased column, trigram-indexed on PostgreSQL.
    search_text = models.GeneratedField(
        expression=Lower(
            Concat(
                "name",
                models.Value(" "),
                "email_normalized",
                models.Value(" "),
                "company",
                models.Value(" "),
                "phone_normalized",
                output_field=models.TextField(),
            )
        ),
        output_field=models.TextField(),
        db_persist=True,
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # Keyset pagination: one index per sort order, id as the tie-breaker.
            models.Index(F("created_at").desc(), F("id").desc(), name="lead_created_idx"),
            models.Index(F("last_activity_at").desc(), F("id").desc(), name="lead_activity_idx"),
            # No index reads `score` or `grade`: a publish rewrites them on every lead, and with no index on them
            # (and half of each page kept free, migration 0011) PostgreSQL updates the rows in place (HOT)
            # instead of adding an entry to each of these indexes. The score sort reads scoring's own index.
            # The search box (`leads.search`): the trigrams of `search_text` (pg_trgm) beside `search_key` (who may
            # see the lead, its block of ids). Created in SQL by migration 0019.
            GinIndex(search_key(), OpClass(F("search_text"), name="gin_trgm_ops"), name="lead_search_idx"),
            # Who may see a lead, by its id: the grade filter finds its leads in scoring's index and tests each one
            # here without reading the table. A rep's count of grade A tested 5,400 lead rows at a million leads,
            # most of them outside PostgreSQL's buffers (62-70 ms); against this index, 12-21 ms (migration 0020).
            models.Index(fields=["id"], include=["owner", "team"], name="lead_visibility_idx"),
            # Filters, each leading with the filtered column and ending with the default sort.
            models.Index(F("owner"), F("created_at").desc(), F("id").desc(), name="lead_owner_created_idx"),
            models.Index(F("team"), F("created_at").desc(), F("id").desc(), name="lead_team_created_idx"),
            # Covering the columns the list filters by with the stage, so stage counts need no table reads.
            models.Index(
                fields=["stage", "-created_at", "-id"],
                include=["channel", "owner", "team"],
                name="lead_stage_created_idx",
            ),
            models.Index(F("channel"), F("created_at").desc(), F("id").desc(), name="lead_channel_created_idx"),
            models.Index(F("created_at").desc(), F("id").desc(), name="lead_pool_idx", condition=Q(owner__isnull=True)),
            # "No response yet": open leads nobody answered, whoever may see them (owner, team, pool).
            models.Index(
                fields=["-created_at", "-id"],
                include=["owner", "team"],
                name="lead_awaiting_response_idx",
                condition=Q(first_response_at__isnull=True, stage__in=OPEN_STAGES),
            ),
            # My day: a rep's new leads still waiting, the longest waiting first.
            models.Index(
                F("owner"),
                F("created_at"),
                name="lead_new_unanswered_idx",
                condition=Q(first_response_at__isnull=True, stage="new"),
            ),
            # Filters the reports link to, and the order statistics (median, p90) of first response time.
            models.Index(F("industry"), F("created_at").desc(), F("id").desc(), name="lead_industry_created_idx"),
            models.Index(F("region"), F("created_at").desc(), F("id").desc(), name="lead_region_created_idx"),
            models.Index(F("company_size"), F("created_at").desc(), name="lead_size_created_idx"),
            models.Index(
                F("response_seconds"),
                F("created_at"),
                name="lead_response_idx",
                include=["channel", "owner", "team"],
                condition=Q(response_seconds__isnull=False),
            ),
            # Reports' live figures: open leads ageing in their stage, and days from created to won.
            models.Index(
                fields=["created_at"],
                name="lead_open_ageing_idx",
                include=["stage", "stage_changed_at", "channel", "owner", "team"],
                condition=Q(stage__in=["new", "contacted", "qualified", "proposal"]),
            ),
            models.Index(
                fields=["created_at"],
                name="lead_won_time_idx",
                include=["won_at", "channel", "owner", "team"],
                condition=Q(stage="won"),
            ),
            # "See the leads" of an import: its leads, newest first (the partial index holds imported leads only).
            models.Index(
                F("import_job"),
                F("created_at").desc(),
                F("id").desc(),
                name="lead_import_job_idx",
                condition=Q(import_job__isnull=False),
            ),
            # The reports' refresh finds the leads changed since its last run.
            models.Index(fields=["updated_at"], name="lead_updated_idx"),
            # Duplicate checks, and the duplicates page's GROUP BY in index order (index-only, with the columns
            # a manager's view filters on).
            models.Index(fields=["email_normalized"], include=["owner", "team"], name="lead_email_norm_idx"),
            models.Index(fields=["phone_normalized"], include=["owner", "team"], name="lead_phone_norm_idx"),
            # Routing: each rep's open leads, counted for capacity and least-loaded (leads.routing.services).
            models.Index(F("owner"), name="lead_open_owner_idx", condition=Q(stage__in=OPEN_STAGES)),
            # The reclaim sweep: owned open leads by assignment time (leads.routing.reclaim).
            models.Index(
                F("assigned_at"),
                name="lead_reclaim_idx",
                include=["owner", "team", "created_at", "stage_changed_at"],
                condition=Q(owner__isnull=False, stage__in=OPEN_STAGES),
            ),
        ]
        constraints = [
            # A won lead has its won date. Its deal value is asked for by every form, but history imported from
            # another system may not have it (the import reports such rows as warnings).
            models.CheckConstraint(condition=~Q(stage="won") | Q(won_at__isnull=False), name="lead_won_has_date"),
            models.CheckConstraint(condition=~Q(stage="lost") | ~Q(lost_reason=""), name="lead_lost_has_reason"),
            # One lead per import row; the index answers "which of this chunk's rows were imported already?".
            models.UniqueConstraint(
                fields=["import_row_key"], condition=Q(import_row_key__isnull=False), name="lead_import_row_key_uniq"
            ),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__gte=-1000, score__lte=1000), name="lead_score_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.company})" if self.company else self.name

    def get_absolute_url(self) -> str:
        return reverse("leads:detail", args=[self.pk])

    @property
    def in_pool(self) -> bool:
        return self.owner_id is None

    @property
    def is_open(self) -> bool:
        return self.stage in OPEN_STAGES

    @property
    def awaiting_response(self) -> bool:
        return self.first_response_at is None and self.is_open

    # The response clock, read through the lead (templates and views); see ResponseClock.
    @property
    def sla_clock(self) -> "ResponseClock | None":
        return getattr(self, "response_clock", None)

    @property
    def sla_policy(self) -> "ResponsePolicy | None":
        return self.sla_clock.policy if self.sla_clock else None

    @property
    def sla_due_at(self):
        return self.sla_clock.due_at if self.sla_clock else None

    @property
    def sla_remind_at(self):
        return self.sla_clock.remind_at if self.sla_clock else None

    @property
    def sla_next_at(self):
        return self.sla_clock.next_at if self.sla_clock else None

    @property
    def sla_seconds_left(self) -> int | None:
        """Seconds until the response target passes (negative once missed); None without a running clock."""
        if self.sla_due_at is None or not self.awaiting_response:
            return None
        return int((self.sla_due_at - clock.now()).total_seconds())

    @property
    def sla_breached(self) -> bool:
        """The response target passed before anyone answered (or still nobody has)."""
        if self.sla_due_at is None:
            return False
        if self.first_response_at is not None:
            return self.first_response_at > self.sla_due_at
        return self.is_open and self.sla_due_at <= clock.now()


class Interaction(models.Model):
    class Kind(models.TextChoices):
        CALL = "call", "Call"
        EMAIL = "email", "Email"
        MEETING = "meeting", "Meeting"
        MESSAGE = "message", "SMS / chat"
        NOTE = "note", "Note"
        WEB_VISIT = "web_visit", "Web visit"
        FORM_SUBMISSION = "form_submission", "Form submission"
        DOWNLOAD = "download", "Content download"
        EMAIL_OPEN = "email_open", "Email opened"
        EMAIL_CLICK = "email_click", "Email link clicked"
        EVENT_ATTENDED = "event_attended", "Event attended"
        UNSUBSCRIBE = "unsubscribe", "Unsubscribed"

    class Direction(models.TextChoices):
        OUTBOUND = "outbound", "Outbound"
        INBOUND = "inbound", "Inbound"
        SYSTEM = "system", "System"

    class Outcome(models.TextChoices):
        CONNECTED = "connected", "Connected"
        VOICEMAIL = "voicemail", "Left voicemail"
        NO_ANSWER = "no_answer", "No answer"
        WRONG_NUMBER = "wrong_number", "Wrong number"
        BUSY = "busy", "Busy"

    # Kinds a rep does to reach a lead; one of these, outbound and by a person, is a response.
    PERSONAL_KINDS = (Kind.CALL, Kind.EMAIL, Kind.MEETING, Kind.MESSAGE)

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="interactions")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    direction = models.CharField(max_length=10, choices=Direction.choices, default=Direction.OUTBOUND)
    occurred_at = models.DateTimeField(default=clock.now)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="interactions"
    )
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)
    details = models.JSONField(default=dict, blank=True, help_text="e.g. pages viewed, seconds on site")
    # When it was recorded (logged, imported, received). `occurred_at` is what the person says; the response clock
    # counts by this one, so a back-dated entry cannot rewrite a response time (`leads.sla.services`).
    created_at = models.DateTimeField(default=clock.now)
    # A behavioural event's identity as its sender knows it (their event id, or a digest of what they sent), so a
    # retried delivery is recorded once per lead. Empty for everything else.
    event_key = models.CharField(max_length=64, blank=True, default="", db_default="")
    # The lead it was first recorded on, when a merge moved it here (that lead is gone: its id, named by the merge
    # record's snapshot).
    merged_from_lead_id = models.PositiveBigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(F("lead"), F("occurred_at").desc(), F("id").desc(), name="interaction_lead_time_idx"),
            models.Index(F("kind"), F("occurred_at"), name="interaction_kind_time_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(outcome="") | Q(kind="call"), name="interaction_outcome_only_for_calls"),
            models.UniqueConstraint(
                "lead", "event_key", condition=~Q(event_key=""), name="interaction_event_once_per_lead"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} with {self.lead_id} at {self.occurred_at:%Y-%m-%d %H:%M}"

    @property
    def is_response(self) -> bool:
        return (
            self.direction == self.Direction.OUTBOUND and self.user_id is not None and self.kind in self.PERSONAL_KINDS
        )


class FollowUpTask(models.Model):
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="tasks")
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tasks")
    title = models.CharField(max_length=200)
    due_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=clock.now)
    # The next reminder the minute sweep owes the assignee ("due soon", then "overdue"); NULL when none is left.
    reminder_next_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Moved by every change (edit, snooze, tick): an edit made from an older copy is refused, not written over it.
    version = models.PositiveIntegerField(default=0, db_default=0, editable=False)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(
                F("reminder_next_at"), name="task_reminder_next_idx", condition=Q(reminder_next_at__isnull=False)
            ),
            models.Index(
                F("assignee"), F("due_at"), name="task_open_by_assignee_idx", condition=Q(done_at__isnull=True)
            ),
            models.Index(F("lead"), F("due_at"), name="task_lead_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_done(self) -> bool:
        return self.done_at is not None

    @property
    def is_overdue(self) -> bool:
        return self.done_at is None and self.due_at < clock.now()


class StageChange(models.Model):
    """Every stage transition, so time spent in each stage can be reported."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.CharField(max_length=12, choices=Stage.choices, blank=True)
    to_stage = models.CharField(max_length=12, choices=Stage.choices)
    changed_at = models.DateTimeField(default=clock.now)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # As on Interaction: the lead this change happened on, when a merge moved it here.
    merged_from_lead_id = models.PositiveBigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [
            models.Index(F("lead"), F("changed_at").desc(), name="stagechange_lead_idx"),
            models.Index(F("to_stage"), F("changed_at"), name="stagechange_to_stage_idx"),
            # Pool and recovery: a reclaimed lead's first move to Qualified or Won after the reclaim, read from
            # the index alone (reports.selectors.pool).
            models.Index(
                F("lead"),
                F("changed_at"),
                name="stagechange_recovery_idx",
                condition=Q(to_stage__in=["qualified", "won"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.lead_id}: {self.from_stage or '∅'} → {self.to_stage}"


def policy_rank(*, grade: str, channel_id: int | None) -> int:
    """A response policy's specificity: 3 grade and channel, 2 channel, 1 grade, 0 catch-all; the higher wins (see
    `ResponsePolicy`). In SQL: `leads.sla.selectors.policy_specificity`."""
    return (2 if channel_id is not None else 0) + (1 if grade else 0)


class ResponsePolicy(models.Model):
    """A response target: how fast leads of a grade and/or channel must be answered, and who hears about it.

    Which policy times a lead, most specific first (`leads.sla.services.policy_match`):
    1. grade and channel both match, 2. channel matches (any grade), 3. grade matches (any channel),
    4. the catch-all (any grade, any channel). Inactive policies are skipped; a lead no policy matches has no
    clock. At most one policy exists per (grade, channel) pair, so the choice is never ambiguous.
    """

    class PoolLeads(models.TextChoices):
        ALERT_MANAGER = "manager", "Alert the team's manager"
        IGNORE = "ignore", "No alerts"

    name = models.CharField(max_length=100)
    grade = models.CharField(max_length=1, choices=Grade.choices, blank=True, help_text="Empty: any grade")
    channel = models.ForeignKey(
        Channel, null=True, blank=True, on_delete=models.CASCADE, related_name="+", help_text="Empty: any channel"
    )
    target_minutes = models.PositiveIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(60 * 24 * 30)],
        help_text="Answer within this many minutes of the lead's arrival (of open time, with a calendar).",
    )
    reminder_percent = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(99)],
        help_text="Remind the owner when this share of the target has passed (e.g. 50). Empty: no reminder.",
    )
    calendar = models.ForeignKey(
        "crm.BusinessCalendar",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Count only open hours of this calendar. Empty: the clock runs around the clock.",
    )
    escalate_to_manager = models.BooleanField(
        default=True, help_text="When the target passes unanswered, alert the owner's manager."
    )
    pool_leads = models.CharField(
        max_length=10,
        choices=PoolLeads.choices,
        default=PoolLeads.ALERT_MANAGER,
        help_text="Nobody owns a pool lead: whom its reminder and breach reach.",
    )
    pool_team = models.ForeignKey(
        "crm.Team",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="For pool leads that belong to no team: this team's manager is alerted.",
    )
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "response policies"
        ordering = ["-active", "grade", "channel__name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["grade", "channel"],
                name="policy_once_per_grade_and_channel",
                condition=Q(channel__isnull=False),
            ),
            models.UniqueConstraint(fields=["grade"], name="policy_once_per_grade", condition=Q(channel__isnull=True)),
            models.CheckConstraint(
                condition=Q(target_minutes__gte=1) & Q(target_minutes__lte=60 * 24 * 30), name="policy_target_range"
            ),
            models.CheckConstraint(
                condition=Q(reminder_percent__isnull=True) | Q(reminder_percent__gte=1, reminder_percent__lte=99),
                name="policy_reminder_percent_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def specificity(self) -> int:
        """See `policy_rank`: the higher wins."""
        return policy_rank(grade=self.grade, channel_id=self.channel_id)

    @property
    def applies_to(self) -> str:
        grade = f"{self.grade}-grade leads" if self.grade else "Leads of any grade"
        return f"{grade} from {self.channel}" if self.channel_id else f"{grade} from any channel"


class SentNotice(models.Model):
    """The record that a notice about a lead or a task went out: at most one per (lead or task, kind).

    The unique constraints make the sweeps exactly-once: a sweep inserts its records with ON CONFLICT DO
    NOTHING in the same transaction as the notifications, then reads back the ones it won (`sweep`). Two
    sweeps at once, or a retry after a crash, find the row already there and send nothing.
    """

    class Kind(models.TextChoices):
        SLA_REMINDER = "sla_reminder", "Response reminder"
        SLA_BREACH = "sla_breach", "Response target missed"
        TASK_DUE_SOON = "task_due_soon", "Follow-up due soon"
        TASK_OVERDUE = "task_overdue", "Follow-up overdue"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    task = models.ForeignKey(FollowUpTask, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    sent_at = models.DateTimeField()
    sweep = models.CharField(max_length=32, help_text="The sweep that sent it.")

    class Meta:
        ordering = ["-sent_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["lead", "kind"], name="notice_once_per_lead", condition=Q(lead__isnull=False)
            ),
            models.UniqueConstraint(
                fields=["task", "kind"], name="notice_once_per_task", condition=Q(task__isnull=False)
            ),
            models.CheckConstraint(
                condition=Q(lead__isnull=False, task__isnull=True) | Q(lead__isnull=True, task__isnull=False),
                name="notice_about_a_lead_or_a_task",
            ),
        ]

    def __str__(self) -> str:
        about = f"lead {self.lead_id}" if self.lead_id else f"task {self.task_id}"
        return f"{self.get_kind_display()} · {about}"


class ResponseClock(models.Model):
    """A lead's response clock: the policy that timed it, when the answer is due, when to remind the owner.

    Its own narrow table rather than columns of the lead: the minute sweep moves `next_at` on every reminder
    and escalation, and a lead row carries twenty indexes (a trigram one among them), so writing it is costly.
    `next_at` is the next moment the sweep must act on, NULL once nothing is left to send (answered, closed,
    escalated). `arrived_at` copies the lead's creation time so re-timing never joins the leads table.
    Kept by `leads.sla.services`; a lead no policy matches has no clock.
    """

    lead = models.OneToOneField(Lead, primary_key=True, on_delete=models.CASCADE, related_name="response_clock")
    policy = models.ForeignKey(ResponsePolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    arrived_at = models.DateTimeField()
    due_at = models.DateTimeField(null=True, blank=True)
    remind_at = models.DateTimeField(null=True, blank=True)
    next_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The minute sweep: one range scan over what is due.
            models.Index(F("next_at"), name="clock_next_idx", condition=Q(next_at__isnull=False)),
            # "SLA breached" on the leads list.
            models.Index(F("due_at"), name="clock_due_idx", condition=Q(due_at__isnull=False)),
            # Re-timing: clocks just (re)assigned to a policy, by arrival, before their deadline is written.
            models.Index(F("policy"), F("arrived_at"), name="clock_untimed_idx", condition=Q(due_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"Clock of lead {self.lead_id}: due {self.due_at}"


class LeadMerge(models.Model):
    """The audit entry of a merge: which leads were merged into the survivor, what they held, who did it.

    `snapshot` keeps each merged lead's facts as they were (the leads themselves are deleted), so nothing a
    merge removes is beyond recall. Written by `leads.dedupe.services.leads_merge`.
    """

    survivor = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="merges")
    merged_lead_ids = models.JSONField(default=list)
    snapshot = models.JSONField(default=list, help_text="The merged leads' facts, one object per lead")
    moved = models.JSONField(default=dict, help_text="How many interactions, tasks, stage changes moved")
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    merged_at = models.DateTimeField(default=clock.now)
    # The survivor's arrival before the merge (it becomes the earliest of the leads): with the merged leads'
    # arrivals in `snapshot`, the days whose report figures the merge changed.
    survivor_arrived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-merged_at", "-id"]
        indexes = [
            models.Index(F("survivor"), F("merged_at").desc(), name="leadmerge_survivor_idx"),
            models.Index(F("merged_at"), name="leadmerge_merged_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{len(self.merged_lead_ids)} lead(s) merged into {self.survivor_id}"


class LeadRedirect(models.Model):
    """A merged lead's old address: its id now leads to the survivor (`leads.views.lead_detail`). When the survivor
    is itself merged later, the row follows it to the new survivor (`leads.dedupe.services.leads_merge`)."""

    old_lead_id = models.PositiveBigIntegerField(primary_key=True)
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        indexes = [models.Index(F("lead"), name="leadredirect_lead_idx")]

    def __str__(self) -> str:
        return f"Lead {self.old_lead_id} → {self.lead_id}"


class LeadHistory(models.Model):
    """The audit trail of a lead: one row per field a person (or the system) changed, from what to what, when.

    Values are stored as the row held them (a key for the owner and the channel, a choice's code), and shown with
    their labels by `leads.edits.history_entries`. Written in the same transaction as the change, by
    `leads.edits` (edits, reassignments, merges), set-based for bulk changes.
    """

    class Kind(models.TextChoices):
        EDIT = "edit", "Edited"
        ASSIGN = "assign", "Reassigned"
        MERGE = "merge", "Merged"

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="history")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.EDIT)
    field = models.CharField(max_length=40)
    old_value = models.TextField(blank=True, null=True)
    new_value = models.TextField(blank=True, null=True)
    note = models.CharField(max_length=300, blank=True)
    changed_at = models.DateTimeField(default=clock.now)
    # As on Interaction: the lead this change happened on, when a merge moved it here.
    merged_from_lead_id = models.PositiveBigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-changed_at", "-id"]
        verbose_name_plural = "lead history"
        indexes = [models.Index(F("lead"), F("changed_at").desc(), F("id").desc(), name="leadhistory_lead_idx")]

    def __str__(self) -> str:
        return f"{self.lead_id}: {self.field} {self.old_value!r} → {self.new_value!r}"


# --- Ways in: web-to-lead forms and the JSON API (leads/intake.py, webform_views.py, api.py) --------------------


class WebForm(models.Model):
    """A channel's web-to-lead form: published at /f/<slug>/ and embeddable as a plain HTML <form> snippet."""

    channel = models.OneToOneField(Channel, on_delete=models.CASCADE, related_name="web_form")
    slug = models.SlugField(
        max_length=60, unique=True, help_text="The form's address: /f/<slug>/ (letters, digits, hyphens)."
    )
    published = models.BooleanField(default=False, help_text="Unpublished forms answer 404 and accept nothing.")
    title = models.CharField(max_length=200, default="Talk to our team")
    intro = models.TextField(blank=True, help_text="A line or two above the fields.")
    submit_label = models.CharField(max_length=60, default="Send")
    thank_you_message = models.TextField(default="Thank you! Someone from our team will be in touch shortly.")
    redirect_url = models.URLField(
        blank=True, help_text="After a submission, send the visitor here instead of the thank-you page."
    )
    ask_phone = models.BooleanField(default=True)
    ask_company = models.BooleanField(default=True)
    ask_job_title = models.BooleanField(default=False)
    ask_country = models.BooleanField(default=False)
    ask_message = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return f"Form /f/{self.slug}/ ({self.channel})"

    def get_absolute_url(self) -> str:
        return reverse("webform", args=[self.slug])


class ApiToken(models.Model):
    """A per-channel API key. Only its SHA-256 is stored; the token itself is shown once, when created."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="Who uses it, e.g. “Landing page backend”.")
    prefix = models.CharField(max_length=16, help_text="The token's first characters, to recognise it.")
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=clock.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["channel", "-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class IdempotencyKey(models.Model):
    """A POST made with an `Idempotency-Key` header, and the response it got.

    Inserted first, inside the request's transaction: of two concurrent retries the second waits on the unique
    index until the first commits, then replays its stored response instead of creating anything again.
    """

    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64, help_text="SHA-256 of the method, path and body.")
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["token", "key"], name="idempotency_key_once_per_token")]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]

    def __str__(self) -> str:
        return f"{self.key} ({self.token_id})"


class ImportJob(models.Model):
    """A CSV import: the uploaded file (its decoded text, so any web or Celery machine can read it), the
    column mapping and options chosen, and its progress and outcome, which the page polls.

    The CSV text lives in the database rather than under MEDIA_ROOT: a Celery worker on another machine reads
    it without a shared disk, and a job's file goes when the job is deleted. `IMPORT_MAX_BYTES` bounds it.
    Rows are written in chunks, each in one transaction together with the counters and `rows_done`, so the
    figures always describe what is committed and a retried task carries on after the last whole chunk.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "Not started"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Importing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    file_name = models.CharField(max_length=255)
    encoding = models.CharField(max_length=20, default="utf-8")
    content = models.TextField(help_text="The uploaded CSV, decoded")
    header = models.JSONField(default=list)
    mapping = models.JSONField(default=dict, help_text="Lead field → CSV column")
    options = models.JSONField(default=dict)
    dry_run = models.BooleanField(default=False)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.DRAFT)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    # Rows imported with something odd about them (a won row without a deal value, dates that contradict).
    warned = models.PositiveIntegerField(default=0)
    # The rejected rows as CSV: the file's own columns, then "line" and "reason"; appended chunk by chunk.
    rejected_csv = models.TextField(blank=True)
    # The warned rows as CSV, the same way ("line" and "warning").
    warnings_csv = models.TextField(blank=True)
    # The local days (ISO dates) whose leads the import created or changed: their report figures are rebuilt
    # when it ends (`leads.signals.import_finished`).
    days_touched = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=clock.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Moved when the job is queued, claimed and at each chunk: a queued or running job whose heartbeat is older
    # than BACKGROUND_STALL_SECONDS has lost its worker, and the sweep queues it again.
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(F("created_by"), F("created_at").desc(), name="importjob_by_user_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(rows_done__lte=F("rows_total")), name="importjob_done_within_total"),
        ]

    def __str__(self) -> str:
        return f"Import of {self.file_name} ({self.get_status_display()})"

    def get_absolute_url(self) -> str:
        return reverse("leads:import_detail", args=[self.pk])

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return int(100 * self.rows_done / self.rows_total) if self.rows_total else 0

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)


class AttributeLabel(models.Model):
    """How a person reads a custom attribute's key: the column name it was imported from ("UTM source" for
    `utm_source`). Keys are short and clean so scoring rules can name them (`attributes.<key>`)."""

    key = models.CharField(max_length=64, primary_key=True)
    label = models.CharField(max_length=200)

    def __str__(self) -> str:
        return self.label


# --- Assignment, pool and reclaim (leads.routing.services, leads.routing.reclaim) -------------------------------------------------


class AssignmentRule(models.Model):
    """Where new unowned leads go: the first active rule (by position) whose conditions all match, to a rep of
    its team chosen by its strategy. Empty conditions match anything. See `leads.routing.services`."""

    class Strategy(models.TextChoices):
        ROUND_ROBIN = "round_robin", "Round-robin"
        WEIGHTED = "weighted", "Weighted round-robin"
        LEAST_LOADED = "least_loaded", "Least-loaded (fewest open leads)"

    name = models.CharField(max_length=100)
    position = models.PositiveIntegerField(default=0, db_index=True)
    active = models.BooleanField(default=True)
    # Conditions: lists of values (matched case-insensitively), empty = any.
    regions = models.JSONField(default=list, blank=True)
    countries = models.JSONField(default=list, blank=True)
    industries = models.JSONField(default=list, blank=True)
    channels = models.ManyToManyField(Channel, blank=True, related_name="+")
    company_size_min = models.PositiveIntegerField(null=True, blank=True)
    company_size_max = models.PositiveIntegerField(null=True, blank=True)

    team = models.ForeignKey("crm.Team", on_delete=models.PROTECT, related_name="assignment_rules")
    strategy = models.CharField(max_length=16, choices=Strategy.choices, default=Strategy.ROUND_ROBIN)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(company_size_min__isnull=True)
                | Q(company_size_max__isnull=True)
                | Q(company_size_max__gte=F("company_size_min")),
                name="assignmentrule_size_range_ordered",
            )
        ]

    def __str__(self) -> str:
        return self.name


class AssignmentRuleMember(models.Model):
    """A rep's weight in a rule (weighted round-robin; 1 when absent, 0 = never) and the rule's round-robin
    state for that rep (smooth weighted round-robin's running weight). Written under the rule's row lock."""

    rule = models.ForeignKey(AssignmentRule, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    weight = models.PositiveSmallIntegerField(default=1, validators=[MaxValueValidator(100)])
    current_weight = models.BigIntegerField(default=0, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rule", "user"], name="assignmentrulemember_once"),
            models.CheckConstraint(condition=Q(weight__lte=100), name="assignmentrulemember_weight_range"),
        ]

    def __str__(self) -> str:
        return f"{self.rule} · {self.user_id} × {self.weight}"


class PoolClaim(models.Model):
    """Who last claimed a lead from the pool, and when. A rep holds the claimed leads they still own while they
    are open; the pool holding limit counts those (leads.routing.services.pool_leads_held)."""

    lead = models.OneToOneField(Lead, primary_key=True, on_delete=models.CASCADE, related_name="pool_claim")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    claimed_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["user"], name="poolclaim_user_idx")]

    def __str__(self) -> str:
        return f"Lead {self.lead_id} claimed by {self.user_id}"


class ReclaimRule(models.Model):
    """When an owner neglects a lead it goes back to the pool (or to another rep): no outbound interaction
    within N days of assignment, or no stage change within N days. Won and lost leads are never reclaimed."""

    class Kind(models.TextChoices):
        NO_OUTBOUND = "no_outbound", "No outbound call, email, meeting or message since assignment"
        NO_PROGRESS = "no_progress", "No stage change"

    class Action(models.TextChoices):
        POOL = "pool", "Return it to the pool"
        REROUTE = "reroute", "Reassign it by the assignment rules"

    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.NO_OUTBOUND)
    days = models.PositiveIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(365)], help_text="Within this many days"
    )
    warn_hours = models.PositiveIntegerField(
        default=24,
        validators=[MaxValueValidator(24 * 30)],
        help_text="Warn the owner this many hours before (0: no warning).",
    )
    action = models.CharField(max_length=10, choices=Action.choices, default=Action.POOL)
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["days", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(days__gte=1, days__lte=365), name="reclaimrule_days_range"),
            models.CheckConstraint(condition=Q(warn_hours__lte=24 * 30), name="reclaimrule_warn_range"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def description(self) -> str:
        what = "no outbound interaction" if self.kind == self.Kind.NO_OUTBOUND else "no stage change"
        since = "of assignment" if self.kind == self.Kind.NO_OUTBOUND else "(since assignment or the last change)"
        return f"{what} within {self.days} day{'s' if self.days != 1 else ''} {since}"


class ReclaimWarning(models.Model):
    """The owner was warned that a lead is about to be reclaimed under a rule. One per (lead, rule, anchor): the
    anchor is the moment the rule counts from (assignment, or the later stage change), so a new assignment or
    progress starts afresh. Inserted ON CONFLICT DO NOTHING, so concurrent sweeps warn once."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="+")
    rule = models.ForeignKey(ReclaimRule, on_delete=models.CASCADE, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    anchor_at = models.DateTimeField()
    warned_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["lead", "rule", "anchor_at"], name="reclaimwarning_once"),
        ]

    def __str__(self) -> str:
        return f"Lead {self.lead_id} warned under {self.rule_id}"


class ReclaimRecord(models.Model):
    """A lead taken from its owner by a reclaim rule. Reports compute the outcome (recovered = the lead later
    reached Qualified or Won) from the lead's stage history after `reclaimed_at`."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="reclaims")
    from_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    to_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rule = models.ForeignKey(ReclaimRule, null=True, on_delete=models.SET_NULL, related_name="records")
    rule_name = models.CharField(max_length=100)
    reclaimed_at = models.DateTimeField(db_index=True)
    warned = models.BooleanField(default=False)
    # The reclaim that took it with others (one sweep batch): "42 of your leads went back to the pool" opens them.
    batch = models.CharField(max_length=32, blank=True, default="")

    class Meta:
        ordering = ["-reclaimed_at", "-id"]
        indexes = [
            models.Index(F("lead"), F("reclaimed_at").desc(), name="reclaimrecord_lead_idx"),
            # The leads list filtered by a reclaim notice's batch (`?reclaimed=<batch>`).
            models.Index(F("batch"), F("lead"), name="reclaimrecord_batch_idx", condition=~Q(batch="")),
        ]

    def __str__(self) -> str:
        return f"Lead {self.lead_id} reclaimed from {self.from_user_id} at {self.reclaimed_at}"
