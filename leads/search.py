"""Searching leads by name, email, company or phone: the leads list and the top bar's search read this module.

A lead's `search_text` (one lower-cased column, trigram-indexed) is what a search matches, with `LIKE '%term%'`.
Asked for the newest matches, PostgreSQL can go two ways, and each is fast for one kind of word only:

- the trigram index hands over *every* matching lead, which are then sorted: quick for a rare word, but a common
  one ("analytics", one lead in fifty) means reading and sorting some 20,000 rows at a million leads;
- walking the list's own index newest first and testing each lead stops after one page of matches: quick for a
  common word, a walk through the whole table for a rare one.

The planner cannot tell the two apart from its statistics (a `LIKE` on trigrams is estimated, not counted: at a
million demo leads it expects 100 leads with "systems" and finds 20,240, and takes 300 ms), so `newest_matches`
decides by trying: it walks the newest `WALK_ROWS` leads (an index range scan with the text tested on each row,
never the trigram index) and, if they hold a page of matches, that page is the answer, exactly. If they hold a
few, their density says how much further a page lies, and the walk goes on that far (a rep, who sees one lead in
five, or a word in one lead of a hundred). Only when the walk found nothing (a rare word) or the page lies too far
does it ask the trigram index, for the older leads alone, and add what it finds. A rare word pays for one short
walk; a common one never reads all its matches.
"""

import math
import re

from django.db import connection
from django.db.models import QuerySet, Value
from django.db.models.functions import StrIndex

from crm import access
from crm.pagination import Count, Sort
from leads.models import SEARCH_BUCKET_BITS, Lead, search_bucket, search_key, visibility_key

# The first walk tests this many of the newest leads: short, so that a rare word (nothing found) loses a ms or two
# before the trigram index is asked; a common word found in it sets how much further a second walk goes.
WALK_ROWS = 2_000
# A walk that found some matches but not a page goes on as far as their density says a page needs (half as far
# again), in at most this many leads in all; a word sparser than that goes to the trigram index, which is then
# the cheaper way (it reads the matches only, and there are few).
WALK_MAX_ROWS = 100_000
# Room for the density's error: the next walk goes this much further than the page strictly needs.
WALK_MARGIN = 1.5
# A match read through the trigram index costs about as much as walking this many leads (a random read of its
# row, then a sort of all of them, against rows read in index order): measured at 1,000,000 demo leads, a walk
# tests some 1,300 leads a ms, the trigram index hands over and sorts some 70 matches a ms.
TRIGRAM_COST_IN_ROWS = 20

# A search's count (`capped_search_count`) first reads this many of the newest blocks of ids, and reads as many
# more as the matches found say its cap needs, a quarter again, up to COUNT_MAX_BUCKETS blocks at once (beyond,
# the rest in one statement from the trigrams alone).
COUNT_FIRST_BUCKETS = 2
COUNT_MARGIN = 1.25
COUNT_MAX_BUCKETS = 8

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


def visible_leads(user) -> QuerySet:
    """`crm.access.leads_visible_to` as a search asks for it (`leads.models.visibility_key`): the same leads, in a
    form that PostgreSQL tests on the rows it reads (the walk's, the trigram index's matches) instead of reading
    the owner index too, some 200,000 entries for a rep at a million leads, to intersect with the matches."""
    keys = access.lead_visibility_keys(user)
    if keys is None:
        return Lead.objects.all()
    return Lead.objects.alias(visible_to=visibility_key()).filter(visible_to__overlap=keys)


def leads_matching(leads: QuerySet, term: str) -> QuerySet:
    """The leads whose name, email, company or phone contains `term` (the trigram index's `LIKE`).

    A term of several words asks the index for each word on its own (`_index_words`), then tests the whole term
    on the rows it hands over: the same leads. Asked for "stone studios" whole, pg_trgm also looks up the
    trigrams of a word's edges ("  s", " st", "ne "), among the longest lists of the index: at a million leads
    its scan took 13 ms for 326 matches, against 3 ms word by word (and 8 more rows to test)."""
    if not term:
        return leads
    words = _index_words(term)
    if words == [term] or not words:
        return leads.filter(search_text__contains=term)
    for word in words:
        leads = leads.filter(search_text__contains=word)
    return _tested_on_each_row(leads, term)


def _index_words(term: str) -> list[str]:
    """The words of `term` the trigram index can look up: three characters or more (a shorter one has no trigram,
    and would have the index read all of itself), each once."""
    return list(dict.fromkeys(word for word in term.split() if len(word) >= 3))


def _tested_on_each_row(leads: QuerySet, term: str) -> QuerySet:
    """The same match as `leads_matching`, written so no index can answer it: `strpos` is not a trigram operator,
    so PostgreSQL keeps to the index range it walks and tests each row."""
    return leads.alias(search_at=StrIndex("search_text", Value(term))).filter(search_at__gt=0)


