from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce, Concat, Lower
from django.urls import reverse

from crm import clock


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


class Lead(models.Model):
    name = models.CharField(max_length=200)
    email = models.EmailField(max_length=254, blank=True)
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

    # Filled by the scoring engine.
    score = models.SmallIntegerField(null=True, blank=True)
    grade = models.CharField(max_length=1, choices=Grade.choices, blank=True)
    scored_at = models.DateTimeField(null=True, blank=True)

    # Speed to lead: the first outbound interaction by a person.
    first_response_at = models.DateTimeField(null=True, blank=True)
    response_seconds = models.PositiveIntegerField(null=True, blank=True)

    last_activity_at = models.DateTimeField(default=clock.now)
    created_at = models.DateTimeField(default=clock.now)
    updated_at = models.DateTimeField(auto_now=True)

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
            models.Index(Coalesce("score", -1).desc(), F("id").desc(), name="lead_score_idx"),
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
            models.Index(F("grade"), F("created_at").desc(), F("id").desc(), name="lead_grade_created_idx"),
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
            # The reports' refresh finds the leads changed since its last run.
            models.Index(fields=["updated_at"], name="lead_updated_idx"),
            models.Index(fields=["email_normalized"], name="lead_email_norm_idx"),
            models.Index(fields=["phone_normalized"], name="lead_phone_norm_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(stage="won") | Q(deal_value__isnull=False, won_at__isnull=False),
                name="lead_won_has_value_and_date",
            ),
            models.CheckConstraint(condition=~Q(stage="lost") | ~Q(lost_reason=""), name="lead_lost_has_reason"),
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
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(F("lead"), F("occurred_at").desc(), F("id").desc(), name="interaction_lead_time_idx"),
            models.Index(F("kind"), F("occurred_at"), name="interaction_kind_time_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(outcome="") | Q(kind="call"), name="interaction_outcome_only_for_calls"),
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

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
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

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [
            models.Index(F("lead"), F("changed_at").desc(), name="stagechange_lead_idx"),
            models.Index(F("to_stage"), F("changed_at"), name="stagechange_to_stage_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.lead_id}: {self.from_stage or '∅'} → {self.to_stage}"
