from django.db.models import QuerySet

from crm.models import Notification, User


def notifications_for(*, user: User) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user).order_by("-created_at", "-id")


def unread_notification_count(*, user: User, cap: int = 99) -> int:
    """Unread notices, counted up to `cap` (the bell shows "99+")."""
    return Notification.objects.filter(user=user, read_at__isnull=True)[: cap + 1].count()
