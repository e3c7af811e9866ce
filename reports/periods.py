"""Report periods: whole days in the configured time zone (settings.TIME_ZONE), both ends included."""

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from crm import clock

PRESETS = {
    "week": "This week",
    "month": "This month",
    "quarter": "This quarter",
    "12m": "Last 12 months",
    "custom": "Custom dates",
}
DEFAULT_PRESET = "month"


def local_tz() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def day_start(day: dt.date, plus_days: int = 0) -> dt.datetime:
    """The first instant of a local day (or of the day `plus_days` later), as an aware datetime."""
    return timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=plus_days), dt.time.min), local_tz())


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date  # included
    preset: str = "custom"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def starts_at(self) -> dt.datetime:
        return day_start(self.start)

    @property
    def ends_before(self) -> dt.datetime:
        return day_start(self.end, 1)

    def previous(self) -> "Period":
        """The period of equal length just before this one: what "change" compares with."""
        end = self.start - dt.timedelta(days=1)
        return Period(start=end - dt.timedelta(days=self.days - 1), end=end)

    @property
    def label(self) -> str:
        if self.start == self.end:
            return f"{self.start:%d %b %Y}"
        if self.start.year == self.end.year:
            return f"{self.start:%d %b} – {self.end:%d %b %Y}"
        return f"{self.start:%d %b %Y} – {self.end:%d %b %Y}"


def period_for_preset(preset: str, today: dt.date | None = None) -> Period:
    today = today or clock.today()
    if preset == "week":
        return Period(today - dt.timedelta(days=today.weekday()), today, preset)
    if preset == "quarter":
        first_month = 3 * ((today.month - 1) // 3) + 1
        return Period(today.replace(month=first_month, day=1), today, preset)
    if preset == "12m":
        # Twelve whole months back from today: 24 Nov 2025 – 23 Nov 2026.
        try:
            start = today.replace(year=today.year - 1) + dt.timedelta(days=1)
        except ValueError:  # 29 February
            start = today.replace(year=today.year - 1, day=28) + dt.timedelta(days=1)
        return Period(start, today, preset)
    return Period(today.replace(day=1), today, "month")


def months_between(period: Period) -> list[dt.date]:
    """The first day of every month the period touches."""
    months, month = [], period.start.replace(day=1)
    while month <= period.end:
        months.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return months
