"""Reading a CSV of leads: decoding and checking the file, the header, the column mapping, the options, and each
row turned into a lead's facts or rejected with its reason. No writes here: `leads.imports.services` writes."""

from __future__ import annotations

import codecs
import datetime as dt
import functools
import json
import re
import zoneinfo
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import phonenumbers
from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from crm import access, clock
from crm.models import User
from leads.facts import (
    ATTRIBUTE_VALUE_MAX_LENGTH,
    BY_NAME,
    IDENTITY_FACTS,
    IMPORT_FACTS,
    IMPORT_UPDATABLE_FIELDS,
    LOST_REASON_SPELLINGS,
    OUTCOME_COLUMNS,
    OUTCOME_NO,
    OUTCOME_YES,
    STAGE_SPELLINGS,
    Fact,
    header_key,
)
from leads.imports.columns import (  # noqa: F401 (re-exported: the import's names in one place)
    ATTRIBUTE_PREFIX,
    FIELDS,
    MAX_COLUMN_NAME,
    MAX_COLUMNS,
    ImportFileError,
    attribute_columns,
    attribute_key,
    attribute_label,
    count_rows,
    csv_rows,
    guess_mapping,
    read_header,
    slash_date_order,
    validate_mapping,
)
from leads.models import Channel, LostReason, Stage
from leads.normalize import country_code, email_problem, normalize_email, parse_phone

UNMAPPED_POLICIES = ("attributes", "ignore")
DUPLICATE_POLICIES = ("skip", "update", "create")
ENCODINGS = {"utf-8": "UTF-8", "latin-1": "Latin-1 (ISO 8859-1)", "cp1252": "Windows-1252"}
UPDATABLE_FIELDS = IMPORT_UPDATABLE_FIELDS
_DATE_FORMATS = ("%d.%m.%Y", "%Y/%m/%d", "%d.%m.%Y %H:%M", "%Y/%m/%d %H:%M")


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
    if (not encoding or encoding == "utf-8") and data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # UTF-16 with its byte-order mark: Meta Lead Ads' CSV download, Excel's "Unicode text".
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            text = "\x00"
        if "\x00" not in text:
            return text, "utf-16"
    if b"\x00" in data:
        # A text CSV never holds NUL bytes; a spreadsheet (.xlsx) or a UTF-16 export without its mark does.
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
    # Columns neither mapped nor ignored: kept as custom attributes ("attributes") or left out ("ignore").
    unmapped: str = "attributes"
    ignored: list[str] = field(default_factory=list)  # columns a person chose not to import

    @classmethod
    def from_dict(cls, data: dict) -> ImportOptions:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass
class Rejection:
    """A row of the file with what the report says about it: why it was rejected, or what was odd (a warning)."""

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
    warned: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    warnings: list[Rejection] = field(default_factory=list)
    days: set[dt.date] = field(default_factory=set)  # local days whose leads were created or changed


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
        by_full_name: dict[str, list[User]] = {}
        for owner in owners.only("pk", "username", "email", "first_name", "last_name", "team_id"):
            self.owners[owner.username.lower()] = owner
            if owner.email:
                self.owners.setdefault(owner.email.lower(), owner)
            full_name = _name_key(f"{owner.first_name} {owner.last_name}")
            if full_name:
                by_full_name.setdefault(full_name, []).append(owner)
        # Other CRMs export the owner's full name ("Lead Owner: Bethany Dixon"): it names someone when only one
        # person has it (a name two people share names neither).
        self.ambiguous_names = set()
        for full_name, people in by_full_name.items():
            if len(people) == 1:
                self.owners.setdefault(full_name, people[0])
            elif full_name not in self.owners:
                self.ambiguous_names.add(full_name)
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
        found = self.owners.get(key) or self.owners.get(_name_key(name))
        if found is None:
            if key in self.unknown_owners:
                raise ValueError(f"owner “{name.strip()}” is not someone you may give leads to")
            if _name_key(name) in self.ambiguous_names:
                raise ValueError(f"owner “{name.strip()}” names more than one person")
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


def local_day(moment: dt.datetime) -> dt.date:
    """The team's day (TIME_ZONE) of a moment: the day whose report figures it counts in."""
    return moment.astimezone(_zone(settings.TIME_ZONE)).date()


_SLASH_FORMATS = {
    "mdy": ("%m/%d/%Y", "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %I:%M %p", "%m/%d/%Y, %I:%M %p"),
    "dmy": ("%d/%m/%Y", "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %I:%M %p", "%d/%m/%Y, %I:%M %p"),
}
_EARLIEST, _LATEST = 1900, 2200
_ZONE_NAME = re.compile(r"\s*\b(UTC|GMT)$")


class AmbiguousDate(ValueError):
    """A date such as 03/04/2024 in a file whose other dates do not tell which part is the day: either reading is
    a date, so the row is not rejected; the lead comes in without it (and keeps it as an attribute)."""


