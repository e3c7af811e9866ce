"""The lead facts a fit rule may test, and how each is read: by the database (bulk) and from a Lead (per lead).

Custom attributes are named `attributes.<key>`. Anything else is refused with a clear form error.
"""

import json
import re
from dataclasses import dataclass
from decimal import Decimal

from leads.models import Authority, Budget, Channel, Timeline

TEXT, NUMBER, CHOICE, ATTRIBUTE = "text", "number", "choice", "attribute"
ATTRIBUTE_PREFIX = "attributes."
ATTRIBUTE_KEY_RE = re.compile(r"^[A-Za-z0-9_\-]{1,60}$")


@dataclass(frozen=True)
class FitField:
    name: str
    label: str
    type: str
    lookup: str  # ORM path from Lead
    choices: tuple[tuple[str, str], ...] = ()


FIT_FIELDS: dict[str, FitField] = {
    f.name: f
    for f in (
        FitField("industry", "Industry", TEXT, "industry"),
        FitField("job_title", "Job title", TEXT, "job_title"),
        FitField("company", "Company", TEXT, "company"),
        FitField("company_size", "Company size (employees)", NUMBER, "company_size"),
        FitField("country", "Country code", TEXT, "country"),
        FitField("region", "Region", TEXT, "region"),
        FitField("city", "City", TEXT, "city"),
        FitField("channel", "Channel name", TEXT, "channel__name"),
        FitField("channel_kind", "Channel kind", CHOICE, "channel__kind", tuple(Channel.Kind.choices)),
        FitField("utm_source", "UTM source", TEXT, "utm_source"),
        FitField("utm_medium", "UTM medium", TEXT, "utm_medium"),
        FitField("utm_campaign", "UTM campaign", TEXT, "utm_campaign"),
        FitField("budget", "Budget", CHOICE, "budget", tuple(Budget.choices)),
        FitField("budget_amount", "Budget amount", NUMBER, "budget_amount"),
        FitField("authority", "Authority", CHOICE, "authority", tuple(Authority.choices)),
        FitField("timeline", "Timeline", CHOICE, "timeline", tuple(Timeline.choices)),
        FitField("need", "Stated need", TEXT, "need"),
        FitField("email", "Email", TEXT, "email"),
        FitField("phone", "Phone", TEXT, "phone"),
    )
}


def fit_field(name: str) -> FitField | None:
    """The field a rule names, or None when it is unknown."""
    if name.startswith(ATTRIBUTE_PREFIX):
        key = name[len(ATTRIBUTE_PREFIX) :]
        if ATTRIBUTE_KEY_RE.match(key):
            return FitField(name, f"Attribute “{key}”", ATTRIBUTE, key)
        return None
    return FIT_FIELDS.get(name)


def lead_text(lead, field: FitField) -> str:
    """A field's value as text, the way the database sees it (NULL and missing read as empty)."""
    if field.type == ATTRIBUTE:
        return attribute_text((lead.attributes or {}).get(field.lookup))
    if field.lookup == "channel__name":
        return lead.channel.name if lead.channel_id else ""
    if field.lookup == "channel__kind":
        return lead.channel.kind if lead.channel_id else ""
    value = getattr(lead, field.lookup)
    return "" if value is None else str(value)


def lead_number(lead, field: FitField) -> Decimal | float | None:
    """A numeric field's value; attributes count only when their text is a plain decimal number."""
    if field.type == ATTRIBUTE:
        text = attribute_text((lead.attributes or {}).get(field.lookup))
        return float(text) if NUMBER_TEXT_RE.match(text) else None
    value = getattr(lead, field.lookup)
    return None if value is None else Decimal(value)


# What the database's `->>` gives for a JSON value. Numbers other than plain integers and decimals (1e20) are
# not compared as numbers on either side.
# (In Python `\Z`, not `$`, which also matches before a final newline: "12\n" is no number, as in SQL.)
NUMBER_TEXT_RE = re.compile(r"^-?[0-9]{1,12}(\.[0-9]{1,6})?\Z")
NUMBER_TEXT_SQL = r"^-?[0-9]{1,12}(\.[0-9]{1,6})?$"
# Details counted by an activity rule (pages, seconds): whole, non-negative, small enough to sum safely.
COUNT_TEXT_DIGITS = 9
COUNT_TEXT_RE = re.compile(rf"^[0-9]{{1,{COUNT_TEXT_DIGITS}}}\Z")


def count_text_sql(text_sql: str) -> str:
    """SQL true when the text `text_sql` (a column, read once per use) is a count as `COUNT_TEXT_RE` has it,
    tested with `length` and `ltrim` instead of a regular expression: the activity pass tests every web visit's
    pages and seconds, and a regular expression was about a tenth of a 300-rule model's scoring query."""
    return f"(length({text_sql}) BETWEEN 1 AND {COUNT_TEXT_DIGITS} AND ltrim({text_sql}, '0123456789') = '')"


def attribute_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value)


def detail_count(value) -> int | None:
    """A detail (pages, seconds) as a whole number, or None when it is not one."""
    text = attribute_text(value)
    return int(text) if COUNT_TEXT_RE.match(text) else None
