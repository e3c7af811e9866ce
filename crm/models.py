import datetime as dt
from functools import cached_property

from django.contrib.auth.models import AbstractUser
from django.db import models

from crm.business_hours import validate_time_zone
from crm.roles import Role


class Team(models.Model):
    """A sales team: a manager leads it, reps belong to it."""

    name = models.CharField(max_length=100, unique=True)
    manager = models.ForeignKey(
        "crm.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="managed_teams"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="members")
    # The person's own choice (settings page): a digest of new notices by email after each sweep.
    email_notifications = models.BooleanField(
        default=True, help_text="Email me a digest of new notifications (reminders, escalations, follow-ups)."
    )
    # Availability for lead routing (leads.routing.services): an away rep, or one at capacity, gets no new leads.
    away_from = models.DateField(null=True, blank=True, help_text="First day out of office.")
    away_until = models.DateField(null=True, blank=True, help_text="Last day out of office.")
    max_open_leads = models.PositiveIntegerField(
        null=True, blank=True, help_text="Capacity: routing skips the rep at this many open leads. Empty: no limit."
    )
    pool_holding_limit = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Open leads claimed from the pool the rep may hold at once. Empty: the default (POOL_HOLDING_LIMIT).",
    )

    class Meta:
        ordering = ["first_name", "last_name", "username"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(away_from__isnull=True)
                | models.Q(away_until__isnull=True)
                | models.Q(away_until__gte=models.F("away_from")),
                name="user_away_until_after_from",
            )
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @cached_property
    def role(self) -> Role | None:
        """The user's highest role. One query, cached on the instance for the request."""
        if self.is_superuser:
            return Role.ADMIN
        names = set(self.groups.values_list("name", flat=True))
        for role in (Role.ADMIN, Role.MANAGER, Role.REP):
            if role.value in names:
                return role
        return None

    def is_away_on(self, day: dt.date) -> bool:
        """Out of office on that day: from `away_from` (or already) until `away_until` (or further notice)."""
        if self.away_from is None and self.away_until is None:
            return False
        return (self.away_from is None or self.away_from <= day) and (self.away_until is None or day <= self.away_until)

    @property
    def initials(self) -> str:
        parts = [p for p in (self.first_name, self.last_name) if p]
        return "".join(p[0] for p in parts).upper() or self.username[:2].upper()


class Notification(models.Model):
    """An in-app notice to one person. `key` names what it is about ("sla-reminder:lead:42"), and the unique
    (user, key) pair makes sending idempotent: a notice is stored once however often a sweep asks for it."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    key = models.CharField(max_length=200)
    text = models.CharField(max_length=300)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    # Which digest run claimed this notice for email (a conditional UPDATE sets it with `emailed_at`), so the
    # run reads back exactly the rows it won and a retry never emails them again.
    email_batch = models.CharField(max_length=32, blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="notification_once_per_user_and_key")]
        indexes = [
            # The digest's candidates: recent notices not yet emailed nor read.
            models.Index(
                fields=["created_at"],
                name="notification_to_email_idx",
                condition=models.Q(emailed_at__isnull=True, read_at__isnull=True),
            ),
            models.Index(
                fields=["email_batch"], name="notification_email_batch_idx", condition=~models.Q(email_batch="")
            ),
            models.Index(
                fields=["user", "-created_at"], name="notification_unread_idx", condition=models.Q(read_at__isnull=True)
            ),
            models.Index(fields=["user", "-created_at"], name="notification_user_idx"),
        ]

    def __str__(self) -> str:
        return self.text


class BusinessCalendar(models.Model):
    """When the team works: opening hours on chosen weekdays in one time zone, minus holidays.

    A response clock that follows a calendar only runs while it is open (see `crm.business_hours`, the one
    place that does the arithmetic). Hours are the same on every working day and do not cross midnight.
    """

    name = models.CharField(max_length=100, unique=True)
    time_zone = models.CharField(
        max_length=64, default="UTC", validators=[validate_time_zone], help_text="e.g. Europe/Berlin, America/New_York"
    )
    monday = models.BooleanField(default=True)
    tuesday = models.BooleanField(default=True)
    wednesday = models.BooleanField(default=True)
    thursday = models.BooleanField(default=True)
    friday = models.BooleanField(default=True)
    saturday = models.BooleanField(default=False)
    sunday = models.BooleanField(default=False)
    opens_at = models.TimeField(default=dt.time(9, 0))
    closes_at = models.TimeField(default=dt.time(17, 0))
    updated_at = models.DateTimeField(auto_now=True)

    WEEKDAY_FIELDS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(closes_at__gt=models.F("opens_at")), name="calendar_closes_after_it_opens"
            ),
            models.CheckConstraint(
                condition=models.Q(monday=True)
                | models.Q(tuesday=True)
                | models.Q(wednesday=True)
                | models.Q(thursday=True)
                | models.Q(friday=True)
                | models.Q(saturday=True)
                | models.Q(sunday=True),
                name="calendar_has_a_working_day",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def working_weekdays(self) -> frozenset[int]:
        """Working days as Python weekday numbers (Monday is 0)."""
        return frozenset(i for i, name in enumerate(self.WEEKDAY_FIELDS) if getattr(self, name))

    @property
    def summary(self) -> str:
        """ "Mon–Fri 09:00–17:00 Europe/Berlin" """
        days = sorted(self.working_weekdays)
        labels = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        if days and days == list(range(days[0], days[-1] + 1)) and len(days) > 2:
            day_text = f"{labels[days[0]]}–{labels[days[-1]]}"
        else:
            day_text = ", ".join(labels[d] for d in days)
        return f"{day_text} {self.opens_at:%H:%M}–{self.closes_at:%H:%M} {self.time_zone}"


class Holiday(models.Model):
    """A day the calendar stays closed, whatever its weekday."""

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField()
    name = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["calendar", "date"], name="holiday_once_per_calendar_day")]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.name}".strip()
