"""Reading a CSV of leads: decoding and checking the file, the header, the column mapping, the options, and each
row turned into a lead's facts or rejected with its reason. No writes here: `leads.imports.services` writes."""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import json
import re
import zoneinfo
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from crm import access, clock
from crm.csv import csv_unquote
from crm.models import User
from leads.facts import BY_NAME, HEADER_SYNONYMS, IMPORT_FACTS, IMPORT_UPDATABLE_FIELDS, Fact, header_key
from leads.models import Channel, LostReason, Stage
from leads.normalize import normalize_email, normalize_phone

# Lead fields a column can be mapped to, with what a person reads in the mapping form (from leads.facts).
FIELDS: dict[str, str] = {fact.name: fact.import_label for fact in IMPORT_FACTS}
ATTRIBUTE_PREFIX = "attributes."
DUPLICATE_POLICIES = ("skip", "update", "create")
ENCODINGS = {"utf-8": "UTF-8", "latin-1": "Latin-1 (ISO 8859-1)", "cp1252": "Windows-1252"}
UPDATABLE_FIELDS = IMPORT_UPDATABLE_FIELDS
_DATE_FORMATS = ("%d.%m.%Y", "%Y/%m/%d", "%d.%m.%Y %H:%M", "%Y/%m/%d %H:%M")


class ImportFileError(ValueError):
    """The file or the mapping cannot be imported at all (as opposed to a rejected row)."""


def chunk_size() -> int:
    return settings.IMPORT_CHUNK_SIZE


# --- The file ---------------------------------------------------------------------------------------------------


def decode_upload(data: bytes, *, encoding: str = "") -> tuple[str, str]:
    """The text of an uploaded CSV and the encoding it was read with; ImportFileError when it cannot be read.

    Without an `encoding`, UTF-8 is required (Excel's byte-order mark is dropped): guessing a legacy encoding
    would silently garble names, so the person is asked to choose one instead.
    """
    limit = settings.IMPORT_MAX_BYTES
    if len(data) > limit:
        raise ImportFileError(
            f"The file is {human_size(len(data))}; the largest file accepted is {human_size(limit)}. Split it into parts."
        )
    if not data.strip():
        raise ImportFileError("The file is empty.")
    if encoding and encoding not in ENCODINGS:
        raise ImportFileError(f"Unknown encoding “{encoding}”: choose one of {', '.join(ENCODINGS)}.")
    if b"\x00" in data:
        # A text CSV never holds NUL bytes; a spreadsheet (.xlsx) or a UTF-16 export does.
        raise ImportFileError(
            "The file is not a text CSV (it holds binary data: a spreadsheet, or UTF-16). Save it as “CSV UTF-8”."
        )
    if not encoding or encoding == "utf-8":
        try:
            return data.decode("utf-8-sig"), "utf-8"
        except UnicodeDecodeError as error:
            raise ImportFileError(
                f"The file is not UTF-8 (byte {error.start + 1} cannot be read). Save it as “CSV UTF-8”, or "
                "choose its encoding (Latin-1 or Windows-1252 for older Excel files)."
            ) from None
    try:
        return data.decode(encoding), encoding
    except UnicodeDecodeError as error:  # cp1252 leaves a few bytes undefined
        raise ImportFileError(
            f"The file is not {ENCODINGS[encoding]} (byte {error.start + 1} cannot be read)."
        ) from None


