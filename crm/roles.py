"""Roles are Django groups. A user's role is the highest group they are in (superusers are admins).

Reps work their own leads and the pool; managers see and reassign their team's leads; admins see everything
and configure channels, users and scoring. What each role may do is decided in one place, `crm.access`; the
groups are given no Django permissions (only admins, who are superusers, use the Django admin).
"""

from django.db import models


class Role(models.TextChoices):
    REP = "Rep", "Sales rep"
    MANAGER = "Manager", "Manager"
    ADMIN = "Admin", "Admin"
