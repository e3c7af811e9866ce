"""What a report returns: tables of cells that the page renders, the CSV exports and the charts read.

A rate always carries its numerator and denominator; an empty denominator gives no value, shown as "–" (and an
empty CSV cell), never a division error. Text cells of a CSV (a channel's name, an owner, a segment's value: text
people typed) are formula-safe (`crm.csv`); numbers stay numbers, a negative one included.
"""

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from crm.csv import csv_safe
from crm.templatetags.crm_tags import duration

DASH = "–"


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "count"  # text, count, rate, money, duration, days, points, percent
    help: str = ""

    @property
    def numeric(self) -> bool:
        return self.kind != "text"


@dataclass
class Cell:
    value: object  # what the CSV holds: a number, a fraction for rates, None when undefined
    text: str  # what the page shows
    href: str | None = None
    sub: str = ""  # e.g. "12 / 97" beside a rate

    def __str__(self) -> str:
        return self.text


@dataclass
class Table:
    key: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Cell]] = field(default_factory=list)
    total: dict[str, Cell] | None = None
    note: str = ""
    chart: str = ""  # an inline SVG
    chart_title: str = ""

    def csv_text(self) -> str:
        """One row per group, plain column names, numbers unformatted (rates as fractions)."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([csv_safe(column.key) for column in self.columns])
        for row in [*self.rows, *([self.total] if self.total else [])]:
            writer.writerow([_csv_value(row[column.key].value) for column in self.columns])
        return out.getvalue()


def _csv_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}" if abs(value) < 1 else f"{value:.2f}"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int | Decimal):
        return str(value)
    return csv_safe(str(value))


# Cells ----------------------------------------------------------------------------------------------------------


def text(value: str, href: str | None = None) -> Cell:
    return Cell(value=value, text=value, href=href)


def count(value: int | None, href: str | None = None) -> Cell:
    value = value or 0
    return Cell(value=value, text=f"{value:,}", href=href)


def rate(numerator: int | Decimal, denominator: int | Decimal, href: str | None = None) -> Cell:
    """numerator ÷ denominator as a percentage with both counts beside it; "–" when the denominator is 0."""
    numerator, denominator = numerator or 0, denominator or 0
    sub = f"{numerator:,} / {denominator:,}"
    if not denominator:
        return Cell(value=None, text=DASH, href=href, sub=sub)
    value = numerator / denominator
    return Cell(value=float(value), text=f"{100 * value:.1f}%", href=href, sub=sub)


def ratio(numerator: Decimal | int, denominator: Decimal | int, *, sub: str = "") -> Cell:
    """A plain ratio (return on spend, CLV ÷ CAC): "3.20×"."""
    if not denominator:
        return Cell(value=None, text=DASH, sub=sub)
    value = Decimal(numerator) / Decimal(denominator)
    return Cell(value=float(value), text=f"{value:.2f}×", sub=sub)


def money(value: Decimal | int | None, href: str | None = None, *, sub: str = "", whole: bool = False) -> Cell:
    """An amount with cents (CSV and tables); `whole` shows it rounded to units, for headline figures."""
    if value is None:
        return Cell(value=None, text=DASH, sub=sub)
    value = Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return Cell(value=value, text=f"{value:,.0f}" if whole else f"{value:,.2f}", href=href, sub=sub)


def money_per(total: Decimal | int, per: int, *, sub: str = "") -> Cell:
    """An amount per unit (cost per lead, CAC): "–" when there are no units."""
    if not per:
        return Cell(value=None, text=DASH, sub=sub)
    return money(Decimal(total) / per, sub=sub)


def seconds(value: float | None, *, sub: str = "", href: str | None = None) -> Cell:
    if value is None:
        return Cell(value=None, text=DASH, sub=sub, href=href)
    return Cell(value=round(float(value), 1), text=duration(value), sub=sub, href=href)


def days(value_seconds: float | None, *, sub: str = "", href: str | None = None) -> Cell:
    """A span given in seconds, shown in days with one decimal."""
    if value_seconds is None:
        return Cell(value=None, text=DASH, sub=sub, href=href)
    value = float(value_seconds) / 86400
    return Cell(value=round(value, 2), text=f"{value:.1f} d", sub=sub, href=href)


def points(current: Cell, previous: Cell) -> Cell:
    """The change of a rate, in percentage points."""
    if current.value is None or previous.value is None:
        return Cell(value=None, text=DASH)
    change = 100 * (current.value - previous.value)
    return Cell(value=round(change, 2), text=f"{change:+.1f} pp")


def change(current: int, previous: int) -> Cell:
    """The relative change of a count: "+12.5%"; "–" when there was nothing before."""
    if not previous:
        return Cell(value=None, text=DASH)
    value = (current - previous) / previous
    return Cell(value=round(value, 4), text=f"{100 * value:+.1f}%")


@dataclass
class Headline:
    """A figure shown large at the top of a report or on the dashboard."""

    label: str
    cell: Cell
    detail: str = ""
    href: str | None = None


@dataclass
class ReportResult:
    headlines: list[Headline] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def table(self, key: str) -> Table | None:
        return next((t for t in self.tables if t.key == key), None)
