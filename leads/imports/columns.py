"""A CSV file's columns: its delimiter, its header line as a person reads it, the mapping of columns to lead fields
(guessed from the names other CRMs and ad platforms export, `leads.facts`), and the columns kept as custom
attributes, with clean keys and readable labels. No writes here.

Real exports are taken as they are: a comma, a semicolon (European Excel), a tab or a pipe between cells; unnamed
columns are dropped when they are empty in every row and named after their position ("Column F") when they hold
something, so they can be mapped like any other; a name given twice is numbered ("Email (2)").
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

from django.utils.text import slugify

from crm.csv import csv_unquote
from leads.facts import (
    ATTRIBUTE_KEY_MAX_LENGTH,
    ATTRIBUTES_MAX_KEYS,
    FACTS,
    HEADER_SYNONYMS,
    IMPORT_FACTS,
    header_key,
)

# Lead fields a column can be mapped to, with what a person reads in the mapping form (from leads.facts).
FIELDS: dict[str, str] = {fact.name: fact.import_label for fact in IMPORT_FACTS}
ATTRIBUTE_PREFIX = "attributes."
# What a lead can be named by when no column is mapped to its name (`leads.facts.IDENTITY_FACTS`).
NAMING_FIELDS = ("name", "first_name", "last_name", "company", "email", "phone", "external_id")
# Limits of a file's header: columns a person can map, and names a person can read.
MAX_COLUMNS = 200
MAX_COLUMN_NAME = 200
# Keys scoring rules can name (`scoring.fields.ATTRIBUTE_KEY_RE`: letters, digits, _ and -, at most 60).
ATTRIBUTE_KEY_LENGTH = min(60, ATTRIBUTE_KEY_MAX_LENGTH)
DELIMITERS = (",", ";", "\t", "|")
# The columns of this CRM's own export that no import fills (its id, score and grade): an exported file imports
# back as it was, without them as custom attributes.
OWN_EXPORT_COLUMNS = tuple(fact.name for fact in FACTS if fact.export and not fact.importable)
# Words a readable label writes in capitals ("utm_source" → "UTM source").
_ACRONYMS = {"utm", "id", "url", "crm", "api", "ip", "sms", "roi", "b2b", "b2c", "gdpr", "uk", "us", "eu", "dm",
             "faq", "ceo", "cto", "cfo", "vat", "sku", "kpi", "seo", "ppc", "gclid", "fbclid", "cta"}  # fmt: skip


class ImportFileError(ValueError):
    """The file or the mapping cannot be imported at all (as opposed to a rejected row)."""


def detect_delimiter(text: str) -> str:
    """The delimiter of a CSV: the one of `DELIMITERS` found most often outside quotes on its first line."""
    first = text[: text.find("\n")] if "\n" in text else text
    outside = re.sub(r'"[^"]*"', "", first)
    counts = {delimiter: outside.count(delimiter) for delimiter in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])  # ties: the first, the comma
    return best if counts[best] else ","


def csv_rows(text: str) -> Iterator[list[str]]:
    return csv.reader(io.StringIO(text, newline=""), delimiter=detect_delimiter(text))


def column_letter(index: int) -> str:
    """A spreadsheet's name of the column at `index` (0 → A, 26 → AA)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _looks_like_data(cell: str) -> bool:
    return "@" in cell or bool(re.fullmatch(r"[\d\s.,:/+()\-]+", cell))


def _filled_columns(text: str, positions: set[int]) -> set[int]:
    """Which of these column positions hold a non-empty cell in some data row."""
    filled: set[int] = set()
    rows = csv_rows(text)
    next(rows, None)
    try:
        for row in rows:
            for i in positions - filled:
                if i < len(row) and row[i].strip():
                    filled.add(i)
            if filled == positions:
                break
    except csv.Error:
        pass  # a broken line is reported, with its number, when the rows are read
    return filled


def read_header(text: str) -> list[str]:
    """The column names of the file's first line, as the import shows them; ImportFileError when there is no usable
    header. An unnamed column is "" (left out everywhere) when every row leaves it empty, and "Column F" (its
    spreadsheet letter) when it holds something; a name given again is numbered ("Email (2)")."""
    try:
        header = next(csv_rows(text), None)
    except csv.Error as error:
        raise ImportFileError(f"Line 1 cannot be read as CSV: {error}.") from None
    if header is None or not any(cell.strip() for cell in header):
        raise ImportFileError("The file has no header line: its first line must name the columns.")
    header = [csv_unquote(cell.strip()) for cell in header]
    if len(header) > MAX_COLUMNS:
        raise ImportFileError(f"The file has {len(header):,} columns; an import takes at most {MAX_COLUMNS}.")
    if any(len(cell) > MAX_COLUMN_NAME for cell in header):
        raise ImportFileError(f"A column name is longer than {MAX_COLUMN_NAME} characters.")
    if any(_looks_like_data(cell) for cell in header if cell):
        raise ImportFileError(
            "The first line looks like data, not column names (it holds an email address, a number or a date). "
            "Add a header line naming the columns."
        )
    unnamed = {i for i, cell in enumerate(header) if not cell}
    if unnamed:
        filled = _filled_columns(text, unnamed)
        taken = set(header)
        for i in sorted(unnamed):
            if i in filled:
                name = f"Column {column_letter(i)}"
                while name in taken:
                    name += "'"
                header[i] = name
                taken.add(name)
        while header and not header[-1]:  # empty unnamed columns at the end (every line ends with a comma)
            header.pop()
    seen: dict[str, int] = {}
    for i, cell in enumerate(header):
        if not cell:
            continue
        seen[cell] = seen.get(cell, 0) + 1
        if seen[cell] > 1:
            name = f"{cell} ({seen[cell]})"
            while name in seen:
                name += "'"
            header[i] = name
            seen[name] = 1
    return header


