import datetime as dt

from django import template
from django.utils import timezone

from crm import clock

register = template.Library()


@register.filter
def duration(seconds) -> str:
    """A span of seconds as people say it: "45 s", "12 min", "3 h 5 min", "2 d 4 h"."""
    if seconds is None or seconds == "":
        return "–"
    if isinstance(seconds, dt.timedelta):
        seconds = seconds.total_seconds()
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


@register.filter
def since(value: dt.datetime) -> str:
    """How long ago a moment was, by the CRM's clock."""
    return since_by(value, clock.now())


def since_by(value: dt.datetime | None, now: dt.datetime) -> str:
    """`since`, by a reading of the clock the caller already has (one per page of rows)."""
    if not value:
        return "–"
    return duration(max(0, (now - value).total_seconds()))


@register.filter
def due_label(value: dt.datetime) -> str:
    """ "overdue 2 h", "today 15:00", "Tue 10:00" or a date."""
    if not value:
        return ""
    now = clock.now()
    local = timezone.localtime(value)
    if value < now:
        return f"overdue {duration((now - value).total_seconds())}"
    if local.date() == clock.today():
        return f"today {local:%H:%M}"
    if (local.date() - clock.today()).days < 7:
        return f"{local:%a %H:%M}"
    return f"{local:%d %b %Y}"


def _countdown(seconds: float) -> str:
    """Like `duration`, with seconds while under ten minutes (a live countdown ticks them). Mirrored in JS."""
    seconds = int(abs(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return duration(seconds)


@register.filter
def sla_left(seconds) -> str:
    """A response clock as a rep reads it: "answer within 4 min 05 s", or "overdue 3 min"."""
    if seconds is None or seconds == "":
        return ""
    return f"answer within {_countdown(seconds)}" if seconds > 0 else f"overdue {_countdown(seconds)}"


@register.filter
def seconds_from_now(value: dt.datetime) -> int | str:
    """Whole seconds from the CRM's clock to a moment (negative if past): what a countdown starts from."""
    if not value:
        return ""
    return int((value - clock.now()).total_seconds())


@register.filter
def minutes(value) -> str:
    """A number of minutes as people say it: 90 → "1 h 30 min"."""
    if value is None or value == "":
        return "–"
    return duration(int(value) * 60)
