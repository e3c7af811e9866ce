"""Handing a customer to someone else: who may, to whom, the team that follows the owner, the cohort revenue
that moves with them, and two managers doing it at once."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from crm.roles import Role
from customers import services
from customers.models import Account, CohortRevenue
from tests.factories import UserFactory
from tests.threads import together

pytestmark = pytest.mark.django_db(transaction=True)


def revenue_by_owner() -> dict:
    totals: dict = {}
    for row in CohortRevenue.objects.exclude(revenue=0):
        totals[(row.owner_id, row.team_id)] = totals.get((row.owner_id, row.team_id), 0) + row.revenue
    return totals


def test_a_manager_hands_a_customer_to_a_teammate_and_its_revenue_follows(client, customer, rep, teammate, manager):
    services.order_add(account=customer, user=rep, ordered_on=customer.customer_since, amount=Decimal(250))
    assert revenue_by_owner() == {(rep.pk, rep.team_id): Decimal(1250)}
    client.force_login(manager)
    response = client.post(reverse("customers:reassign", args=[customer.pk]), {"owner": teammate.pk})
    assert response.status_code == 302
    account = Account.objects.get(pk=customer.pk)
    assert (account.owner_id, account.team_id) == (teammate.pk, teammate.team_id)
    assert revenue_by_owner() == {(teammate.pk, teammate.team_id): Decimal(1250)}
    services.cohort_revenue_rebuild()
    assert revenue_by_owner() == {(teammate.pk, teammate.team_id): Decimal(1250)}
    # The rep no longer sees it; the teammate does.
    client.force_login(rep)
    assert client.get(reverse("customers:detail", args=[customer.pk])).status_code == 404
    client.force_login(teammate)
    assert client.get(reverse("customers:detail", args=[customer.pk])).status_code == 200


def test_an_admin_moves_a_customer_to_another_team_and_its_team_follows(customer, admin_user, other_rep):
    account = services.account_reassign(account=customer, user=admin_user, owner=other_rep)
    assert (account.owner_id, account.team_id) == (other_rep.pk, other_rep.team_id)


def test_a_rep_may_not_and_a_manager_may_not_hand_to_another_team(client, customer, rep, teammate, manager, other_rep):
    with pytest.raises(PermissionDenied):
        services.account_reassign(account=customer, user=rep, owner=teammate)
    with pytest.raises(ValidationError, match="cannot hand customers"):
        services.account_reassign(account=customer, user=manager, owner=other_rep)
    client.force_login(manager)
    client.post(reverse("customers:reassign", args=[customer.pk]), {"owner": other_rep.pk})
    assert Account.objects.get(pk=customer.pk).owner_id == rep.pk
    # An unknown owner is a form error, not a 500.
    response = client.post(reverse("customers:reassign", args=[customer.pk]), {"owner": "nobody"}, follow=True)
    assert response.status_code == 200 and "New owner" in response.content.decode()


def test_the_page_offers_the_change_to_managers_only(client, customer, rep, manager):
    client.force_login(rep)
    assert "Change owner" not in client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    client.force_login(manager)
    page = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert "Change owner" in page and reverse("customers:reassign", args=[customer.pk]) in page


def test_two_managers_reassigning_at_once_leave_the_rollup_equal_to_the_orders(
    customer, rep, teammate, manager, admin_user
):
    services.order_add(account=customer, user=rep, ordered_on=customer.customer_since, amount=Decimal(40))
    services.order_add(
        account=customer, user=rep, ordered_on=customer.customer_since + dt.timedelta(days=35), amount=Decimal(60)
    )
    third = UserFactory(team=rep.team, role=Role.REP)
    _, errors = together(
        lambda: services.account_reassign(account=customer, user=manager, owner=teammate),
        lambda: services.account_reassign(account=customer, user=admin_user, owner=third),
    )
    assert errors == [None, None]
    account = Account.objects.get(pk=customer.pk)
    assert account.owner_id in (teammate.pk, third.pk)
    kept = revenue_by_owner()
    assert kept == {(account.owner_id, account.team_id): Decimal(1100)}
    services.cohort_revenue_rebuild()
    assert revenue_by_owner() == kept
