"""Demo customers: most won demo leads converted, a history of repeat orders and refunds, churn (marked by people,
or silent: no order for a long time), and survey answers, so the customer pages and reports show real shapes.

`manage.py seed_demo` sends `leads.signals.demo_seeded` at the end of its transaction; the receiver here seeds the
customers (leads never imports customers). `manage.py seed_demo_customers` does the same on a database seeded
before customers existed. Set-based: the accounts, contacts and deal orders are three INSERT … SELECT statements
over the won leads; the generated orders and surveys go in by COPY.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from crm import clock
from crm.models import User
from crm.roles import Role
from customers.models import Account, Contact, Survey
from customers.services import account_totals_refresh, cohort_revenue_rebuild
from leads.demo.vocabulary import COMPANY_PREFIXES, INDUSTRIES
from leads.models import Channel

# Of the won leads, the share converted (the rest wait on their lead page for someone to click "Convert").
CONVERTED_SHARE = 0.85
CHURN_REASONS = [value for value in Account.ChurnReason.values if value != "other"]
SURVEY_COMMENTS = {
    "good": ["Great support team.", "Does what we need.", "Onboarding was quick.", ""],
    "bad": ["Too expensive for what we use.", "Support was slow to answer.", "Missing integrations.", ""],
}


@dataclass
class DemoCustomersResult:
    accounts: int = 0
    orders: int = 0
    surveys: int = 0


def demo_seeded_receiver(sender, *, seed: int, **kwargs) -> None:
    demo_customers_seed(seed=seed)


@transaction.atomic
def demo_customers_seed(*, seed: int) -> DemoCustomersResult:
    """Seed demo customers from the won leads (a database with customers already is left alone)."""
    result = DemoCustomersResult()
    if Account.objects.exists():
        return result
    rng = random.Random(seed)
    now = clock.now()
    with connection.cursor() as cursor:
        # Accounts: one per company (or person, without a company), from its first won lead; a share of them.
        cursor.execute(
            """
            INSERT INTO customers_account (name, domain, lead_id, channel_id, owner_id, team_id, customer_since,
                                           status, churn_reason, churn_note, orders_count, revenue, created_at)
            SELECT DISTINCT ON (lower(trim(coalesce(nullif(company, ''), name))))
                   trim(coalesce(nullif(company, ''), name)), '', id, channel_id, owner_id, team_id,
                   (won_at AT TIME ZONE %s)::date, 'active', '', '', 0, 0, won_at
              FROM leads_lead
             WHERE stage = 'won' AND abs(hashtext(id::text || %s)) %% 100 < %s
             ORDER BY lower(trim(coalesce(nullif(company, ''), name))), won_at, id
            ON CONFLICT DO NOTHING
            """,
            [timezone.get_current_timezone_name(), str(seed), int(CONVERTED_SHARE * 100)],
        )
        result.accounts = cursor.rowcount
        # Contacts: the won leads of those companies (the first one primary), and their deals as first orders.
        won_of_accounts = """
            FROM leads_lead l JOIN customers_account a ON a.name_key = lower(trim(coalesce(nullif(l.company, ''), l.name)))
           WHERE l.stage = 'won' AND (l.id = a.lead_id OR abs(hashtext(l.id::text || %s)) %% 100 < %s)
        """
        params = [str(seed), int(CONVERTED_SHARE * 100)]
        cursor.execute(
            f"""
            INSERT INTO customers_contact (account_id, name, email, phone, job_title, is_primary, lead_id, created_at)
            SELECT a.id, l.name, l.email, l.phone, l.job_title, l.id = a.lead_id, l.id, l.won_at {won_of_accounts}
            """,
            params,
        )
        cursor.execute(
            f"""
            INSERT INTO customers_order (account_id, ordered_on, amount, description, lead_id, created_at)
            SELECT a.id, (l.won_at AT TIME ZONE %s)::date, l.deal_value, 'Won deal (lead #' || l.id || ')', l.id,
                   l.won_at
            {won_of_accounts} AND l.deal_value > 0
            """,
            [timezone.get_current_timezone_name(), *params],
        )
        result.orders = cursor.rowcount
    _older_customers_create(rng, now=now)
    accounts = list(
        Account.objects.filter(contacts__is_primary=True)
        .order_by("pk")
        .values_list("pk", "customer_since", "lead__deal_value", "contacts__pk")
    )
    orders, churned, surveys = _history(rng, accounts, today=clock.today(), now=now)
    with connection.cursor() as cursor:
        with cursor.cursor.copy(
            "COPY customers_order (account_id, ordered_on, amount, description, created_at) FROM STDIN"
        ) as copy:
            for row in orders:
                copy.write_row(row)
        with cursor.cursor.copy(
            "COPY customers_survey (account_id, contact_id, kind, created_at, emailed_at, answered_at, score, comment) "
            "FROM STDIN"
        ) as copy:
            for row in surveys:
                copy.write_row(row)
        cursor.execute(
            """
            UPDATE customers_account a SET status = 'churned', churned_on = v.day, churn_reason = v.reason
              FROM unnest(%s::bigint[], %s::date[], %s::text[]) AS v(id, day, reason) WHERE a.id = v.id
            """,
            [list(column) for column in zip(*churned, strict=True)] if churned else [[], [], []],
        )
    account_totals_refresh()
    cohort_revenue_rebuild()
    result.orders += len(orders)
    result.surveys = len(surveys)
    return result


def _older_customers_create(rng: random.Random, *, now: dt.datetime) -> int:
    """Customers moved in from an older system (no lead; an external id), one to three years old, so the
    figures that need history (recorded CLV, churn of long-standing customers) have some."""
    reps = list(User.objects.filter(groups__name=Role.REP.value, team__isnull=False).order_by("pk"))
    channels = list(Channel.objects.order_by("pk"))
    if not reps or not channels:
        return 0
    taken = set(Account.objects.values_list("name_key", flat=True))
    nouns = [noun for industry in INDUSTRIES for noun in industry.company_nouns]
    accounts, today = [], now.date()
    for number in range(1, max(10, len(taken) // 2) + 1):
        name = (
            f"{rng.choice(COMPANY_PREFIXES)} {rng.choice(nouns)} {rng.choice(('Group', 'Holding', 'Co.', 'Partners'))}"
        )
        if name.lower() in taken:
            continue
        taken.add(name.lower())
        owner = rng.choice(reps)
        accounts.append(
            Account(
                name=name,
                external_id=f"OLD-{number:05d}",
                channel=rng.choice(channels),
                owner=owner,
                team_id=owner.team_id,
                customer_since=today - dt.timedelta(days=rng.randint(400, 1100)),
                created_at=now,
            )
        )
    Account.objects.bulk_create(accounts)
    first_names, last_names = ("Alex", "Sam", "Robin", "Kim", "Noa", "Jo"), ("Berg", "Costa", "Ito", "Novak", "Reyes")
    Contact.objects.bulk_create(
        Contact(
            account=account,
            name=f"{rng.choice(first_names)} {rng.choice(last_names)}",
            email=f"buyer{account.external_id.lower()}@example.com",
            is_primary=True,
            created_at=now,
        )
        for account in accounts
    )
    return len(accounts)


def _history(rng: random.Random, accounts: list[tuple], *, today: dt.date, now: dt.datetime):
    """Repeat orders (and a few refunds) from each customer's first deal until today or until it left; who left,
    said so (marked churned) or went quiet; survey answers, happier from customers who stay."""
    orders, churned, surveys = [], [], []
    for account_id, since, deal_value, contact_id in accounts:
        deal = deal_value or Decimal(rng.choice((4000, 8000, 12000, 20000)))
        leaves = rng.random() < 0.3
        last_day = since + dt.timedelta(days=rng.randint(40, 700)) if leaves else today
        cadence = rng.choice((30, 45, 60, 90))
        day = since + dt.timedelta(days=cadence + rng.randint(-7, 7))
        while day <= min(last_day, today):
            amount = (deal * Decimal(rng.uniform(0.05, 0.3))).quantize(Decimal("0.01"))
            orders.append(
                (account_id, day, amount, rng.choice(("Licences", "Support plan", "Add-on", "Services")), now)
            )
            if rng.random() < 0.04:
                orders.append((account_id, day + dt.timedelta(days=5), -amount / 2, "Partial refund", now))
            day += dt.timedelta(days=cadence + rng.randint(-7, 7))
        if leaves and last_day < today and rng.random() < 0.6:
            churned.append(
                (account_id, min(last_day + dt.timedelta(days=rng.randint(10, 60)), today), rng.choice(CHURN_REASONS))
            )
        for _ in range(rng.choice((0, 0, 1, 1, 2))):
            kind = rng.choice(Survey.Kind.values)
            days_ago = rng.randint(0, max(0, min(700, (today - since).days)))
            sent = now - dt.timedelta(days=days_ago, hours=rng.randint(1, 20))
            happy = not leaves or rng.random() < 0.3
            if rng.random() < 0.15:  # not answered (yet)
                surveys.append((account_id, contact_id, kind, sent, sent, None, None, ""))
                continue
            if kind == Survey.Kind.CSAT:
                score = rng.choice((4, 5, 5, 3)) if happy else rng.choice((1, 2, 3, 4))
            else:
                score = rng.choice((9, 10, 8, 7, 10)) if happy else rng.choice((2, 4, 5, 6, 7))
            comment = rng.choice(SURVEY_COMMENTS["good" if happy else "bad"])
            answered = min(sent + dt.timedelta(hours=rng.randint(1, 72)), now)
            surveys.append((account_id, contact_id, kind, sent, sent, answered, score, comment))
    return orders, churned, surveys
