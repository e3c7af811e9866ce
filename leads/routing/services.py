"""Assignment rules, fair routing and the pool.

The rules, in one place:

* **Which rule**: active rules in order (`position`); the first whose conditions all match (region, country,
  industry, company size range, channel; an empty condition matches anything) names a team and a strategy.
* **Which rep** of that team: reps only (not its manager), active, not away today (`User.away_from/away_until`),
  below their capacity (`User.max_open_leads` open leads), and with a weight above 0 in the rule. Among them:
  round-robin, weighted round-robin (smooth weighted round-robin: over any run of leads each rep gets their
  share, interleaved, not in bursts) or least-loaded (fewest open leads). Round-robin is weighted round-robin with
  every weight 1; the running weights live in `AssignmentRuleMember` rows.
* **Nobody available** in that team: the next matching rule is tried; if none can take the lead, it goes to the
  pool with the first matching rule's team (so that team's manager sees it and hears of SLA breaches) and that
  manager is told. **No rule matches**: the pool, and every team manager is told. With no active rule at all,
  routing is off: unowned leads simply stay in the pool, and nobody is notified.
* **Race safety**: the rules used (and their teams) are locked (`SELECT ... FOR NO KEY UPDATE`, which leaves
  foreign-key checks alone) for the rest of the transaction, so concurrent routings into a team take turns: the
  round-robin state and the capacity counts they read are never stale. Leads are written with a conditional
  `UPDATE ... WHERE owner_id IS NULL`, so a lead claimed meanwhile keeps its claimer.
* **Bulk** (`leads_route`, e.g. after a CSV import of 100,000 rows): the leads, the rules, the candidate reps
  and their open-lead counts are read once, the leads are assigned in memory, then written with one UPDATE per
  (owner, 5,000 leads); each manager gets one notice for the whole batch, not one per lead.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.urls import reverse

from crm import access, clock, generations
from crm.db import Batch
from crm.models import Team, User
from crm.roles import Role
from crm.services import Notice, notifications_send
from leads.edits import history_record
from leads.models import (
    OPEN_STAGES,
    AssignmentRule,
    AssignmentRuleMember,
    Channel,
    Lead,
    LeadHistory,
    PoolClaim,
)
from leads.signals import lead_changed

# Leads per UPDATE statement (and per IN list read): short statements, few parameters.
WRITE_BATCH = 5_000


# --- Matching ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LeadFacts:
    """What routing reads of a lead."""

    pk: int
    region: str
    country: str
    industry: str
    company_size: int | None
    channel_id: int | None
    name: str = ""
    company: str = ""

    @classmethod
    def of(cls, lead: Lead) -> LeadFacts:
        return cls(
            lead.pk,
            lead.region,
            lead.country,
            lead.industry,
            lead.company_size,
            lead.channel_id,
            lead.name,
            lead.company,
        )


FACT_FIELDS = ("pk", "region", "country", "industry", "company_size", "channel_id", "name", "company")


@dataclass(frozen=True)
class RuleSpec:
    """An assignment rule loaded for matching: its conditions as sets, compared case-insensitively."""

    pk: int
    name: str
    team_id: int
    strategy: str
    regions: frozenset[str]
    countries: frozenset[str]
    industries: frozenset[str]
    channel_ids: frozenset[int]
    size_min: int | None
    size_max: int | None

    @classmethod
    def of(cls, rule: AssignmentRule, channel_ids: Iterable[int]) -> RuleSpec:
        return cls(
            pk=rule.pk,
            name=rule.name,
            team_id=rule.team_id,
            strategy=rule.strategy,
            regions=frozenset(_norm(v) for v in rule.regions),
            countries=frozenset(_norm(v) for v in rule.countries),
            industries=frozenset(_norm(v) for v in rule.industries),
            channel_ids=frozenset(channel_ids),
            size_min=rule.company_size_min,
            size_max=rule.company_size_max,
        )

    def matches(self, lead: LeadFacts) -> bool:
        if self.regions and _norm(lead.region) not in self.regions:
            return False
        if self.countries and _norm(lead.country) not in self.countries:
            return False
        if self.industries and _norm(lead.industry) not in self.industries:
            return False
        if self.channel_ids and lead.channel_id not in self.channel_ids:
            return False
        if self.size_min is not None or self.size_max is not None:
            if lead.company_size is None:
                return False
            if self.size_min is not None and lead.company_size < self.size_min:
                return False
            if self.size_max is not None and lead.company_size > self.size_max:
                return False
        return True


def _norm(value: str | None) -> str:
    return " ".join((value or "").split()).casefold()


def rules_load() -> list[RuleSpec]:
    """The active rules in order, with their channels: one statement, in SQL (every arriving lead runs this;
    building the ORM's two queries cost more than running them)."""
    rules = connection.ops.quote_name(AssignmentRule._meta.db_table)
    through = AssignmentRule.channels.through._meta
    links = connection.ops.quote_name(through.db_table)
    rule_column = connection.ops.quote_name(through.get_field("assignmentrule").column)
    channel_column = connection.ops.quote_name(through.get_field("channel").column)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.id, r.name, r.team_id, r.strategy, r.regions, r.countries, r.industries, r.company_size_min, "
            f"r.company_size_max, ARRAY(SELECT l.{channel_column} FROM {links} l WHERE l.{rule_column} = r.id) "
            f"FROM {rules} r WHERE r.active ORDER BY r.position, r.id"
        )
        rows = cursor.fetchall()
    return [
        RuleSpec(
            pk=pk,
            name=name,
            team_id=team_id,
            strategy=strategy,
            regions=frozenset(_norm(v) for v in _json_list(regions)),
            countries=frozenset(_norm(v) for v in _json_list(countries)),
            industries=frozenset(_norm(v) for v in _json_list(industries)),
            channel_ids=frozenset(channel_ids),
            size_min=size_min,
            size_max=size_max,
        )
        for pk, name, team_id, strategy, regions, countries, industries, size_min, size_max, channel_ids in rows
    ]


