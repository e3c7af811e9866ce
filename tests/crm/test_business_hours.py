"""Business-hours arithmetic: pure Python, no database."""

import datetime as dt
import itertools
import random

import pytest

from crm.business_hours import AroundTheClock, BusinessClock

BERLIN = "Europe/Berlin"


def berlin(*args) -> dt.datetime:
    import zoneinfo

    return dt.datetime(*args, tzinfo=zoneinfo.ZoneInfo(BERLIN))


@pytest.fixture
def office():
    """Mon–Fri 09:00–17:00 in Berlin, closed on 1 May 2026 (a Friday)."""
    return BusinessClock(
        time_zone=BERLIN,
        weekdays=range(5),
        opens_at=dt.time(9),
        closes_at=dt.time(17),
        holidays=[dt.date(2026, 5, 1)],
    )


def test_inside_opening_hours_the_clock_runs_like_a_wall_clock(office):
    assert office.add(berlin(2026, 4, 28, 10, 0), dt.timedelta(minutes=5)) == berlin(2026, 4, 28, 10, 5)


def test_a_lead_arriving_on_friday_evening_is_due_on_monday_morning(office):
    friday_evening = berlin(2026, 5, 8, 18, 30)
    assert office.add(friday_evening, dt.timedelta(hours=1)) == berlin(2026, 5, 11, 10, 0)


def test_the_clock_carries_over_closing_time_into_the_next_working_day(office):
    assert office.add(berlin(2026, 4, 28, 16, 30), dt.timedelta(hours=1)) == berlin(2026, 4, 29, 9, 30)


def test_holidays_are_skipped(office):
    thursday_afternoon = berlin(2026, 4, 30, 16, 45)
    # Friday 1 May is a holiday, then the weekend: the remaining 45 minutes run on Monday.
    assert office.add(thursday_afternoon, dt.timedelta(hours=1)) == berlin(2026, 5, 4, 9, 45)


def test_a_deadline_that_uses_up_a_window_exactly_falls_at_closing_time(office):
    assert office.add(berlin(2026, 4, 28, 16, 0), dt.timedelta(hours=1)) == berlin(2026, 4, 28, 17, 0)


def test_opening_hours_follow_daylight_saving_time(office):
    # Berlin moves to summer time on 29 March 2026: 09:00 local is 08:00 UTC before, 07:00 UTC after.
    before = office.add(berlin(2026, 3, 27, 18, 0), dt.timedelta(minutes=30))
    assert before == berlin(2026, 3, 30, 9, 30)
    assert before == dt.datetime(2026, 3, 30, 7, 30, tzinfo=dt.UTC)
    assert office.add(berlin(2026, 3, 26, 18, 0), dt.timedelta(minutes=30)) == dt.datetime(
        2026, 3, 27, 8, 30, tzinfo=dt.UTC
    )


def test_is_open(office):
    assert office.is_open(berlin(2026, 4, 28, 9, 0))
    assert not office.is_open(berlin(2026, 4, 28, 17, 0))
    assert not office.is_open(berlin(2026, 5, 2, 12, 0))  # Saturday


def test_a_calendar_must_close_after_it_opens_and_work_some_day():
    with pytest.raises(ValueError):
        BusinessClock(time_zone=BERLIN, weekdays=[0], opens_at=dt.time(17), closes_at=dt.time(9))
    with pytest.raises(ValueError):
        BusinessClock(time_zone=BERLIN, weekdays=[], opens_at=dt.time(9), closes_at=dt.time(17))


@pytest.mark.parametrize("minutes", [1, 5, 30, 60, 240, 480, 600, 2400])
def test_pieces_give_the_same_deadline_as_adding_for_every_arrival(office, minutes):
    """The set-based re-timing trusts `pieces`; they must agree with `add` for any arrival in the range."""
    first, last = berlin(2026, 4, 24, 13, 7), berlin(2026, 5, 6, 11, 0)
    delta = dt.timedelta(minutes=minutes)
    pieces = office.pieces(first, last, delta)
    assert pieces[0].start == first and pieces[-1].end > last
    assert all(a.end == b.start for a, b in itertools.pairwise(pieces))
    # About two pieces per calendar day, not one per arrival.
    assert len(pieces) < 4 * 13
    rng = random.Random(minutes)
    span = (last - first).total_seconds()
    arrivals = [first + dt.timedelta(seconds=rng.uniform(0, span)) for _ in range(400)]
    # And the edges, where off-by-one errors live.
    arrivals += [p.start for p in pieces] + [p.end - dt.timedelta(microseconds=1) for p in pieces if p.end <= last]
    for arrival in arrivals:
        piece = next(p for p in pieces if p.start <= arrival < p.end)
        assert piece.deadline_for(arrival) == office.add(arrival, delta), arrival


def test_around_the_clock_is_one_piece():
    start, end = dt.datetime(2026, 1, 1, tzinfo=dt.UTC), dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    (piece,) = AroundTheClock().pieces(start, end, dt.timedelta(minutes=5))
    assert piece.deadline_for(end) == end + dt.timedelta(minutes=5)
