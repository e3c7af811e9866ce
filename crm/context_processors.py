def navigation(request):
    """The role drives which navigation entries the layout shows."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"crm_role": user.role}