# --- The active rules, remembered per process ---------------------------------------------------------------------
#
# Every arriving lead is routed, and the rules rarely change: each process remembers them under a generation in the
# cache (`crm.generations`), which any change to a rule renews at once and on commit. An API call reads the
# generation in the round trip of its rate-limit count (so a lead from the API costs no query for its rules);
# other callers read it with one GET. Without the cache the rules are read from the database, as before.

RULES_GENERATION_KEY = "routing-rules:generation"
_active_rules = generations.Remembered(RULES_GENERATION_KEY, lambda: rules_load())


def rules_active() -> list[RuleSpec]:
    """The active rules in order (`rules_load`), as this process remembers them while their generation holds."""
    return _active_rules.get()


def routing_rules_changed() -> None:
    """A rule, its channels or its order changed: every process reads the rules again (now and on commit)."""
    _active_rules.changed()


def _on_rules_change(sender, **kwargs) -> None:
    routing_rules_changed()


def _on_rule_channels_change(sender, action: str = "", **kwargs) -> None:
    if action.startswith("post_"):
        routing_rules_changed()


def connect_signals() -> None:
    """Renew the rules' generation whenever a rule is saved or deleted, its channels change, or a channel is
    deleted (which drops it from the rules), by any code: from `apps.ready`, so every process does. Changes made
    in bulk (`_renumber`) say so themselves."""
    for model in (AssignmentRule, Channel):
        uid = f"routing-rules-changed:{model.__name__}"
        post_delete.connect(_on_rules_change, sender=model, dispatch_uid=f"{uid}:delete")
    post_save.connect(_on_rules_change, sender=AssignmentRule, dispatch_uid="routing-rules-changed:save")
    m2m_changed.connect(
        _on_rule_channels_change, sender=AssignmentRule.channels.through, dispatch_uid="routing-rules-changed:channels"
    )


