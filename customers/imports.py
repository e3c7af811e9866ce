"""Importing orders from a CSV file (`manage.py import_orders`), for moving in from another system.

The file is read and checked with the lead import's reader (`leads.imports.rows`: encoding, header, limits), each
row is checked in Python (a rejected row keeps its line and reason, as lead imports do), and the rows that pass
travel to the database in one binary COPY. Everything after that is set-based SQL, a handful of statements
whatever the size of the file: customers named in the file are matched by name (as conversions match them) or
external id, those unknown are created, the order lines are inserted, and the touched customers' totals are
computed again. One transaction: a failed or interrupted run leaves the database as it was, and a dry run is the
same run rolled back, so its counts are exact.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import connection, transaction

from crm import access, clock
from crm.csv import csv_unquote
from crm.models import User
from customers.models import OrderImport
from customers.services import account_totals_refresh, cohort_revenue_add
from leads.imports.rows import ImportFileError, Rejection, csv_rows, decode_upload, read_header
from leads.imports.services import rejections_csv
from leads.models import Channel

# What a column can be mapped to (`--map FIELD=COLUMN`).
FIELDS = {
    "customer": "Customer (name or external id)",
    "ordered_at": "Order date",
    "amount": "Amount (negative: refund or return)",
    "description": "Description",
    "quantity": "Quantity",
    "unit_price": "Unit price",
}
MAX_NAME, MAX_DESCRIPTION = 200, 300
AMOUNT_LIMIT = Decimal(10) ** 12  # the order table holds 12 digits before the decimal point
QUANTITY_LIMIT = Decimal(10) ** 11
ANALYZE_AFTER_LINES = 50_000


class _Stop(Exception):
    """Rolls a dry run back."""


@dataclass
class OrderImportResult:
    rows: int = 0
    orders: int = 0
    refunds: int = 0
    customers_created: int = 0
    customers_matched: int = 0
    rejected: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    # Rows whose amount was computed as quantity × unit price; (line, message) notes worth a look.
    computed_amounts: int = 0
    warnings: list[tuple[int, str]] = field(default_factory=list)
    # Seconds per step (reading, copying, matching, inserting, totals, rollup): where a big file's time goes.
    seconds: dict[str, float] = field(default_factory=dict)

    def lap(self, step: str, since: float) -> float:
        now = time.perf_counter()
        self.seconds[step] = self.seconds.get(step, 0.0) + now - since
        return now


def validate_mapping(mapping: dict[str, str], header: list[str]) -> dict[str, int]:
    """The column index of each mapped field; ImportFileError when the mapping cannot work."""
    unknown = sorted(set(mapping) - set(FIELDS))
    if unknown:
        raise ImportFileError(f"Unknown field {', '.join(unknown)}: map columns to {', '.join(FIELDS)}.")
    missing = [column for column in mapping.values() if column not in header]
    if missing:
        raise ImportFileError(f"The file has no column {', '.join(missing)}; its columns: {', '.join(header)}.")
    for required in ("customer", "ordered_at"):
        if required not in mapping:
            raise ImportFileError(f"Map a column to {required} (--map {required}=COLUMN).")
    if "amount" not in mapping and not {"quantity", "unit_price"} <= set(mapping):
        raise ImportFileError("Map a column to amount, or columns to quantity and unit_price.")
    return {name: header.index(column) for name, column in mapping.items()}


_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?")
_DMY = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
_YMD_SLASH = re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})")


def parse_day(raw: str) -> dt.date:
    """A date as systems export it: 2026-03-31 (a time after it is ignored), 31.03.2026 or 2026/03/31. Slashed
    day-month orders (03/04/2026) are refused: which is the month cannot be told."""
    if match := _ISO.fullmatch(raw):
        year, month, day = match.groups()
    elif match := _DMY.fullmatch(raw):
        day, month, year = match.groups()
    elif match := _YMD_SLASH.fullmatch(raw):
        year, month, day = match.groups()
    else:
        raise ValueError(f"date “{raw}” is not understood: write it as 2026-03-31")
    try:
        return dt.date(int(year), int(month), int(day))
    except ValueError:
        raise ValueError(f"date “{raw}” does not exist") from None


_MONEY_NOISE = re.compile(r"[\s,$€£]")


def parse_number(raw: str, label: str, limit: Decimal) -> Decimal:
    """A number as spreadsheets write it ("$1,200.50", "-20", "(20.00)" for a negative)."""
    text = _MONEY_NOISE.sub("", csv_unquote(raw))
    negative = text.startswith("(") and text.endswith(")")
    try:
        value = Decimal(text[1:-1] if negative else text)
    except InvalidOperation:
        raise ValueError(f"{label} “{raw}” is not a number") from None
    if not value.is_finite() or abs(value) >= limit:
        raise ValueError(f"{label} “{raw}” is out of range")
    return -value if negative else value


class _RowReader:
    """Turns a row into an order line's values, or raises ValueError with the reason."""

    def __init__(self, columns: dict[str, int], today: dt.date):
        self.columns = columns
        self.width = max(columns.values()) + 1
        self.today = today
        self.days: dict[str, dt.date] = {}  # dates repeat a lot in a file: each is parsed once

    def cell(self, row: list[str], name: str) -> str:
        index = self.columns.get(name)
        return row[index].strip() if index is not None else ""

    def day(self, raw: str) -> dt.date:
        day = self.days.get(raw)
        if day is None:
            day = self.days[raw] = parse_day(raw)
        if day > self.today:
            raise ValueError(f"date “{raw}” is in the future")
        return day

    def read(self, row: list[str]) -> tuple:
        if len(row) < self.width:
            raise ValueError(f"the row has {len(row)} cells, fewer than the mapped columns need")
        customer = csv_unquote(self.cell(row, "customer"))
        if not customer:
            raise ValueError("no customer")
        if len(customer) > MAX_NAME:
            raise ValueError(f"customer is longer than {MAX_NAME} characters")
        raw_day = self.cell(row, "ordered_at")
        if not raw_day:
            raise ValueError("no order date")
        day = self.day(raw_day)
        raw_quantity, raw_price = self.cell(row, "quantity"), self.cell(row, "unit_price")
        quantity = parse_number(raw_quantity, "quantity", QUANTITY_LIMIT) if raw_quantity else None
        unit_price = parse_number(raw_price, "unit price", AMOUNT_LIMIT) if raw_price else None
        raw_amount = self.cell(row, "amount")
        computed = False
        if raw_amount:
            amount = parse_number(raw_amount, "amount", AMOUNT_LIMIT).quantize(Decimal("0.01"))
        elif quantity is not None and unit_price is not None:
            amount = (quantity * unit_price).quantize(Decimal("0.01"))
            if abs(amount) >= AMOUNT_LIMIT:
                raise ValueError("quantity × unit price is out of range")
            computed = True
        else:
            raise ValueError("no amount (nor a quantity and a unit price)")
        if amount == 0:
            raise ValueError("the amount is 0")
        description = csv_unquote(self.cell(row, "description"))[:MAX_DESCRIPTION]
        return customer, day, amount, description, quantity, unit_price, computed


