import datetime as dt
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import groupby

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse

from crm import clock
from crm.models import Notification, Team, User
from crm.roles import Role

logger = logging.getLogger(__name__)
# A digest carries notices of the last day at most: someone who turns email on does not get their history.
EMAIL_DIGEST_WINDOW = dt.timedelta(days=1)


def role_groups_sync() -> dict[Role, Group]:
    """Create the role groups (idempotent). They are given no Django permissions: `crm.access` decides what each role
    may do, and the Django admin is for admins, who are superusers."""
    return {role: Group.objects.get_or_create(name=role.value)[0] for role in Role}


@transaction.atomic
def user_set_role(*, user: User, role: Role) -> User:
    """Put the user in exactly one role group. Admins get the Django admin (staff) and every permission."""
    group, _ = Group.objects.get_or_create(name=role.value)
    user.groups.remove(*Group.objects.filter(name__in=[r.value for r in Role]))
    user.groups.add(group)
    user.is_staff = role == Role.ADMIN
    user.is_superuser = role == Role.ADMIN
    user.save(update_fields=["is_staff", "is_superuser"])
    user.__dict__.pop("role", None)
    return user


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str | None,
    role: Role,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    team: Team | None = None,
) -> User:
    user = User(username=username, first_name=first_name, last_name=last_name, email=email, team=team)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    return user_set_role(user=user, role=role)


@dataclass(frozen=True)
class Notice:
    user_id: int
    key: str
    text: str
    url: str = ""


def notifications_send(*, notices: Iterable[Notice]) -> None:
    """Store notices, each (user, key) at most once, whatever runs at the same time (ON CONFLICT DO NOTHING)."""
    now = clock.now()
    Notification.objects.bulk_create(
        [Notification(user_id=n.user_id, key=n.key, text=n.text[:300], url=n.url, created_at=now) for n in notices],
        ignore_conflicts=True,
    )


def notifications_mark_read(*, user: User, ids: Iterable[int] | None = None) -> int:
    """Mark the user's notices read: the given ones, or all of them."""
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=list(ids))
    return unread.update(read_at=clock.now())


def user_preferences_update(*, user: User, email_notifications: bool) -> User:
    """A person's own notification settings."""
    user.email_notifications = email_notifications
    user.save(update_fields=["email_notifications"])
    return user


def notifications_email_digest() -> int:
    """Email each person who wants it ONE message listing their new, unread notices; returns emails sent.

    The notices are claimed first with a conditional UPDATE (`emailed_at IS NULL` → now, tagged with this
    run's token) and only the rows this run won are read back, so two runs at once or a retry never email a
    notice twice. A failed send gives that person's notices back for the next run; a crash between claim and
    send loses the email (never the in-app notice): at most once, by design.
    """
    now = clock.now()
    token = uuid.uuid4().hex
    candidates = Notification.objects.filter(
        emailed_at__isnull=True,
        read_at__isnull=True,
        created_at__gte=now - EMAIL_DIGEST_WINDOW,
        user__is_active=True,
        user__email_notifications=True,
    ).exclude(user__email="")
    claimed = Notification.objects.filter(pk__in=candidates.values("pk"), emailed_at__isnull=True).update(
        emailed_at=now, email_batch=token
    )
    if not claimed:
        return 0
    rows = Notification.objects.filter(email_batch=token).select_related("user").order_by("user_id", "created_at", "id")
    sent = 0
    with get_connection() as connection:
        for user_id, notices in groupby(rows, key=lambda n: n.user_id):
            notices = list(notices)
            try:
                _digest_message(notices, connection).send()
                sent += 1
            except Exception:
                logger.exception("Could not email a digest to user %s; it will be retried", user_id)
                Notification.objects.filter(email_batch=token, user_id=user_id).update(emailed_at=None, email_batch="")
    return sent


def _digest_message(notices: list[Notification], connection) -> EmailMessage:
    user = notices[0].user
    site = settings.SITE_URL.rstrip("/")
    subject = notices[0].text if len(notices) == 1 else f"{len(notices)} new notices: {notices[0].text}"
    body = render_to_string(
        "crm/email/digest.txt",
        {
            "user": user,
            "notices": [(n, f"{site}{n.url}" if n.url.startswith("/") else n.url) for n in notices],
            "notifications_url": f"{site}{reverse('crm:notifications')}",
            "settings_url": f"{site}{reverse('crm:notification_settings')}",
        },
    )
    return EmailMessage(subject=f"[Mini CRM] {subject}"[:150], body=body, to=[user.email], connection=connection)
