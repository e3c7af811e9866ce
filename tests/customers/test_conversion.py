"""Converting a won lead into a customer: won leads only, account matching, nothing lost, once under two clicks."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from customers import services
from customers.models import Account, Contact, Order
from tests.customers.conftest import won_lead
from tests.threads import together

pytestmark = pytest.mark.django_db


def test_a_lead_that_is_not_won_does_not_become_a_customer(lead, rep):
    with pytest.raises(ValidationError, match="Only won leads"):
        services.lead_convert(lead=lead, user=rep)
    assert not Account.objects.exists()


def test_conversion_keeps_the_leads_channel_owner_team_person_and_deal(won, rep, channel, team):
    conversion = services.lead_convert(lead=won, user=rep)
    account = conversion.account
    assert conversion.converted and conversion.account_created
    assert (account.name, account.domain, account.lead, account.channel, account.owner, account.team) == (
        "US Navy",
        "navy.example",
        won,
        channel,
        rep,
        team,
    )
    assert account.customer_since == won.won_at.date()
    contact = conversion.contact
    assert (contact.name, contact.email, contact.lead, contact.is_primary) == (
        "Grace Hopper",
        "grace@navy.example",
        won,
        True,
    )
    order = Order.objects.get(account=account)
    assert (order.amount, order.lead, order.ordered_on) == (Decimal(1000), won, won.won_at.date())
    assert (account.revenue, account.orders_count, account.first_order_on) == (Decimal(1000), 1, order.ordered_on)


def test_a_second_lead_with_the_same_email_domain_joins_the_account(customer, teammate, channel):
    other = won_lead(teammate, channel=channel, name="Ada", email="ada@NAVY.example", company="Navy Research Lab")
    conversion = services.lead_convert(lead=other, user=teammate)
    assert conversion.account == customer and not conversion.account_created
    assert not conversion.contact.is_primary
    customer.refresh_from_db()
    assert (customer.revenue, customer.orders_count, customer.owner.username) == (Decimal(2000), 2, "rep")


def test_a_lead_of_the_same_company_name_joins_the_account_whatever_the_case(customer, rep):
    other = won_lead(rep, name="Someone", email="someone@gmail.com", company="  us navy ")
    assert services.lead_convert(lead=other, user=rep).account == customer


def test_free_mail_addresses_never_match_an_account(rep):
    first = won_lead(rep, name="Ann", email="ann@gmail.com", company="Ann's Bakery")
    second = won_lead(rep, name="Bob", email="bob@gmail.com", company="Bob's Garage")
    accounts = {services.lead_convert(lead=lead, user=rep).account for lead in (first, second)}
    assert len(accounts) == 2
    assert {a.domain for a in accounts} == {""}


def test_a_lead_without_a_company_becomes_an_account_named_after_the_person(rep):
    lead = won_lead(rep, name="Solo Trader", email="solo@gmail.com", company="")
    assert services.lead_convert(lead=lead, user=rep).account.name == "Solo Trader"


def test_a_won_lead_with_a_deal_value_of_zero_gets_no_order(rep):
    lead = won_lead(rep, deal_value=Decimal(0), company="Free Co")
    account = services.lead_convert(lead=lead, user=rep).account
    assert account.orders_count == 0 and not account.orders.exists()


def test_another_teams_rep_may_not_convert_the_lead(won, other_rep):
    with pytest.raises(PermissionDenied):
        services.lead_convert(lead=won, user=other_rep)


@pytest.mark.django_db(transaction=True)
def test_two_clicks_at_once_convert_the_lead_once(rep, channel):
    lead = won_lead(rep, channel=channel, company="Race Ltd", email="x@race.example")
    results, errors = together(
        lambda: services.lead_convert(lead=lead, user=rep), lambda: services.lead_convert(lead=lead, user=rep)
    )
    assert errors == [None, None]
    assert sorted(r.converted for r in results) == [False, True]
    assert Account.objects.count() == 1 and Contact.objects.count() == 1 and Order.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_leads_of_a_new_company_converted_at_once_make_one_account(rep, teammate, channel):
    first = won_lead(rep, channel=channel, company="Twin Corp", email="a@twin.example")
    second = won_lead(teammate, channel=channel, company="Twin Corp", email="b@twin.example")
    _, errors = together(
        lambda: services.lead_convert(lead=first, user=rep), lambda: services.lead_convert(lead=second, user=teammate)
    )
    assert errors == [None, None]
    assert Account.objects.count() == 1
    account = Account.objects.get()
    assert account.contacts.count() == 2 and account.contacts.filter(is_primary=True).count() == 1
    assert account.revenue == Decimal(2000)


def test_the_lead_page_panel_offers_the_conversion_and_then_links_the_customer(rep_client, won):
    panel = rep_client.get(reverse("customers:lead_panel", args=[won.pk]))
    assert b"Convert to customer" in panel.content and b"Creates the customer" in panel.content
    response = rep_client.post(reverse("customers:convert", args=[won.pk]))
    account = Account.objects.get()
    assert response.status_code == 302 and response["Location"] == account.get_absolute_url()
    panel = rep_client.get(reverse("customers:lead_panel", args=[won.pk]))
    assert b"Convert to customer" not in panel.content and account.get_absolute_url().encode() in panel.content


def test_the_panel_says_which_account_a_lead_would_join(rep_client, customer, rep):
    other = won_lead(rep, email="z@navy.example", company="Other name")
    panel = rep_client.get(reverse("customers:lead_panel", args=[other.pk]))
    assert b"Joins the customer <strong>US Navy</strong>" in panel.content and b"navy.example" in panel.content


def test_an_open_lead_has_no_convert_button(rep_client, lead):
    panel = rep_client.get(reverse("customers:lead_panel", args=[lead.pk]))
    assert b"Convert to customer" not in panel.content


def test_converting_an_open_lead_from_the_page_says_why_not(rep_client, lead):
    response = rep_client.post(reverse("customers:convert", args=[lead.pk]), follow=True)
    assert "Only won leads become customers" in response.content.decode()
    assert not Account.objects.exists()


def test_a_pool_lead_cannot_be_converted_by_a_rep(rep_client, channel):
    lead = won_lead(None, channel=channel)
    assert rep_client.post(reverse("customers:convert", args=[lead.pk])).status_code == 403