def count_rows(text: str) -> int:
    """Data rows of the file (blank lines are not rows)."""
    rows = csv_rows(text)
    next(rows, None)
    return sum(1 for row in rows if any(cell.strip() for cell in row))


def guess_mapping(header: list[str]) -> dict[str, str]:
    """Lead field → column for the columns whose names are obvious; each field and column used once."""
    mapping: dict[str, str] = {}
    # A column named exactly as a field ("external_id", as this CRM's export writes it) first, then other spellings.
    exact = {header_key(fact.name): fact.name for fact in IMPORT_FACTS}
    for column in header:
        name = exact.get(header_key(column)) if column else None
        if name is not None and name not in mapping:
            mapping[name] = column
    for column in header:
        if not column or column in mapping.values():
            continue
        if column.lower().startswith(ATTRIBUTE_PREFIX):
            mapping.setdefault(column, column)
            continue
        name = HEADER_SYNONYMS.get(header_key(column))
        if name is not None and name not in mapping:
            mapping[name] = column
    if "name" in mapping and ("first_name" in mapping or "last_name" in mapping):
        mapping.pop("first_name", None), mapping.pop("last_name", None)
    # Nothing else names the lead, and the first column is some system's id ("mql_id", "Customer ID", "Ref. Id"):
    # that is what the file's rows are known by, so it is the external id (without it the file could not be
    # imported at all). A later column ending in "id" ("seller_id") is more likely another record's.
    first = header[0] if header else ""
    if (
        not any(name in mapping for name in NAMING_FIELDS)
        and first
        and first not in mapping.values()
        and ID_HEADER_RE.search(first.strip())
    ):
        mapping["external_id"] = first
    return mapping


# A header that names an id: "id" as a word at its end ("mql_id", "Ref. Id", "Customer ID"), or camel-cased
# ("customerId"), not any name ending in those letters ("Paid", "Valid", "Android").
ID_HEADER_RE = re.compile(r"(?:(?:^|[^A-Za-z0-9])(?i:id)|[a-z0-9](?:Id|ID))$")


def validate_mapping(mapping: dict[str, str], header: list[str]) -> dict[str, str]:
    """The mapping, checked against the header: known fields, existing columns, something that names the lead."""
    problems = []
    clean = {}
    columns = [column for column in header if column]
    for name, column in mapping.items():
        name = name.strip()
        if not column:
            continue
        if name not in FIELDS and not (name.startswith(ATTRIBUTE_PREFIX) and len(name) > len(ATTRIBUTE_PREFIX)):
            problems.append(f"unknown field “{name}” (fields: {', '.join(FIELDS)}, or attributes.KEY)")
        elif column not in columns:
            problems.append(f"{name}: the file has no column “{column}” (columns: {', '.join(columns)})")
        elif name.startswith(ATTRIBUTE_PREFIX) and len(name) - len(ATTRIBUTE_PREFIX) > ATTRIBUTE_KEY_MAX_LENGTH:
            problems.append(f"{name}: an attribute's key has at most {ATTRIBUTE_KEY_MAX_LENGTH} characters")
        else:
            clean[name] = column
    if problems:
        raise ImportFileError("Mapping: " + "; ".join(problems) + ".")
    if not any(name in clean for name in NAMING_FIELDS):
        raise ImportFileError(
            "Map a column that names the lead: its name (or first and last name), or its company, email, phone or "
            "external id."
        )
    return clean


_SLASH_DATE = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/\d{4}\b")


def slash_date_order(text: str, header: list[str], mapping: dict[str, str]) -> str:
    """How the file writes dates like 03/04/2024: "mdy" (Salesforce and HubSpot in the US), "dmy" (most of the
    world), or "" when no date of its mapped date columns tells (every part at most 12) or they disagree. It reads
    until a date tells; a file whose first 1,000 rows hold no slash date is not read further."""
    columns = [header.index(mapping[name]) for name in ("created_at", "won_at") if mapping.get(name) in header]
    if not columns:
        return ""
    day_first = month_first = False
    rows = csv_rows(text)
    next(rows, None)
    slashed = False
    try:
        for n, row in enumerate(rows):
            for i in columns:
                found = _SLASH_DATE.match(row[i]) if i < len(row) else None
                if found:  # only a date that can be read one way tells (13/13/2024 is no date at all)
                    slashed = True
                    first, second = int(found[1]), int(found[2])
                    day_first |= first > 12 >= second
                    month_first |= second > 12 >= first
            if day_first or month_first or (n >= 1000 and not slashed):
                break
    except csv.Error:
        pass  # a broken line is reported, with its number, when the rows are read
    return "" if day_first and month_first else "dmy" if day_first else "mdy" if month_first else ""


