"""Seeding as a whole: users and channels through the ORM (a few rows), leads through a writer, then spend."""

import datetime as dt
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from crm import access, clock
from crm.models import Team, User
from crm.roles import Role
from crm.services import role_groups_sync, user_create
from leads.demo.generator import DemoDataGenerator, Rows
from leads.demo.vocabulary import CHANNELS, DEMO_PASSWORD, DEMO_USERS, TEAMS
from leads.demo.writers import PostgresCopyWriter
from leads.models import Channel, ChannelSpend, FollowUpTask, Interaction, Lead, StageChange
from leads.signals import demo_seeded

DEFAULT_LEADS = 2000


@dataclass
class DemoSeedResult:
    """What a run did. `skipped`: the database had leads, and nothing was written."""

    skipped: bool = False
    existing_leads: int = 0
    seed: int | None = None
    users_created: int = 0
    channels: int = 0
    spend_rows: int = 0
    # Rows written per table: "leads", "interactions", "stage_changes", "tasks".
    counts: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0


def demo_seed(
    *,
    leads: int = DEFAULT_LEADS,
    seed: int | None = None,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
) -> DemoSeedResult:
    """Fill the database with demo data; on a database that has leads, do nothing unless `force`.

    `force` first deletes every lead with its interactions, tasks and stage changes, and every channel with its
    spend; demo users are reused as they are. One transaction: a failed run leaves the database as it was.
    The same seed at the same clock time gives the same data.
    """
    if leads < 0:
        raise ValueError("The number of leads cannot be negative.")
    started = time.monotonic()
    say = progress or (lambda message: None)
    existing = Lead.objects.count() if Lead.objects.exists() else 0
    if existing and not force:
        return DemoSeedResult(skipped=True, existing_leads=existing)
    seed = random.randrange(1_000_000) if seed is None else seed
    result = DemoSeedResult(seed=seed, existing_leads=existing)

    with transaction.atomic():
        if force:
            demo_data_delete()
        users, result.users_created = demo_users_ensure()
        channels = _channels_ensure()
        result.channels = len(channels)
        generator = DemoDataGenerator(rng=random.Random(seed), now=clock.now(), users=users, channels=channels)
        # Lead ids come from the table's sequence, so they are never reused, even after --force (TRUNCATE keeps
        # the sequence): other records name leads by id (notification keys).
        writer = PostgresCopyWriter(progress=say)
        writer.start()
        for chunk in _made_ahead(generator.chunks(writer.lead_ids(leads))):
            for table, rows in chunk.items():
                writer.write(table, rows)
                result.counts[table] += len(rows)
            elapsed = time.monotonic() - started
            say(
                f"{result.counts['leads']:,}/{leads:,} leads, {result.counts['interactions']:,} interactions "
                f"({result.counts['leads'] / elapsed:,.0f} leads/s, {result.counts.total() / elapsed:,.0f} rows/s)"
            )
        writer.finish()
        result.spend_rows = _spend_create(channels, generator)
        say("Response targets and clocks")
        _response_targets_ensure()
        say("Assignment and reclaim rules, pool history")
        _routing_ensure(users, channels)
        say("Demo data of other apps (customers)")
        demo_seeded.send(sender=None, seed=seed)
    result.seconds = time.monotonic() - started
    return result


def _made_ahead(chunks: Iterator[Rows]) -> Iterator[Rows]:
    """Yield the chunks, making the next one in a thread while the caller writes the current one.

    Making rows is pure Python and holds the GIL, but writing them mostly waits for the database (COPY), and
    that wait releases it: 200,000 leads took 109 s instead of 124 s on two busy cores.
    """
    with ThreadPoolExecutor(max_workers=1) as worker:
        upcoming = worker.submit(next, chunks, None)
        while (chunk := upcoming.result()) is not None:
            upcoming = worker.submit(next, chunks, None)
            yield chunk


def demo_data_delete() -> None:
    """Delete all leads (with their interactions, tasks and stage changes) and all channels with their spend."""
    models = (Interaction, StageChange, FollowUpTask, Lead, ChannelSpend, Channel)
    # TRUNCATE takes a moment where DELETE takes minutes on millions of rows. CASCADE also empties tables of
    # other apps that point at leads (scores, for example), which would mean nothing without them.
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(m._meta.db_table for m in models)} CASCADE")


def demo_users_ensure() -> tuple[list[User], int]:
    """Get or create the demo teams and users; return the users (in DEMO_USERS order) and how many are new.

    Existing users are left as they are, so a reseed never resets a password someone changed.
    """
    role_groups_sync()
    teams = {name: Team.objects.get_or_create(name=name)[0] for name in TEAMS}
    existing = {u.username: u for u in User.objects.filter(username__in=[d.username for d in DEMO_USERS])}
    # Hashing is slow on purpose; the new demo accounts share one hash so that the first `make run` stays quick.
    password_hash = make_password(DEMO_PASSWORD) if len(existing) < len(DEMO_USERS) else ""
    users, created = [], 0
    for demo in DEMO_USERS:
        user = existing.get(demo.username)
        if user is None:
            user = user_create(
                username=demo.username,
                password=None,
                role=demo.role,
                first_name=demo.first_name,
                last_name=demo.last_name,
                email=demo.email,
                team=teams[demo.team] if demo.team else None,
            )
            user.password = password_hash
            user.save(update_fields=["password"])
            created += 1
        users.append(user)
        team = teams.get(demo.team or "")
        if demo.role == Role.MANAGER and team is not None and team.manager_id is None:
            team.manager = user
            team.save(update_fields=["manager"])
    return users, created