def _json_list(value) -> list:
    """A JSON column read with a plain cursor: Django's PostgreSQL backend leaves jsonb as text for the field."""
    return json.loads(value) if isinstance(value, str) else value or []


def rules_matching(rules: Sequence[RuleSpec], lead: LeadFacts) -> list[RuleSpec]:
    return [rule for rule in rules if rule.matches(lead)]


# --- Choosing a rep ---------------------------------------------------------------------------------------------


@dataclass
class _Rep:
    pk: int
    team_id: int
    away: bool
    capacity: int | None
    load: int = 0

    @property
    def available(self) -> bool:
        return not self.away and (self.capacity is None or self.load < self.capacity)


@dataclass
class Router:
    """The state of one routing call: candidate reps with their loads, and each rule's round-robin weights.

    Built once per call (a few queries, whatever the number of leads), then `pick` runs in memory.
    """

    rules: list[RuleSpec]
    reps_by_team: dict[int, list[_Rep]] = field(default_factory=dict)
    weights: dict[tuple[int, int], int] = field(default_factory=dict)
    current: dict[tuple[int, int], int] = field(default_factory=dict)
    changed: set[tuple[int, int]] = field(default_factory=set)

    @classmethod
    def prepare(cls, rules: list[RuleSpec], *, today: dt.date) -> Router:
        """Lock the rules and their teams, and read the candidates, their loads and the rules' state."""
        router = cls(rules)
        if not rules:
            return router
        rule_ids = sorted({r.pk for r in rules})
        team_ids = sorted({r.team_id for r in rules})
        # Concurrent routings into these teams wait here until this transaction ends (see the module docstring).
        list(AssignmentRule.objects.select_for_update(no_key=True).filter(pk__in=rule_ids).order_by("pk").values("pk"))
        list(Team.objects.select_for_update(no_key=True).filter(pk__in=team_ids).order_by("pk").values("pk"))
        reps = list(
            User.objects.filter(team_id__in=team_ids, is_active=True, is_superuser=False, groups__name=Role.REP.value)
            .order_by("pk")
            .values_list("pk", "team_id", "away_from", "away_until", "max_open_leads")
            .distinct()
        )
        by_pk = {}
        for pk, team_id, away_from, away_until, capacity in reps:
            away = (away_from is not None or away_until is not None) and (
                (away_from is None or away_from <= today) and (away_until is None or today <= away_until)
            )
            rep = _Rep(pk, team_id, away, capacity)
            by_pk[pk] = rep
            router.reps_by_team.setdefault(team_id, []).append(rep)
        needs_load = {r.team_id for r in rules if r.strategy == AssignmentRule.Strategy.LEAST_LOADED}
        counted = [rep.pk for rep in by_pk.values() if rep.capacity is not None or rep.team_id in needs_load]
        if counted:
            loads = (
                Lead.objects.filter(owner_id__in=counted, stage__in=OPEN_STAGES)
                .values("owner_id")
                .annotate(n=Count("pk"))
                .values_list("owner_id", "n")
                .order_by()
            )
            for owner_id, n in loads:
                by_pk[owner_id].load = n
        for rule_id, user_id, weight, current in AssignmentRuleMember.objects.filter(rule_id__in=rule_ids).values_list(
            "rule_id", "user_id", "weight", "current_weight"
        ):
            router.weights[rule_id, user_id] = weight
            router.current[rule_id, user_id] = current
        return router

    def pick(self, rule: RuleSpec, *, avoid: int | None = None) -> _Rep | None:
        """The rep of the rule's team who gets the next lead, or None when nobody is available."""
        candidates = [
            rep
            for rep in self.reps_by_team.get(rule.team_id, ())
            if rep.available and rep.pk != avoid and self._weight(rule, rep) > 0
        ]
        if not candidates:
            return None
        if rule.strategy == AssignmentRule.Strategy.LEAST_LOADED:
            chosen = min(candidates, key=lambda rep: (rep.load, rep.pk))
        else:
            # Smooth weighted round-robin (as nginx balances upstreams): every available rep gains their weight,
            # the one with the most goes next and pays back the total. Weights of 1 make it plain round-robin.
            total = 0
            chosen, best = None, None
            for rep in candidates:
                key = (rule.pk, rep.pk)
                weight = self._weight(rule, rep)
                total += weight
                self.current[key] = self.current.get(key, 0) + weight
                self.changed.add(key)
                if best is None or self.current[key] > best:
                    chosen, best = rep, self.current[key]
            self.current[rule.pk, chosen.pk] -= total
        chosen.load += 1
        return chosen

    def _weight(self, rule: RuleSpec, rep: _Rep) -> int:
        if rule.strategy == AssignmentRule.Strategy.WEIGHTED:
            return self.weights.get((rule.pk, rep.pk), 1)
        return 1

    def save_state(self) -> None:
        """Write the round-robin weights that moved (one upsert)."""
        if not self.changed:
            return
        AssignmentRuleMember.objects.bulk_create(
            [
                AssignmentRuleMember(rule_id=rule_id, user_id=user_id, current_weight=self.current[rule_id, user_id])
                for rule_id, user_id in sorted(self.changed)
            ],
            update_conflicts=True,
            unique_fields=["rule", "user"],
            update_fields=["current_weight"],
        )
        self.changed.clear()


