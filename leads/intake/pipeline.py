"""The one way in for every lead: a rep's form, the API, a web form and a CSV import chunk all arrive here.

    normalise → lock the identities → match duplicates → insert → stage history → assign → response clock → signals

One lead from a form and 5,000 from an import chunk run the same code, set-based: one lock statement, one query
for duplicates, one insert of the leads (COPY from 50 rows up), one of their stage history, one routing pass, one
timing of the response clocks, and the signals sent on commit. Statements that need no answer from one another
travel together (`crm.db.Batch`): an API lead's lock, duplicate query and id in one round trip, its insert, clock,
scoring note and idempotency key in another. Callers run it in their transaction:

* `arrivals_match(arrivals)` normalises, takes the identity locks and finds each arrival's duplicate;
* the caller decides what a duplicate means for it (the API and web form record the submission on it, an import
  skips it or updates it, a rep who ticked "create it anyway" creates it regardless);
* `arrivals_store(arrivals)` inserts the ones to create and does everything that follows a lead's arrival.

**The duplicate rule (one rule, every way in).** An arrival duplicates the stored lead that shares its normalised
email; failing that, its normalised phone (an email names a person, a phone is often a switchboard). Of several
such leads, the canonical one is the *oldest*: the smallest `(created_at, id)`, whatever its stage, as on the
duplicates page, which lists a group's leads oldest first, and the new-lead form's warning, which names it first
(`leads.selectors.lead_duplicates`). Within one batch, a stored lead comes first; failing one, an earlier
arrival of the same batch with that email or phone.

**The identity lock.** Matching and inserting happen under transaction-scoped advisory locks on the arrivals'
identities (normalised email, normalised phone, import row key), so two batches sharing an identity cannot both
miss each other and insert it twice: the later one waits, then reads the other's leads. Identities are hashed
into `IDENTITY_LOCK_SLOTS` slots and a batch locks its distinct slots in ascending order, in one statement: two
batches always lock in the same order, so they never deadlock, and a chunk of 5,000 rows takes at most that many
locks (PostgreSQL keeps advisory locks in its shared lock table, 64 × max_connections entries by default: one
lock per identity would overflow it). The price of slots is that two arrivals of different people that hash
alike wait for each other, which only costs the time of the other's transaction. Take the locks once per
transaction (one call of `arrivals_match`), before any other lock, to keep the order.

**Import rows.** An import row carries a `row_key` (see `leads.imports.services.RowKeys`), stored on the lead it creates
(`Lead.import_row_key`, unique). A row whose key is stored already created its lead: it is never inserted again,
whether it has an email or phone or not, so an import killed and rerun, or run twice at once, creates each lead
once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from psycopg.types.json import Jsonb

from crm import clock
from crm.db import Batch, any_of
from crm.models import User
from leads.models import OPEN_STAGES, Lead, Stage, StageChange
from leads.normalize import normalize_email, normalize_phone
from leads.routing.services import route
from leads.signals import lead_changed, leads_arriving, leads_bulk_created
from leads.sla.services import response_clocks_recompute, response_clocks_start

# How many advisory locks the identities share (see the module's docstring). A batch takes at most this many.
IDENTITY_LOCK_SLOTS = 512
# The advisory lock key space of lead identities: pg_advisory_xact_lock(IDENTITY_LOCK_CLASS, slot).
IDENTITY_LOCK_CLASS = 0x4C454144  # "LEAD"
# Below this many rows a plain INSERT ... RETURNING is quicker than reserving ids and streaming COPY.
COPY_FROM_ROWS = 50
# The order that makes a lead the canonical one of its identity: the oldest.
CANONICAL_ORDER = ("created_at", "pk")
# Facts that are the pipeline's, not the lead's columns.
_NOT_COLUMNS = {"owner"}


class Record(dict):
    """A row to insert: field names (relations as objects, or `<name>_id`) → values, read as attributes too.

    Building a model instance per row costs more than validating it (Django's `Model.__init__` walks forty
    fields); a dict does not.
    """

    __getattr__ = dict.get

    def __setattr__(self, name, value):
        self[name] = value


@dataclass(eq=False)
class Arriving:
    """One lead on its way in: its facts (lead fields, `owner` as a user), and, once matched, what it is.

    `duplicate_of` is the canonical stored lead it duplicates; `earlier` an arrival earlier in the batch with
    its email or phone (when no stored lead has them); `imported_as` the id of the lead its `row_key` already
    created. After `arrivals_store`, `record` holds the row written (its "pk" the new lead's id).
    """

    facts: dict
    row_key: str = ""
    duplicate_of: Lead | None = None
    earlier: Arriving | None = None
    imported_as: int | None = None
    # The id drawn for it with the duplicate query (the API's way), so its insert needs no answer back.
    reserved_pk: int | None = None
    record: Record | None = field(default=None, repr=False)

    @property
    def email_key(self) -> str:
        return self.facts.get("email_normalized", "")

    @property
    def phone_key(self) -> str:
        return self.facts.get("phone_normalized", "")

    @property
    def is_new(self) -> bool:
        """Neither stored already nor a duplicate of a stored lead or of an earlier arrival."""
        return self.imported_as is None and self.duplicate_of is None and self.earlier is None

    @property
    def lead_id(self) -> int | None:
        return self.record["pk"] if self.record is not None else None


# --- Normalise, lock, match ---------------------------------------------------------------------------------------


def arrival_normalize(facts: dict) -> dict:
    """The facts with email, phone and country trimmed and the normalised keys of duplicate detection set.

    Facts read by the import's `RowReader` come with their keys made by the same functions: they are kept, as
    parsing a phone number again costs more than the rest of a row's journey.
    """
    facts["email"] = (facts.get("email") or "").strip()
    facts["phone"] = (facts.get("phone") or "").strip()
    if "email_normalized" not in facts:
        facts["email_normalized"] = normalize_email(facts["email"])
    if "phone_normalized" not in facts:
        facts["phone_normalized"] = normalize_phone(facts["phone"])
    facts["country"] = (facts.get("country") or "").strip().upper()
    return facts


def _slot(identity: str) -> int:
    digest = hashlib.blake2b(identity.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % IDENTITY_LOCK_SLOTS


def identities_lock(identities: Iterable[str]) -> int:
    """Lock these identities until the transaction ends (their slots, ascending, in one statement).

    The ORDER BY sits in a subquery, which PostgreSQL never flattens, so the locks are taken in that order.
    Returns how many slots were locked.
    """
    slots = _slots(identities)
    _slots_lock(slots)
    return len(slots)


def _slots_lock(slots: list[int]) -> None:
    if slots:
        with connection.cursor() as cursor:
            cursor.execute(_LOCK_SQL, [IDENTITY_LOCK_CLASS, slots])


_LOCK_SQL = (
    "SELECT count(pg_advisory_xact_lock(%s, slot)) FROM "
    "(SELECT slot FROM unnest(%s::integer[]) AS slot ORDER BY slot) AS ordered"
)


def _slots(identities: Iterable[str]) -> list[int]:
    return sorted({_slot(identity) for identity in identities if identity})


def _identities(arriving: Arriving) -> Iterator[str]:
    if arriving.email_key:
        yield "email:" + arriving.email_key
    if arriving.phone_key:
        yield "phone:" + arriving.phone_key
    if arriving.row_key:
        yield "row:" + arriving.row_key


# `arrivals_match(among=OWN_CHANNEL)`: match only leads of the arrivals' own channel (an API token's scope).
OWN_CHANNEL = "own channel"


def arrivals_match(
    arrivals: list[Arriving],
    *,
    whole_leads: bool = False,
    lock: bool = True,
    among: QuerySet[Lead] | str | None = None,
) -> None:
    """Normalise the arrivals, lock their identities and find what each duplicates (see the module's rule).

    Two queries at most, whatever the batch's size: the leads created by the batch's row keys, and the stored
    leads with its emails or phones. `whole_leads` loads the duplicates whole (to update them); otherwise only
    what a caller needs to decide (id, keys, owner, team, channel, stage). `lock=False` only for a dry run.
    `among` limits the duplicates to the leads a sender may see: a queryset, or `OWN_CHANNEL`, the leads of the
    arrivals' own channel (all of one channel then), which is what an API token sees (`crm.access.leads_for_token`:
    its channel's leads) of the leads it sends (always of its channel); that one is read with a query in SQL.
    """
    for arriving in arrivals:
        arrival_normalize(arriving.facts)
    row_keys = {a.row_key for a in arrivals if a.row_key}
    slots = _slots(identity for arriving in arrivals for identity in _identities(arriving)) if lock else []
    # The API's way (one channel's leads, no row keys): the lock travels with the duplicate query, which is sent
    # whenever there is something to lock (the slots are then the emails' and phones').
    lock_with_query = among == OWN_CHANNEL and not whole_leads and not row_keys
    if not lock_with_query:
        _slots_lock(slots)

    imported = {}
    if row_keys:
        imported = dict(Lead.objects.filter(any_of("import_row_key", row_keys)).values_list("import_row_key", "pk"))
    waiting = [a for a in arrivals if a.row_key not in imported]
    for arriving in arrivals:
        arriving.imported_as = imported.get(arriving.row_key) if arriving.row_key else None

    emails = {a.email_key for a in waiting if a.email_key}
    phones = {a.phone_key for a in waiting if a.phone_key}
    by_email: dict[str, Lead] = {}
    by_phone: dict[str, Lead] = {}
    if emails or phones:
        if among == OWN_CHANNEL and not whole_leads:
            channels = {getattr(a.facts.get("channel"), "pk", None) for a in waiting}
            if len(channels) != 1 or None in channels:
                raise ValueError("among=OWN_CHANNEL needs every arrival of one stored channel")
            # The ids of the leads it may create are drawn by the same round trip (a duplicate leaves a gap in the
            # sequence, as a rolled-back insert does).
            reserve = len(waiting) if len(waiting) < COPY_FROM_ROWS else 0
            leads, reserved = _duplicates_of_channel(
                emails, phones, channel_id=channels.pop(), lock_slots=slots if lock_with_query else [], reserve=reserve
            )
            for arriving, pk in zip(waiting, reserved, strict=False):
                arriving.reserved_pk = pk
        else:
            if among == OWN_CHANNEL:
                among = Lead.objects.filter(channel=waiting[0].facts["channel"])
            condition = Q(pk__in=[])
            if emails:
                condition |= any_of("email_normalized", emails)
            if phones:
                condition |= any_of("phone_normalized", phones)
            leads = (Lead.objects.all() if among is None else among).filter(condition).order_by(*CANONICAL_ORDER)
            if not whole_leads:
                leads = leads.only(*_DUPLICATE_FIELDS)
        for lead in leads:  # oldest first: the first lead seen for a key is its canonical lead
            if lead.email_normalized in emails:
                by_email.setdefault(lead.email_normalized, lead)
            if lead.phone_normalized in phones:
                by_phone.setdefault(lead.phone_normalized, lead)

    earlier_email: dict[str, Arriving] = {}
    earlier_phone: dict[str, Arriving] = {}
    for arriving in waiting:
        email, phone = arriving.email_key, arriving.phone_key
        arriving.duplicate_of = (by_email.get(email) if email else None) or (by_phone.get(phone) if phone else None)
        if arriving.duplicate_of is not None:
            continue
        arriving.earlier = (earlier_email.get(email) if email else None) or (
            earlier_phone.get(phone) if phone else None
        )
        if arriving.earlier is None:
            if email:
                earlier_email[email] = arriving
            if phone:
                earlier_phone[phone] = arriving


# What a caller needs of a duplicate to decide (`arrivals_match` without `whole_leads`).
_DUPLICATE_FIELDS = ("id", "name", "email_normalized", "phone_normalized", "owner_id", "team_id", "channel_id", "stage")


def _duplicates_of_channel(
    emails: set[str], phones: set[str], *, channel_id: int, lock_slots: list[int] = (), reserve: int = 0
) -> tuple[list[Lead], list[int]]:
    """The leads of one channel with these emails or phones, oldest first, as `arrivals_match` reads them: in SQL
    (the API runs this per lead; building the ORM's query cost more than running it); and `reserve` new lead ids
    drawn from the table's sequence.

    With `lock_slots` the identity locks are taken by the same round trip to PostgreSQL: the statements go as one
    simple query, the lock first (`crm.db.Batch`). Each statement of a simple query takes its own snapshot (READ
    COMMITTED), so the query for duplicates still starts after the locks are held and sees a lead that another
    arrival of the same person committed while this one waited for the lock (`tests/intake/test_concurrency.py`).
    """
    conditions, params = [], []
    if emails:
        conditions.append("email_normalized = ANY(%s)")
        params.append(sorted(emails))
    if phones:
        conditions.append("phone_normalized = ANY(%s)")
        params.append(sorted(phones))
    table = connection.ops.quote_name(Lead._meta.db_table)
    sql = (
        f"SELECT {', '.join(_DUPLICATE_FIELDS)} FROM {table} WHERE channel_id = %s AND ({' OR '.join(conditions)}) "
        "ORDER BY created_at, id"
    )
    batch, found, reserved = Batch(), [], []
    if lock_slots:
        batch.add(_LOCK_SQL, [IDENTITY_LOCK_CLASS, list(lock_slots)])
    batch.add(sql, [channel_id, *params], then=found.extend)
    if reserve:
        meta = Lead._meta
        batch.add(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, reserve],
            then=lambda rows: reserved.extend(row[0] for row in rows),
        )
    batch.run()
    return [Lead.from_db(connection.alias, _DUPLICATE_FIELDS, row) for row in found], reserved


# --- Insert and what follows ----------------------------------------------------------------------------------


def lead_record(arriving: Arriving, *, now: dt.datetime) -> Record:
    """The lead row an arrival becomes: its facts, the owner's team, and the dates an arrival starts with."""
    facts = arriving.facts
    record = Record((name, value) for name, value in facts.items() if name not in _NOT_COLUMNS)
    owner: User | None = facts.get("owner")
    created_at = facts.get("created_at") or now
    stage = facts.get("stage") or Stage.NEW
    record.update(
        owner_id=owner.pk if owner else None,
        team_id=owner.team_id if owner else None,
        assigned_at=now if owner else None,
        stage=stage,
        created_at=created_at,
        stage_changed_at=facts.get("won_at") or created_at,
        last_activity_at=created_at,
        updated_at=now,
        import_row_key=arriving.row_key or None,
    )
    return record


def stage_history(leads: list[Record], *, user: User | None) -> Iterator[Record]:
    """Each new lead's stage history: created as New, then (for a lead arriving further on) its move to its stage.

    A won lead moves at its won date; other stages at the created date, the only date an arrival gives.
    """
    for lead in leads:
        yield Record(lead_id=lead.pk, from_stage="", to_stage=Stage.NEW, changed_at=lead.created_at, user=user)
        if lead.stage != Stage.NEW:
            yield Record(
                lead_id=lead.pk,
                from_stage=Stage.NEW,
                to_stage=lead.stage,
                changed_at=lead.won_at or lead.created_at,
                user=user,
            )


def arrivals_store(
    arrivals: list[Arriving],
    *,
    user: User | None,
    label: str = "",
    now: dt.datetime | None = None,
    batch: bool | None = None,
    route_to_teams: Collection[int] | None = None,
    pending: Batch | None = None,
) -> list[Record]:
    """Insert these arrivals as new leads, with their stage history, owners, response clocks and signals.

    Call it in the transaction (and after the locks) of `arrivals_match`. Open leads arriving without an owner
    go where the assignment rules send them; open leads get their response clock. A `batch` (by default: more
    than one lead) tells managers about pooled leads once for all (`label` names the batch) and scoring with one
    `leads_bulk_created` on commit; a single arrival gets a notice per lead and `lead_changed`. `route_to_teams`
    limits routing to the rules of these teams (a manager's import: never another team's reps).

    The statements that need no answer (the leads when their ids were drawn already, their clocks, scoring's
    note) reach PostgreSQL together: one round trip (`crm.db.Batch`), or two when routing reads the leads. With
    `pending` they are left queued in it, for the caller to send with its own (the API: with the idempotency key);
    the caller must run it before any other statement.
    """
    now = now or clock.now()
    records = [lead_record(arriving, now=now) for arriving in arrivals]
    if not records:
        return records
    batch = len(records) > 1 if batch is None else batch
    queued = pending if pending is not None else Batch()
    if len(records) < COPY_FROM_ROWS:
        reserved = [arriving.reserved_pk for arriving in arrivals]
        _insert_with_history(records, user=user, ids=reserved if None not in reserved else None, batch=queued)
    else:
        bulk_insert(Lead, records)
        bulk_insert(StageChange, list(stage_history(records, user=user)))
    for arriving, record in zip(arrivals, records, strict=True):
        arriving.record = record

    unowned = [r.pk for r in records if r.owner_id is None and r.stage in OPEN_STAGES]
    if unowned:
        result = route(
            lead_ids=unowned,
            notify="batch" if batch else "lead",
            label=label,
            teams=route_to_teams,
            pending=queued,
        )
        for record in records:
            owner_id = result.assigned.get(record.pk)
            if owner_id is not None:
                record.owner_id, record.team_id, record.assigned_at = owner_id, result.team_of[owner_id], result.at
            elif record.pk in result.unavailable:
                record.team_id = result.unavailable[record.pk][0]
    clocked = [r for r in records if r.stage in OPEN_STAGES and r.first_response_at is None]
    if clocked and len(records) < COPY_FROM_ROWS:
        # A few leads (one from the API): their clocks timed in Python, one plain INSERT in the batch.
        response_clocks_start(
            arrivals=[(r.pk, r.created_at, r.grade or "", _channel_id(r)) for r in clocked], batch=queued
        )
    elif clocked:
        response_clocks_recompute(lead_ids=[r.pk for r in clocked], arriving=True, batch=queued)

    ids = [r.pk for r in records]
    # In the transaction: what must be written with the leads (scoring notes them as waiting to be scored), so a
    # lead arriving commits once. Then, on commit, the signals that may queue work.
    leads_arriving.send(sender=Lead, lead_ids=ids, batch=queued)
    if pending is None:
        queued.run()
    if batch:
        transaction.on_commit(partial(leads_bulk_created.send, sender=Lead, lead_ids=ids))
    else:
        for record in records:
            # A UTM campaign arriving with the lead is named, so a receiver that joins it to its campaign
            # (campaigns.arrivals) spends no statement on the leads that came without one.
            fields = ["created", "utm_campaign"] if (record.utm_campaign or "").strip() else ["created"]
            transaction.on_commit(partial(lead_changed.send, sender=Lead, lead_id=record.pk, fields=fields))
    return records


def _channel_id(record: Record) -> int | None:
    channel = record.get("channel")
    return channel.pk if channel is not None else record.get("channel_id")


class _Columns:
    """How a model's rows are written by hand (COPY, or an INSERT of a few): its columns in order, and where each key a
    record may hold goes (0 is the id; a relation by object, "channel", or by id, "channel_id"). Built once per
    model and process; the defaults are drawn per write (some are callables, e.g. the time)."""

    _built: dict = {}

    def __init__(self, model) -> None:
        meta = model._meta
        self.fields = [f for f in meta.concrete_fields if not f.primary_key and not f.generated]
        self.position, self.by_object = {}, set()
        for i, f in enumerate(self.fields, start=1):
            self.position[f.attname] = i
            if f.is_relation:
                self.position[f.name] = i
                self.by_object.add(f.name)
        self.json_positions = [i for i, f in enumerate(self.fields, start=1) if f.get_internal_type() == "JSONField"]
        quote = connection.ops.quote_name
        self.table = quote(meta.db_table)
        self.columns = ", ".join(quote(f.column) for f in [meta.pk, *self.fields])
        self.columns_without_id = ", ".join(quote(f.column) for f in self.fields)
        self.row_placeholder = "(" + ", ".join(["%s"] * len(self.fields)) + ")"
        self.row_placeholder_with_id = "(" + ", ".join(["%s"] * (len(self.fields) + 1)) + ")"

    @classmethod
    def of(cls, model) -> _Columns:
        built = cls._built.get(model)
        if built is None:
            built = cls._built[model] = cls(model)
        return built

    def rows(self, records: list[Record], ids: list[int] | None = None) -> Iterator[list]:
        """Each record as the row's values (with its id first when `ids` are given, else without an id)."""
        template = [None, *(f.get_default() for f in self.fields)]
        position, by_object, json_positions = self.position, self.by_object, self.json_positions
        for index, record in enumerate(records):
            values = template.copy()
            for key, value in record.items():
                i = position.get(key)
                if i is not None:
                    values[i] = value.pk if key in by_object and value is not None else value
            for i in json_positions:
                values[i] = Jsonb(values[i])
            if ids is None:
                yield values[1:]
            else:
                values[0] = ids[index]
                yield values


def _insert_with_history(
    records: list[Record], *, user: User | None, ids: list[int] | None = None, batch: Batch | None = None
) -> None:
    """A few new leads and their stage history (`stage_history`, in SQL) in one statement; sets each record's "pk".

    With `ids` (drawn already) the statement is queued in `batch`, as nothing of its answer is needed. Otherwise
    it runs now and the leads' ids come back in the order of the rows (PostgreSQL returns an INSERT's rows in the
    order of its VALUES, which Django's bulk_create relies on as well)."""
    leads, history = _Columns.of(Lead), _Columns.of(StageChange)
    params: list = []
    for row in leads.rows(records, ids):
        params += row
    user_id = user.pk if user is not None else None
    stage_new = Stage.NEW.value
    columns = leads.columns if ids is not None else leads.columns_without_id
    placeholder = leads.row_placeholder_with_id if ids is not None else leads.row_placeholder
    sql = (
        f"WITH new AS (INSERT INTO {leads.table} ({columns}) VALUES "
        + ", ".join([placeholder] * len(records))
        + " RETURNING id, created_at, stage, won_at), "
        f"history AS (INSERT INTO {history.table} (lead_id, from_stage, to_stage, changed_at, user_id) "
        "SELECT id, '', %s, created_at, %s::bigint FROM new "
        "UNION ALL SELECT id, %s, stage, COALESCE(won_at, created_at), %s::bigint FROM new WHERE stage <> %s) "
        "SELECT id FROM new"
    )
    params += [stage_new, user_id, stage_new, user_id, stage_new]
    if ids is not None:
        for pk, record in zip(ids, records, strict=True):
            record["pk"] = pk
        batch.add(sql, params)
        return
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids = [row[0] for row in cursor.fetchall()]
    for pk, record in zip(ids, records, strict=True):
        record["pk"] = pk


def bulk_insert(model, records: list[Record]) -> None:
    """Insert new rows of `model` and set each record's "pk".

    From `COPY_FROM_ROWS` rows the ids are drawn from the table's sequence in one query and the rows streamed
    with COPY, the fastest way in (see `python -m bench imports`); fewer go in one INSERT ... RETURNING. Fields a
    record does not name take the model's defaults; generated columns are left to the database.
    """
    if not records:
        return
    columns = _Columns.of(model)
    meta = model._meta
    if len(records) < COPY_FROM_ROWS:
        params: list = []
        for row in columns.rows(records):
            params += row
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {columns.table} ({columns.columns_without_id}) VALUES "
                + ", ".join([columns.row_placeholder] * len(records))
                + f" RETURNING {connection.ops.quote_name(meta.pk.column)}",
                params,
            )
            ids = [row[0] for row in cursor.fetchall()]
        for pk, record in zip(ids, records, strict=True):
            record["pk"] = pk
        return
    # COPY goes through psycopg's own cursor: its errors are made Django's here (a database going away is then an
    # OperationalError, which the task retries and the job survives, not a failure of the import).
    with connection.cursor() as cursor, connection.wrap_database_errors:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, len(records)],
        )
        ids = [row[0] for row in cursor.fetchall()]
        with cursor.cursor.copy(f"COPY {columns.table} ({columns.columns}) FROM STDIN") as copy:
            for values in columns.rows(records, ids):
                copy.write_row(values)
    for pk, record in zip(ids, records, strict=True):
        record["pk"] = pk
