"""CSV import of leads: decode and check the file, map columns to lead fields, validate each row, dedupe, and
write in chunks, each chunk one transaction.

The same service runs for the browser (a Celery task over an `ImportJob`) and the command line
(`manage.py import_leads`). The rules, in one place:

* **File**: at most `IMPORT_MAX_BYTES`; UTF-8 (a byte-order mark is fine) unless an encoding is chosen
  (`latin-1`, `cp1252`); a header line naming the columns; `name` (or `first_name`/`last_name`) mapped.
  Anything else is an `ImportFileError` with a sentence a person can act on.
* **Rows** are validated one by one in Python (`RowReader`); a bad row is *rejected* with its line number and
  reason and the good rows are kept. Rejected rows are kept as CSV (the file's columns + `line` + `reason`).
* **Duplicates** by normalised email or phone, against the database and within the file; the policy decides:
  `skip` the row, `update` the existing lead's facts (non-empty mapped values; attributes merged), or `create`
  a new lead anyway.
* **Writes** go per chunk (`IMPORT_CHUNK_SIZE` rows, 5,000): one query finds the chunk's duplicates, then
  `bulk_insert` writes the leads and their stage history (created, and the historical move to the imported
  stage) with COPY on PostgreSQL (`bulk_create` elsewhere), response clocks are timed set-based, and the job's counters move, all in one transaction. A failure
  rolls the chunk back whole; a retry carries on after the last committed chunk. `leads_bulk_created` is sent
  on commit per chunk so routing and scoring can react (the unowned leads are for routing to take).
* **Dry run**: everything above but the writes; nothing is stored (not even channels it would create).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial

from django.core.exceptions import PermissionDenied
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import BooleanField, F, Q, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Concat
from psycopg.types.json import Jsonb

from crm import clock
from crm.models import User
from crm.queue import enqueue_on_commit
from leads.imports.rows import (  # noqa: F401 (the import's public names, re-exported)
    ATTRIBUTE_PREFIX,
    DUPLICATE_POLICIES,
    ENCODINGS,
    FIELDS,
    UPDATABLE_FIELDS,
    ImportFileError,
    ImportOptions,
    ImportResult,
    NameResolver,
    Rejection,
    RowReader,
    chunk_size,
    count_rows,
    csv_rows,
    decode_upload,
    guess_mapping,
    human_size,
    parse_stage_values,
    read_header,
    validate_mapping,
)
from leads.models import OPEN_STAGES, ImportJob, Lead, Stage, StageChange
from leads.routing.services import leads_route
from leads.selectors import teams_managed_by
from leads.signals import leads_bulk_created, leads_bulk_updated
from leads.sla.services import response_clocks_recompute


class _Record(dict):
    """A row to insert: field names (relations as objects, or `<name>_id`) → values, read as attributes too.

    Building a model instance per row costs more than validating it (Django's `Model.__init__` walks forty
    fields); a dict does not, and `_apply_update` reads and writes both alike.
    """

    __getattr__ = dict.get

    def __setattr__(self, name, value):
        self[name] = value


def _new_lead(facts: dict, *, now: dt.datetime) -> _Record:
    owner = facts["owner"]
    created_at = facts["created_at"]
    return _Record(
        name=facts["name"],
        email=facts["email"],
        email_normalized=facts["email_normalized"],
        phone=facts["phone"],
        phone_normalized=facts["phone_normalized"],
        company=facts["company"],
        job_title=facts["job_title"],
        industry=facts["industry"],
        company_size=facts.get("company_size"),
        country=facts["country"],
        region=facts["region"],
        city=facts["city"],
        channel=facts["channel"],
        utm_source=facts["utm_source"],
        utm_medium=facts["utm_medium"],
        utm_campaign=facts["utm_campaign"],
        owner=owner,
        team_id=owner.team_id if owner else None,
        assigned_at=now if owner else None,
        stage=facts["stage"],
        stage_changed_at=facts["won_at"] or created_at,
        lost_reason=facts["lost_reason"],
        deal_value=facts["deal_value"],
        won_at=facts["won_at"],
        attributes=facts["attributes"],
        created_at=created_at,
        last_activity_at=created_at,
        updated_at=now,
    )


def _apply_update(lead: Lead, facts: dict, mapped: set[str]) -> list[str]:
    """Copy the mapped, non-empty facts of a row onto an existing lead; the names of the fields changed."""
    changed = []
    for name in UPDATABLE_FIELDS:
        if name not in mapped and not (name == "name" and mapped & {"first_name", "last_name"}):
            continue
        value = facts.get(name)
        if value in (None, ""):
            continue
        if getattr(lead, name) != value:
            setattr(lead, name, value)
            changed.append(name)
    if "email" in changed:
        lead.email_normalized = facts["email_normalized"]
        changed.append("email_normalized")
    if "phone" in changed:
        lead.phone_normalized = facts["phone_normalized"]
        changed.append("phone_normalized")
    if facts["attributes"]:
        merged = {**(lead.attributes or {}), **facts["attributes"]}
        if merged != lead.attributes:
            lead.attributes = merged
            changed.append("attributes")
    return changed


@dataclass
class _Progress:
    """What a chunk adds to the job's figures."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    rejections: list[Rejection] = field(default_factory=list)


