"""The Campaigns report's rollup: per campaign, the email figures per step and variant and the member figures, each
split by the members' leads' team, owner and channel (the report's filters), so the report reads a few hundred
rows instead of every send and member.

A refresh of one campaign is one DELETE and two INSERT … SELECT … GROUP BY in one transaction, under a
transaction-scoped advisory lock per campaign (two refreshes of one campaign queue, never interleave), with the
campaign's `counts_at` set to the moment its reads began. The beat task `campaigns.tasks.counts_refresh_task`
refreshes every campaign every `CAMPAIGN_COUNTS_MINUTES`; the report shows how old the figures are.
The definitions are those of `campaigns.selectors.email_figures` and `member_figures` (tests compare the two).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection, transaction

from campaigns.models import Campaign, Member
from crm import clock
from crm.queue import enqueue_on_commit
from leads.models import Stage

# pg_advisory_xact_lock(COUNTS_LOCK_CLASS, campaign id): one refresh of a campaign at a time.
COUNTS_LOCK_CLASS = 1717

EMAIL_SQL = """
INSERT INTO campaigns_emailcounts
    (campaign_id, step, variant, team, owner, channel, sent, bounced, opened, clicked, unsubscribed)
SELECT st.campaign_id, st.position, v.label, l.team_id, l.owner_id, l.channel_id,
       count(*) FILTER (WHERE s.state = 'sent'),
       count(*) FILTER (WHERE s.state = 'sent' AND s.bounced_at IS NOT NULL),
       count(*) FILTER (WHERE s.state = 'sent' AND s.bounced_at IS NULL AND s.opened_at IS NOT NULL),
       count(*) FILTER (WHERE s.state = 'sent' AND s.bounced_at IS NULL AND s.clicked_at IS NOT NULL),
       count(*) FILTER (WHERE s.state = 'sent' AND s.bounced_at IS NULL AND s.unsubscribed_at IS NOT NULL)
FROM campaigns_send s
JOIN campaigns_emailstep st ON st.id = s.step_id
JOIN campaigns_member m ON m.id = s.member_id
JOIN leads_lead l ON l.id = m.lead_id
LEFT JOIN campaigns_emailvariant v ON v.id = s.variant_id
WHERE st.campaign_id = %(campaign)s
GROUP BY st.campaign_id, st.position, v.label, l.team_id, l.owner_id, l.channel_id
"""

MEMBER_SQL = """
WITH engaged AS (
    SELECT DISTINCT s.member_id
    FROM campaigns_send s JOIN campaigns_emailstep st ON st.id = s.step_id
    WHERE st.campaign_id = %(campaign)s AND (s.opened_at IS NOT NULL OR s.clicked_at IS NOT NULL)
), member AS (
    SELECT m.campaign_id, l.team_id, l.owner_id, l.channel_id, l.deal_value,
           m.registered_at IS NOT NULL AS registered,
           m.attended_at IS NOT NULL AS attended,
           l.stage = %(won)s AS won,
           (m.registered_at IS NOT NULL OR m.attended_at IS NOT NULL OR m.source = %(arrival)s
            OR e.member_id IS NOT NULL) AS influenced
    FROM campaigns_member m
    JOIN leads_lead l ON l.id = m.lead_id
    LEFT JOIN engaged e ON e.member_id = m.id
    WHERE m.campaign_id = %(campaign)s
)
INSERT INTO campaigns_membercounts
    (campaign_id, team, owner, channel, members, registered, attended, attendees_won, attendees_won_value,
     influenced, won, won_value)
SELECT campaign_id, team_id, owner_id, channel_id,
       count(*),
       count(*) FILTER (WHERE registered),
       count(*) FILTER (WHERE attended),
       count(*) FILTER (WHERE attended AND won),
       coalesce(sum(deal_value) FILTER (WHERE attended AND won), 0),
       count(*) FILTER (WHERE influenced),
       count(*) FILTER (WHERE influenced AND won),
       coalesce(sum(deal_value) FILTER (WHERE influenced AND won), 0)
FROM member
GROUP BY campaign_id, team_id, owner_id, channel_id
"""


REFRESH_TASK = "campaigns.tasks.counts_refresh_campaign_task"


def refresh_soon(campaign_id: int) -> None:
    """Queue a rollup of this campaign once the caller's transaction commits (many members joined, an email was
    released): its page and the report read it instead of counting live."""
    enqueue_on_commit(REFRESH_TASK, campaign_id)


def counts_refresh_campaign(campaign_id: int) -> None:
    """Replace one campaign's rollup rows, in one transaction (the report never sees half of them)."""
    params = {"campaign": campaign_id, "won": Stage.WON.value, "arrival": Member.Source.ARRIVAL.value}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [COUNTS_LOCK_CLASS, campaign_id])
        # The moment the reads begin: a change committed after it may be missing from these figures.
        as_of = clock.now()
        cursor.execute("DELETE FROM campaigns_emailcounts WHERE campaign_id = %s", [campaign_id])
        cursor.execute("DELETE FROM campaigns_membercounts WHERE campaign_id = %s", [campaign_id])
        cursor.execute(EMAIL_SQL, params)
        cursor.execute(MEMBER_SQL, params)
        Campaign.objects.filter(pk=campaign_id).update(counts_at=as_of)


def counts_refresh(campaign_ids: Iterable[int] | None = None) -> int | None:
    """Refresh the given campaigns (all of them by default), each in its own transaction; how many. A refresh of
    all campaigns while another one runs (a slow beat run overlapping the next) does nothing and returns None."""
    if campaign_ids is not None:
        for campaign_id in campaign_ids:
            counts_refresh_campaign(campaign_id)
        return len(list(campaign_ids))
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, 0)", [COUNTS_LOCK_CLASS])
        if not cursor.fetchone()[0]:
            return None
    try:
        ids = list(Campaign.objects.order_by("pk").values_list("pk", flat=True))
        for campaign_id in ids:
            counts_refresh_campaign(campaign_id)
        return len(ids)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, 0)", [COUNTS_LOCK_CLASS])
