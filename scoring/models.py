"""Scoring models (versioned sets of rules and grade bands), what they produced, and the jobs that run them.

`leads` knows nothing of this app: the lead row carries only the current `score`, `grade` and `scored_at`;
which model version made a score, its history and the jobs live here, keyed by lead.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.urls import reverse

from crm import clock
from scoring.tiers import tiers_from_json


class ScoringModel(models.Model):
    """One version of the scoring rules. Drafts are edited; exactly one version is published (live)."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        ARCHIVED = "archived", "Archived"

    class Origin(models.TextChoices):
        MANUAL = "manual", "Written by hand"
        COPY = "copy", "Copy of another version"
        SUGGESTED = "suggested", "Suggested from history"

    version = models.PositiveIntegerField(unique=True)
    name = models.CharField(max_length=100)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.MANUAL)
    based_on = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    notes = models.TextField(blank=True)
    score_min = models.SmallIntegerField(default=0)
    score_max = models.SmallIntegerField(default=100)
    # Engagement points lose half their weight every `half_life_days` after the latest activity that earned them.
    half_life_days = models.PositiveSmallIntegerField(null=True, blank=True)
    # For suggested drafts: how the fit went (AUC on the training and held-out splits, sizes, weights).
    suggestion = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=clock.now)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["status"], condition=Q(status="published"), name="scoringmodel_one_published"
            ),
            models.CheckConstraint(condition=Q(score_max__gt=F("score_min")), name="scoringmodel_range_ordered"),
            models.CheckConstraint(
                condition=Q(score_min__gte=-1000, score_max__lte=1000), name="scoringmodel_range_fits_lead_score"
            ),
        ]

    def __str__(self) -> str:
        return f"v{self.version} {self.name}"

    def get_absolute_url(self) -> str:
        return reverse("scoring:model", args=[self.version])

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT


class RuleGroup(models.Model):
    """Rules add up per group; a cap keeps one noisy behaviour from swamping the score."""

    model = models.ForeignKey(ScoringModel, on_delete=models.CASCADE, related_name="groups")
    name = models.CharField(max_length=60)
    position = models.PositiveSmallIntegerField(default=0)
    cap = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Most points the group may add")

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["model", "name"], name="rulegroup_unique_name")]

    def __str__(self) -> str:
        return self.name