class LeadImporter:
    """One import run over a file's text. `run()` goes chunk by chunk from `start_row` (rows already done)."""

    def __init__(
        self,
        *,
        text: str,
        mapping: dict[str, str],
        options: ImportOptions,
        user: User | None,
        on_chunk: Callable[[_Progress, int], None] | None = None,
    ):
        if options.on_duplicate not in DUPLICATE_POLICIES:
            raise ImportFileError(
                f"Unknown duplicate policy “{options.on_duplicate}”: one of {', '.join(DUPLICATE_POLICIES)}."
            )
        self.text = text
        self.header = read_header(text)
        self.mapping = validate_mapping(mapping, self.header)
        self.options = options
        self.user = user
        self.on_chunk = on_chunk
        try:
            self.resolver = NameResolver(user=user, options=options)
        except ValueError as error:
            raise ImportFileError(f"{str(error)[0].upper()}{str(error)[1:]}.") from None
        self.reader = RowReader(mapping=self.mapping, header=self.header, options=options, resolver=self.resolver)
        self.mapped = set(self.mapping)
        # Keys (normalised emails and phones) of the rows already taken in this file: key → lead id (None in a dry
        # run, or until written), so a later row of the same person is a duplicate within the file.
        self.seen: dict[str, int | None] = {}
        self.editable = self._editable_condition()

    def _editable_condition(self) -> Callable[[int | None, int | None], bool]:
        """Whether the importing person may update an existing lead (owner id, team id) under `update`."""
        user = self.user
        if user is None or user.is_crm_admin:
            return lambda owner_id, team_id: True
        managed = set(teams_managed_by(user=user).values_list("pk", flat=True)) if user.is_manager else set()
        return lambda owner_id, team_id: (
            owner_id == user.pk or (user.is_manager and (owner_id is None or team_id in managed))
        )

    def rows(self, start_row: int = 0) -> Iterator[list[tuple[int, list[str]]]]:
        """Chunks of (line number, cells) of the data rows after the first `start_row`, blank lines left out."""
        reader = csv_rows(self.text)
        next(reader, None)
        chunk: list[tuple[int, list[str]]] = []
        index = 0
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as error:
                # A broken quote swallows the rest of the file: report it on the line where it starts.
                raise ImportFileError(f"Line {reader.line_num}: the CSV cannot be read ({error}).") from None
            if not any(cell.strip() for cell in row):
                continue
            index += 1
            if index <= start_row:
                continue
            chunk.append((reader.line_num, row))
            if len(chunk) >= chunk_size():
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def run(self, *, start_row: int = 0) -> ImportResult:
        result = ImportResult()
        for chunk in self.rows(start_row):
            progress = self._chunk(chunk) if self.options.dry_run else self._write_chunk(chunk)
            result.rows += progress.rows
            result.created += progress.created
            result.updated += progress.updated
            result.skipped += progress.skipped
            result.rejected += len(progress.rejections)
            result.rejections += progress.rejections
        return result

    def _write_chunk(self, chunk) -> _Progress:
        with transaction.atomic():
            progress = self._chunk(chunk)
            if self.on_chunk is not None:
                self.on_chunk(progress, len(chunk))
        return progress

    def _chunk(self, chunk: list[tuple[int, list[str]]]) -> _Progress:
        progress = _Progress(rows=len(chunk))
        prepared: list[tuple[int, list[str], dict]] = []
        for line, row in chunk:
            try:
                facts = self.reader.read(row)
            except ValueError as error:
                progress.rejections.append(Rejection(line, row, str(error)))
                continue
            prepared.append((line, row, facts))

        policy = self.options.on_duplicate
        existing = self._existing(prepared) if policy != "create" else {}
        new_leads: list[_Record] = []
        pending: dict[str, _Record] = {}  # keys of leads created in this chunk, not yet written
        updates: dict[int, Lead] = {}
        updated_fields: set[str] = set()
        now = clock.now()
        for line, row, facts in prepared:
            keys = []
            if facts["email_normalized"]:
                keys.append(facts["email_normalized"])
            if facts["phone_normalized"]:
                keys.append("tel:" + facts["phone_normalized"])
            if policy == "create":
                new_leads.append(_new_lead(facts, now=now))
                continue
            in_file = next((k for k in keys if k in pending or k in self.seen), None)
            match = next((existing[k] for k in keys if k in existing), None)
            if in_file is None and match is None:
                lead = _new_lead(facts, now=now)
                new_leads.append(lead)
                for key in keys:
                    pending[key] = lead
                    self.seen.setdefault(key, None)
                continue
            if policy == "skip":
                progress.skipped += 1
                continue
            # update: an earlier row of this chunk, or a lead already stored (possibly by an earlier chunk).
            if in_file is not None and in_file in pending:
                target = pending[in_file]
                _apply_update(target, facts, self.mapped)
                progress.updated += 1
                continue
            if match is None:  # a duplicate of a row of an earlier chunk in a dry run: nothing stored to look at
                progress.updated += 1
                continue
            if not self.editable(match.owner_id, match.team_id):
                progress.rejections.append(Rejection(line, row, "duplicate of a lead you may not change"))
                continue
            target = updates.get(match.pk, match)
            changed = _apply_update(target, facts, self.mapped)
            if changed:
                updates[match.pk] = target
                updated_fields.update(changed)
            progress.updated += 1
        progress.created = len(new_leads)
        progress.rejections.sort(key=lambda r: r.line)
        if self.options.dry_run:
            return progress

        self.resolver.save_new_channels()  # before the leads, which read their channels' ids
        bulk_insert(Lead, new_leads)
        for key, lead in pending.items():
            self.seen[key] = lead.pk
        bulk_insert(StageChange, list(_history(new_leads, user=self.user)))
        if updates:
            fields = sorted(updated_fields | {"updated_at"})
            for lead in updates.values():
                lead.updated_at = now
            Lead.objects.bulk_update(list(updates.values()), fields, batch_size=1000)
        created_ids = [lead.pk for lead in new_leads]
        clocked = [lead.pk for lead in new_leads if lead.stage in OPEN_STAGES]
        if clocked:
            response_clocks_recompute(lead_ids=clocked)
        if "channel" in updated_fields:
            response_clocks_recompute(lead_ids=list(updates))
        # Open leads that arrive without an owner go where the assignment rules send them, as on every way in,
        # inside the chunk's transaction (a chunk is imported and routed, or not at all).
        unowned = [lead.pk for lead in new_leads if lead.owner_id is None and lead.stage in OPEN_STAGES]
        if unowned:
            leads_route(lead_ids=unowned, label="a CSV import")
        if created_ids:
            transaction.on_commit(partial(leads_bulk_created.send, sender=Lead, lead_ids=created_ids))
        if updates:
            transaction.on_commit(
                partial(leads_bulk_updated.send, sender=Lead, lead_ids=list(updates), fields=sorted(updated_fields))
            )
        return progress

    def _existing(self, prepared) -> dict[str, Lead]:
        """The stored leads sharing a normalised email or phone with the chunk's rows: one query, oldest first."""
        emails = {facts["email_normalized"] for _, _, facts in prepared if facts["email_normalized"]}
        phones = {facts["phone_normalized"] for _, _, facts in prepared if facts["phone_normalized"]}
        if not emails and not phones:
            return {}
        found: dict[str, Lead] = {}
        condition = _any("email_normalized", emails) | _any("phone_normalized", phones)
        need_whole = self.options.on_duplicate == "update"
        leads = Lead.objects.filter(condition).order_by("created_at", "pk")
        if not need_whole:
            leads = leads.only("pk", "email_normalized", "phone_normalized", "owner_id", "team_id")
        for lead in leads:
            if lead.email_normalized in emails:
                found.setdefault(lead.email_normalized, lead)
            if lead.phone_normalized in phones:
                found.setdefault("tel:" + lead.phone_normalized, lead)
        return found