def human_size(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB" if n >= 100_000 else f"{n:,} bytes"


def csv_rows(text: str) -> Iterator[list[str]]:
    return csv.reader(io.StringIO(text, newline=""))


# Limits of a file's header: columns a person can map, and names a person can read.
MAX_COLUMNS = 200
MAX_COLUMN_NAME = 200


def read_header(text: str) -> list[str]:
    """The column names of the file's first line; ImportFileError when there is no usable header."""
    try:
        header = next(csv_rows(text), None)
    except csv.Error as error:
        raise ImportFileError(f"Line 1 cannot be read as CSV: {error}.") from None
    if header is None or not any(cell.strip() for cell in header):
        raise ImportFileError("The file has no header line: its first line must name the columns.")
    header = [csv_unquote(cell.strip()) for cell in header]
    # Spreadsheet exports often end every line with a comma: unnamed empty columns at the end are no columns.
    while header and not header[-1]:
        header.pop()
    if len(header) > MAX_COLUMNS:
        raise ImportFileError(f"The file has {len(header):,} columns; an import takes at most {MAX_COLUMNS}.")
    if any(len(cell) > MAX_COLUMN_NAME for cell in header):
        raise ImportFileError(f"A column name is longer than {MAX_COLUMN_NAME} characters.")
    if any(not cell for cell in header):
        raise ImportFileError("The header line has an empty column name: every column needs one.")
    if any(_looks_like_data(cell) for cell in header):
        raise ImportFileError(
            "The first line looks like data, not column names (it holds an email address, a number or a date). "
            "Add a header line naming the columns."
        )
    duplicates = sorted(cell for cell, times in Counter(header).items() if times > 1)
    if duplicates:
        raise ImportFileError(f"The header names a column twice: {', '.join(duplicates)}.")
    return header


def _looks_like_data(cell: str) -> bool:
    return "@" in cell or bool(re.fullmatch(r"[\d\s.,:/+()\-]+", cell))


def count_rows(text: str) -> int:
    """Data rows of the file (blank lines are not rows)."""
    rows = csv_rows(text)
    next(rows, None)
    return sum(1 for row in rows if any(cell.strip() for cell in row))


def guess_mapping(header: list[str]) -> dict[str, str]:
    """Lead field → column for the columns whose names are obvious; each field and column used once."""
    mapping: dict[str, str] = {}
    for column in header:
        if column.lower().startswith(ATTRIBUTE_PREFIX):
            mapping.setdefault(column, column)
            continue
        name = HEADER_SYNONYMS.get(header_key(column))
        if name is not None and name not in mapping:
            mapping[name] = column
    if "name" in mapping and ("first_name" in mapping or "last_name" in mapping):
        mapping.pop("first_name", None), mapping.pop("last_name", None)
    return mapping


def validate_mapping(mapping: dict[str, str], header: list[str]) -> dict[str, str]:
    """The mapping, checked against the header: known fields, existing columns, a name."""
    problems = []
    clean = {}
    for name, column in mapping.items():
        name = name.strip()
        if not column:
            continue
        if name not in FIELDS and not (name.startswith(ATTRIBUTE_PREFIX) and len(name) > len(ATTRIBUTE_PREFIX)):
            problems.append(f"unknown field “{name}” (fields: {', '.join(FIELDS)}, or attributes.KEY)")
        elif column not in header:
            problems.append(f"{name}: the file has no column “{column}” (columns: {', '.join(header)})")
        else:
            clean[name] = column
    if problems:
        raise ImportFileError("Mapping: " + "; ".join(problems) + ".")
    if "name" not in clean and "first_name" not in clean and "last_name" not in clean:
        raise ImportFileError("Map a column to the lead's name (name, or first_name and last_name).")
    return clean


def parse_stage_values(text: str) -> dict[str, str]:
    """`won=1,lost=0,won=yes` → {"1": "won", "0": "lost", "yes": "won"}: extra spellings of stages."""
    values = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        stage, sep, value = part.partition("=")
        stage, value = stage.strip().lower(), value.strip().lower()
        if not sep or not value:
            raise ImportFileError(f"Stage values: “{part.strip()}” is not STAGE=VALUE (e.g. won=1,lost=0).")
        if stage not in Stage.values:
            raise ImportFileError(f"Stage values: unknown stage “{stage}” (stages: {', '.join(Stage.values)}).")
        values[value] = stage
    return values


# --- Options ----------------------------------------------------------------------------------------------------


@dataclass
class ImportOptions:
    channel: str = ""  # the channel of rows without one (a name)
    owner: str = ""  # the owner of rows without one (a username)
    on_duplicate: str = "skip"
    create_channels: bool = False
    stage_values: dict[str, str] = field(default_factory=dict)
    dry_run: bool = False

    @classmethod
    def from_dict(cls, data: dict) -> ImportOptions:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass
class Rejection:
    line: int
    row: list[str]
    reason: str


@dataclass
class ImportResult:
    rows: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    rejected: int = 0
    rejections: list[Rejection] = field(default_factory=list)


class NameResolver:
    """Channels and owners by name, read once per import; channels created on the fly when allowed."""

    def __init__(self, *, user: User | None, options: ImportOptions):
        self.options = options
        # Channels are an admin's to set up, through an import too (an operator's command runs with no user).
        self.may_create_channels = options.create_channels and (user is None or access.can_configure_channels(user))
        # What a rejected row's reason suggests for an unknown channel, in the words of where the import runs.
        if user is None:
            self.new_channel_hint = " (use --create-channels to add it)"
        elif access.can_configure_channels(user):
            self.new_channel_hint = " (tick “Create missing channels” to add it)"
        else:
            self.new_channel_hint = " (an admin can add it under Settings › Channels)"
        self.channels = {c.name.lower(): c for c in Channel.objects.all()}
        owners = access.users_assignable_by(user) if user is not None else User.objects.filter(is_active=True)
        self.owners: dict[str, User] = {}
        for owner in owners.only("pk", "username", "email", "team_id"):
            self.owners[owner.username.lower()] = owner
            if owner.email:
                self.owners.setdefault(owner.email.lower(), owner)
        self.unknown_owners = {
            u.lower()
            for u in User.objects.exclude(pk__in=[o.pk for o in self.owners.values()]).values_list(
                "username", flat=True
            )
        }
        self.new_channels: dict[str, Channel] = {}
        self.default_channel = self.channel(options.channel, default=True) if options.channel else None
        self.default_owner = self.owner(options.owner) if options.owner else None

    def channel(self, name: str, *, default: bool = False) -> Channel:
        key = name.strip().lower()
        found = self.channels.get(key)
        if found is not None:
            return found
        if not self.may_create_channels:
            hint = "" if default else self.new_channel_hint
            raise ValueError(f"unknown channel “{name.strip()}”{hint}")
        created = Channel(name=name.strip()[:100], kind=Channel.Kind.IMPORT)
        self.channels[key] = self.new_channels[key] = created
        return created

    def owner(self, name: str) -> User:
        key = name.strip().lower()
        found = self.owners.get(key)
        if found is None:
            if key in self.unknown_owners:
                raise ValueError(f"owner “{name.strip()}” is not someone you may give leads to")
            raise ValueError(f"unknown owner “{name.strip()}”")
        return found

    def save_new_channels(self) -> None:
        """Store the channels this chunk introduced (inside the chunk's transaction)."""
        fresh = [c for c in self.new_channels.values() if c.pk is None]
        for channel in fresh:
            # get_or_create: another import may have added it meanwhile.
            saved, _ = Channel.objects.get_or_create(name=channel.name, defaults={"kind": Channel.Kind.IMPORT})
            channel.pk = saved.pk
            channel.id = saved.pk


_ISO_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


@functools.cache
def _zone(name: str) -> dt.tzinfo:
    """The time zone of dates given without one (TIME_ZONE), made once, not per row."""
    return zoneinfo.ZoneInfo(name)


def _parse_when(value: str, label: str) -> dt.datetime:
    value = value.strip()
    parsed = None
    day = _ISO_DAY.match(value)
    if day:  # the common case, without the general parser's cost
        try:
            return dt.datetime(int(day[1]), int(day[2]), int(day[3]), tzinfo=_zone(settings.TIME_ZONE))
        except ValueError:
            raise ValueError(f"{label} “{value}” is not a date (use YYYY-MM-DD or YYYY-MM-DD HH:MM)") from None
    try:
        parsed = parse_datetime(value.replace("/", "-", 2) if re.match(r"^\d{4}/", value) else value)
        if parsed is None:
            day = parse_date(value)
            if day is not None:
                parsed = dt.datetime.combine(day, dt.time())
    except ValueError:
        parsed = None
    if parsed is None:
        for fmt in _DATE_FORMATS:
            try:
                parsed = dt.datetime.strptime(value, fmt)
                break
            except ValueError:
                continue
    if parsed is None:
        raise ValueError(f"{label} “{value}” is not a date (use YYYY-MM-DD or YYYY-MM-DD HH:MM)")
    if timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=_zone(settings.TIME_ZONE))
    return parsed


