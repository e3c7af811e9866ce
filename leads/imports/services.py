"""CSV import of leads: decode and check the file, map columns to lead fields, validate each row, dedupe, and
write in chunks, each chunk one transaction.

The same service runs for the browser (a Celery task over an `ImportJob`) and the command line
(`manage.py import_leads`). The rules, in one place:

* **File**: at most `IMPORT_MAX_BYTES`; UTF-8 (a byte-order mark is fine) unless an encoding is chosen
  (`latin-1`, `cp1252`); a header line naming the columns; `name` (or `first_name`/`last_name`) mapped.
  Anything else is an `ImportFileError` with a sentence a person can act on.
* **Rows** are read one by one in Python (`RowReader`). A row that cannot be a lead (nothing names it, or a value
  the database cannot hold) is *rejected* with its line number and reason; a row imported with something odd (a
  won row without a deal value, dates that contradict) carries *warnings*. Both are kept as CSV (the file's
  columns + `line` + `reason` or `warning`). Columns neither mapped nor ignored are kept as custom attributes
  (clean keys, the column's name as the label, `AttributeLabel`) unless the options say `unmapped="ignore"`.
* **One way in**: every chunk goes through the arrival pipeline (`leads.intake.pipeline`), the same code and the same
  duplicate rule as a lead from a form or the API: the chunk's identities locked (two imports of one file at once
  wait for each other instead of both inserting), duplicates by normalised email (else phone) against the
  database and within the file, the oldest lead being the one matched. The policy decides: `skip` the row,
  `update` the existing lead's facts (non-empty mapped values; attributes merged), or `create` a new lead anyway.
* **Reruns**: each row has a key (`RowKeys`: its content and how many identical rows precede it), stored on
  the lead it creates; a row whose key is stored is skipped under every policy, so a file imported again (killed
  midway and rerun, or twice at once) creates each lead once, rows without email or phone included.
* **Writes** go per chunk (`IMPORT_CHUNK_SIZE` rows, 5,000), all in one transaction: the leads and their stage
  history (created, and the historical move to the imported stage) by COPY, the unowned open leads routed,
  response clocks timed set-based, and the job's counters moved. A failure rolls the chunk back whole; a retry
  carries on after the last committed chunk. `leads_arriving` is sent in each chunk's transaction (scoring marks
  the leads to score) and `leads_bulk_created` on its commit. When the whole file is in, `leads.signals.import_finished` is sent with the local days whose leads it
  created or changed (reports rebuild their figures for those days) before the import says it is done.
* **Dry run**: everything above but the writes; nothing is stored (not even channels it would create).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial

from django.db import InterfaceError, OperationalError, transaction
from django.db.models import F, Value
from django.db.models.functions import Concat

from crm import access, clock
from crm.csv import csv_unquote, csv_writer
from crm.models import User
from crm.queue import enqueue_on_commit
from leads.edits import history_rows
from leads.facts import ATTRIBUTES_MAX_KEYS  # noqa: F401 (re-exported)
from leads.imports.columns import fallback_keys
from leads.imports.rows import (  # noqa: F401 (the import's public names, re-exported)
    ATTRIBUTE_PREFIX,
    DUPLICATE_POLICIES,
    ENCODINGS,
    FIELDS,
    UNMAPPED_POLICIES,
    UPDATABLE_FIELDS,
    ImportFileError,
    ImportOptions,
    ImportResult,
    NameResolver,
    Rejection,
    RowReader,
    attribute_columns,
    attribute_key,
    attribute_label,
    chunk_size,
    count_rows,
    csv_rows,
    decode_upload,
    guess_mapping,
    human_size,
    local_day,
    parse_stage_values,
    read_header,
    slash_date_order,
    validate_mapping,
)
from leads.intake.pipeline import Arriving, Record, arrivals_match, arrivals_store
from leads.models import AttributeLabel, ImportJob, Lead, LeadHistory
from leads.signals import import_finished, leads_bulk_updated
from leads.sla.services import response_clocks_recompute

logger = logging.getLogger(__name__)


def _apply_update(lead: Lead, facts: dict, mapped: set[str], before: dict | None = None) -> list[str]:
    """Copy the mapped, non-empty facts of a row onto an existing lead; the names of the fields changed. `before`
    keeps each changed field's value as it was stored, the first time it changes (for the lead's history)."""
    changed = []
    for name in UPDATABLE_FIELDS:
        if name not in mapped and not (name == "name" and mapped & {"first_name", "last_name"}):
            continue
        value = facts.get(name)
        if value in (None, ""):
            continue
        if getattr(lead, name) != value:
            if before is not None:
                before.setdefault(name, getattr(lead, name))
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
            if before is not None:
                before.setdefault("attributes", lead.attributes)
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
    warnings: list[Rejection] = field(default_factory=list)
    days: set[dt.date] = field(default_factory=set)


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
        job_id: int | None = None,
    ):
        if options.on_duplicate not in DUPLICATE_POLICIES:
            raise ImportFileError(
                f"Unknown duplicate policy “{options.on_duplicate}”: one of {', '.join(DUPLICATE_POLICIES)}."
            )
        if options.unmapped not in UNMAPPED_POLICIES:
            raise ImportFileError(
                f"Unmapped columns: “{options.unmapped}” is not one of {', '.join(UNMAPPED_POLICIES)}."
            )
        self.text = text
        self.header = read_header(text)
        self.mapping = validate_mapping(mapping, self.header)
        self.options = options
        self.user = user
        self.on_chunk = on_chunk
        self.job_id = job_id
        # A manager's import routes only to their own teams' reps: a lead given to another team would be one the
        # manager cannot open. Admins (and the command line) route with every rule.
        self.route_to_teams = None if user is None or access.is_crm_admin(user) else access.managed_team_ids(user)
        try:
            self.resolver = NameResolver(user=user, options=options)
        except ValueError as error:
            raise ImportFileError(f"{str(error)[0].upper()}{str(error)[1:]}.") from None
        # Columns kept as custom attributes: those not mapped nor ignored (unless told to leave them out).
        self.kept_columns, self.left_out, fallbacks = {}, [], {}
        if options.unmapped == "attributes":
            self.kept_columns, self.left_out = attribute_columns(
                header=self.header, mapping=self.mapping, ignored=options.ignored
            )
            fallbacks = fallback_keys(mapping=self.mapping, kept=self.kept_columns)
        self.labels = {key: attribute_label(column) for key, column in self.kept_columns.items()}
        self.labels.update({key: attribute_label(self.mapping[name]) for name, key in fallbacks.items()})
        for name, column in self.mapping.items():
            if name.startswith(ATTRIBUTE_PREFIX):
                self.labels[name[len(ATTRIBUTE_PREFIX) :]] = attribute_label(column)
        self.reader = RowReader(
            mapping=self.mapping,
            header=self.header,
            options=options,
            resolver=self.resolver,
            kept_columns=self.kept_columns,
            fallback_keys=fallbacks,
            date_order=slash_date_order(text, self.header, self.mapping),
        )
        self.mapped = set(self.mapping)
        # Keys (normalised emails and phones) of the rows already taken in this file: key → lead id (None in a dry
        # run, or until written), so a later row of the same person is a duplicate within the file.
        self.seen: dict[str, int | None] = {}
        self.editable = self._editable_condition()

    def _editable_condition(self) -> Callable[[int | None, int | None], bool]:
        """Whether the importing person may update an existing lead (owner id, team id) under `update`."""
        if self.user is None:  # an operator's command-line import
            return lambda owner_id, team_id: True
        return access.lead_edit_rule(self.user)

    def rows(self, start_row: int = 0) -> Iterator[list[tuple[int, list[str]]]]:
        """Chunks of (line number, cells) of the data rows after the first `start_row`, blank lines left out."""
        for chunk in self.keyed_rows(start_row):
            yield [(line, row) for line, row, _ in chunk]

    def keyed_rows(self, start_row: int = 0) -> Iterator[list[tuple[int, list[str], str]]]:
        """Chunks of (line number, cells, row key) of the data rows after the first `start_row` (see `RowKeys`)."""
        reader = csv_rows(self.text)
        next(reader, None)
        chunk: list[tuple[int, list[str], str]] = []
        index = 0
        row_key = RowKeys()
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
            # A cell a CSV writer made formula-safe ('=1) is read as the value it stands for (=1), as a spreadsheet
            # shows it: an exported or rejected-rows file imports as the values it came from.
            row = [csv_unquote(cell) for cell in row]
            index += 1
            key = row_key(row)  # rows before `start_row` too: a row's key counts the identical rows before it
            if index <= start_row:
                continue
            chunk.append((reader.line_num, row, key))
            if len(chunk) >= chunk_size():
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def run(self, *, start_row: int = 0) -> ImportResult:
        result = ImportResult()
        for chunk in self.keyed_rows(start_row):
            progress = self._chunk(chunk) if self.options.dry_run else self._write_chunk(chunk)
            result.rows += progress.rows
            result.created += progress.created
            result.updated += progress.updated
            result.skipped += progress.skipped
            result.rejected += len(progress.rejections)
            result.rejections += progress.rejections
            result.warned += len(progress.warnings)
            result.warnings += progress.warnings
            result.days |= progress.days
        return result

    def _write_chunk(self, chunk) -> _Progress:
        with transaction.atomic():
            progress = self._chunk(chunk)
            if self.on_chunk is not None:
                self.on_chunk(progress, len(chunk))
        return progress

    def _chunk(self, chunk: list[tuple[int, list[str], str]]) -> _Progress:
        progress = _Progress(rows=len(chunk))
        prepared: list[tuple[int, list[str], Arriving]] = []
        # Warnings of the rows read; reported for the rows created or updated (a skipped row was not imported).
        warned: dict[int, Rejection] = {}
        for line, row, key in chunk:
            try:
                facts, warnings = self.reader.read(row)
            except ValueError as error:
                progress.rejections.append(Rejection(line, row, str(error)))
                continue
            if warnings:
                warned[line] = Rejection(line, row, "; ".join(warnings))
            prepared.append((line, row, Arriving(facts=Record(facts), row_key=key)))
        skipped_lines: set[int] = set()

        policy = self.options.on_duplicate
        dry_run = self.options.dry_run
        # The one way in: the chunk's identities locked (not in a dry run, which writes nothing), its duplicates
        # found by the one rule (the oldest lead with the email, else the phone).
        arrivals_match([a for _, _, a in prepared], whole_leads=policy == "update", lock=not dry_run)
        creating: list[Arriving] = []
        updates: dict[int, Lead] = {}
        before: dict[int, dict] = {}  # each updated lead's changed fields as they were stored
        updated_fields: set[str] = set()
        now = clock.now()
        for line, row, arriving in prepared:
            if arriving.imported_as is not None:  # this very row created a lead before (a rerun of the file)
                progress.skipped += 1
                skipped_lines.add(line)
                continue
            if policy == "create":
                creating.append(arriving)
                continue
            keys = [k for k in (arriving.email_key, "tel:" + arriving.phone_key if arriving.phone_key else "") if k]
            earlier_chunk = dry_run and arriving.is_new and any(k in self.seen for k in keys)
            if arriving.is_new and not earlier_chunk:
                creating.append(arriving)
                if dry_run:
                    self.seen.update(dict.fromkeys(keys))
                continue
            if policy == "skip":
                progress.skipped += 1
                skipped_lines.add(line)
                continue
            # update: an earlier row of this chunk, or a lead already stored (possibly by an earlier chunk).
            if arriving.earlier is not None:
                _apply_update(arriving.earlier.facts, arriving.facts, self.mapped)
                progress.updated += 1
                continue
            match = arriving.duplicate_of
            if match is None:  # a duplicate of a row of an earlier chunk in a dry run: nothing stored to look at
                progress.updated += 1
                continue
            if not self.editable(match.owner_id, match.team_id):
                progress.rejections.append(Rejection(line, row, "duplicate of a lead you may not change"))
                skipped_lines.add(line)
                continue
            target = updates.get(match.pk, match)
            changed = _apply_update(target, arriving.facts, self.mapped, before.setdefault(match.pk, {}))
            if changed:
                updates[match.pk] = target
                updated_fields.update(changed)
            progress.updated += 1
        progress.created = len(creating)
        progress.rejections.sort(key=lambda r: r.line)
        progress.warnings = [warning for line, warning in warned.items() if line not in skipped_lines]
        if dry_run:
            return progress

        self.resolver.save_new_channels()  # before the leads, which read their channels' ids
        if self.labels:  # the first label a key was given stays (a person may have renamed it since)
            AttributeLabel.objects.bulk_create(
                [AttributeLabel(key=key, label=label[:200]) for key, label in self.labels.items()],
                ignore_conflicts=True,
            )
        # Insert, stage history, routing of the unowned open leads (inside the chunk's transaction: a chunk is
        # imported and routed, or not at all), response clocks, `leads_bulk_created` on commit.
        if self.job_id is not None:
            for arriving in creating:
                arriving.facts["import_job_id"] = self.job_id
        arrivals_store(
            creating, user=self.user, label="a CSV import", now=now, batch=True, route_to_teams=self.route_to_teams
        )
        if updates:
            fields = sorted(updated_fields | {"updated_at"})
            for lead in updates.values():
                lead.updated_at = now
            Lead.objects.bulk_update(list(updates.values()), fields, batch_size=1000)
            # The lead's history says what the import changed, from what, in one INSERT for the chunk.
            note = f"CSV import #{self.job_id}" if self.job_id is not None else "CSV import (command line)"
            LeadHistory.objects.bulk_create(
                row
                for lead_id, lead in updates.items()
                for row in history_rows(
                    lead_id=lead_id,
                    user=self.user,
                    kind=LeadHistory.Kind.EDIT,
                    changes={name: (old, getattr(lead, name)) for name, old in before.get(lead_id, {}).items()},
                    at=now,
                    note=note,
                )
            )
            if "channel" in updated_fields:
                response_clocks_recompute(lead_ids=list(updates))
            transaction.on_commit(
                partial(leads_bulk_updated.send, sender=Lead, lead_ids=list(updates), fields=sorted(updated_fields))
            )
        progress.days = {local_day(record.created_at) for record in (a.record for a in creating)}
        progress.days |= {local_day(lead.created_at) for lead in updates.values()}
        return progress


class RowKeys:
    """Call it with the file's rows in order; it answers each row's key: the row's stable identity in any run.

    The key is a SHA-256 of the row's cells (trimmed, trailing empty cells dropped) and of how many identical
    rows came before it in the file. So the same file imported again (killed midway and rerun, or two runs at
    once) gives every row the key it had, and a row that created a lead is never imported twice, even one with
    no email or phone to match on; a corrected file keeps the keys of the rows it did not change. Two identical
    rows of one file are two rows (the first and second occurrence). Content, not file name and line number:
    the same export saved under another name, or with a row fixed or removed above, is still recognised.
    """

    def __init__(self):
        self.seen: dict[str, int] = {}

    def __call__(self, row: list[str]) -> str:
        cells = [cell.strip() for cell in row]
        while cells and not cells[-1]:
            cells.pop()
        content = json.dumps(cells, ensure_ascii=False)
        occurrence = self.seen.get(content, 0)
        self.seen[content] = occurrence + 1
        return hashlib.sha256(f"{occurrence}\n{content}".encode()).hexdigest()


def rejections_csv(header: list[str], rejections: list[Rejection], *, with_header: bool, reason: str = "reason") -> str:
    """Rejected (or warned) rows as CSV: the file's own columns, then `line` and `reason` (or `warning`); cells
    formula-safe (`crm.csv`)."""
    out = io.StringIO()
    writer = csv_writer(out)
    if with_header:
        writer.writerow([*header, "line", reason])
    width = len(header)
    for rejection in rejections:
        cells = (rejection.row + [""] * width)[:width]
        writer.writerow([*cells, rejection.line, rejection.reason])
    return out.getvalue()


# --- Jobs (browser and Celery) --------------------------------------------------------------------------------------


def _require_importer(user: User) -> None:
    access.ensure(access.can_import_leads, user)


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
                (facts, warnings), problem = importer.reader.read(row), ""
            except ValueError as error:
                facts, warnings, problem = None, [], str(error)
            cells = row[: len(importer.header)]
            preview.append({"line": line, "cells": cells, "facts": facts, "problem": problem, "warnings": warnings})
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
    state = {"done": job.rows_done, "has_rejects": bool(job.rejected_csv), "has_warnings": bool(job.warnings_csv)}

    def on_chunk(progress: _Progress, rows: int) -> None:
        locked = ImportJob.objects.select_for_update().only("rows_done", "days_touched").get(pk=job_id)
        if locked.rows_done != state["done"]:
            raise _Superseded
        extra = rejections_csv(job.header, progress.rejections, with_header=not state["has_rejects"])
        state["has_rejects"] = state["has_rejects"] or bool(extra)
        warned = rejections_csv(job.header, progress.warnings, with_header=not state["has_warnings"], reason="warning")
        state["has_warnings"] = state["has_warnings"] or bool(warned)
        days = sorted(set(locked.days_touched) | {day.isoformat() for day in progress.days})
        ImportJob.objects.filter(pk=job_id).update(
            rows_done=F("rows_done") + rows,
            created=F("created") + progress.created,
            updated=F("updated") + progress.updated,
            skipped=F("skipped") + progress.skipped,
            rejected=F("rejected") + len(progress.rejections),
            warned=F("warned") + len(progress.warnings),
            rejected_csv=Concat(F("rejected_csv"), Value(extra)) if extra else F("rejected_csv"),
            warnings_csv=Concat(F("warnings_csv"), Value(warned)) if warned else F("warnings_csv"),
            days_touched=days,
            heartbeat_at=clock.now(),
        )
        state["done"] += rows

    try:
        options = ImportOptions.from_dict(job.options)
        importer = LeadImporter(
            text=job.content,
            mapping=job.mapping,
            options=options,
            user=job.created_by,
            on_chunk=on_chunk,
            job_id=job.pk,
        )
        if options.dry_run:
            result = importer.run()
            ImportJob.objects.filter(pk=job_id).update(
                rows_done=result.rows,
                created=result.created,
                updated=result.updated,
                skipped=result.skipped,
                rejected=result.rejected,
                warned=result.warned,
                rejected_csv=rejections_csv(job.header, result.rejections, with_header=True)
                if result.rejections
                else "",
                warnings_csv=rejections_csv(job.header, result.warnings, with_header=True, reason="warning")
                if result.warnings
                else "",
            )
        else:
            importer.run(start_row=job.rows_done)
            # Every chunk is committed: the reports' figures of the days touched, rebuilt before the job is done.
            days = ImportJob.objects.values_list("days_touched", flat=True).get(pk=job_id)
            import_finished_send(days=[dt.date.fromisoformat(day) for day in days], job_id=job_id)
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
    """Import a decoded CSV in this process (the command line): chunks committed one by one, then the report
    figures of the days touched rebuilt (`import_finished`) before it returns."""
    result = LeadImporter(text=text, mapping=mapping, options=options, user=user).run()
    if not options.dry_run:
        import_finished_send(days=result.days, job_id=None)
    return result


def import_finished_send(*, days: Iterable[dt.date], job_id: int | None) -> None:
    """Tell the apps above (reports) that an import wrote its file, with the days it touched. A receiver's failure
    is logged, not raised: the leads are in, and the periodic refresh catches the figures up."""
    days = sorted(set(days))
    if not days:
        return
    for receiver, answer in import_finished.send_robust(sender=ImportJob, days=days, job_id=job_id):
        if isinstance(answer, Exception):
            logger.error("After import %s, %s failed: %r", job_id, getattr(receiver, "__name__", receiver), answer)


def summarize(rows: list[Rejection]) -> list[tuple[str, int]]:
    """The reasons (or warnings) of these rows by kind, most frequent first: "won without a deal value" × 3,561.
    A row's several warnings count each; values in quotes are left out of the kind ("bad email “…”")."""
    counts: dict[str, int] = {}
    for row in rows:
        for part in row.reason.split("; "):
            kind = re.sub(r"“[^”]*”", "“…”", part)
            counts[kind] = counts.get(kind, 0) + 1
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))
