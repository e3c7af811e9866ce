"""Searching leads by name, email, company or phone: the leads list and the top bar's search read this module.

A lead's `search_text` (one lower-cased column, trigram-indexed) is what a search matches, with `LIKE '%term%'`.
Asked for the newest matches, PostgreSQL can go two ways, and each is fast for one kind of word only:

- the trigram index hands over *every* matching lead, which are then sorted: quick for a rare word, but a common
  one ("analytics", one lead in fifty) means reading and sorting some 20,000 rows at a million leads;
- walking the list's own index newest first and testing each lead stops after one page of matches: quick for a
  common word, a walk through the whole table for a rare one.

The planner cannot tell the two apart from its statistics (a `LIKE` on trigrams is estimated, not counted), so
`newest_matches` decides by trying: it walks the newest `WALK_ROWS` leads (an index range scan with the
text tested on each row, never the trigram index) and, if they hold a page of matches, that page is the answer,
exactly. Only when they do not (a rarer word) does it ask the trigram index, for the older leads alone, and adds
what it finds. Either way a page costs at most one short walk plus what the better plan costs.
"""

import re

from django.db.models import QuerySet, Value
from django.db.models.functions import StrIndex

from crm.pagination import Sort

# How many of the newest leads the walk may test before the trigram index is asked. A word in one lead of fifty
# fills a page of 50 within some 2,500 leads, or 12,500 for a rep who sees one lead in five; testing a lead costs
# under a microsecond once it is read, so a walk that fails costs a few ms.
WALK_ROWS = 20_000
# A search box value longer than any name, email, company and phone together matches nothing anyway.
MAX_TERM_LENGTH = 200
_PHONE_LIKE = re.compile(r"^[\d\s()+.\-]{4,}$")


def search_term(value: str | None) -> str:
    """What `search_text` is searched for: the value lower-cased and trimmed; a phone number in any format as
    its digits alone (the searched text holds phones in E.164 form)."""
    term = (value or "").strip().lower()[:MAX_TERM_LENGTH]
    if _PHONE_LIKE.match(term):
        term = re.sub(r"\D", "", term)
    return term


def leads_matching(leads: QuerySet, term: str) -> QuerySet:
    """The leads whose name, email, company or phone contains `term` (the trigram index's `LIKE`)."""
    return leads.filter(search_text__contains=term) if term else leads


def _tested_on_each_row(leads: QuerySet, term: str) -> QuerySet:
    """The same match as `leads_matching`, written so no index can answer it: `strpos` is not a trigram operator,
    so PostgreSQL keeps to the index range it walks and tests each row."""
    return leads.alias(search_at=StrIndex("search_text", Value(term))).filter(search_at__gt=0)


def newest_matches(ordered: QuerySet, *, term: str, sort: Sort, limit: int, seek=lambda leads: leads) -> list:
    """The first `limit` leads of `ordered` (already filtered, ordered by `sort` and past any cursor) that match
    `term`, in that order; `seek` puts another queryset of leads past the same cursor. See the module's docstring.

    The walk's window is the WALK_ROWS newest leads of the whole table (past the cursor), not of the list: its
    edge comes from an index-only scan of the sort's index, a millisecond or two, where counting off the list's
    own leads would read each lead to test who may see it.
    """
    everything = seek(ordered.model.objects.order_by(*sort.order_by()))
    edge_key = next(iter(everything.values_list(sort.key, flat=True)[WALK_ROWS - 1 : WALK_ROWS]), None)
    if edge_key is None:
        # Fewer than WALK_ROWS leads from here on: the walk is the whole of the list.
        return list(_tested_on_each_row(ordered, term)[:limit])
    within, beyond = ("gte", "lt") if sort.descending else ("lte", "gt")
    # Every lead up to the edge's key (ties included), so the walk's matches are exactly the first ones.
    rows = list(_tested_on_each_row(ordered.filter(**{f"{sort.key}__{within}": edge_key}), term)[:limit])
    if len(rows) < limit:
        older = leads_matching(ordered.filter(**{f"{sort.key}__{beyond}": edge_key}), term)
        rows += list(older[: limit - len(rows)])
    return rows