# --- Routing ----------------------------------------------------------------------------------------------------


@dataclass
class RouteResult:
    assigned: dict[int, int] = field(default_factory=dict)  # lead id → owner id
    team_of: dict[int, int] = field(default_factory=dict)  # owner id → team id
    no_rule: list[int] = field(default_factory=list)  # lead ids no rule matched
    unavailable: dict[int, list[int]] = field(default_factory=dict)  # lead id → teams tried, nobody available
    enabled: bool = True
    at: dt.datetime | None = None  # the assignment time written

    @property
    def pooled(self) -> int:
        return len(self.no_rule) + len(self.unavailable)


def _chunks(items: Sequence, size: int = WRITE_BATCH):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def leads_route_in_memory(
    leads: Iterable[LeadFacts], router: Router, *, avoid: dict[int, int] | None = None
) -> RouteResult:
    """Decide owners for these leads (no writes): the first matching rule with someone available wins."""
    result = RouteResult()
    avoid = avoid or {}
    for lead in leads:
        matching = rules_matching(router.rules, lead)
        if not matching:
            result.no_rule.append(lead.pk)
            continue
        for rule in matching:
            rep = router.pick(rule, avoid=avoid.get(lead.pk))
            if rep is not None:
                result.assigned[lead.pk] = rep.pk
                result.team_of[rep.pk] = rep.team_id
                break
        else:
            result.unavailable[lead.pk] = list(dict.fromkeys(rule.team_id for rule in matching))
    return result


