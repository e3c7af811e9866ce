"""The customers list and a customer's page: who sees what, orders and refunds typed in, churn, contacts,
follow-ups on the lead the customer came from; bounded queries."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from crm import clock
from customers import selectors, services
from customers.models import Account, Order
from leads.models import FollowUpTask
from tests.customers.conftest import won_lead
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db


def test_a_rep_lists_own_customers_a_manager_the_teams_an_admin_all(
    client, customer, other_customer, rep, manager, admin_user, other_manager
):
    for user, expected in (
        (rep, ["US Navy"]),
        (manager, ["US Navy"]),
        (other_manager, ["Bletchley"]),
        (admin_user, ["Bletchley", "US Navy"]),
    ):
        client.force_login(user)
        page = client.get(reverse("customers:list"))
        assert sorted(a.name for a in page.context["page"]) == expected, user


def test_the_list_filters_by_status_search_and_channel(client, admin_user, customer, other_customer):
    client.force_login(admin_user)
    Account.objects.filter(pk=other_customer.pk).update(
        status="churned", churned_on=clock.today(), churn_reason="price"
    )

    def names(**query):
        return [a.name for a in client.get(reverse("customers:list"), query).context["page"]]

    assert names(status="churned") == ["Bletchley"]
    assert names(status="active") == ["US Navy"]
    assert names(q="navy") == ["US Navy"]
    assert sorted(names(channel=customer.channel_id)) == ["Bletchley", "US Navy"]
    assert names(channel=ChannelFactory(name="Radio").pk) == []


def test_a_filter_change_answers_with_the_results_partial_only(client, admin_user, customer, htmx):
    client.force_login(admin_user)
    response = client.get(reverse("customers:list"), {"q": "navy"}, headers=htmx)
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="results"') and "US Navy" in html and "<html" not in html


def test_the_list_runs_a_fixed_number_of_queries(client, admin_user, rep, django_assert_max_num_queries):
    for n in range(12):
        services.lead_convert(lead=won_lead(rep, company=f"Company {n}", email=f"x{n}@c{n}.example"), user=None)
    client.force_login(admin_user)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("customers:list")).status_code == 200


def test_another_teams_rep_gets_404_on_the_customer_page(client, other_rep, customer):
    client.force_login(other_rep)
    assert client.get(customer.get_absolute_url()).status_code == 404


def test_the_customer_page_shows_facts_contacts_orders_and_the_leads_timeline(
    rep_client, customer, won, django_assert_max_num_queries
):
    with django_assert_max_num_queries(25):
        page = rep_client.get(customer.get_absolute_url())
    html = page.content.decode()
    assert "US Navy" in html and "Grace Hopper" in html and "Won deal (lead #" in html
    assert "Before the sale" in html and won.get_absolute_url() in html
    assert "Google Ads" in html  # the channel that brought the customer


def test_an_order_and_a_refund_typed_in_change_the_revenue(rep_client, customer):
    url = reverse("customers:order_create", args=[customer.pk])
    today = clock.today().isoformat()
    rep_client.post(url, {"ordered_on": today, "amount": "250.50", "description": "Support"})
    response = rep_client.post(url, {"ordered_on": today, "amount": "-50", "description": "Credit"}, follow=True)
    assert "Refund of -50.00" in response.content.decode()
    customer.refresh_from_db()
    assert (customer.revenue, customer.orders_count) == (Decimal("1200.50"), 2)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"amount": "10"}, "This field is required"),
        ({"ordered_on": "2999-01-01", "amount": "10"}, "cannot be dated in the future"),
        ({"ordered_on": "2026-01-01", "amount": "0"}, "Give the amount"),
        ({"ordered_on": "2026-01-01", "amount": "1e13"}, "Ensure that there are no more than"),
    ],
)
def test_a_bad_order_is_refused_with_the_reason(rep_client, customer, data, message):
    response = rep_client.post(reverse("customers:order_create", args=[customer.pk]), data, follow=True)
    assert message in response.content.decode()
    assert customer.orders.count() == 1


def test_deleting_an_order_recomputes_the_totals(rep_client, customer):
    order = customer.orders.get()
    rep_client.post(reverse("customers:order_delete", args=[order.pk]))
    customer.refresh_from_db()
    assert (customer.revenue, customer.orders_count, customer.first_order_on) == (Decimal(0), 0, None)


def test_another_teams_rep_cannot_add_or_delete_orders(client, other_rep, customer):
    client.force_login(other_rep)
    assert (
        client.post(
            reverse("customers:order_create", args=[customer.pk]), {"ordered_on": "2026-01-01", "amount": "5"}
        ).status_code
        == 404
    )
    assert client.post(reverse("customers:order_delete", args=[customer.orders.get().pk])).status_code == 404
    assert Order.objects.count() == 1


def test_marking_churned_and_active_again(rep_client, customer):
    url = reverse("customers:churn", args=[customer.pk])
    rep_client.post(url, {"churned_on": clock.today().isoformat(), "reason": "competitor", "note": "Went elsewhere"})
    customer.refresh_from_db()
    assert (customer.status, customer.churn_reason, customer.churned_on) == ("churned", "competitor", clock.today())
    html = rep_client.get(customer.get_absolute_url()).content.decode()
    assert "Churned" in html and "Went to a competitor" in html
    assert "Churned" in rep_client.get(reverse("customers:list"), {"status": "churned"}).content.decode()
    rep_client.post(url, {"reactivate": "1"})
    customer.refresh_from_db()
    assert (customer.status, customer.churned_on) == ("active", None)


def test_a_churn_date_before_the_customer_existed_is_refused(rep_client, customer):
    day = (customer.customer_since - dt.timedelta(days=1)).isoformat()
    response = rep_client.post(
        reverse("customers:churn", args=[customer.pk]), {"churned_on": day, "reason": "price"}, follow=True
    )
    assert "cannot churn before becoming one" in response.content.decode()
    customer.refresh_from_db()
    assert customer.status == "active"


def test_a_contact_added_is_not_primary(rep_client, customer):
    rep_client.post(
        reverse("customers:contact_create", args=[customer.pk]), {"name": "Second", "email": "second@navy.example"}
    )
    assert list(customer.contacts.values_list("name", "is_primary")) == [("Grace Hopper", True), ("Second", False)]


def test_a_follow_up_on_the_customer_is_a_task_on_its_lead(rep_client, customer, won, rep):
    due = (clock.now() + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    rep_client.post(reverse("customers:task_create", args=[customer.pk]), {"title": "Renewal call", "due_at": due})
    task = FollowUpTask.objects.get()
    assert (task.lead, task.assignee, task.title) == (won, rep, "Renewal call")
    assert "Renewal call" in rep_client.get(customer.get_absolute_url()).content.decode()


def test_the_churn_rule_is_an_admins_to_change(client, admin_user, manager):
    client.force_login(manager)
    assert client.get(reverse("customers:churn_rule")).status_code == 403
    client.force_login(admin_user)
    response = client.post(
        reverse("customers:churn_rule"), {"kind": "inactivity", "inactivity_days": "90"}, follow=True
    )
    assert "no order for 90 days" in response.content.decode()
    assert (
        client.post(reverse("customers:churn_rule"), {"kind": "inactivity", "inactivity_days": "0"}).status_code == 200
    )
    assert selectors.churn_rule().inactivity_days == 90
    services.churn_rule_save(user=admin_user, kind="explicit", inactivity_days=30)
    assert (selectors.churn_rule().kind, selectors.churn_rule().inactivity_days) == ("explicit", 30)
