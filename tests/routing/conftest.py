import datetime as dt
from contextlib import contextmanager

import pytest
import time_machine

from crm.models import Notification
from crm.roles import Role
from leads.models import AssignmentRule
from leads.routing import services as routing
from tests.factories import UserFactory


@contextmanager
def at(*args):
    """Freeze the CRM's clock at a UTC moment: `with at(2026, 5, 4, 9, 0): ...`."""
    with time_machine.travel(dt.datetime(*args, tzinfo=dt.UTC), tick=False):
        yield


def make_rule(admin, team, *, name="Rule", channels=(), weights=None, **fields) -> AssignmentRule:
    rule = AssignmentRule(name=name, team=team, **fields)
    return routing.assignment_rule_save(user=admin, rule=rule, channels=list(channels), weights=weights)


def notice_keys(user) -> list[str]:
    return list(Notification.objects.filter(user=user).order_by("id").values_list("key", flat=True))


@pytest.fixture
def third_rep(team, manager):
    return UserFactory(username="third", role=Role.REP, team=team)


@pytest.fixture
def catch_all(admin_user, team):
    return make_rule(admin_user, team, name="Everything to Inside Sales")