# --- The command line's --map ---


def map_options(items: list[str], *, example: str) -> dict[str, str]:
    """`--map FIELD=COLUMN` options as {field: column}; a ValueError naming the bad one (`example` shows the form)."""
    mapping = {}
    for item in items:
        name, sep, column = item.partition("=")
        if not sep or not name.strip() or not column.strip():
            raise ValueError(f"--map {item!r}: write FIELD=COLUMN, e.g. --map {example}.")
        mapping[name.strip()] = column.strip()
    return mapping


# --- Custom attributes ------------------------------------------------------------------------------------------


def attribute_key(column: str) -> str:
    """A clean key for a column kept as a custom attribute: "Lead Origin" → "lead_origin", "UTM-Source" →
    "utm_source" (letters, digits and _, at most 60 characters, as scoring rules name them)."""
    key = slugify(column).replace("-", "_").strip("_")[:ATTRIBUTE_KEY_LENGTH].strip("_")
    return key or "column"


def attribute_label(column: str) -> str:
    """How a person reads a column kept as an attribute: its name as the file gives it ("Lead Origin"), known
    acronyms in capitals ("Utm source" → "UTM source"), and a name written as a key in words ("utm_source" →
    "UTM source", "lead-origin" → "Lead origin")."""
    column = column.strip()
    as_key = " " not in column and bool(re.search(r"[_\-]", column) or column.islower())
    words = [word for word in re.split(r"[_\-\s]+" if as_key else r"\s+", column) if word]
    readable = [word.upper() if word.lower() in _ACRONYMS else (word.lower() if as_key else word) for word in words]
    if as_key and readable and readable[0].islower():
        readable[0] = readable[0].capitalize()
    return " ".join(readable) or column


def attribute_columns(
    *, header: list[str], mapping: dict[str, str], ignored: list[str] | tuple[str, ...] = ()
) -> tuple[dict[str, str], list[str]]:
    """The columns neither mapped nor ignored, kept as custom attributes: (key → column, the columns left out
    because a lead holds at most ATTRIBUTES_MAX_KEYS attributes). Keys are unique and never those of the mapping's
    own `attributes.KEY` columns."""
    used = set(mapping.values()) | set(ignored)
    if set(OWN_EXPORT_COLUMNS) <= set(header):  # this CRM's own export: its id, score and grade are not attributes
        used |= set(OWN_EXPORT_COLUMNS)
    taken = {name[len(ATTRIBUTE_PREFIX) :] for name in mapping if name.startswith(ATTRIBUTE_PREFIX)}
    room = ATTRIBUTES_MAX_KEYS - len(taken)
    kept: dict[str, str] = {}
    left_out: list[str] = []
    for column in header:
        if not column or column in used:
            continue
        if len(kept) >= room:
            left_out.append(column)
            continue
        kept[_unique_key(column, taken)] = column
    return kept, left_out


def _unique_key(column: str, taken: set[str]) -> str:
    """The column's attribute key, numbered when another column took it ("phone_2"); added to `taken`."""
    key = base = attribute_key(column)
    n = 1
    while key in taken:
        n += 1
        key = f"{base[: ATTRIBUTE_KEY_LENGTH - len(str(n)) - 1]}_{n}"
    taken.add(key)
    return key


# Mapped columns whose cells may name what this CRM does not know: another system's owner ("Bethany Dixon"), its
# own stage ("On Hold"), a channel nobody set up, or a date that reads two ways ("3/4/2024" in a file none of whose
# dates tells which part is the day). Such a value is kept as a custom attribute under the column's key, so a file
# imports without losing it (it shows on the lead page and in the export).
FALLBACK_FACTS = ("owner", "stage", "channel", "created_at", "won_at")


def fallback_keys(*, mapping: dict[str, str], kept: dict[str, str]) -> dict[str, str]:
    """Fact name → the attribute key that keeps the values of its column the import could not use (for the
    facts of FALLBACK_FACTS that are mapped; none once a lead's attributes are full)."""
    taken = set(kept) | {name[len(ATTRIBUTE_PREFIX) :] for name in mapping if name.startswith(ATTRIBUTE_PREFIX)}
    keys: dict[str, str] = {}
    for name in FALLBACK_FACTS:
        column = mapping.get(name)
        if column and len(taken) < ATTRIBUTES_MAX_KEYS:
            keys[name] = _unique_key(column, taken)
    return keys