def _choice_spellings(choices) -> dict[str, str]:
    """A choice's code, its label and its code with spaces for underscores, lower-cased → the code."""
    spellings: dict[str, str] = {}
    for value, label in choices:
        for spelling in (value, str(label), value.replace("_", " ")):
            spellings.setdefault(spelling.lower(), value)
    return spellings


_STAGES = _choice_spellings(Stage.choices)
_LOST_REASONS = _choice_spellings(LostReason.choices)


def _money(raw: str, fact: Fact) -> Decimal:
    """An amount as spreadsheets write it ("$1,200.50"), within what the column holds."""
    label = fact.verbose_label.lower()
    try:
        value = Decimal(re.sub(r"[\s,$€£]", "", raw))
    except InvalidOperation:
        raise ValueError(f"{label} “{raw}” is not a number") from None
    field = fact.field
    if not value.is_finite() or value < 0:
        raise ValueError(f"{label} “{raw}” is out of range")
    value = value.quantize(Decimal(1).scaleb(-field.decimal_places))
    if value >= Decimal(10) ** (field.max_digits - field.decimal_places):
        raise ValueError(f"{label} “{raw}” is out of range")
    return value


def _cell_reader(fact: Fact):
    """A function turning a non-empty cell into the fact's value, or raising ValueError with the reason."""
    label, kind = fact.verbose_label.lower(), fact.kind
    if kind in ("text", "email"):
        limit = fact.longest

        def read_text(raw: str) -> str:
            if limit is not None and len(raw) > limit:
                raise ValueError(f"{label} longer than {limit} characters")
            return raw

        return read_text
    if kind == "int":
        low, high = fact.bounds
        low, high = low if low is not None else 0, high if high is not None else 2**31 - 1

        def read_whole(raw: str) -> int:
            digits = raw.replace(",", "").replace(" ", "")
            if not (digits.isascii() and digits.isdigit()):
                raise ValueError(f"{label} “{raw}” is not a whole number")
            if len(digits) > 18 or not low <= int(digits) <= high:
                raise ValueError(f"{label} “{raw}” is out of range (at most {high:,})")
            return int(digits)

        return read_whole
    if kind == "decimal":
        return lambda raw: _money(raw, fact)
    if kind == "choice":
        spellings = _choice_spellings(fact.choices)
        codes = ", ".join(value for value, _ in fact.choices)

        def read_choice(raw: str) -> str:
            value = spellings.get(raw.lower())
            if value is None:
                raise ValueError(f"unknown {label} “{raw}” (one of: {codes})")
            return value

        return read_choice
    if kind == "json":

        def read_object(raw: str) -> dict:
            try:
                value = json.loads(raw)
            except ValueError:
                value = None
            if not isinstance(value, dict):
                raise ValueError(f"{label} “{raw[:40]}” is not a JSON object")
            return value

        return read_object
    raise TypeError(f"The import has no reader for {fact.name} ({kind}): give it a rule in RowReader.read")