@transaction.atomic(savepoint=False)  # in the caller's transaction: a failure rolls the caller back
def route(
    *,
    lead_ids: Sequence[int],
    avoid: dict[int, int] | None = None,
    notify: str = "batch",
    label: str = "",
    teams: Collection[int] | None = None,
    pending: Batch | None = None,
) -> RouteResult:
    """Route these unowned leads: assign, write, put the rest in the pool and tell the managers.

    `avoid` maps a lead to a rep who must not get it (re-routing after a reclaim). `notify` is "lead" (one
    notice per lead, keyed by the lead) or "batch" (one notice per manager for the whole call). `teams`, when
    given, keeps only the rules of these teams: a manager's import never hands leads to another team's reps (the
    rest stay in the pool, which the manager sees). `pending`: statements not sent yet (the leads' insert, in the
    arrival pipeline), run before the leads are read; with no rule to route by they stay queued.
    """
    rules = rules_active()
    if not rules:
        return RouteResult(enabled=False)
    if pending is not None:
        pending.run()
    if teams is not None:
        rules = [rule for rule in rules if rule.team_id in teams]
    now = clock.now()
    facts = []
    for chunk in _chunks(sorted(set(lead_ids)), 10_000):
        facts += [
            LeadFacts(*row)
            for row in Lead.objects.filter(pk__in=chunk, owner__isnull=True).order_by("pk").values_list(*FACT_FIELDS)
        ]
    if not facts:
        return RouteResult()
    used = {rule.pk for lead in facts for rule in rules_matching(rules, lead)}
    router = Router.prepare([r for r in rules if r.pk in used], today=clock.today())
    router.rules = rules  # match against all rules; only the used ones have reps loaded and locks taken
    result = leads_route_in_memory(facts, router, avoid=avoid)
    result.at = now
    router.save_state()

    by_owner = defaultdict(list)
    for lead_id, owner_id in result.assigned.items():
        by_owner[owner_id].append(lead_id)
    for owner_id, ids in by_owner.items():
        for chunk in _chunks(ids):
            Lead.objects.filter(pk__in=chunk, owner__isnull=True).update(
                owner_id=owner_id, team_id=result.team_of[owner_id], assigned_at=now, updated_at=now
            )
    # A lead nobody in the matching teams could take waits in the pool of the first of those teams.
    by_team = defaultdict(list)
    for lead_id, teams in result.unavailable.items():
        by_team[teams[0]].append(lead_id)
    for team_id, ids in by_team.items():
        for chunk in _chunks(ids):
            Lead.objects.filter(pk__in=chunk, owner__isnull=True).update(team_id=team_id, updated_at=now)

    if result.assigned:
        assigned_ids = list(result.assigned)
        transaction.on_commit(partial(_send_owner_changed, assigned_ids))
    if result.pooled:
        names = {f.pk: f"{f.name} ({f.company})" if f.company else f.name for f in facts}
        notices = _pool_notices(result, names, per_lead=notify == "lead", label=label)
        notifications_send(notices=notices)
    return result


def _send_owner_changed(lead_ids: list[int]) -> None:
    for lead_id in lead_ids:
        lead_changed.send(sender=Lead, lead_id=lead_id, fields=["owner"])


def _all_managers() -> list[int]:
    return sorted(
        set(Team.objects.filter(manager__isnull=False, manager__is_active=True).values_list("manager_id", flat=True))
    )


def _pool_notices(result: RouteResult, names: dict[int, str], *, per_lead: bool, label: str) -> list[Notice]:
    """Who is told about leads left in the pool: the managers of the teams that had nobody available, or every
    team manager when no rule matched."""
    teams = {t.pk: t for t in Team.objects.filter(pk__in={t for ts in result.unavailable.values() for t in ts})}
    everyone = _all_managers() if result.no_rule or any(teams[t].manager_id is None for t in teams) else []
    list_url = f"{reverse('leads:list')}?pool=on"
    if per_lead:
        notices = []
        for lead_id in result.no_rule:
            text = f"New lead {names[lead_id]} is in the pool: no assignment rule matches it."
            url = reverse("leads:detail", args=[lead_id])
            notices += [Notice(m, f"routing-pool:lead:{lead_id}", text, url) for m in everyone]
        for lead_id, team_ids in result.unavailable.items():
            team_names = ", ".join(teams[t].name for t in team_ids)
            text = (
                f"New lead {names[lead_id]} is in the pool: nobody in {team_names} is available (away or at capacity)."
            )
            url = reverse("leads:detail", args=[lead_id])
            managers = {teams[t].manager_id for t in team_ids if teams[t].manager_id} or set(everyone)
            notices += [Notice(m, f"routing-pool:lead:{lead_id}", text, url) for m in sorted(managers)]
        return notices
    # One notice per manager for the whole batch.
    token = uuid.uuid4().hex[:12]
    unmatched = defaultdict(int)
    unavailable = defaultdict(lambda: defaultdict(int))
    for m in everyone:
        unmatched[m] += len(result.no_rule)
    for team_ids in result.unavailable.values():
        managers = {teams[t].manager_id for t in team_ids if teams[t].manager_id} or set(everyone)
        for m in managers:
            unavailable[m][teams[team_ids[0]].name] += 1
    notices = []
    for m in sorted(set(unmatched) | set(unavailable)):
        parts = []
        if unmatched[m]:
            parts.append(f"{unmatched[m]:,} match no assignment rule")
        for team_name, n in sorted(unavailable[m].items()):
            parts.append(f"{n:,} found nobody available in {team_name}")
        total = unmatched[m] + sum(unavailable[m].values())
        what = f"{total:,} new lead{'s' if total != 1 else ''}{f' ({label})' if label else ''}"
        notices.append(
            Notice(m, f"routing-pool:batch:{token}", f"{what} went to the pool: {'; '.join(parts)}.", list_url)
        )
    return notices


