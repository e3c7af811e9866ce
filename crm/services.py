from django.contrib.auth.models import Group, Permission
from django.db import transaction

from crm.models import Team, User
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