# Facts read by rules of their own in RowReader.read (across columns, or through names and dates); every other
# fact of the list is read by its kind (`_cell_reader`), so a new fact needs no code here.
_OWN_RULES = frozenset(
    {"name", "first_name", "last_name", "email", "country", "channel", "owner", "created_at", "stage", "won_at",
     "deal_value", "lost_reason"}
)  # fmt: skip


class RowReader:
    """Turns one CSV row into the facts of a lead, or raises ValueError with the reason it is rejected."""

    def __init__(self, *, mapping: dict[str, str], header: list[str], options: ImportOptions, resolver: NameResolver):
        self.index = {name: header.index(column) for name, column in mapping.items()}
        self.attributes = {
            name[len(ATTRIBUTE_PREFIX) :]: i for name, i in self.index.items() if name.startswith(ATTRIBUTE_PREFIX)
        }
        # (fact, reader, empty value) of the facts read by their kind. An empty text cell is "", any other empty
        # cell is left out of the facts: the model's default for a new lead, the lead's own value on an update.
        self.by_kind = [
            (fact.name, _cell_reader(fact), "" if fact.kind in ("text", "email") else None)
            for fact in IMPORT_FACTS
            if fact.name not in _OWN_RULES
        ]
        self.name_limit = BY_NAME["name"].longest
        self.email_limit = BY_NAME["email"].longest
        self.options = options
        self.stage_values = {**_STAGES, **options.stage_values}
        self.resolver = resolver
        self.now = clock.now()

    def read(self, row: list[str]) -> dict:
        width = len(row)
        cells = {name: row[i].strip() for name, i in self.index.items() if i < width}

        def v(name: str) -> str:  # the mapped cell, or "" for an unmapped field or a short row
            return cells.get(name, "")

        facts: dict = {}
        name = v("name") or " ".join(part for part in (v("first_name"), v("last_name")) if part)
        if not name:
            raise ValueError("no name")
        if len(name) > self.name_limit:
            raise ValueError(f"name longer than {self.name_limit} characters")
        facts["name"] = name
        for fact_name, read_cell, empty in self.by_kind:
            raw = cells.get(fact_name, "")
            if raw:
                facts[fact_name] = read_cell(raw)
            elif empty is not None:
                facts[fact_name] = empty

        email = v("email")
        if email:
            try:
                validate_email(email)
            except ValidationError:
                raise ValueError(f"bad email “{email}”") from None
            if len(email) > self.email_limit:
                raise ValueError(f"email longer than {self.email_limit} characters")
        facts["email"] = email
        facts["email_normalized"] = normalize_email(email)
        facts["phone_normalized"] = normalize_phone(facts["phone"])

        country = v("country").upper()
        if country and not re.fullmatch(r"[A-Z]{2}", country):
            raise ValueError(f"country “{v('country')}” is not a 2-letter ISO code (e.g. DE)")
        facts["country"] = country

        channel_name = v("channel")
        facts["channel"] = self.resolver.channel(channel_name) if channel_name else self.resolver.default_channel
        owner_name = v("owner")
        facts["owner"] = self.resolver.owner(owner_name) if owner_name else self.resolver.default_owner

        created_at = self.now
        if v("created_at"):
            created_at = _parse_when(v("created_at"), "created date")
            if created_at > self.now:
                raise ValueError(f"created date “{v('created_at')}” is in the future")
        facts["created_at"] = created_at

        raw_stage = v("stage")
        stage = Stage.NEW
        if raw_stage:
            stage = self.stage_values.get(raw_stage.lower())
            if stage is None:
                raise ValueError(f"unknown stage “{raw_stage}”")
        facts["stage"] = stage

        deal_value = _money(v("deal_value"), BY_NAME["deal_value"]) if v("deal_value") else None
        won_at = None
        if stage == Stage.WON:
            if deal_value is None:
                raise ValueError("won without a deal value")
            won_at = _parse_when(v("won_at"), "won date") if v("won_at") else self.now
            if won_at > self.now:
                raise ValueError(f"won date “{v('won_at')}” is in the future")
            if not v("created_at"):
                created_at = facts["created_at"] = won_at  # no creation date given: it existed by then
            if won_at < created_at:
                raise ValueError("won date before the created date")
        facts["deal_value"] = deal_value if stage == Stage.WON else None
        facts["won_at"] = won_at

        lost_reason = ""
        if stage == Stage.LOST:
            raw_reason = v("lost_reason")
            lost_reason = _LOST_REASONS.get(raw_reason.lower()) if raw_reason else LostReason.OTHER
            if lost_reason is None:
                raise ValueError(f"unknown lost reason “{raw_reason}” (one of: {', '.join(LostReason.values)})")
        facts["lost_reason"] = lost_reason

        # The `attributes` column (a JSON object, as the export writes it), then one column per key.
        columns = {key: row[i].strip() for key, i in self.attributes.items() if i < width and row[i].strip()}
        facts["attributes"] = {**facts["attributes"], **columns} if "attributes" in facts else columns
        return facts
