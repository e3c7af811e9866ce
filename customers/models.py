"""After the sale: accounts (customers), their contacts, orders (refunds are negative lines), churn and surveys.

An account is a won lead converted (or an imported customer). It keeps the lead it came from, that lead's channel
and owner, so every customer figure can be traced back to the channel that brought it. Its order totals (first and
last order, count, revenue) are kept on the row by the services that write orders, so lists, the export and the
reports read one row per customer instead of summing a million order lines.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower, Trim
from django.urls import reverse

from crm import clock


class Account(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        CHURNED = "churned", "Churned"

    class ChurnReason(models.TextChoices):
        PRICE = "price", "Price"
        PRODUCT = "product", "Product fit"
        SERVICE = "service", "Service"
        COMPETITOR = "competitor", "Went to a competitor"
        BUSINESS_CLOSED = "closed", "Business closed"
        NO_NEED = "no_need", "No longer needed"
        OTHER = "other", "Other"

    name = models.CharField(max_length=200)
    # The matching key of a name: two conversions of "Acme Ltd" and " acme ltd" are one account.
    name_key = models.GeneratedField(
        expression=Lower(Trim("name")), output_field=models.CharField(max_length=200), db_persist=True
    )
    domain = models.CharField(max_length=253, blank=True, help_text="The company's email domain, e.g. acme.com")
    external_id = models.CharField(max_length=100, null=True, blank=True, help_text="Its id in another system")
    # Where the customer came from: the lead converted first, its channel, owner and team (kept if the lead goes).
    lead = models.OneToOneField(
        "leads.Lead", null=True, blank=True, on_delete=models.SET_NULL, related_name="originated_account"
    )
    channel = models.ForeignKey(
        "leads.Channel", null=True, blank=True, on_delete=models.PROTECT, related_name="accounts"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="accounts"
    )
    team = models.ForeignKey("crm.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="accounts")
    customer_since = models.DateField(default=clock.today)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE)
    churned_on = models.DateField(null=True, blank=True)
    churn_reason = models.CharField(max_length=12, choices=ChurnReason.choices, blank=True)
    churn_note = models.CharField(max_length=500, blank=True)
    # Order totals, written with the orders (customers.services.account_totals_refresh).
    first_order_on = models.DateField(null=True, blank=True, editable=False)
    last_order_on = models.DateField(null=True, blank=True, editable=False)
    orders_count = models.PositiveIntegerField(default=0, editable=False)
    revenue = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal(0), editable=False)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint("name_key", name="account_name_key_unique"),
            models.UniqueConstraint(fields=["domain"], condition=~Q(domain=""), name="account_domain_unique"),
            models.UniqueConstraint(fields=["external_id"], name="account_external_id_unique"),
            models.CheckConstraint(
                condition=Q(status="churned", churned_on__isnull=False) | Q(status="active", churned_on__isnull=True),
                name="account_churned_has_date",
            ),
        ]
        indexes = [
            # The customers list of a rep (owner) and a manager (team), newest customers first.
            models.Index(F("owner"), F("customer_since").desc(), name="account_owner_idx"),
            models.Index(F("team"), F("customer_since").desc(), name="account_team_idx"),
            # Reports: new customers per channel in a period (CAC), cohorts.
            models.Index(F("channel"), F("customer_since"), name="account_channel_since_idx"),
            models.Index(F("customer_since"), name="account_since_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("customers:detail", args=[self.pk])


class Contact(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=200)
    email = models.EmailField(max_length=254, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    job_title = models.CharField(max_length=200, blank=True)
    is_primary = models.BooleanField(default=False)
    # The won lead this contact was converted from: a lead converts once.
    lead = models.OneToOneField(
        "leads.Lead", null=True, blank=True, on_delete=models.SET_NULL, related_name="customer_contact"
    )
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["-is_primary", "name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["account"], condition=Q(is_primary=True), name="contact_one_primary"),
        ]

    def __str__(self) -> str:
        return self.name


class Order(models.Model):
    """A line of revenue: an order, or a refund or return (a negative amount)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="orders")
    ordered_on = models.DateField()
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    description = models.CharField(max_length=300, blank=True)
    quantity = models.DecimalField(max_digits=14, decimal_places=3, null=True, blank=True)
    unit_price = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    # The won deal this order records (a converted lead's deal value): once per lead (a partial unique index: the
    # million imported lines without a lead add nothing to it).
    lead = models.ForeignKey(
        "leads.Lead", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["-ordered_on", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["lead"], condition=Q(lead__isnull=False), name="order_one_per_won_lead"),
        ]
        indexes = [
            # The customer page's orders, newest first; the totals of a few accounts.
            models.Index(F("account"), F("ordered_on").desc(), name="order_account_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.ordered_on} {self.amount}"

    @property
    def is_refund(self) -> bool:
        return self.amount < 0


class CohortRevenue(models.Model):
    """Revenue per cohort month (the month customers became customers), months since it, channel, owner and team.

    The Revenue by cohort report reads these few thousand rows instead of joining a million order lines to their
    customers. Written in the same transaction as the orders (`customers.services.cohort_revenue_add`: an upsert
    that adds the lines' amounts), so it is exact at every commit; `cohort_revenue_rebuild` computes it anew.
    """

    cohort_month = models.DateField()
    # Whole months from the cohort month to the order's month; an order dated before its customer's month counts 0.
    age_months = models.SmallIntegerField()
    # No database constraints: a rollup, rebuilt wholesale; a deleted channel or user must not block that.
    channel = models.ForeignKey(
        "leads.Channel", null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    team = models.ForeignKey("crm.Team", null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    revenue = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal(0))

    class Meta:
        constraints = [
            # The upsert's key; NULL (no channel, owner or team) is one value like any other.
            models.UniqueConstraint(
                fields=["cohort_month", "age_months", "channel", "owner", "team"],
                name="cohortrevenue_key",
                nulls_distinct=False,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cohort_month:%Y-%m} +{self.age_months}: {self.revenue}"


class ChurnRule(models.Model):
    """How a customer counts as churned: one row, seen and changed by admins; every churn figure names it."""

    class Kind(models.TextChoices):
        INACTIVITY = "inactivity", "No order for N days (or marked churned)"
        EXPLICIT = "explicit", "Marked churned by a person only"

    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.INACTIVITY)
    inactivity_days = models.PositiveIntegerField(
        default=180, validators=[MinValueValidator(1), MaxValueValidator(3650)], help_text="N, in days"
    )
    updated_at = models.DateTimeField(default=clock.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="churnrule_single_row"),
            models.CheckConstraint(
                condition=Q(inactivity_days__gte=1, inactivity_days__lte=3650), name="churnrule_days_range"
            ),
        ]

    def __str__(self) -> str:
        return self.describe()

    def describe(self) -> str:
        if self.kind == self.Kind.EXPLICIT:
            return "Churned = marked churned by a person (explicit churn only)."
        return f"Churned = marked churned, or no order for {self.inactivity_days} days (from the last order)."


class Survey(models.Model):
    """A CSAT or NPS question sent to a contact, answered once through a signed link."""

    class Kind(models.TextChoices):
        CSAT = "csat", "CSAT (1–5)"
        NPS = "nps", "NPS (0–10)"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="surveys")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="surveys")
    kind = models.CharField(max_length=4, choices=Kind.choices)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=clock.now)
    emailed_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    score = models.SmallIntegerField(null=True, blank=True)
    comment = models.TextField(max_length=2000, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(answered_at__isnull=True, score__isnull=True)
                | Q(answered_at__isnull=False, kind="csat", score__gte=1, score__lte=5)
                | Q(answered_at__isnull=False, kind="nps", score__gte=0, score__lte=10),
                name="survey_answer_in_range",
            ),
        ]
        indexes = [
            # Satisfaction figures: answers in a period.
            models.Index(F("answered_at"), name="survey_answered_idx", condition=Q(answered_at__isnull=False)),
            # The sweep that emails surveys a lost task did not.
            models.Index(F("created_at"), name="survey_unsent_idx", condition=Q(emailed_at__isnull=True)),
            models.Index(F("account"), F("created_at").desc(), name="survey_account_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.contact}"

    @property
    def max_score(self) -> int:
        return 5 if self.kind == self.Kind.CSAT else 10

    @property
    def min_score(self) -> int:
        return 1 if self.kind == self.Kind.CSAT else 0


class OrderImport(models.Model):
    """A CSV of orders uploaded in the browser: the file until it is imported, then what the import did."""

    class State(models.TextChoices):
        UPLOADED = "uploaded", "Uploaded"
        IMPORTING = "importing", "Importing"
        DONE = "done", "Imported"

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=clock.now)
    file_name = models.CharField(max_length=255)
    # The decoded file, kept until the import ran (then emptied: the rejected rows stay, in their own column).
    text = models.TextField(blank=True)
    header = models.JSONField(default=list)
    mapping = models.JSONField(default=dict)
    state = models.CharField(max_length=10, choices=State.choices, default=State.UPLOADED)
    result = models.JSONField(default=dict, help_text="Counts, warnings and the first rejected rows")
    rejects_csv = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.file_name

    def get_absolute_url(self) -> str:
        return reverse("customers:orders_import_detail", args=[self.pk])
