"""Ad and content campaigns' members: the leads that arrived with the campaign's utm_campaign.

An ad or a content piece has no send list; its people are the leads its links brought in. A lead that arrives
(web form, API, import, event page) with a `utm_campaign` equal to an ad or content campaign's (case and outer
spaces aside) joins that campaign as a member, source "arrival", joined at the moment the lead arrived. The same
happens when such a campaign is saved with its UTM value (the leads that arrived before it was set up), and when an
import or an edit sets a lead's utm_campaign. Each is one `INSERT … SELECT … ON CONFLICT DO NOTHING` (set-based for
an import's chunk): running it twice, or two at once, adds each member once.

A campaign with a start date takes only the leads that arrived from that day on (in TIME_ZONE): a UTM value used
again next year ("spring-sale") does not claim last year's leads. The members are derived from the leads, so a
campaign saved with a later start date or another UTM value lets go of the arrivals that no longer qualify.

Those members count as influenced by the campaign (they arrived through it), so its returns and the first- and
last-touch attribution trace to them like an email's openers or an event's attendees.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import connection
from django.utils import timezone

from campaigns import counts
from campaigns.models import Campaign, Member, Send
from leads.models import Lead

ARRIVAL_KINDS = (Campaign.Kind.AD, Campaign.Kind.CONTENT)


def _tables() -> dict[str, str]:
    quote = connection.ops.quote_name
    return {
        "member": quote(Member._meta.db_table),
        "campaign": quote(Campaign._meta.db_table),
        "lead": quote(Lead._meta.db_table),
        "send": quote(Send._meta.db_table),
    }


def _starts_at(campaign: Campaign) -> dt.datetime | None:
    """The first moment an arrival counts for this campaign: the start of its start date in TIME_ZONE."""
    if campaign.starts_on is None:
        return None
    return dt.datetime.combine(campaign.starts_on, dt.time.min, tzinfo=timezone.get_default_timezone())


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
                   AND (c.starts_on IS NULL OR l.created_at >= c.starts_on::timestamp AT TIME ZONE %(tz)s)
                   -- A campaign being saved (its start or UTM value changing) is waited for and read as saved:
                   -- `campaign_arrivals` would not see members added under its old rule meanwhile.
                   FOR SHARE OF c
                ON CONFLICT (campaign_id, lead_id) DO NOTHING""",
            {
                "source": Member.Source.ARRIVAL,
                "ids": ids,
                "kinds": [k.value for k in ARRIVAL_KINDS],
                "tz": timezone.get_default_timezone_name(),
            },
        )
        return cursor.rowcount


def campaign_arrivals(campaign: Campaign) -> int:
    """Every lead that arrived with this ad or content campaign's utm_campaign, from its start date on, joins it
    (the leads that came before the campaign was set up, or before its UTM value was given); arrivals that no
    longer qualify (the start date moved later, the UTM value changed) leave it. Returns rows added."""
    value = campaign.utm_campaign.strip().lower() if campaign.kind in ARRIVAL_KINDS else ""
    t = _tables()
    params = {"campaign": campaign.pk, "source": Member.Source.ARRIVAL, "value": value, "start": _starts_at(campaign)}
    with connection.cursor() as cursor:
        # A member that was sent to is never removed: its sends are its history.
        cursor.execute(
            f"""DELETE FROM {t["member"]} m USING {t["lead"]} l
                 WHERE m.campaign_id = %(campaign)s AND m.source = %(source)s AND l.id = m.lead_id
                   AND (lower(btrim(l.utm_campaign)) <> %(value)s OR l.created_at < %(start)s)
                   AND NOT EXISTS (SELECT 1 FROM {t["send"]} s WHERE s.member_id = m.id)""",
            params,
        )
        removed = cursor.rowcount
        added = 0
        if value:
            cursor.execute(
                f"""INSERT INTO {t["member"]} (campaign_id, lead_id, source, added_at)
                    SELECT %(campaign)s, l.id, %(source)s, l.created_at
                      FROM {t["lead"]} l
                     WHERE lower(btrim(l.utm_campaign)) = %(value)s
                       AND (%(start)s::timestamptz IS NULL OR l.created_at >= %(start)s)
                    ON CONFLICT (campaign_id, lead_id) DO NOTHING""",
                params,
            )
            added = cursor.rowcount
    if added or removed:
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
