"""Ad and content campaigns' members: the leads that arrived with the campaign's utm_campaign.

An ad or a content piece has no send list; its people are the leads its links brought in. A lead that arrives
(web form, API, import, event page) with a `utm_campaign` equal to an ad or content campaign's (case and outer
spaces aside) joins that campaign as a member, source "arrival", joined at the moment the lead arrived. The same
happens when such a campaign is saved with its UTM value (the leads that arrived before it was set up), and when an
import or an edit sets a lead's utm_campaign. Each is one `INSERT … SELECT … ON CONFLICT DO NOTHING` (set-based for
an import's chunk): running it twice, or two at once, adds each member once.

Those members count as influenced by the campaign (they arrived through it), so its returns and the first- and
last-touch attribution trace to them like an email's openers or an event's attendees.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection

from campaigns import counts
from campaigns.models import Campaign, Member
from leads.models import Lead

ARRIVAL_KINDS = (Campaign.Kind.AD, Campaign.Kind.CONTENT)


def _tables() -> dict[str, str]:
    quote = connection.ops.quote_name
    return {
        "member": quote(Member._meta.db_table),
        "campaign": quote(Campaign._meta.db_table),
        "lead": quote(Lead._meta.db_table),
    }


def members_from_arrivals(lead_ids: Iterable[int]) -> int:
    """These leads join every ad or content campaign whose utm_campaign they arrived with. Returns rows added."""
    ids = sorted({int(pk) for pk in lead_ids})
    if not ids:
        return 0
    t = _tables()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {t["member"]} (campaign_id, lead_id, source, added_at)
                SELECT c.id, l.id, %(source)s, l.created_at
                  FROM {t["lead"]} l
                  JOIN {t["campaign"]} c ON lower(btrim(c.utm_campaign)) = lower(btrim(l.utm_campaign))
                 WHERE l.id = ANY(%(ids)s) AND btrim(l.utm_campaign) <> '' AND c.kind = ANY(%(kinds)s)
                ON CONFLICT (campaign_id, lead_id) DO NOTHING""",
            {"source": Member.Source.ARRIVAL, "ids": ids, "kinds": [k.value for k in ARRIVAL_KINDS]},
        )
        return cursor.rowcount


def campaign_arrivals(campaign: Campaign) -> int:
    """Every lead that arrived with this ad or content campaign's utm_campaign joins it (the leads that came
    before the campaign was set up, or before its UTM value was given). Returns rows added."""
    value = campaign.utm_campaign.strip().lower()
    if campaign.kind not in ARRIVAL_KINDS or not value:
        return 0
    t = _tables()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {t["member"]} (campaign_id, lead_id, source, added_at)
                SELECT %(campaign)s, l.id, %(source)s, l.created_at
                  FROM {t["lead"]} l
                 WHERE lower(btrim(l.utm_campaign)) = %(value)s
                ON CONFLICT (campaign_id, lead_id) DO NOTHING""",
            {"campaign": campaign.pk, "source": Member.Source.ARRIVAL, "value": value},
        )
        added = cursor.rowcount
    if added:
        counts.refresh_soon(campaign.pk)
    return added


# Receivers of `leads.signals` (connected in apps.py; sent on commit).


def lead_changed_receiver(sender, lead_id: int, fields=(), **kwargs) -> None:
    """A lead arrived with a utm_campaign (fields "created" and "utm_campaign"), or an edit changed it."""
    if "utm_campaign" in fields:
        members_from_arrivals([lead_id])


def leads_bulk_receiver(sender, lead_ids=(), fields=(), **kwargs) -> None:
    """An import chunk created leads (no fields) or changed their utm_campaign: one statement for the chunk."""
    if not fields or "utm_campaign" in fields:
        members_from_arrivals(lead_ids)
