"""Campaigns: email and event campaigns under a channel, their members, email steps and variants, and the send
records that make every message go out at most once per member and step."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse

from crm import clock
from leads.models import Channel, Lead


class Campaign(models.Model):
    class Kind(models.TextChoices):
        EMAIL = "email", "Email"
        EVENT = "event", "Event"
        AD = "ad", "Ad"
        CONTENT = "content", "Content"

    class SpendSource(models.TextChoices):
        OWN = "own", "Its own"
        CHANNEL = "channel", "A share of the channel's"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.EMAIL)
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="campaigns")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="campaigns"
    )
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)
    spend = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        default=Decimal(0),
        validators=[MinValueValidator(Decimal(0))],
        help_text="What this campaign cost, when it has its own spend.",
    )
    # Where its spend comes from: its own figure above, or its share of the channel's spend periods over its dates
    # (`campaigns.spend`: each day's channel spend shared equally by the channel's campaigns taking channel spend
    # that day).
    spend_source = models.CharField(
        max_length=8, choices=SpendSource.choices, default=SpendSource.OWN, db_default=SpendSource.OWN
    )
    utm_campaign = models.CharField(
        max_length=200,
        blank=True,
        help_text="The utm_campaign value of its links and ads: leads arriving with it count as its touches.",
    )
    # Events (trade show, webinar, workshop).
    event_starts_at = models.DateTimeField(null=True, blank=True)
    location = models.CharField(max_length=200, blank=True)
    registration_slug = models.SlugField(
        max_length=80, unique=True, null=True, blank=True, help_text="The public registration page is /e/<address>/."
    )
    registration_open = models.BooleanField(default=False)
    # When this campaign's figures were last rolled up (`campaigns.counts`); the report reads the rollup of a
    # campaign that has one and counts a campaign without one live.
    counts_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=clock.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(spend__gte=0), name="campaign_spend_not_negative"),
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(starts_on__isnull=True) | Q(ends_on__gte=F("starts_on")),
                name="campaign_dates_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("campaigns:detail", args=[self.pk])


class Member(models.Model):
    """A lead in a campaign: added by a saved leads-list filter, by hand, by import or by registering."""

    class Source(models.TextChoices):
        FILTER = "filter", "Leads-list filter"
        HAND = "hand", "By hand"
        IMPORT = "import", "Import"
        REGISTRATION = "registration", "Registration"
        # An ad or content campaign's lead that arrived with its utm_campaign (`campaigns.arrivals`).
        ARRIVAL = "arrival", "Arrived by its UTM campaign"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="members")
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="campaign_memberships")
    source = models.CharField(max_length=12, choices=Source.choices, default=Source.HAND)
    added_at = models.DateTimeField(default=clock.now)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    registered_at = models.DateTimeField(null=True, blank=True)
    attended_at = models.DateTimeField(null=True, blank=True)
    # When the attendee's owner was given a follow-up task (once per member).
    follow_up_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "lead"], name="member_once_per_campaign")]
        indexes = [
            # A lead's campaigns (the lead page's panel, a rep's campaign list).
            models.Index(fields=["lead"], name="member_lead_idx"),
            # The campaign page's members, newest first, 25 at a time (bounded at a million members).
            models.Index(fields=["campaign", "-added_at", "-id"], name="member_campaign_added_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.lead_id} in {self.campaign_id}"


class EmailStep(models.Model):
    """One email of a campaign. Step 1 goes out at `send_at`; step N, `delay_days` after step N−1 was sent to a
    member, unless the member replied, clicked or became Contacted meanwhile (`stop_if_engaged`)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1), MaxValueValidator(20)])
    delay_days = models.PositiveSmallIntegerField(default=3, validators=[MaxValueValidator(365)])
    stop_if_engaged = models.BooleanField(default=True)
    send_at = models.DateTimeField(null=True, blank=True, help_text="Step 1: when sending starts.")
    released_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["campaign", "position"]
        constraints = [models.UniqueConstraint(fields=["campaign", "position"], name="emailstep_unique_position")]
        indexes = [
            # The minute sweep: first steps due and not yet released.
            models.Index(fields=["send_at"], name="emailstep_due_idx", condition=Q(released_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"Step {self.position} of {self.campaign_id}"


class EmailVariant(models.Model):
    """What a step sends: subject and plain-text body with merge fields. Two variants (A and B) split the members
    by `share` (percent of members getting A; B gets the rest)."""

    step = models.ForeignKey(EmailStep, on_delete=models.CASCADE, related_name="variants")
    label = models.CharField(max_length=1, choices=[("A", "A"), ("B", "B")], default="A")
    subject = models.CharField(max_length=200)
    body = models.TextField(max_length=20_000)
    share = models.PositiveSmallIntegerField(default=100, validators=[MaxValueValidator(100)])

    class Meta:
        ordering = ["step", "label"]
        constraints = [
            models.UniqueConstraint(fields=["step", "label"], name="emailvariant_unique_label"),
            models.CheckConstraint(condition=Q(share__lte=100), name="emailvariant_share_percent"),
        ]

    def __str__(self) -> str:
        return f"{self.label}: {self.subject}"


class Send(models.Model):
    """One message to one member for one step: created queued, claimed (`sending`) by one worker in a committed
    conditional UPDATE before the message is handed to the email backend, then `sent`. The unique (member, step)
    and the claim make a second worker or a redelivered task send nothing; a claim whose worker died before it
    finished is marked `failed` by the sweep, never sent again (a duplicate is worse than a gap, and is shown)."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        SKIPPED = "skipped", "Skipped"
        FAILED = "failed", "Failed"

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="sends")
    step = models.ForeignKey(EmailStep, on_delete=models.CASCADE, related_name="sends")
    variant = models.ForeignKey(EmailVariant, null=True, on_delete=models.SET_NULL, related_name="sends")
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    reason = models.CharField(max_length=200, blank=True)
    queued_at = models.DateTimeField(default=clock.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)
    bounced_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    # A failure the email backend reported (it refused the message): a manager may queue it again. A claim whose
    # worker died is failed but not retryable (whether it left is unknown).
    retryable = models.BooleanField(default=False, db_default=False)
    retries = models.PositiveSmallIntegerField(default=0, db_default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["member", "step"], name="send_once_per_member_and_step")]
        indexes = [
            # Workers claim the next queued sends of a step in id order (SKIP LOCKED).
            models.Index(fields=["step", "id"], name="send_queued_idx", condition=Q(state="queued")),
            # The sweep of claims whose worker died.
            models.Index(fields=["claimed_at"], name="send_sending_idx", condition=Q(state="sending")),
            # Later steps: members whose previous step was sent before a moment.
            models.Index(fields=["step", "sent_at"], name="send_step_sent_idx", condition=Q(state="sent")),
            # Failed sends a manager may retry (few).
            models.Index(fields=["step", "id"], name="send_retryable_idx", condition=Q(state="failed", retryable=True)),
            # The campaign page's drill-downs to rare outcomes (who bounced, unsubscribed, failed, was skipped): read
            # from these small indexes rather than by probing every member of a large campaign.
            models.Index(fields=["step", "member"], name="send_bounced_idx", condition=Q(bounced_at__isnull=False)),
            models.Index(
                fields=["step", "member"], name="send_unsubscribed_idx", condition=Q(unsubscribed_at__isnull=False)
            ),
            models.Index(fields=["step", "member"], name="send_failed_idx", condition=Q(state="failed")),
            models.Index(fields=["step", "member"], name="send_skipped_idx", condition=Q(state="skipped")),
        ]

    def __str__(self) -> str:
        return f"Send {self.pk} ({self.state})"

    @property
    def message_id(self) -> str:
        """The Message-ID header: the same for the same send, so a bounce names its send."""
        return f"<campaign-send-{self.pk}@{settings.CAMPAIGN_MESSAGE_ID_DOMAIN}>"


class Unsubscribe(models.Model):
    """A lead that asked for no more campaign email: every later send skips it."""

    lead = models.OneToOneField(Lead, primary_key=True, on_delete=models.CASCADE, related_name="unsubscribe")
    unsubscribed_at = models.DateTimeField(default=clock.now)
    send = models.ForeignKey(Send, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    def __str__(self) -> str:
        return f"{self.lead_id} unsubscribed"


class EmailCounts(models.Model):
    """The Campaigns report's email figures, rolled up (`campaigns.counts.counts_refresh`): per campaign, step,
    variant and the members' leads' team, owner and channel (the report's filters), as of `Campaign.counts_at`."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    step = models.PositiveSmallIntegerField()
    variant = models.CharField(max_length=1, null=True)
    # The lead's team, owner and channel ids (plain numbers, named so `ReportScope._who()` filters them).
    team = models.BigIntegerField(null=True)
    owner = models.BigIntegerField(null=True)
    channel = models.BigIntegerField(null=True)
    sent = models.IntegerField(default=0)
    bounced = models.IntegerField(default=0)
    opened = models.IntegerField(default=0)
    clicked = models.IntegerField(default=0)
    unsubscribed = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"Email counts of {self.campaign_id}, step {self.step}{self.variant or ''}"


class MemberCounts(models.Model):
    """The Campaigns report's member figures (returns, events), rolled up like `EmailCounts`."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    # The lead's team, owner and channel ids (plain numbers, named so `ReportScope._who()` filters them).
    team = models.BigIntegerField(null=True)
    owner = models.BigIntegerField(null=True)
    channel = models.BigIntegerField(null=True)
    members = models.IntegerField(default=0)
    registered = models.IntegerField(default=0)
    attended = models.IntegerField(default=0)
    attendees_won = models.IntegerField(default=0)
    attendees_won_value = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal(0))
    influenced = models.IntegerField(default=0)
    won = models.IntegerField(default=0)
    won_value = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal(0))

    def __str__(self) -> str:
        return f"Member counts of {self.campaign_id}"