def _any(column: str, values: set[str]) -> Q:
    """`column IN values`; on PostgreSQL as `= ANY(array)`, one parameter instead of thousands to bind and plan."""
    if connection.vendor != "postgresql":
        return Q(**{f"{column}__in": values})
    condition = RawSQL(f"{connection.ops.quote_name(column)} = ANY(%s)", (list(values),), output_field=BooleanField())
    return Q(condition)


def bulk_insert(model, records: list[_Record]) -> None:
    """Insert new rows of `model` and set each record's "pk": COPY on PostgreSQL, `bulk_create` elsewhere.

    On PostgreSQL the ids are drawn from the table's sequence in one query and the rows streamed with COPY, the
    fastest way in (see `python -m bench imports`). Fields a record does not name take the model's defaults;
    generated columns are left to the database.
    """
    if not records:
        return
    meta = model._meta
    if connection.vendor != "postgresql":
        objects = [model(**{k: v for k, v in record.items() if k != "pk"}) for record in records]
        model.objects.bulk_create(objects, batch_size=500)
        for record, obj in zip(records, objects, strict=True):
            record["pk"] = obj.pk
        return
    fields = [f for f in meta.concrete_fields if not f.primary_key and not f.generated]
    # Where each key a record may hold goes in the row: 0 is the id; a relation by object ("channel") or by id.
    template = [None, *(f.get_default() for f in fields)]
    position, by_object = {}, set()
    for i, f in enumerate(fields, start=1):
        position[f.attname] = i
        if f.is_relation:
            position[f.name] = i
            by_object.add(f.name)
    json_positions = [i for i, f in enumerate(fields, start=1) if f.get_internal_type() == "JSONField"]
    table = connection.ops.quote_name(meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in [meta.pk, *fields])
    # COPY goes through psycopg's own cursor: its errors are made Django's here (a database going away is then an
    # OperationalError, which the task retries and the job survives, not a failure of the import).
    with connection.cursor() as cursor, connection.wrap_database_errors:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, len(records)],
        )
        ids = [row[0] for row in cursor.fetchall()]
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for pk, record in zip(ids, records, strict=True):
                values = template.copy()
                values[0] = pk
                for key, value in record.items():
                    i = position.get(key)
                    if i is not None:
                        values[i] = value.pk if key in by_object and value is not None else value
                for i in json_positions:
                    values[i] = Jsonb(values[i])
                copy.write_row(values)
    for pk, record in zip(ids, records, strict=True):
        record["pk"] = pk


