from crm import access


def navigation(request):
    """The role drives which navigation entries the layout shows; `may` answers the named checks of
    `crm.access` a template needs (templates ask it, never a role)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    may = {
        "manage_team": access.can_manage_team(user),
        "see_team_reports": access.can_see_team_reports(user),
        "configure_channels": access.can_configure_channels(user),
        "configure_routing": access.can_configure_routing(user),
        "configure_response_targets": access.can_configure_response_targets(user),
        "configure_scoring": access.can_configure_scoring(user),
        "configure_churn": access.can_configure_churn(user),
        "import_orders": access.can_import_orders(user),
    }
    may["configure_anything"] = any(value for key, value in may.items() if key.startswith("configure_"))
    return {"crm_role": user.role, "may": may}