def lead_route(lead: Lead) -> User | None:
    """Route one unowned lead (a new lead nobody chose an owner for): its new owner, or None (the pool).

    The instance is updated in place. The managers told about a pooled lead get one notice keyed by the lead.
    """
    if lead.owner_id is not None:
        return lead.owner
    result = route(lead_ids=[lead.pk], notify="lead")
    owner_id = result.assigned.get(lead.pk)
    if owner_id is None:
        if lead.pk in result.unavailable:
            lead.team_id = result.unavailable[lead.pk][0]
        return None
    owner = User.objects.get(pk=owner_id)
    lead.owner, lead.team_id, lead.assigned_at = owner, owner.team_id, result.at
    return owner


def leads_route(*, lead_ids: Iterable[int], label: str = "") -> int:
    """Route many unowned leads at once (after an import); returns how many got an owner.

    Reads everything once, assigns in memory, writes one UPDATE per owner and 5,000 leads, tells each manager
    once. Response clocks are (re)timed for the routed leads, as on arrival.
    """
    from leads.sla.services import response_clocks_recompute  # sla_services imports nothing of ours

    ids = sorted(set(lead_ids))
    with transaction.atomic():
        result = route(lead_ids=ids, notify="batch", label=label)
        for chunk in _chunks(ids, 10_000):
            response_clocks_recompute(lead_ids=chunk)
    return len(result.assigned)


# --- Availability -----------------------------------------------------------------------------------------------


@transaction.atomic
def user_availability_update(
    *,
    user: User,
    rep: User,
    away_from: dt.date | None,
    away_until: dt.date | None,
    max_open_leads: int | None = None,
    pool_holding_limit: int | None = None,
    set_limits: bool = False,
) -> User:
    """Set a person's away dates (and, for managers and admins, their capacity and pool holding limit)."""
    access.ensure(access.can_edit_availability, user, rep)
    fields = ["away_from", "away_until"]
    rep.away_from, rep.away_until = away_from, away_until
    if set_limits:
        access.ensure(access.can_set_capacity, user, rep)
        rep.max_open_leads, rep.pool_holding_limit = max_open_leads, pool_holding_limit
        fields += ["max_open_leads", "pool_holding_limit"]
    if away_from and away_until and away_until < away_from:
        raise ValidationError({"away_until": "The last day away cannot be before the first."})
    rep.save(update_fields=fields)
    return rep


# --- The pool ---------------------------------------------------------------------------------------------------


class PoolLimitReached(ValidationError):
    """The rep already holds as many claimed pool leads as they may."""


def pool_holding_limit(user: User) -> int:
    return user.pool_holding_limit if user.pool_holding_limit is not None else settings.POOL_HOLDING_LIMIT


def pool_leads_held(user: User) -> int:
    """Open leads the user claimed from the pool and still owns."""
    return PoolClaim.objects.filter(user=user, lead__owner=user, lead__stage__in=OPEN_STAGES).count()


