from functools import cached_property

from django.contrib.auth.models import AbstractUser
from django.db import models

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

    class Meta:
        ordering = ["first_name", "last_name", "username"]

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

    @property
    def is_crm_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_manager(self) -> bool:
        return self.role == Role.MANAGER

    @property
    def is_rep(self) -> bool:
        return self.role == Role.REP

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

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="notification_once_per_user_and_key")]
        indexes = [
            models.Index(
                fields=["user", "-created_at"], name="notification_unread_idx", condition=models.Q(read_at__isnull=True)
            ),
            models.Index(fields=["user", "-created_at"], name="notification_user_idx"),
        ]

    def __str__(self) -> str:
        return self.text