def _history(leads: list[_Record], *, user: User | None) -> Iterator[_Record]:
    """Each imported lead's stage history: created as New, then (historical rows) its move to the stage it has.

    A won lead moves at its won date; other stages at the created date, the only date the file gives.
    """
    for lead in leads:
        yield _Record(lead_id=lead.pk, from_stage="", to_stage=Stage.NEW, changed_at=lead.created_at, user=user)
        if lead.stage != Stage.NEW:
            yield _Record(
                lead_id=lead.pk,
                from_stage=Stage.NEW,
                to_stage=lead.stage,
                changed_at=lead.won_at or lead.created_at,
                user=user,
            )


def rejections_csv(header: list[str], rejections: list[Rejection], *, with_header: bool) -> str:
    """Rejected rows as CSV: the file's own columns, then `line` and `reason`."""
    out = io.StringIO()
    writer = csv.writer(out)
    if with_header:
        writer.writerow([*header, "line", "reason"])
    width = len(header)
    for rejection in rejections:
        cells = (rejection.row + [""] * width)[:width]
        writer.writerow([*cells, rejection.line, rejection.reason])
    return out.getvalue()


# --- Jobs (browser and Celery) --------------------------------------------------------------------------------------


def _require_importer(user: User) -> None:
    if not (user.is_crm_admin or user.is_manager):
        raise PermissionDenied("Only managers and admins import leads.")


@transaction.atomic
def import_job_create(*, user: User | None, file_name: str, data: bytes, encoding: str = "") -> ImportJob:
    """Store an uploaded file as a draft job, with its header and a guessed mapping; ImportFileError if unusable."""
    if user is not None:
        _require_importer(user)
    text, used = decode_upload(data, encoding=encoding)
    header = read_header(text)
    rows = count_rows(text)
    if rows == 0:
        raise ImportFileError("The file has a header line but no rows.")
    return ImportJob.objects.create(
        created_by=user,
        file_name=file_name[:255],
        encoding=used,
        content=text,
        header=header,
        mapping=guess_mapping(header),
        rows_total=rows,
        options=ImportOptions().as_dict(),
    )


def import_job_configure(*, job: ImportJob, user: User | None, mapping: dict[str, str], options: ImportOptions) -> None:
    """Check and store the mapping and options of a draft job (ImportFileError when they cannot work)."""
    if job.status != ImportJob.Status.DRAFT:
        raise ImportFileError("This import has already started.")
    clean = validate_mapping(mapping, job.header)
    # Building an importer checks the options (default channel and owner) as the run will.
    LeadImporter(text=job.content, mapping=clean, options=options, user=user)
    job.mapping, job.options, job.dry_run = clean, options.as_dict(), options.dry_run
    job.save(update_fields=["mapping", "options", "dry_run"])