def _channels_ensure() -> list[Channel]:
    """One channel per kind (Other aside), in use for a year; channels of the same name are reused."""
    created_at = clock.now() - dt.timedelta(days=400)
    return [
        Channel.objects.get_or_create(name=spec.name, defaults={"kind": spec.kind, "created_at": created_at})[0]
        for spec in CHANNELS
    ]


def _spend_create(channels: Sequence[Channel], generator: DemoDataGenerator) -> int:
    """Monthly spend per channel: the month's leads × the channel's cost per lead, with noise, so CPL reads true.

    The current month's row ends today: what was spent so far, not the month's budget.
    """
    rng = random.Random(generator.rng.random())
    cost_per_lead = {spec.name: spec.cost_per_lead for spec in CHANNELS}
    today = timezone.localdate(clock.now())
    month_ends = [first - dt.timedelta(days=1) for first in generator.month_firsts[1:]] + [today]
    rows = []
    for channel in channels:
        for month, (first, last) in enumerate(zip(generator.month_firsts, month_ends, strict=True)):
            leads = max(generator.leads_per_channel_month[channel.pk, month], 1)
            amount = leads * cost_per_lead[channel.name] * rng.uniform(0.85, 1.15)
            rows.append(
                ChannelSpend(channel=channel, period_start=first, period_end=last, amount=Decimal(f"{amount:.2f}"))
            )
    # A database without leads may still have spend recorded for these channels: keep it.
    ChannelSpend.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def _response_targets_ensure() -> None:
    """Demo response targets (hot leads in 15 minutes, everyone else within the hour, in office hours), and the
    clocks of the seeded leads timed by them, set-based: recent unanswered leads get a running countdown."""
    from django.conf import settings

    from crm.models import BusinessCalendar
    from leads.models import Grade, ResponsePolicy
    from leads.sla.services import response_clocks_recompute

    office, _ = BusinessCalendar.objects.get_or_create(
        name="Office hours",
        defaults={"time_zone": settings.TIME_ZONE, "opens_at": dt.time(9), "closes_at": dt.time(17)},
    )
    ResponsePolicy.objects.get_or_create(
        grade=Grade.A, channel=None, defaults={"name": "Hot leads", "target_minutes": 15, "reminder_percent": 50}
    )
    ResponsePolicy.objects.get_or_create(
        grade="",
        channel=None,
        defaults={"name": "Everyone", "target_minutes": 60, "reminder_percent": 50, "calendar": office},
    )
    response_clocks_recompute()


def _routing_ensure(users: Sequence[User], channels: Sequence[Channel]) -> None:
    """Demo assignment rules (paid channels to Inside Sales round-robin, the rest to Field Sales least-loaded), a
    reclaim rule left switched off (an admin turns it on: on a demo database it would warn every idle lead at once),
    and a past of reclaims and pool claims for the Pool and recovery report: every 50th owned lead was reclaimed
    eight days after it arrived (when that is in the past), every 70th was claimed from the pool on arrival. A few
    hundred rows per 10,000 leads, written in bulk from one read of the leads they concern."""
    from leads.models import AssignmentRule, PoolClaim, ReclaimRecord, ReclaimRule
    from leads.routing.reclaim import reclaim_rule_save
    from leads.routing.services import assignment_rule_save

    admin = next(u for u in users if access.is_crm_admin(u))
    teams = {team.name: team for team in Team.objects.all()}
    if not AssignmentRule.objects.exists() and {"Inside Sales", "Field Sales"} <= set(teams):
        paid = [c for c in channels if c.kind in (Channel.Kind.PAID_SEARCH, Channel.Kind.SOCIAL)]
        assignment_rule_save(
            user=admin,
            rule=AssignmentRule(name="Paid channels to Inside Sales", team=teams["Inside Sales"]),
            channels=paid,
        )
        assignment_rule_save(
            user=admin,
            rule=AssignmentRule(
                name="Everything else to Field Sales",
                team=teams["Field Sales"],
                strategy=AssignmentRule.Strategy.LEAST_LOADED,
            ),
        )
    rule = ReclaimRule.objects.filter(name="No follow-up within 7 days").first()
    if rule is None:
        rule = reclaim_rule_save(
            user=admin,
            rule=ReclaimRule(
                name="No follow-up within 7 days", kind=ReclaimRule.Kind.NO_OUTBOUND, days=7, active=False
            ),
        )
    now = clock.now()
    owned = Lead.objects.filter(owner__isnull=False).annotate(every50=F("id") % 50, every70=F("id") % 70)
    reclaimed = owned.filter(every50=0, created_at__lt=now - dt.timedelta(days=8)).values_list(
        "id", "owner_id", "created_at"
    )
    ReclaimRecord.objects.bulk_create(
        (
            ReclaimRecord(
                lead_id=pk,
                from_user_id=owner,
                rule=rule,
                rule_name=rule.name,
                reclaimed_at=created + dt.timedelta(days=8),
                warned=True,
            )
            for pk, owner, created in reclaimed.iterator(chunk_size=5000)
        ),
        batch_size=5000,
    )
    claims = owned.filter(every70=0).values_list("id", "owner_id", "created_at")
    PoolClaim.objects.bulk_create(
        (PoolClaim(lead_id=pk, user_id=owner, claimed_at=created) for pk, owner, created in claims.iterator(5000)),
        batch_size=5000,
        ignore_conflicts=True,
    )