class Rule(models.Model):
    class Kind(models.TextChoices):
        FIT = "fit", "Profile fit"
        ACTIVITY = "activity", "Activity in tiers"
        HAS_DONE = "has_done", "Has done"
        INACTIVITY = "inactivity", "Inactive for"

    class Operator(models.TextChoices):
        EQUALS = "equals", "equals"
        IN = "in", "is one of"
        RANGE = "range", "is a number between"
        CONTAINS = "contains", "contains"
        IS_SET = "is_set", "is filled in"

    class Measure(models.TextChoices):
        COUNT = "count", "number of times"
        PAGES = "pages", "pages viewed"
        SECONDS = "seconds", "seconds on site"

    model = models.ForeignKey(ScoringModel, on_delete=models.CASCADE, related_name="rules")
    group = models.ForeignKey(RuleGroup, on_delete=models.CASCADE, related_name="rules")
    position = models.PositiveSmallIntegerField(default=0)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    points = models.SmallIntegerField(default=0, help_text="For fit, has-done and inactivity rules")

    # Fit: a lead field (or "attributes.<key>") compared with an operator.
    field = models.CharField(max_length=80, blank=True)
    operator = models.CharField(max_length=10, choices=Operator.choices, blank=True)
    value = models.CharField(max_length=200, blank=True)
    values = models.JSONField(default=list, blank=True)
    range_min = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    range_max = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)

    # Activity / has done: interactions of a kind (optionally a detail containing a text) within a window.
    interaction_kind = models.CharField(max_length=20, blank=True)
    detail_key = models.CharField(max_length=40, blank=True)
    detail_contains = models.CharField(max_length=200, blank=True)
    measure = models.CharField(max_length=8, choices=Measure.choices, default=Measure.COUNT)
    window_days = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Empty: all time")
    # [{"min": 3, "max": 5, "points": 5}, {"min": 6, "max": null, "points": 10}]
    tiers = models.JSONField(default=list, blank=True)
    decays = models.BooleanField(default=True, help_text="Points fade with the model's half-life")

    # Inactivity: no activity for this many days.
    inactive_days = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["group__position", "group_id", "position", "id"]
        indexes = [models.Index(fields=["model", "position"], name="rule_model_idx")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_engagement(self) -> bool:
        return self.kind in (self.Kind.ACTIVITY, self.Kind.HAS_DONE)

    def clean(self) -> None:
        """Each kind needs its own settings; say which one is wrong, next to it."""
        from leads.models import Interaction
        from scoring.fields import NUMBER, fit_field

        errors: dict[str, str] = {}
        if self.kind == self.Kind.FIT:
            field = fit_field(self.field or "")
            if field is None:
                errors["field"] = (
                    f"Unknown field “{self.field}”. Choose a lead field, or write attributes.<key> for a custom "
                    "attribute."
                )
            if self.operator not in self.Operator.values:
                errors["operator"] = "Choose how to compare."
            elif self.operator in (self.Operator.EQUALS, self.Operator.CONTAINS) and not self.value.strip():
                errors["value"] = "Give the text to compare with."
            elif self.operator == self.Operator.IN and not [v for v in self.values or [] if str(v).strip()]:
                errors["values"] = "Give at least one value (separate values with commas)."
            elif self.operator == self.Operator.RANGE:
                if field is not None and field.type not in (NUMBER, "attribute"):
                    errors["operator"] = f"{field.label} is not a number; use equals, is one of or contains."
                if self.range_min is None and self.range_max is None:
                    errors["range_min"] = "Give a lowest value, a highest value or both."
                elif None not in (self.range_min, self.range_max) and self.range_min > self.range_max:
                    errors["range_max"] = "The highest value is below the lowest."
            elif (
                field is not None
                and field.type == NUMBER
                and self.operator
                not in (
                    self.Operator.RANGE,
                    self.Operator.IS_SET,
                )
            ):
                errors["operator"] = f"{field.label} is a number: use “is a number between” or “is filled in”."
        elif self.is_engagement:
            if self.interaction_kind not in Interaction.Kind.values:
                errors["interaction_kind"] = "Choose a kind of interaction."
            if bool(self.detail_key) != bool(self.detail_contains):
                errors["detail_contains"] = "Give both the detail (e.g. url) and the text it must contain."
            if self.kind == self.Kind.ACTIVITY:
                try:
                    tiers = tiers_from_json(self.tiers or [])
                except (KeyError, TypeError, ValueError):
                    tiers = ()
                if not tiers:
                    errors["tiers"] = "Give at least one tier, e.g. “3-5 = 5; 6+ = 10”."
        elif self.kind == self.Kind.INACTIVITY:
            if not self.inactive_days:
                errors["inactive_days"] = "Give the number of days without activity."
        else:
            errors["kind"] = "Choose a kind of rule."
        if errors:
            raise ValidationError(errors)


class GradeBand(models.Model):
    """Scores from `min_score` to `max_score` (both included) get this grade."""

    model = models.ForeignKey(ScoringModel, on_delete=models.CASCADE, related_name="bands")
    grade = models.CharField(max_length=1, choices=[(g, g) for g in "ABCD"])
    min_score = models.SmallIntegerField()
    max_score = models.SmallIntegerField()

    class Meta:
        ordering = ["grade"]
        constraints = [
            models.UniqueConstraint(fields=["model", "grade"], name="gradeband_one_per_grade"),
            models.CheckConstraint(condition=Q(max_score__gte=F("min_score")), name="gradeband_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.grade}: {self.min_score}–{self.max_score}"


class LeadScore(models.Model):
    """Scoring's own record of each lead's score: which model version made it and since when it holds.

    `computed_at` moves when the version, score or grade changes, or when the lead is rescored after an event.

    `Lead.score` and `Lead.grade` are copies for display, reports and the API, written only when they change.
    The indexes that find leads by score or grade are this table's (the list's score sort and grade filter read
    them through `lead.score_record`): with none on the lead's copies, rewriting them is an in-place update.
    """

    lead = models.OneToOneField("leads.Lead", primary_key=True, on_delete=models.CASCADE, related_name="score_record")
    # Not indexed: a bulk run rewrites every row's model, and an index on it would make each rewrite a non-HOT
    # update. Nothing looks leads up by model except the PROTECT check when a version is deleted, which Django
    # makes; no database constraint either, whose check would run once per rewritten row.
    model = models.ForeignKey(
        ScoringModel, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    score = models.SmallIntegerField()
    grade = models.CharField(max_length=1, blank=True)
    computed_at = models.DateTimeField()

    class Meta:
        indexes = [
            # The leads list's "Highest score" sort and My day's hot leads walk this index (the lead rows carry
            # no index on their copy of score and grade; see leads.models.Lead).
            models.Index(F("score").desc(), F("lead").desc(), name="leadscore_score_idx"),
            # The leads list's grade filter on the hot grades, which few leads have: found here instead of by
            # walking the whole list. Partial, so that a rescoring adds entries only for the leads graded A or B;
            # the common grades are found quickly enough by walking the list.
            models.Index(F("grade"), F("lead"), name="leadscore_grade_idx", condition=Q(grade__in=["A", "B"])),
        ]

    def __str__(self) -> str:
        return f"lead {self.lead_id} by v{self.model_id}"


class ScoreChange(models.Model):
    """The score history of a lead: every change from an event, and every change of grade from bulk runs."""

    class Reason(models.TextChoices):
        EVENT = "event", "Lead changed"
        PUBLISH = "publish", "Model published"
        DECAY = "decay", "Nightly decay"
        RECALCULATE = "recalculate", "Recalculated"

    # A bulk run appends hundreds of thousands of rows at once: without database constraints, no check per row
    # (each one a lookup that also locks the lead row). Django still cascades and protects (on_delete), and the
    # rows come from the scoring engine only, with ids it has just read. `scorechange_lead_idx` serves the lead.
    lead = models.ForeignKey(
        "leads.Lead", on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    model = models.ForeignKey(ScoringModel, on_delete=models.PROTECT, related_name="+", db_constraint=False)
    score = models.SmallIntegerField()
    grade = models.CharField(max_length=1)
    previous_score = models.SmallIntegerField(null=True, blank=True)
    previous_grade = models.CharField(max_length=1, blank=True)
    reason = models.CharField(max_length=12, choices=Reason.choices)
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["-recorded_at", "-id"]
        indexes = [models.Index(F("lead"), F("recorded_at").desc(), name="scorechange_lead_idx")]

    def __str__(self) -> str:
        return f"lead {self.lead_id}: {self.previous_score} → {self.score}"


class DirtyLead(models.Model):
    """Leads whose facts changed since they were scored; a Celery task sweeps them (many events, one pass)."""

    lead_id = models.BigIntegerField(primary_key=True)
    marked_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"lead {self.lead_id}"


class ScoringRun(models.Model):
    """A bulk rescoring job (publish, rollback, recalculate, nightly decay): progress for the page's bar.

    Chunks go by lead id ranges (`ScoringRunChunk`), several at once, each committed whole; `last_lead_id` is a
    lower bound of the leads done (every lead below it is), for the progress bar.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    model = models.ForeignKey(ScoringModel, on_delete=models.CASCADE, related_name="runs")
    reason = models.CharField(max_length=12, choices=ScoreChange.Reason.choices)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    first_lead_id = models.BigIntegerField(default=0)
    end_lead_id = models.BigIntegerField(default=0, help_text="Highest lead id when the run was queued")
    last_lead_id = models.BigIntegerField(default=0)
    leads_done = models.PositiveIntegerField(default=0)
    leads_total = models.PositiveIntegerField(default=0)
    leads_changed = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=clock.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Moved by each chunk (and by a claim or a resume): an active run whose heartbeat is older than
    # BACKGROUND_STALL_SECONDS has lost its worker, and the sweep queues it again.
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} v{self.model.version}: {self.get_status_display()}"

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        span = self.end_lead_id - self.first_lead_id
        if span <= 0:
            return 0
        return max(0, min(99, int(100 * (self.last_lead_id - self.first_lead_id) / span)))

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)


class ScoringRunChunk(models.Model):
    """One range of lead ids of a run, written in one transaction by whichever executor takes it first.

    The first executor of a run cuts its range into chunks. Executors (threads of one task, or several tasks)
    take chunks with `FOR UPDATE SKIP LOCKED` and hold that row lock until the chunk's writes commit: each chunk is
    written once, several are written at once, and a chunk whose executor was killed is free again the moment its
    transaction is rolled back. A finished run's chunks are deleted.
    """

    run = models.ForeignKey(ScoringRun, on_delete=models.CASCADE, related_name="chunks")
    start_lead_id = models.BigIntegerField()
    end_lead_id = models.BigIntegerField()
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # Also the index that finds a run's next chunk to write (its lowest start not done).
            models.UniqueConstraint(fields=["run", "start_lead_id"], name="scoringrunchunk_run_start_uniq"),
            models.CheckConstraint(
                condition=Q(end_lead_id__gt=F("start_lead_id")), name="scoringrunchunk_range_not_empty"
            ),
        ]

    def __str__(self) -> str:
        return f"run {self.run_id}: leads {self.start_lead_id}–{self.end_lead_id}"
