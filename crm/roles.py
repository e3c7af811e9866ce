"""Roles are Django groups. A user's role is the highest group they are in (superusers are admins).

Reps work their own leads and the pool; managers see and reassign their team's leads; admins see everything
and configure channels, users and scoring.
"""

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