# The customer's key is computed by PostgreSQL, as `Account.name_key` is: lower(trim(name)).
_LINES_TABLE = """
    CREATE TEMPORARY TABLE import_order_lines (
        line integer NOT NULL, customer text NOT NULL, ordered_on date NOT NULL, amount numeric(14, 2) NOT NULL,
        description text NOT NULL, quantity numeric(14, 3), unit_price numeric(14, 2),
        customer_key text GENERATED ALWAYS AS (lower(trim(customer))) STORED
    ) ON COMMIT DROP
"""
_LINE_COLUMNS = "line, customer, ordered_on, amount, description, quantity, unit_price"
_LINE_TYPES = ["int4", "text", "date", "numeric", "text", "numeric", "numeric"]


def orders_import(
    *,
    text: str,
    mapping: dict[str, str],
    channel: Channel | None = None,
    owner: User | None = None,
    dry_run: bool = False,
) -> OrderImportResult:
    """Import the file's order lines; customers it names and the database does not know are created (with the
    channel and owner given, if any). See the module's note."""
    columns = validate_mapping(mapping, read_header(text))
    reader = _RowReader(columns, clock.today())
    result = OrderImportResult()
    started = time.perf_counter()
    lines: list[tuple] = []
    rows = csv_rows(text)
    next(rows, None)
    line = 1
    try:
        for row in rows:
            line += 1
            if not any(cell.strip() for cell in row):
                continue
            result.rows += 1
            try:
                customer, day, amount, description, quantity, unit_price, computed = reader.read(row)
            except ValueError as problem:
                result.rejected += 1
                result.rejections.append(Rejection(line=line, row=row, reason=f"{str(problem).capitalize()}."))
                continue
            result.computed_amounts += computed
            if amount < 0:
                result.refunds += 1
            lines.append((line, customer, day, amount, description, quantity, unit_price))
    except Exception as error:  # csv.Error: a broken quote, a NUL byte
        raise ImportFileError(f"Line {line} cannot be read as CSV: {error}.") from None
    result.orders = len(lines) - result.refunds
    result.lap("read and check the rows", started)
    if not lines:
        return result
    try:
        with transaction.atomic():
            _write(lines, result, channel=channel, owner=owner)
            if dry_run:
                raise _Stop
    except _Stop:
        pass
    return result


