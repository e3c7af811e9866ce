from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from crm import clock
from crm.models import Notification, Team, User
from crm.roles import ROLE_PERMISSIONS, Role


def role_groups_sync() -> dict[Role, Group]:
    """Create the role groups with their permissions (idempotent)."""
    groups = {}
    for role in Role:
        group, _ = Group.objects.get_or_create(name=role.value)
        codenames = ROLE_PERMISSIONS.get(role)
        if codenames is not None:
            perms = []
            for dotted in codenames:
                app_label, codename = dotted.split(".")
                perms.extend(Permission.objects.filter(content_type__app_label=app_label, codename=codename))
            group.permissions.set(perms)
        groups[role] = group
    return groups


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