def _parse_when(value: str, label: str, order: str = "") -> dt.datetime:
    """A date or date-time as exports write it. `order` ("mdy" or "dmy") reads 03/04/2024 the way the file's other
    dates show it is written (`leads.imports.columns.slash_date_order`); without it such a date is ambiguous
    (AmbiguousDate)."""
    value = _ZONE_NAME.sub("+00:00", value.strip())  # LinkedIn's "2024-03-18 09:12:45 UTC"
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
        for fmt in _DATE_FORMATS + _SLASH_FORMATS.get(order, ()):
            try:
                parsed = dt.datetime.strptime(value, fmt)
                break
            except ValueError:
                continue
    ambiguous = re.match(r"^(\d{1,2})/(\d{1,2})/\d{4}", value)
    if parsed is None and not order and ambiguous and max(int(ambiguous[1]), int(ambiguous[2])) <= 12:
        raise AmbiguousDate(f"{label} “{value}” could be day or month first (no other date of the file tells)")
    if parsed is None:
        raise ValueError(f"{label} “{value}” is not a date (use YYYY-MM-DD or YYYY-MM-DD HH:MM)")
    if timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=_zone(settings.TIME_ZONE))
    if not _EARLIEST <= parsed.year <= _LATEST:  # year 1 or 9999 would overflow turning into another zone
        raise ValueError(f"{label} “{value}” is out of range ({_EARLIEST} to {_LATEST})")
    return parsed


def _choice_spellings(choices, others: dict[str, tuple[str, ...]] | None = None) -> dict[str, str]:
    """A choice's code, its label and other systems' spellings, as `header_key` spells them → the code."""
    spellings: dict[str, str] = {}
    for value, label in choices:
        for spelling in (value, str(label)):
            spellings.setdefault(header_key(spelling), value)
    for value, names in (others or {}).items():
        for spelling in names:
            spellings.setdefault(header_key(spelling), value)
    return spellings


_STAGES = _choice_spellings(Stage.choices, STAGE_SPELLINGS)
_LOST_REASONS = _choice_spellings(LostReason.choices, LOST_REASON_SPELLINGS)
_OUTCOME_COLUMNS = {header_key(column) for column in OUTCOME_COLUMNS}


def _name_key(name: str) -> str:
    """A person's name as matched: lower case, single spaces ("  Bethany   Dixon" → "bethany dixon")."""
    return " ".join(name.lower().split())


def _money(raw: str, fact: Fact) -> Decimal:
    """An amount as spreadsheets write it ("$1,200.50"), within what the column holds."""
    label = fact.verbose_label.lower()
    text = re.sub(r"^[A-Z]{3}\s*|\s*[A-Z]{3}$|[\s$€£]", "", raw)  # "EUR 1.200,50", "$1,200.50"
    if "," in text and (text.rfind(",") > text.rfind(".") if "." in text else re.fullmatch(r"-?\d+,\d{1,2}", text)):
        text = text.replace(".", "").replace(",", ".")  # a decimal comma: "1.200,50", "99,90"
    try:
        value = Decimal(text.replace(",", ""))
    except InvalidOperation:
        raise ValueError(f"{label} “{raw}” is not a number") from None
    field = fact.field
    if not value.is_finite() or value < 0 or value.adjusted() >= field.max_digits - field.decimal_places:
        raise ValueError(f"{label} “{raw}” is out of range")  # checked before quantize, which 1E30 would overflow
    value = value.quantize(Decimal(1).scaleb(-field.decimal_places))
    if value >= Decimal(10) ** (field.max_digits - field.decimal_places):
        raise ValueError(f"{label} “{raw}” is out of range")
    return value


class Flagged(Exception):
    """A cell read with something odd about it: `value` is what is imported (None: nothing), `warning` says why."""

    def __init__(self, value, warning: str):
        super().__init__(warning)
        self.value, self.warning = value, warning


_RANGE = re.compile(r"^(\d[\d,. ]*)\s*(?:-|–|to|\+)\s*(?:\d[\d,. ]*)?$")


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
            if digits.endswith(".0"):  # a spreadsheet's float of a whole number ("250.0")
                digits = digits[:-2]
            if not (digits.isascii() and digits.isdigit()):
                banded = _RANGE.match(raw)  # "51-200", "10,001+": exports of company size give bands
                if banded:
                    low_end = read_whole(banded[1].strip())
                    raise Flagged(low_end, f"{label} “{raw}” read as {low_end:,}")
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
            value = spellings.get(header_key(raw))
            if value is None:
                raise Flagged(None, f"unknown {label} “{raw}” left out (one of: {codes})")
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
    {"name", "first_name", "last_name", "email", "phone", "country", "channel", "owner", "created_at", "stage",
     "won_at", "deal_value", "lost_reason", "external_id"}
)  # fmt: skip
NO_IDENTITY = "no identity: no name, company, email, phone or external id"