def pool_claim_check(*, user: User) -> None:
    """Before a claim, inside its transaction: lock the claimer's row (so their own concurrent claims take turns)
    and refuse when they are at their holding limit."""
    User.objects.select_for_update(no_key=True).filter(pk=user.pk).values("pk").first()
    limit = pool_holding_limit(user)
    held = pool_leads_held(user)
    if held >= limit:
        raise PoolLimitReached(
            f"You already hold {held} lead{'s' if held != 1 else ''} claimed from the pool, your limit is {limit}. "
            "Work or release one of them first."
        )


def pool_claim_record(*, lead_id: int, user: User, now: dt.datetime) -> None:
    PoolClaim.objects.update_or_create(lead_id=lead_id, defaults={"user": user, "claimed_at": now})


@transaction.atomic
def lead_release(*, lead: Lead, user: User) -> bool:
    """Put an owned open lead back in the pool (its owner, the team's manager or an admin). The lead keeps its
    team, so the team's manager still sees it. Returns False when someone else changed its owner meanwhile."""
    if lead.owner_id is None:
        raise ValidationError("This lead is already in the pool.")
    access.ensure(access.can_edit_lead, user, lead)
    if lead.stage not in OPEN_STAGES:
        raise ValidationError("Won and lost leads stay with their owner.")
    now = clock.now()
    released = Lead.objects.filter(pk=lead.pk, owner_id=lead.owner_id).update(
        owner=None, assigned_at=None, updated_at=now
    )
    if released:
        history_record(
            lead_id=lead.pk,
            user=user,
            kind=LeadHistory.Kind.ASSIGN,
            changes={"owner": (lead.owner_id, None)},
            at=now,
            note="Released to the pool",
        )
        lead.owner, lead.assigned_at = None, None
        transaction.on_commit(partial(_send_owner_changed, [lead.pk]))
    return released == 1


# --- Rules (admins) ---------------------------------------------------------------------------------------------


@transaction.atomic
def assignment_rule_save(
    *, user: User, rule: AssignmentRule, channels: Iterable | None = None, weights: dict[int, int] | None = None
) -> AssignmentRule:
    """Create or change a rule (a new one goes last), its channels, and its reps' weights."""
    access.ensure(access.can_configure_routing, user)
    if rule.pk is None:
        last = AssignmentRule.objects.order_by("-position").values_list("position", flat=True).first()
        rule.position = (last or 0) + 1
    rule.full_clean()
    rule.save()
    if channels is not None:
        rule.channels.set(channels)
    if weights:
        AssignmentRuleMember.objects.bulk_create(
            [AssignmentRuleMember(rule=rule, user_id=user_id, weight=weight) for user_id, weight in weights.items()],
            update_conflicts=True,
            unique_fields=["rule", "user"],
            update_fields=["weight"],
        )
    return rule


@transaction.atomic
def assignment_rule_delete(*, user: User, rule: AssignmentRule) -> None:
    access.ensure(access.can_configure_routing, user)
    rule.delete()
    _renumber(list(AssignmentRule.objects.select_for_update().order_by("position", "pk")))


@transaction.atomic
def assignment_rule_move(*, user: User, rule: AssignmentRule, offset: int) -> None:
    """Move a rule up (offset -1) or down (+1) in the order; the order is renumbered 1, 2, 3..."""
    access.ensure(access.can_configure_routing, user)
    rules = list(AssignmentRule.objects.select_for_update().order_by("position", "pk"))
    index = next(i for i, r in enumerate(rules) if r.pk == rule.pk)
    target = max(0, min(len(rules) - 1, index + offset))
    rules.insert(target, rules.pop(index))
    _renumber(rules)


def _renumber(rules: list[AssignmentRule]) -> None:
    for number, rule in enumerate(rules, start=1):
        rule.position = number
    AssignmentRule.objects.bulk_update(rules, ["position"])
    routing_rules_changed()  # bulk_update sends no signal
