"""Roles are Django groups. A user's role is the highest group they are in (superusers are admins).

Reps work their own leads and the pool; managers see and reassign their team's leads; admins see everything
and configure channels, users and scoring.
"""

from django.core.exceptions import PermissionDenied
from django.db import models


class Role(models.TextChoices):
    REP = "Rep", "Sales rep"
    MANAGER = "Manager", "Manager"
    ADMIN = "Admin", "Admin"


# Permissions each group holds, by app label and codename. Kept here so the groups can be (re)built by a
# migration and by `user_set_role`.
ROLE_PERMISSIONS: dict[Role, list[str]] = {
    Role.REP: [
        "leads.view_lead",
        "leads.add_lead",
        "leads.change_lead",
        "leads.add_interaction",
        "leads.view_interaction",
        "leads.add_followuptask",
        "leads.change_followuptask",
        "leads.view_followuptask",
    ],
    Role.MANAGER: [
        "leads.view_lead",
        "leads.add_lead",
        "leads.change_lead",
        "leads.add_interaction",
        "leads.view_interaction",
        "leads.add_followuptask",
        "leads.change_followuptask",
        "leads.view_followuptask",
        "leads.view_channel",
        "leads.view_channelspend",
    ],
}


def require_admin(user, action: str) -> None:
    """Refuse (403) anyone but an admin; `action` completes the message "Only admins …"."""
    if not user.is_crm_admin:
        raise PermissionDenied(f"Only admins {action}.")
