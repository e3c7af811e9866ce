"""Reads of customers, always starting from what the user may see (`crm.access.customers_visible_to`).

Churn is derived by one expression (`with_churn`) from the churn rule in force, so the list, the
customer page, the export and every report say "churned" of the same customers.
"""

from __future__ import annotations

from django.db.models import Case, DateField, ExpressionWrapper, F, Func, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce
from django.http import Http404

from crm import access, clock
from crm.models import User
from customers.models import Account, ChurnRule, Contact, Order, Survey


def get_customer_for_user(*, user: User, account_id: int) -> Account:
    """The customer, if the user may see it; 404 otherwise (never a 403 that confirms it exists)."""
    account = (
        access.customers_visible_to(user)
        .select_related("owner", "channel", "team", "lead")
        .filter(pk=account_id)
        .first()
    )
    if account is None:
        raise Http404("No such customer.")
    return account


def churn_rule() -> ChurnRule:
    """The churn rule in force (the default one until an admin changes it)."""
    return ChurnRule.objects.filter(pk=1).first() or ChurnRule(pk=1)


def with_churn(accounts: QuerySet[Account], rule: ChurnRule | None = None, *, today=None) -> QuerySet[Account]:
    """The accounts annotated with `churn_on`: the day they churned under the rule in force, NULL while active.

    Explicit churn is the day a person marked. Under the inactivity rule, a customer with no order for N days
    churned N days after their last order (or after becoming a customer, with no order yet), once that day has
    come; a day marked by a person comes first.
    """
    rule = rule or churn_rule()
    if rule.kind == ChurnRule.Kind.EXPLICIT:
        return accounts.annotate(churn_on=F("churned_on"))
    lapsed_on = ExpressionWrapper(
        Coalesce("last_order_on", "customer_since") + Value(rule.inactivity_days), output_field=DateField()
    )
    return accounts.annotate(lapsed_on=lapsed_on).annotate(
        churn_on=Case(
            When(churned_on__isnull=False, then=F("churned_on")),
            When(lapsed_on__lte=today or clock.today(), then=F("lapsed_on")),
            default=None,
            output_field=DateField(),
        )
    )


class DaysBetween(Func):
    """Days from `start` to `end` (two date expressions): PostgreSQL's date subtraction, an integer."""

    output_field = IntegerField()
    arity = 2

    def __init__(self, end, start, **extra):
        super().__init__(end, start, **extra)

    def as_sql(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, template="(%(expressions)s)", arg_joiner=" - ", **extra_context)


STATUS_FILTERS = {"": "Any status", "active": "Active", "churned": "Churned"}


def customers_list(
    *, user: User, query: str = "", status: str = "", channel_id: int | None = None
) -> QuerySet[Account]:
    accounts = with_churn(access.customers_visible_to(user)).select_related("owner", "channel")
    if query:
        accounts = accounts.filter(Q(name__icontains=query) | Q(domain__icontains=query))
    if status == "active":
        accounts = accounts.filter(churn_on__isnull=True)
    elif status == "churned":
        accounts = accounts.filter(churn_on__isnull=False)
    if channel_id:
        accounts = accounts.filter(channel_id=channel_id)
    return accounts.order_by("-customer_since", "-id")


def contacts_of(*, account: Account) -> QuerySet[Contact]:
    return account.contacts.all()


def orders_of(*, account: Account, limit: int = 100) -> list[Order]:
    return list(account.orders.select_related("created_by").order_by("-ordered_on", "-id")[:limit])


def surveys_of(*, account: Account, limit: int = 50) -> list[Survey]:
    return list(account.surveys.select_related("contact", "sent_by")[:limit])


def customer_for_lead(*, lead_id: int) -> Contact | None:
    """The contact a lead was converted into (with its account), if it was."""
    return Contact.objects.select_related("account").filter(lead_id=lead_id).first()
