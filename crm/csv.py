"""Cells a spreadsheet will not run: OWASP's rule against CSV (formula) injection, once in Python, once in SQL.

A spreadsheet opening a CSV reads a cell beginning with `=`, `+`, `-` or `@` as a formula, and some skip a
leading tab or carriage return before looking: `=HYPERLINK("http://evil", "x")` typed into a web form as a
company name would run on the machine of whoever opens the export. So every text cell the app writes to a CSV
that begins with one of those characters gets a single quote in front (OWASP's CSV injection guidance):
spreadsheets show such a cell as text. Numbers the code writes (counts, amounts, a negative deal value) are not
text and stay numbers; a phone in E.164 is text and reads `'+4930…`, which spreadsheets show as text too.

`csv_safe` is the rule for values Python writes (`csv_writer` applies it to every cell); `csv_safe_sql` is the
same rule as an SQL expression for CSV that PostgreSQL writes (`COPY ... TO STDOUT`, the leads export). Both read
`FORMULA_STARTS`, and a test checks they agree. The import takes the quote off again (`csv_unquote`), so an
exported or rejected-rows file imports as the values it came from.
"""

from __future__ import annotations

import csv
from typing import Any

from django.db.models import Func, TextField
from django.db.models.expressions import Combinable

# What a spreadsheet may read as the start of a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def csv_safe(value: Any) -> Any:
    """The value as a CSV cell a spreadsheet shows and never runs: text starting a formula gets a leading `'`.

    Anything but text (numbers, None, dates) is returned as it is; so is text already quoted, so the rule may be
    applied twice.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return QUOTE + value
    return value


def csv_unquote(text: str) -> str:
    """A cell as it was before `csv_safe` (what a spreadsheet shows): a `'` before a formula start taken off."""
    if text.startswith(QUOTE) and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text


# The first characters as code points: `ascii(x)` (in a UTF-8 database, the first character's code point; 0 for '',
# NULL for NULL) compared with integers costs a fraction of a text comparison per cell. All of them are below 65
# ('A'), where most cells (names, companies, emails) are not: one comparison decides those.
_FORMULA_STARTS_SQL = ", ".join(str(ord(char)) for char in FORMULA_STARTS)
_BELOW = max(ord(char) for char in FORMULA_STARTS) + 1
_QUOTE_SQL = "'" + QUOTE.replace("'", "''") + "'"


class CsvSafe(Func):
    """`csv_safe` of a text expression in SQL, as `CASE WHEN ascii(x) < 65 AND ascii(x) IN (61, 43, 45, 64, 9, 13)
    THEN '''' || x ELSE x END`.

    NULL stays NULL (an empty cell). The code points are literals, not parameters, so a query with twenty such
    columns stays short; the cost is an integer test or two of the first character per cell, in the same pass.
    """

    arity = 1
    output_field = TextField()

    def as_sql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        # The expression appears four times: its parameters, if any, four times in the same order.
        test = f"ascii({sql}) < {_BELOW} AND ascii({sql}) IN ({_FORMULA_STARTS_SQL})"
        template = f"CASE WHEN {test} THEN {_QUOTE_SQL} || {sql} ELSE {sql} END"
        return template, (*params, *params, *params, *params)


def csv_safe_sql(expression: Combinable | str) -> CsvSafe:
    """`csv_safe` as an ORM expression, for CSV the database writes (`COPY (query) TO STDOUT`)."""
    return CsvSafe(expression)


class _SafeWriter:
    """`csv.writer` whose rows pass through `csv_safe`, cell by cell."""

    def __init__(self, out, **options) -> None:
        self._writer = csv.writer(out, **options)

    def writerow(self, row):
        return self._writer.writerow([csv_safe(cell) for cell in row])

    def writerows(self, rows) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(out, **options) -> _SafeWriter:
    """The CSV writer of every file the app writes in Python: `csv.writer`, its text cells made formula-safe."""
    return _SafeWriter(out, **options)
