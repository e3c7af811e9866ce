"""Business-hours arithmetic: the one place that knows how a clock runs only while a calendar is open.

A `BusinessClock` answers "what moment is `delta` of open time after `start`?" (`add`). Response deadlines are
stored on the leads, and re-timing many of them must be set-based SQL, not a Python loop over rows; `pieces`
makes that possible: it cuts a range of arrival times into the few intervals in which the deadline is either
`arrival + shift` or one fixed moment (arrivals while closed all count from the next opening), so one UPDATE
per piece re-times every lead that arrived in it. `AroundTheClock` is the same interface without a calendar.

Times are aware datetimes; windows are computed in the calendar's time zone (so opening hours follow daylight
saving time) and returned in UTC.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from django.core.exceptions import ValidationError

# A calendar open less than this is almost certainly a mistake (all days holidays); stop looking rather than
# loop for ever.
MAX_DAYS_AHEAD = 3 * 366
ONE_MICROSECOND = dt.timedelta(microseconds=1)


@lru_cache(maxsize=1)
def time_zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def validate_time_zone(value: str) -> None:
    if value not in time_zone_names():
        raise ValidationError("Unknown time zone “%(value)s”: use a name like Europe/Berlin.", params={"value": value})


@dataclass(frozen=True)
class Piece:
    """Arrivals in [start, end) have their deadline at `arrival + shift`, or at `at` when shift is None."""

    start: dt.datetime
    end: dt.datetime
    shift: dt.timedelta | None = None
    at: dt.datetime | None = None

    def deadline_for(self, arrival: dt.datetime) -> dt.datetime:
        return arrival + self.shift if self.shift is not None else self.at


class AroundTheClock:
    """No calendar: the clock always runs."""

    def add(self, start: dt.datetime, delta: dt.timedelta) -> dt.datetime:
        return start + delta

    def pieces(self, first: dt.datetime, last: dt.datetime, delta: dt.timedelta) -> list[Piece]:
        return [Piece(first, last + ONE_MICROSECOND, shift=delta)]

    def is_open(self, moment: dt.datetime) -> bool:
        return True


class BusinessClock:
    """A clock that runs only inside opening hours on working days that are not holidays."""

    def __init__(
        self,
        *,
        time_zone: str,
        weekdays: Iterable[int],
        opens_at: dt.time,
        closes_at: dt.time,
        holidays: Iterable[dt.date] = (),
    ):
        if closes_at <= opens_at:
            raise ValueError("A calendar must close after it opens (hours may not cross midnight).")
        self.tz = zoneinfo.ZoneInfo(time_zone)
        self.weekdays = frozenset(weekdays)
        if not self.weekdays:
            raise ValueError("A calendar needs at least one working day.")
        self.opens_at, self.closes_at = opens_at, closes_at
        self.holidays = frozenset(holidays)

    def windows(self, start: dt.datetime) -> Iterator[tuple[dt.datetime, dt.datetime]]:
        """Open windows (opening, closing) that end after `start`, in order. The first may begin before it."""
        day = start.astimezone(self.tz).date()
        for _ in range(MAX_DAYS_AHEAD):
            if day.weekday() in self.weekdays and day not in self.holidays:
                opens = dt.datetime.combine(day, self.opens_at, tzinfo=self.tz).astimezone(dt.UTC)
                closes = dt.datetime.combine(day, self.closes_at, tzinfo=self.tz).astimezone(dt.UTC)
                if closes > start:
                    yield opens, closes
            day += dt.timedelta(days=1)
        raise ValueError(f"The calendar is not open once in the {MAX_DAYS_AHEAD} days after {start:%Y-%m-%d}.")

    def is_open(self, moment: dt.datetime) -> bool:
        opens, _ = next(self.windows(moment))
        return opens <= moment

    def add(self, start: dt.datetime, delta: dt.timedelta) -> dt.datetime:
        """The moment when `delta` of open time has passed since `start`.

        A deadline that uses up a window exactly falls at its closing time, not at the next opening.
        """
        remaining = delta
        for opens, closes in self.windows(start):
            begin = max(opens, start)
            if remaining <= closes - begin:
                return begin + remaining
            remaining -= closes - begin
        raise AssertionError("unreachable: windows() raises when the calendar never opens")

    def _window_of(self, moment: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
        """The window a deadline lies in: opening < moment <= closing (a deadline is never at an opening)."""
        for opens, closes in self.windows(moment - ONE_MICROSECOND):
            if opens < moment <= closes:
                return opens, closes
        raise AssertionError("unreachable")

    def pieces(self, first: dt.datetime, last: dt.datetime, delta: dt.timedelta) -> list[Piece]:
        """Cut arrivals in [first, last] into intervals with one deadline rule each (see the module docstring).

        Inside a window, the deadline moves with the arrival until either the arrival reaches closing time or
        the deadline reaches the closing time of its own window; there a new piece starts. About two pieces per
        working day in the range, whatever the number of leads.
        """
        if delta <= dt.timedelta(0):
            raise ValueError("A clock adds a positive amount of time.")
        result: list[Piece] = []
        moment = first
        while moment <= last:
            opens, closes = next(self.windows(moment))
            if moment < opens:
                # Arrived while closed: counts from the next opening, so every such arrival shares one deadline.
                result.append(Piece(moment, opens, at=self.add(opens, delta)))
                moment = opens
                continue
            deadline = self.add(moment, delta)
            _, deadline_closes = self._window_of(deadline)
            room = min(closes - moment, deadline_closes - deadline)
            end = moment + max(room, ONE_MICROSECOND)
            result.append(Piece(moment, end, shift=deadline - moment))
            moment = end
        return result


def clock_for(calendar) -> AroundTheClock | BusinessClock:
    """The clock of a `crm.BusinessCalendar` (one query for its holidays), or around the clock for None."""
    if calendar is None:
        return AroundTheClock()
    return BusinessClock(
        time_zone=calendar.time_zone,
        weekdays=calendar.working_weekdays,
        opens_at=calendar.opens_at,
        closes_at=calendar.closes_at,
        holidays=calendar.holidays.values_list("date", flat=True),
    )