def import_job_preview(*, job: ImportJob, user: User | None, mapping: dict[str, str], options: ImportOptions, rows=20):
    """The first rows read with this mapping: (line, cells, facts or None, problem or "") for each."""
    importer = LeadImporter(text=job.content, mapping=mapping, options=options, user=user)
    preview = []
    for chunk in importer.rows():
        for line, row in chunk[:rows]:
            try:
                facts, problem = importer.reader.read(row), ""
            except ValueError as error:
                facts, problem = None, str(error)
            preview.append({"line": line, "cells": row, "facts": facts, "problem": problem})
        break
    return preview


def import_job_start(*, job: ImportJob, user: User | None) -> ImportJob:
    """Queue a configured draft job for the Celery worker (on commit)."""
    updated = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.DRAFT).update(
        status=ImportJob.Status.QUEUED, heartbeat_at=clock.now()
    )
    if not updated:
        raise ImportFileError("This import has already started.")
    job.status = ImportJob.Status.QUEUED
    enqueue_on_commit("leads.tasks.run_import", job.pk)
    return job


def import_job_run(*, job_id: int) -> ImportJob:
    """Run (or carry on with) a queued job, chunk by chunk; idempotent for a redelivered task.

    Each chunk's transaction locks the job row and checks that `rows_done` is still where this run left it, so
    two workers given the same job never write a chunk twice: the second one stops.
    """
    now = clock.now()
    claimed = ImportJob.objects.filter(
        pk=job_id, status__in=[ImportJob.Status.QUEUED, ImportJob.Status.RUNNING]
    ).update(status=ImportJob.Status.RUNNING, started_at=now, heartbeat_at=now)
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    if not claimed:
        return job
    # A resumed run starts after the last committed chunk; earlier chunks' leads are found as stored duplicates.
    state = {"done": job.rows_done, "has_rejects": bool(job.rejected_csv)}

    def on_chunk(progress: _Progress, rows: int) -> None:
        locked = ImportJob.objects.select_for_update().only("rows_done").get(pk=job_id)
        if locked.rows_done != state["done"]:
            raise _Superseded
        extra = rejections_csv(job.header, progress.rejections, with_header=not state["has_rejects"])
        state["has_rejects"] = state["has_rejects"] or bool(extra)
        ImportJob.objects.filter(pk=job_id).update(
            rows_done=F("rows_done") + rows,
            created=F("created") + progress.created,
            updated=F("updated") + progress.updated,
            skipped=F("skipped") + progress.skipped,
            rejected=F("rejected") + len(progress.rejections),
            rejected_csv=Concat(F("rejected_csv"), Value(extra)) if extra else F("rejected_csv"),
            heartbeat_at=clock.now(),
        )
        state["done"] += rows

    try:
        options = ImportOptions.from_dict(job.options)
        importer = LeadImporter(
            text=job.content, mapping=job.mapping, options=options, user=job.created_by, on_chunk=on_chunk
        )
        if options.dry_run:
            result = importer.run()
            ImportJob.objects.filter(pk=job_id).update(
                rows_done=result.rows,
                created=result.created,
                updated=result.updated,
                skipped=result.skipped,
                rejected=result.rejected,
                rejected_csv=rejections_csv(job.header, result.rejections, with_header=True)
                if result.rejections
                else "",
            )
        else:
            importer.run(start_row=job.rows_done)
    except _Superseded:
        return ImportJob.objects.get(pk=job_id)
    except ImportFileError as error:
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportJob.Status.FAILED, error=str(error), finished_at=clock.now()
        )
        return ImportJob.objects.get(pk=job_id)
    except (OperationalError, InterfaceError) as error:
        # Transient (the database went away): the task retries and carries on after the last committed chunk.
        ImportJob.objects.filter(pk=job_id).update(error=f"Interrupted, retrying: {error}")
        raise
    except Exception as error:
        # The chunk under way was rolled back whole; the committed ones stay, and the job says where it stopped.
        done = ImportJob.objects.get(pk=job_id).rows_done
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportJob.Status.FAILED,
            error=f"Stopped after {done:,} rows (the chunk under way was not written): {error}",
            finished_at=clock.now(),
        )
        raise
    ImportJob.objects.filter(pk=job_id).update(status=ImportJob.Status.DONE, finished_at=clock.now())
    return ImportJob.objects.get(pk=job_id)


class _Superseded(Exception):
    """Another run of the same job wrote the chunk first."""


def import_file(
    *, text: str, mapping: dict[str, str], options: ImportOptions, user: User | None = None
) -> ImportResult:
    """Import a decoded CSV in this process (the command line): chunks committed one by one."""
    return LeadImporter(text=text, mapping=mapping, options=options, user=user).run()