def _table_rows(model) -> int:
    """The table's size as PostgreSQL's statistics have it (no count: a catalogue read); 0 before any ANALYZE."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT GREATEST(reltuples, 0)::bigint FROM pg_class WHERE oid = %s::regclass", [model._meta.db_table]
        )
        row = cursor.fetchone()
    return row[0] if row else 0


def newest_matches(ordered: QuerySet, *, term: str, sort: Sort, limit: int, seek=lambda leads: leads) -> list:
    """The first `limit` leads of `ordered` (already filtered, ordered by `sort` and past any cursor) that match
    `term`, in that order; `seek` puts another queryset of leads past the same cursor. See the module's docstring.

    Walks go in windows of the newest leads of the whole table (past the cursor), not of the list: a window's edge
    comes from an index-only scan of the sort's index, where counting off the list's own leads would read each
    lead to test who may see it. The first window is WALK_ROWS leads; when it found some matches but less than a
    page, the next one is as long as their density says the rest of the page needs. When the walks found nothing,
    or the page would need more than WALK_MAX_ROWS leads, the trigram index finds the rest among the older leads.
    """
    everything = seek(ordered.model.objects.order_by(*sort.order_by())).values_list(sort.key, flat=True)
    within, beyond = ("gte", "lt") if sort.descending else ("lte", "gt")
    rows: list = []
    walked, window, edge_key = 0, WALK_ROWS, None
    while True:
        upto = next(iter(everything[walked + window - 1 : walked + window]), None)
        part = ordered if edge_key is None else ordered.filter(**{f"{sort.key}__{beyond}": edge_key})
        if upto is not None:
            # Every lead up to the edge's key (ties included), so the walk's matches are exactly the first ones.
            part = part.filter(**{f"{sort.key}__{within}": upto})
        rows += list(_tested_on_each_row(part, term)[: limit - len(rows)])
        if len(rows) >= limit or upto is None:
            return rows  # a full page, or the walk reached the end of the list: either way, exactly the answer
        walked, edge_key = walked + window, upto
        if not rows:
            break  # a rare word: the trigram index reads its few matches
        density = len(rows) / walked
        needed = (limit - len(rows)) / density * WALK_MARGIN
        # The matches the trigram index would read among the older leads (at least; it reads those the user may
        # not see too), each worth TRIGRAM_COST_IN_ROWS rows of walk.
        matches_left = density * max(_table_rows(ordered.model) - walked, 0)
        if walked + needed > WALK_MAX_ROWS or needed > matches_left * TRIGRAM_COST_IN_ROWS:
            break
        window = max(int(needed), 1)
    older = leads_matching(ordered.filter(**{f"{sort.key}__{beyond}": edge_key}), term)
    return rows + list(older[: limit - len(rows)])


def capped_search_count(leads: QuerySet, *, cap: int, keys: list[int] | None = None) -> Count:
    """How many leads of `leads` (a search, `leads_matching`) there are, counting no further than `cap`, the
    newest blocks of ids first (`leads.models.search_bucket`); the same figure as `capped_count`. `keys`, the
    user's `crm.access.lead_visibility_keys` (`leads` already holds only leads the user may see), narrow a
    block's matches inside the index.

    The trigram index hands over every match at once, so a count capped at 1,000 of a common word would read all
    its 20,000 matches at a million leads (and a rep's, the owner index as well). Asked for a few blocks of ids,
    the index reads the matches in them only: the newest two blocks first (the newest is seldom full), then as
    many more as the matches found say the cap needs, a quarter again. A common word stops there, after one or two
    statements however large the table. When the cap lies further than COUNT_MAX_BUCKETS blocks (a rarer word),
    the rest is counted in one statement from the trigrams alone: reading many blocks' lists of ids would cost the
    index more than the trigrams' lists it reads anyway.
    """
    newest_id = Lead.objects.order_by("-id").values_list("id", flat=True).first()
    if newest_id is None:
        return Count(value=0, capped=False)
    top = newest_id >> SEARCH_BUCKET_BITS
    found, newest, span = 0, top, COUNT_FIRST_BUCKETS
    while newest >= 0 and found <= cap:
        if span > COUNT_MAX_BUCKETS:
            rest = leads.filter(id__lt=(newest + 1) << SEARCH_BUCKET_BITS)
            found += rest.order_by()[: cap + 1 - found].count()
            break
        oldest = max(newest - span + 1, 0)
        buckets = [search_bucket(b << SEARCH_BUCKET_BITS) for b in range(oldest, newest + 1)]
        part = leads.alias(search_key=search_key()).filter(search_key__overlap=buckets)
        if keys is not None:
            part = part.filter(search_key__overlap=keys)
        found += part.order_by()[: cap + 1 - found].count()
        per_bucket = found / (top - oldest + 1)
        span = math.ceil((cap + 1 - found) / per_bucket * COUNT_MARGIN) if per_bucket else COUNT_MAX_BUCKETS + 1
        newest = oldest - 1
    return Count(value=min(found, cap), capped=found > cap)