def _write(lines: list[tuple], result: OrderImportResult, *, channel: Channel | None, owner: User | None) -> None:
    now, lap = clock.now(), time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(_LINES_TABLE)
        with cursor.cursor.copy(f"COPY import_order_lines ({_LINE_COLUMNS}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(_LINE_TYPES)
            for values in lines:
                copy.write_row(values)
        lap = result.lap("copy the lines", lap)
        # The customers the file names, one row each: the key is the name as conversions match it (name_key).
        cursor.execute(
            """
            CREATE TEMPORARY TABLE import_order_customers ON COMMIT DROP AS
            SELECT customer_key, min(trim(customer)) AS name, min(line) AS first_line,
                   min(ordered_on) FILTER (WHERE amount > 0) AS first_order_on,
                   max(ordered_on) FILTER (WHERE amount > 0) AS last_order_on,
                   count(*) FILTER (WHERE amount > 0) AS orders_count, sum(amount) AS revenue,
                   coalesce(min(ordered_on) FILTER (WHERE amount > 0), min(ordered_on)) AS first_on,
                   NULL::bigint AS account_id, false AS created
              FROM import_order_lines GROUP BY customer_key
            """
        )
        # Temporary tables are never analyzed by autovacuum: without statistics, the joins below are planned blind.
        cursor.execute("ANALYZE import_order_lines, import_order_customers")
        match_by_name = """
            UPDATE import_order_customers c SET account_id = a.id
              FROM customers_account a WHERE c.account_id IS NULL AND a.name_key = c.customer_key
        """
        cursor.execute(match_by_name)
        cursor.execute(
            """
            UPDATE import_order_customers c SET account_id = a.id
              FROM customers_account a WHERE c.account_id IS NULL AND a.external_id = c.name
            """
        )
        cursor.execute("SELECT count(*) FROM import_order_customers WHERE account_id IS NOT NULL")
        result.customers_matched = cursor.fetchone()[0]
        # Unknown customers are created; one created by someone else meanwhile is matched instead.
        cursor.execute("SELECT first_line, name FROM import_order_customers WHERE account_id IS NULL ORDER BY 1")
        unknown = cursor.fetchall()
        # A customer created here gets its totals from the file at once (it has no other orders); one that someone
        # else created meanwhile is not marked `created`, and its totals are computed again below.
        cursor.execute(
            """
            WITH inserted AS (
                INSERT INTO customers_account (name, domain, channel_id, owner_id, team_id, customer_since, status,
                                               churn_reason, churn_note, first_order_on, last_order_on, orders_count,
                                               revenue, created_at)
                SELECT name, '', %s, %s, %s, first_on, 'active', '', '', first_order_on, last_order_on, orders_count,
                       revenue, %s
                  FROM import_order_customers WHERE account_id IS NULL ORDER BY customer_key
                ON CONFLICT (name_key) DO NOTHING
                RETURNING name_key
            )
            UPDATE import_order_customers c SET created = true FROM inserted i WHERE c.customer_key = i.name_key
            """,
            [channel.pk if channel else None, owner.pk if owner else None, owner.team_id if owner else None, now],
        )
        result.customers_created = cursor.rowcount
        result.warnings += [(line, f"Customer “{name}” was not known: created.") for line, name in unknown]
        cursor.execute(match_by_name)
        lap = result.lap("match and create customers", lap)
        # The customers' rows in id order (a concurrent import or an order typed in waits, never deadlocks).
        cursor.execute(
            """
            SELECT a.id FROM customers_account a
             WHERE a.id IN (SELECT account_id FROM import_order_customers) ORDER BY a.id FOR NO KEY UPDATE
            """
        )
        cursor.execute(
            """
            INSERT INTO customers_order (account_id, ordered_on, amount, description, quantity, unit_price,
                                         created_at)
            SELECT c.account_id, l.ordered_on, l.amount, l.description, l.quantity, l.unit_price, %s
              FROM import_order_lines l JOIN import_order_customers c USING (customer_key)
            """,
            [now],
        )
        lap = result.lap("insert the orders", lap)
        if len(lines) >= ANALYZE_AFTER_LINES:
            # A big file changes the tables' sizes many times over: fresh statistics keep the next joins hashed.
            cursor.execute("ANALYZE customers_order, customers_account")
            lap = result.lap("analyze", lap)
    account_totals_refresh(accounts_sql="SELECT account_id FROM import_order_customers WHERE NOT created")
    lap = result.lap("customers' totals", lap)
    cohort_revenue_add(
        orders_sql="SELECT c.account_id, l.ordered_on, l.amount FROM import_order_lines l "
        "JOIN import_order_customers c USING (customer_key)"
    )
    result.lap("cohort revenue", lap)


# --- In the browser (admins) ----------------------------------------------------------------------------------------

# A browser import runs while the page waits: files past this size go through `manage.py import_orders`.
BROWSER_MAX_BYTES = 10_000_000
GUESSES = {
    "customer": ("customer", "client", "account", "customer name", "company"),
    "ordered_at": ("ordered_at", "order date", "date", "ordered on", "invoice date"),
    "amount": ("amount", "total", "net amount", "revenue", "value"),
    "description": ("description", "item", "product"),
    "quantity": ("quantity", "qty"),
    "unit_price": ("unit_price", "unit price", "price"),
}


class AlreadyImported(Exception):
    """The upload was imported already (a second click): nothing was written again."""


def guess_mapping(header: list[str]) -> dict[str, str]:
    lowered = {column.strip().lower(): column for column in header}
    return {
        name: next(lowered[spelling] for spelling in spellings if spelling in lowered)
        for name, spellings in GUESSES.items()
        if any(spelling in lowered for spelling in spellings)
    }


def order_import_create(*, user: User, file_name: str, data: bytes, encoding: str = "") -> OrderImport:
    """Keep an uploaded file for its mapping; ImportFileError when it cannot be imported at all."""
    access.ensure(access.can_import_orders, user)
    if len(data) > BROWSER_MAX_BYTES:
        raise ImportFileError(
            f"The file is {len(data) / 1_000_000:.1f} MB; in the browser the largest is "
            f"{BROWSER_MAX_BYTES / 1_000_000:.0f} MB. Bigger files: manage.py import_orders."
        )
    text, _ = decode_upload(data, encoding=encoding)
    header = read_header(text)
    return OrderImport.objects.create(created_by=user, file_name=file_name[:255], text=text, header=header)


def order_import_run(
    *,
    job: OrderImport,
    user: User,
    mapping: dict[str, str],
    channel: Channel | None = None,
    owner: User | None = None,
    dry_run: bool = False,
) -> OrderImportResult:
    """Check (dry run) or import an uploaded file, as `manage.py import_orders` does. An import claims the upload
    first (a conditional UPDATE in the import's transaction): of two clicks, the second finds it imported."""
    access.ensure(access.can_import_orders, user)
    if dry_run:
        result = orders_import(text=job.text, mapping=mapping, channel=channel, owner=owner, dry_run=True)
        OrderImport.objects.filter(pk=job.pk).update(mapping=mapping, result=_summary(result, dry_run=True))
        return result
    with transaction.atomic():
        claimed = OrderImport.objects.filter(pk=job.pk, state=OrderImport.State.UPLOADED).update(
            state=OrderImport.State.IMPORTING
        )
        if not claimed:
            raise AlreadyImported
        result = orders_import(text=job.text, mapping=mapping, channel=channel, owner=owner)
        OrderImport.objects.filter(pk=job.pk).update(
            state=OrderImport.State.DONE,
            mapping=mapping,
            text="",
            result=_summary(result, dry_run=False),
            rejects_csv=rejections_csv(job.header, result.rejections, with_header=True) if result.rejections else "",
        )
    return result


def _summary(result: OrderImportResult, *, dry_run: bool) -> dict:
    return {
        "dry_run": dry_run,
        "rows": result.rows,
        "orders": result.orders,
        "refunds": result.refunds,
        "customers_created": result.customers_created,
        "customers_matched": result.customers_matched,
        "computed_amounts": result.computed_amounts,
        "rejected": result.rejected,
        "rejections": [{"line": r.line, "reason": r.reason} for r in result.rejections[:20]],
        "warnings": [{"line": line, "message": message} for line, message in result.warnings[:20]],
        "warnings_count": len(result.warnings),
    }
