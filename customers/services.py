"""Writes of customers: converting a won lead, orders and their totals, contacts, churn and the churn rule.

Every function is keyword-only, runs in a transaction and is safe with two people at once: a conversion locks the
lead's row (one conversion per lead, also a unique constraint) and the account's row (one primary contact); an
order locks its account's row, so the totals written beside it are never computed from a stale sum.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from crm import access, clock
from crm.models import User
from customers.models import Account, ChurnRule, Contact, Order
from leads.models import Lead, Stage

# Addresses at these domains say nothing about the company: they never match or name an account.
FREE_MAIL_DOMAINS = frozenset(
    [
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.co.uk",
        "yahoo.fr",
        "ymail.com",
        "hotmail.com",
        "hotmail.co.uk",
        "hotmail.fr",
        "outlook.com",
        "live.com",
        "msn.com",
        "aol.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "proton.me",
        "protonmail.com",
        "gmx.de",
        "gmx.net",
        "gmx.com",
        "web.de",
        "mail.com",
        "mail.ru",
        "yandex.ru",
        "yandex.com",
        "zoho.com",
        "qq.com",
        "163.com",
        "126.com",
        "t-online.de",
        "orange.fr",
        "free.fr",
        "laposte.net",
        "libero.it",
        "virgilio.it",
        "btinternet.com",
        "comcast.net",
        "verizon.net",
        "att.net",
        "sbcglobal.net",
        "example.com",
        "example.org",
        "example.net",
    ]
)


def company_domain(email: str) -> str:
    """The company domain of an address ("" for free mail or no address)."""
    domain = email.strip().lower().rpartition("@")[2]
    if not domain or "@" not in email or domain in FREE_MAIL_DOMAINS:
        return ""
    return domain


def name_key(name: str) -> str:
    """What `Account.name_key` holds for a name (lower-cased, trimmed)."""
    return name.strip().lower()


_ONE_ORDER = "SELECT account_id, ordered_on, amount FROM customers_order WHERE id = %s"
_ACCOUNT_ORDERS = "SELECT account_id, ordered_on, amount FROM customers_order WHERE account_id = %s"


@dataclass(frozen=True)
class AccountMatch:
    account: Account | None
    # How the lead matches it: "domain", "name", or "" (a new account would be created).
    by: str
    name: str
    domain: str


def account_match(*, lead: Lead) -> AccountMatch:
    """The account a lead would join: the one with its email's company domain, else the one with its company's
    name (the lead's own name when it has no company); None when a new account would be created."""
    domain = company_domain(lead.email_normalized or lead.email)
    name = (lead.company or lead.name).strip()
    if domain and (account := Account.objects.filter(domain=domain).first()):
        return AccountMatch(account, "domain", name, domain)
    if account := Account.objects.filter(name_key=name_key(name)).first():
        return AccountMatch(account, "name", name, domain)
    return AccountMatch(None, "", name, domain)


@dataclass(frozen=True)
class Conversion:
    account: Account
    contact: Contact
    account_created: bool
    # False when the lead had been converted already (a second click): nothing was written.
    converted: bool


def _local_day(moment: dt.datetime | None) -> dt.date:
    return timezone.localdate(moment) if moment else clock.today()


@transaction.atomic
def lead_convert(*, lead: Lead, user: User | None) -> Conversion:
    """Make a won lead a customer: attach it to the account matched by domain or name, or create one, with the
    lead's person as a contact and its deal value as the first order. Converting a lead twice (two clicks at
    once) converts it once; the second call returns the first conversion."""
    if user is not None:
        access.ensure(access.can_convert_lead, user, lead)
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    existing = Contact.objects.select_related("account").filter(lead=lead).first()
    if existing is not None:
        return Conversion(existing.account, existing, account_created=False, converted=False)
    if lead.stage != Stage.WON:
        raise ValidationError("Only won leads become customers: move the lead to Won first.")

    account, created = _account_for(lead)
    # One writer per account from here: its primary contact and its totals.
    account = Account.objects.select_for_update().get(pk=account.pk)
    contact = Contact.objects.create(
        account=account,
        name=lead.name,
        email=lead.email,
        phone=lead.phone,
        job_title=lead.job_title,
        is_primary=not account.contacts.filter(is_primary=True).exists(),
        lead=lead,
    )
    if lead.deal_value and lead.deal_value > 0:
        deal = Order.objects.create(
            account=account,
            ordered_on=_local_day(lead.won_at),
            amount=lead.deal_value,
            description=f"Won deal (lead #{lead.pk})",
            lead=lead,
            created_by=user,
        )
        account_totals_refresh(account_ids=[account.pk])
        cohort_revenue_add(orders_sql=_ONE_ORDER, params=[deal.pk])
    account.refresh_from_db()
    return Conversion(account, contact, account_created=created, converted=True)


def _account_for(lead: Lead) -> tuple[Account, bool]:
    """The matched account, or a new one made from the lead. Two leads of one new company converted at the same
    moment make one account: the second insert hits the unique name or domain, and that account is used."""
    for _ in range(3):
        match = account_match(lead=lead)
        if match.account is not None:
            return match.account, False
        try:
            with transaction.atomic():
                account = Account.objects.create(
                    name=match.name,
                    domain=match.domain,
                    lead=lead,
                    channel_id=lead.channel_id,
                    owner_id=lead.owner_id,
                    team_id=lead.team_id,
                    customer_since=_local_day(lead.won_at),
                )
            return account, True
        except IntegrityError:
            continue  # created by someone else a moment ago: match again
    raise ValidationError("The account could not be created; try again.")


_TOTALS = """
    SELECT o.account_id,
           min(o.ordered_on) FILTER (WHERE o.amount > 0) AS first_on,
           max(o.ordered_on) FILTER (WHERE o.amount > 0) AS last_on,
           count(*) FILTER (WHERE o.amount > 0) AS n,
           sum(o.amount) AS revenue
      FROM customers_order AS o {where}
     GROUP BY o.account_id
"""
_SET_TOTALS = """
    UPDATE customers_account AS a
       SET first_order_on = s.first_on, last_order_on = s.last_on, orders_count = s.n, revenue = s.revenue
      FROM ({totals}) AS s
     WHERE a.id = s.account_id
"""


def account_totals_refresh(*, account_ids: list[int] | None = None, accounts_sql: str = "") -> int:
    """Recompute the order totals of some accounts from their orders: those of `account_ids` (a few: a person's
    change), those an SQL query selects (`accounts_sql`, "SELECT account_id FROM ...": an import's, every one of
    which has orders), or all of them. One statement per kind; set-based for any number.

    Orders are the positive lines: first and last order dates and the count read them; revenue is the sum of all
    lines, refunds (negative) included."""
    with connection.cursor() as cursor:
        if account_ids is not None:
            # An account whose last order was deleted has no group in the totals: LEFT JOIN, zero.
            cursor.execute(
                f"""
                UPDATE customers_account AS a
                   SET first_order_on = s.first_on, last_order_on = s.last_on,
                       orders_count = coalesce(s.n, 0), revenue = coalesce(s.revenue, 0)
                  FROM customers_account AS b
                  LEFT JOIN ({_TOTALS.format(where="WHERE o.account_id = ANY(%s)")}) AS s ON s.account_id = b.id
                 WHERE a.id = b.id AND b.id = ANY(%s)
                """,
                [list(account_ids)] * 2,
            )
            return cursor.rowcount
        if accounts_sql:
            where = f"JOIN ({accounts_sql}) AS touched ON touched.account_id = o.account_id"
            cursor.execute(_SET_TOTALS.format(totals=_TOTALS.format(where=where)))
            return cursor.rowcount
        cursor.execute(_SET_TOTALS.format(totals=_TOTALS.format(where="")))
        updated = cursor.rowcount
        cursor.execute(
            """
            UPDATE customers_account AS a SET first_order_on = NULL, last_order_on = NULL, orders_count = 0, revenue = 0
             WHERE NOT EXISTS (SELECT FROM customers_order o WHERE o.account_id = a.id)
               AND (orders_count <> 0 OR revenue <> 0 OR first_order_on IS NOT NULL)
            """
        )
        return updated + cursor.rowcount


_MONTH_NUMBER = "(extract(year from {0})::int * 12 + extract(month from {0})::int)"
_COHORT_UPSERT = f"""
    INSERT INTO customers_cohortrevenue AS r (cohort_month, age_months, channel_id, owner_id, team_id, revenue)
    SELECT date_trunc('month', a.customer_since)::date,
           greatest(0, {_MONTH_NUMBER.format("o.ordered_on")} - {_MONTH_NUMBER.format("a.customer_since")}),
           a.channel_id, a.owner_id, a.team_id, %s * sum(o.amount)
      FROM ({{orders}}) AS o JOIN customers_account AS a ON a.id = o.account_id
     GROUP BY 1, 2, 3, 4, 5
     ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (cohort_month, age_months, channel_id, owner_id, team_id)
    DO UPDATE SET revenue = r.revenue + EXCLUDED.revenue
"""


def cohort_revenue_add(*, orders_sql: str, params: list | None = None, sign: int = 1) -> None:
    """Add order lines to the cohort revenue rollup (`sign=-1` takes them away, before they are deleted).

    `orders_sql` selects `account_id, ordered_on, amount` of the lines. The upsert adds to existing rows; keys are
    written in one order, so two writers never deadlock."""
    with connection.cursor() as cursor:
        cursor.execute(_COHORT_UPSERT.format(orders=orders_sql), [sign, *(params or [])])


@transaction.atomic
def cohort_revenue_rebuild() -> None:
    """The rollup computed anew from every order (after demo seeding; a check that nothing drifted)."""
    with connection.cursor() as cursor:
        cursor.execute("LOCK TABLE customers_cohortrevenue IN EXCLUSIVE MODE")
        cursor.execute("DELETE FROM customers_cohortrevenue")
    cohort_revenue_add(orders_sql="SELECT account_id, ordered_on, amount FROM customers_order")


def _ensure_editable(user: User | None, account: Account) -> None:
    if user is not None:
        access.ensure(access.can_edit_customer, user, account)


@transaction.atomic
def order_add(
    *,
    account: Account,
    user: User | None,
    ordered_on: dt.date,
    amount: Decimal | None = None,
    description: str = "",
    quantity: Decimal | None = None,
    unit_price: Decimal | None = None,
) -> Order:
    """An order (or, with a negative amount, a refund). Without an amount, quantity × unit price."""
    _ensure_editable(user, account)
    if amount is None:
        if quantity is None or unit_price is None:
            raise ValidationError("Give the amount, or the quantity and the unit price.")
        amount = (quantity * unit_price).quantize(Decimal("0.01"))
    if amount == 0:
        raise ValidationError("An order of 0 records nothing: give its amount (negative for a refund).")
    Account.objects.select_for_update().filter(pk=account.pk).first()
    order = Order(
        account=account,
        ordered_on=ordered_on,
        amount=amount,
        description=description.strip(),
        quantity=quantity,
        unit_price=unit_price,
        created_by=user,
    )
    order.full_clean(exclude=["account", "created_by", "lead"])
    order.save()
    account_totals_refresh(account_ids=[account.pk])
    cohort_revenue_add(orders_sql=_ONE_ORDER, params=[order.pk])
    return order


@transaction.atomic
def order_delete(*, order: Order, user: User | None) -> None:
    _ensure_editable(user, order.account)
    Account.objects.select_for_update().filter(pk=order.account_id).first()
    cohort_revenue_add(orders_sql=_ONE_ORDER, params=[order.pk], sign=-1)
    Order.objects.filter(pk=order.pk).delete()
    account_totals_refresh(account_ids=[order.account_id])


@transaction.atomic
def contact_add(
    *, account: Account, user: User | None, name: str, email: str = "", phone: str = "", job_title: str = ""
) -> Contact:
    _ensure_editable(user, account)
    Account.objects.select_for_update().filter(pk=account.pk).first()
    contact = Contact(
        account=account,
        name=name.strip(),
        email=email.strip(),
        phone=phone.strip(),
        job_title=job_title.strip(),
        is_primary=not account.contacts.filter(is_primary=True).exists(),
    )
    contact.full_clean(exclude=["account", "lead"])
    contact.save()
    return contact


@transaction.atomic
def account_mark_churned(
    *, account: Account, user: User | None, churned_on: dt.date, reason: str, note: str = ""
) -> Account:
    """Mark a customer churned (explicit churn) on a day, with a reason."""
    _ensure_editable(user, account)
    if churned_on > clock.today():
        raise ValidationError("A churn date cannot be in the future.")
    if churned_on < account.customer_since:
        raise ValidationError("A customer cannot churn before becoming one.")
    if reason not in Account.ChurnReason.values:
        raise ValidationError("Choose a reason.")
    Account.objects.filter(pk=account.pk).update(
        status=Account.Status.CHURNED, churned_on=churned_on, churn_reason=reason, churn_note=note.strip()[:500]
    )
    account.refresh_from_db()
    return account


@transaction.atomic
def account_reactivate(*, account: Account, user: User | None) -> Account:
    _ensure_editable(user, account)
    Account.objects.filter(pk=account.pk).update(
        status=Account.Status.ACTIVE, churned_on=None, churn_reason="", churn_note=""
    )
    account.refresh_from_db()
    return account


@transaction.atomic
def account_reassign(*, account: Account, user: User | None, owner: User) -> Account:
    """Hand a customer to another person: its owner, and its team with it (the new owner's team).

    Managers hand their teams' customers to their teams' people, admins anyone's to anyone active. The cohort
    revenue rollup is keyed by owner and team, so the customer's orders move from the old key to the new one in
    the same transaction; the row lock orders two managers reassigning the same customer at once (the second
    sees the first's owner, and the rollup stays equal to its orders)."""
    if user is not None:
        access.ensure(access.can_reassign_customer, user, account)
        if not access.users_assignable_by(user).filter(pk=owner.pk).exists():
            raise ValidationError(f"You cannot hand customers to {owner}.")
    elif not owner.is_active:
        raise ValidationError(f"{owner} is not active.")
    locked = Account.objects.select_for_update().get(pk=account.pk)
    if locked.owner_id == owner.pk and locked.team_id == owner.team_id:
        return locked
    cohort_revenue_add(orders_sql=_ACCOUNT_ORDERS, params=[locked.pk], sign=-1)
    Account.objects.filter(pk=locked.pk).update(owner=owner, team_id=owner.team_id)
    cohort_revenue_add(orders_sql=_ACCOUNT_ORDERS, params=[locked.pk])
    locked.refresh_from_db()
    return locked


@transaction.atomic
def churn_rule_save(*, user: User | None, kind: str, inactivity_days: int) -> ChurnRule:
    if user is not None:
        access.ensure(access.can_configure_churn, user)
    rule = ChurnRule(pk=1, kind=kind, inactivity_days=inactivity_days, updated_at=clock.now(), updated_by=user)
    rule.full_clean(validate_unique=False)
    # One statement (INSERT … ON CONFLICT DO UPDATE): two admins saving the first rule at once both succeed.
    ChurnRule.objects.bulk_create(
        [rule],
        update_conflicts=True,
        unique_fields=["id"],
        update_fields=["kind", "inactivity_days", "updated_at", "updated_by"],
    )
    return rule