class RowReader:
    """Turns one CSV row into the facts of a lead and its warnings, or raises ValueError with the reason it is
    rejected.

    A row is rejected only when it cannot be a lead: nothing names it (no name, company, email, phone or external
    id), or a value the database cannot hold (a text longer than its column, a number out of its range or not a
    number, a date that cannot be read). Everything else is imported, and what was odd is a warning: a won row
    without a deal value, a lost one without a reason, dates that contradict each other or lie ahead, an email or
    phone that is not one (the email is left out), an unknown stage, channel, owner or country.
    """

    def __init__(
        self,
        *,
        mapping: dict[str, str],
        header: list[str],
        options: ImportOptions,
        resolver: NameResolver,
        kept_columns: dict[str, str] | None = None,
        fallback_keys: dict[str, str] | None = None,
        date_order: str = "",
    ):
        self.date_order = date_order
        self.fallback_keys = fallback_keys or {}
        self.index = {name: header.index(column) for name, column in mapping.items()}
        self.attributes = {
            name[len(ATTRIBUTE_PREFIX) :]: i for name, i in self.index.items() if name.startswith(ATTRIBUTE_PREFIX)
        }
        for key, column in (kept_columns or {}).items():
            self.attributes.setdefault(key, header.index(column))
        # (fact, reader, empty value) of the facts read by their kind. An empty text cell is "", any other empty
        # cell is left out of the facts: the model's default for a new lead, the lead's own value on an update.
        self.by_kind = [
            (fact.name, _cell_reader(fact), "" if fact.kind in ("text", "email") else None)
            for fact in IMPORT_FACTS
            if fact.name not in _OWN_RULES
        ]
        self.limits = {name: BY_NAME[name].longest for name in ("name", "email", "phone", "external_id")}
        self.options = options
        self.stage_values = dict(_STAGES)
        stage_column = mapping.get("stage")
        if stage_column and header_key(stage_column) in _OUTCOME_COLUMNS:  # "Converted": 1 is won, 0 is lost
            self.stage_values.update(dict.fromkeys(map(header_key, OUTCOME_YES), Stage.WON))
            self.stage_values.update(dict.fromkeys(map(header_key, OUTCOME_NO), Stage.LOST))
        self.stage_values.update({header_key(value): stage for value, stage in options.stage_values.items()})
        # A lead named by its external id reads "Prospect ID 7927b2df…", after the column's name.
        self.external_label = mapping.get("external_id", "")
        self.resolver = resolver
        self.now = clock.now()

    def read(self, row: list[str]) -> tuple[dict, list[str]]:
        width = len(row)
        cells = {name: row[i].strip() for name, i in self.index.items() if i < width}
        warnings: list[str] = []

        def v(name: str) -> str:  # the mapped cell, or "" for an unmapped field or a short row
            return cells.get(name, "")

        def text(name: str) -> str:
            value, limit = v(name), self.limits[name]
            if limit is not None and len(value) > limit:
                raise ValueError(f"{BY_NAME[name].verbose_label.lower()} longer than {limit} characters")
            return value

        facts: dict = {}
        for fact_name, read_cell, empty in self.by_kind:
            raw = cells.get(fact_name, "")
            if raw:
                try:
                    facts[fact_name] = read_cell(raw)
                except Flagged as flagged:
                    warnings.append(flagged.warning)
                    if flagged.value is not None:
                        facts[fact_name] = flagged.value
            elif empty is not None:
                facts[fact_name] = empty

        email = text("email")
        if email:
            problem = email_problem(email)
            if problem:
                warnings.append(f"bad email “{email}” left out ({problem.rstrip('.')})")
                email = ""
        facts["email"] = email
        facts["email_normalized"] = normalize_email(email)
        facts["phone"] = phone = text("phone")
        facts["phone_normalized"] = ""
        if phone:
            facts["phone_normalized"], problem = _phone(phone)
            if problem:
                warnings.append(problem)
        facts["external_id"] = text("external_id")

        name = v("name") or " ".join(part for part in (v("first_name"), v("last_name")) if part)
        if len(name) > self.limits["name"]:
            raise ValueError(f"name longer than {self.limits['name']} characters")
        if not name:  # named by what else it has: its company, email, phone or external id
            for fact_name in IDENTITY_FACTS:
                if facts.get(fact_name):
                    name = facts[fact_name]
                    if fact_name == "external_id" and self.external_label:
                        name = f"{self.external_label} {name}"
                    break
            else:
                raise ValueError(NO_IDENTITY + ("; " + "; ".join(warnings) if warnings else ""))
            name = name[: self.limits["name"]]
        facts["name"] = name

        raw_country = v("country")
        facts["country"] = country_code(raw_country)
        if raw_country and not facts["country"]:
            warnings.append(f"country “{raw_country}” is neither a 2-letter code nor a country's name: left out")

        kept: dict[str, str] = {}  # values the import cannot use, kept as attributes (FALLBACK_FACTS)

        def keep(name: str) -> str:
            key = self.fallback_keys.get(name)
            if key is None:
                return ""
            kept[key] = v(name)[:ATTRIBUTE_VALUE_MAX_LENGTH]
            return f", kept as the attribute {key}"

        channel_name = v("channel")
        facts["channel"] = self.resolver.default_channel
        if channel_name:
            try:
                facts["channel"] = self.resolver.channel(channel_name)
            except ValueError as error:
                warnings.append(f"{error}: imported as a row without a channel{keep('channel')}")
        owner_name = v("owner")
        facts["owner"] = self.resolver.default_owner
        if owner_name:
            try:
                facts["owner"] = self.resolver.owner(owner_name)
            except ValueError as error:
                warnings.append(f"{error}: imported as a row without an owner{keep('owner')}")

        created_at = self.now
        created_given = bool(v("created_at"))
        if created_given:
            try:
                created_at = _parse_when(v("created_at"), "created date", self.date_order)
            except AmbiguousDate as error:
                warnings.append(f"{error}: imported as created now{keep('created_at')}")
                created_given = False
            if created_at > self.now:
                warnings.append(f"created date “{v('created_at')}” is in the future")
        facts["created_at"] = created_at

        raw_stage = v("stage")
        stage = Stage.NEW
        if raw_stage:
            stage = self.stage_values.get(header_key(raw_stage))
            if stage is None:
                warnings.append(f"unknown stage “{raw_stage}”: imported as New{keep('stage')}")
                stage = Stage.NEW
        elif "stage" not in self.index and v("won_at"):  # a file of closed deals: a row with a won date was won
            stage = Stage.WON
        facts["stage"] = stage

        deal_value = _money(v("deal_value"), BY_NAME["deal_value"]) if v("deal_value") else None
        won_at = None
        if stage == Stage.WON:
            if deal_value is None:
                warnings.append("won without a deal value")
            won_at = self.now
            if v("won_at"):
                try:
                    won_at = _parse_when(v("won_at"), "won date", self.date_order)
                except AmbiguousDate as error:
                    warnings.append(f"{error}: imported as won now{keep('won_at')}")
            if won_at > self.now:
                warnings.append(f"won date “{v('won_at')}” is in the future")
            if not created_given:
                created_at = facts["created_at"] = won_at  # no creation date given: it existed by then
            if won_at < created_at:
                warnings.append("won date before the created date (imported as given)")
        facts["deal_value"] = deal_value if stage == Stage.WON else None
        facts["won_at"] = won_at

        lost_reason = ""
        if stage == Stage.LOST:
            raw_reason = v("lost_reason")
            lost_reason = _LOST_REASONS.get(header_key(raw_reason)) if raw_reason else None
            if lost_reason is None:
                warnings.append(
                    f"unknown lost reason “{raw_reason}”: recorded as Other" if raw_reason else
                    "lost without a reason: recorded as Other"
                )  # fmt: skip
                lost_reason = LostReason.OTHER
        facts["lost_reason"] = lost_reason

        # The `attributes` column (a JSON object, as the export writes it), then one column per key.
        columns = {}
        for key, i in self.attributes.items():
            value = row[i].strip() if i < width else ""
            if not value:
                continue
            if len(value) > ATTRIBUTE_VALUE_MAX_LENGTH:
                warnings.append(f"{key} longer than {ATTRIBUTE_VALUE_MAX_LENGTH:,} characters: cut")
                value = value[:ATTRIBUTE_VALUE_MAX_LENGTH]
            columns[key] = value
        columns = {**kept, **columns}  # a column of the file's own of the same key wins
        facts["attributes"] = {**facts["attributes"], **columns} if "attributes" in facts else columns
        return facts, warnings


def _phone(phone: str) -> tuple[str, str]:
    """A phone's E.164 key (as `leads.normalize.normalize_phone` makes it) and a warning when it is not a valid
    number where it says it is (or in PHONE_DEFAULT_REGION); one parse for both."""
    parsed = parse_phone(phone)
    if parsed is None:
        return "", f"phone “{phone}” is not a phone number (kept as given)"
    key = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    # The country code's main region first (the US for +1): one region's patterns, where `is_valid_number` tries
    # each of the code's regions (some 25 for +1), the cost of most of a row's reading.
    main_region = phonenumbers.region_code_for_country_code(parsed.country_code)
    if not (phonenumbers.is_valid_number_for_region(parsed, main_region) or phonenumbers.is_valid_number(parsed)):
        return key, f"phone “{phone}” is not a valid number (kept as given)"
    return key, ""
