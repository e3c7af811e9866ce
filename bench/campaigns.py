"""Campaigns at scale, on a copy of the seeded 1,000,000-lead database (`crm_bench_campaigns_1m`, made once by
`seeded_copy` and reused): a 100,000-member email campaign queued, the Campaigns report, and a campaign's own page.

1. **Queueing**: the first 100,000 leads join an email campaign (one INSERT … SELECT), then scheduling it "now" is
   timed: the release writes one queued send per member (one INSERT … SELECT with the A/B split), commits, and
   queues the batch tasks. The target: ≤ 10 s. Then a third of the sends are marked opened and a tenth clicked,
   and the Campaigns report is timed counted live (a campaign before its first rollup; informative). The campaign
   is deleted afterwards, so a rerun measures the same.
2. **The report at scale** (issue 17's proof: 1,000,000 leads, 10,000,000 tracking events): SCALE_CAMPAIGNS email
   campaigns of every seeded lead (1,000,000 members each), SCALE_STEPS emails each, sent, with opens, clicks,
   bounces and unsubscribes (one sent message, open, click, bounce or unsubscribe = one tracking event: ~10.2
   million at the default 1 × 7), built once in the copy; the rollup of every campaign is refreshed (timed: the beat
   task's work), then the report is timed from the rollup, alternating with two hand-written SQL baselines (the
   same figures from the raw tables; the sums over the rollup).
3. **The campaign page** of the 1,000,000-member campaign (Django's test client, a full request: members list,
   figures, returns), as an admin and as a manager, unfiltered, drilled down to one email's openers and (rare) to
   those who unsubscribed; its figures from the rollup. Target ≤ 1 s each.

    python -m bench campaigns        python -m bench.campaigns
"""

from __future__ import annotations

import os
import statistics
import sys
import time

from bench._harness import Context, Verdict, django_child, measure_main, print_verdicts, run_django_json, seeded_copy

LEADS = 1_000_000
SEND_MEMBERS = 100_000
REPORT_RUNS = 5
PAGE_RUNS = 5
# The report at scale: this many extra email campaigns, every seeded lead a member of each, this many emails each
# (one send per member and email, a third opened, a tenth clicked, 2% bounced, 0.5% unsubscribed). Built once in
# the copy and kept (named "Bench scale …"). The target is 1,000,000 leads and 10,000,000 tracking events:
# one campaign of the 1,000,000 leads with 7 emails is 7,000,000 sent messages and ~3.2 million opens, clicks,
# bounces and unsubscribes. BENCH_CAMPAIGNS / BENCH_CAMPAIGN_STEPS change the scale.
SCALE_CAMPAIGNS = int(os.environ.get("BENCH_CAMPAIGNS", "1"))
SCALE_STEPS = int(os.environ.get("BENCH_CAMPAIGN_STEPS", "7"))

# The hand-written baselines, run in the same process right after ours: the figures straight from the raw tables
# (what the report computed before the rollup), and the same sums over the rollup rows without the ORM.
RAW_SQL = """
SELECT st.campaign_id, st.position, v.label,
       count(*) FILTER (WHERE s.state = 'sent'),
       count(*) FILTER (WHERE s.state = 'sent' AND s.bounced_at IS NOT NULL),
       count(*) FILTER (WHERE s.state = 'sent' AND s.bounced_at IS NULL AND s.opened_at IS NOT NULL),
       count(*) FILTER (WHERE s.state = 'sent' AND s.bounced_at IS NULL AND s.clicked_at IS NOT NULL),
       count(*) FILTER (WHERE s.state = 'sent' AND s.bounced_at IS NULL AND s.unsubscribed_at IS NOT NULL)
FROM campaigns_send s JOIN campaigns_emailstep st ON st.id = s.step_id
LEFT JOIN campaigns_emailvariant v ON v.id = s.variant_id
WHERE st.campaign_id = ANY(%(ids)s)
GROUP BY 1, 2, 3;
SELECT m.campaign_id, count(*), count(*) FILTER (WHERE l.stage = 'won'
       AND EXISTS (SELECT 1 FROM campaigns_send s WHERE s.member_id = m.id
                   AND (s.opened_at IS NOT NULL OR s.clicked_at IS NOT NULL)))
FROM campaigns_member m JOIN leads_lead l ON l.id = m.lead_id
WHERE m.campaign_id = ANY(%(ids)s)
GROUP BY 1
"""
ROLLUP_SQL = """
SELECT campaign_id, step, variant, sum(sent), sum(bounced), sum(opened), sum(clicked), sum(unsubscribed)
FROM campaigns_emailcounts WHERE campaign_id = ANY(%(ids)s) GROUP BY 1, 2, 3;
SELECT campaign_id, sum(members), sum(registered), sum(attended), sum(attendees_won), sum(attendees_won_value),
       sum(influenced), sum(won), sum(won_value)
FROM campaigns_membercounts WHERE campaign_id = ANY(%(ids)s) GROUP BY 1
"""


# The campaign page requests timed: (key, what).
PAGES = (
    ("admin", "an admin, every member"),
    ("admin_opened", "an admin, the openers of email 1"),
    ("manager", "a manager, their teams' members and the pool"),
    ("manager_opened", "a manager, the openers of email 1 among them"),
    ("manager_unsubscribed", "a manager, those who unsubscribed from any email (rare: 0.5%)"),
)


def verdicts(f: dict) -> list[Verdict]:
    return [
        Verdict(
            f"A {f['members']:,}-member email campaign queued ≤ 10 s",
            f["queue_s"] <= 10.0,
            f"{f['queue_s']:.1f} s to schedule and queue {f['queued']:,} sends, on the {LEADS:,}-lead copy (members "
            f"added in {f['members_s']:.1f} s)",
        ),
        Verdict(
            "Campaign report over those sends, counted live (informative: a campaign before its first rollup)",
            True,
            f"median {f['report_ms']:.0f} ms over {REPORT_RUNS} runs",
        ),
        Verdict(
            f"Campaigns report ≤ 1 s over {f['scale_members']:,} members and {f['scale_events']:,} tracking events "
            f"(issue: 1,000,000 leads, 10,000,000 events; measured at the scale this machine builds)",
            f["scale_report_ms"] <= 1000,
            f"median {f['scale_report_ms']:.0f} ms over {REPORT_RUNS} runs from the rollup "
            f"({f['rollup_rows']:,} rows); raw-table SQL baseline {f['raw_ms']:.0f} ms "
            f"(ours ÷ raw {f['scale_report_ms'] / f['raw_ms']:.3f}); rollup SQL baseline {f['rollup_sql_ms']:.1f} ms "
            f"(ours ÷ rollup SQL {f['scale_report_ms'] / f['rollup_sql_ms']:.1f}); refreshing the rollup of every "
            f"campaign (the beat task's work) took {f['refresh_s']:.1f} s",
        ),
        *(
            Verdict(
                f"Campaign page of a {f['scale_members_one']:,}-member campaign ≤ 1 s: {label}",
                f["page_ms"][key] <= 1000,
                f"median {f['page_ms'][key]:.0f} ms over {PAGE_RUNS} requests (figures from the rollup; before its "
                f"first rollup the page says it is being counted: {f['page_live_ms'][key]:.0f} ms)",
            )
            for key, label in PAGES
        ),
    ]


def run(ctx: Context | None = None) -> list[Verdict]:
    ctx = ctx or Context.from_env()
    figures = run_django_json(ctx, seeded_copy(ctx, "campaigns_1m", leads=LEADS), "bench.campaigns", "--measure")
    result = verdicts(figures)
    return print_verdicts(result)


def _child() -> dict:
    django_child()
    import datetime as dt

    from django.db import connection

    from campaigns import services
    from campaigns.models import Campaign, Send
    from crm.models import User
    from leads.models import Channel
    from reports.periods import Period
    from reports.scope import ReportScope
    from reports.selectors.campaigns import campaigns_report

    admin = User.objects.filter(groups__name="Admin").order_by("pk").first()
    Campaign.objects.filter(name="Bench: 100k send").delete()
    # The scale first: it leaves its campaigns rolled up, so the live report below counts only the new campaign.
    scale = _at_scale(admin)
    campaign = services.campaign_save(
        user=admin,
        campaign=Campaign(name="Bench: 100k send", kind="email", channel=Channel.objects.order_by("pk").first()),
    )
    try:
        start = time.perf_counter()
        with connection.cursor() as cursor:  # the first 100,000 leads (a leads-list filter has no "first n")
            cursor.execute(
                "INSERT INTO campaigns_member (campaign_id, lead_id, source, added_at, added_by_id) "
                "SELECT %s, id, 'filter', now(), %s FROM leads_lead ORDER BY id LIMIT %s",
                [campaign.pk, admin.pk, SEND_MEMBERS],
            )
            members = cursor.rowcount
        members_s = time.perf_counter() - start
        services.step_save(
            user=admin,
            campaign=campaign,
            position=1,
            subject_a="Hello {{ first_name }}",
            body_a="Our offer: https://example.com/offer",
            subject_b="An offer for {{ company }}",
        )
        start = time.perf_counter()
        services.campaign_schedule(user=admin, campaign=campaign)
        queue_s = time.perf_counter() - start
        queued = Send.objects.filter(step__campaign=campaign, state="queued").count()
        # The first third of the sends sent and opened, the first tenth clicked (one send insert: ids in a run).
        sends = Send.objects.filter(step__campaign=campaign)
        first = sends.order_by("pk").values_list("pk", flat=True).first()
        moment = campaign.created_at
        sends.filter(pk__lt=first + members // 3).update(state="sent", sent_at=moment, opened_at=moment)
        sends.filter(pk__lt=first + members // 10).update(clicked_at=moment)
        today = campaign.created_at.date()
        scope = ReportScope.for_user(admin, Period(today - dt.timedelta(days=1), today, "custom"))
        runs = []
        for _ in range(REPORT_RUNS):
            start = time.perf_counter()
            campaigns_report(scope)
            runs.append(time.perf_counter() - start)
    finally:
        Campaign.objects.filter(pk=campaign.pk).delete()
    return {
        **scale,
        "members": members,
        "members_s": members_s,
        "queued": queued,
        "queue_s": queue_s,
        "report_ms": statistics.median(runs) * 1000,
    }


def _build_scale(admin) -> list[int]:
    """SCALE_CAMPAIGNS email campaigns of every seeded lead, SCALE_STEPS emails each, sent, with tracking: set-based
    inserts, once (kept in the bench copy for later runs)."""
    from django.db import connection

    from campaigns.models import Campaign, EmailStep, EmailVariant
    from crm import clock
    from leads.models import Channel

    ids = list(Campaign.objects.filter(name__startswith="Bench scale ").order_by("pk").values_list("pk", flat=True))
    if len(ids) == SCALE_CAMPAIGNS and EmailStep.objects.filter(campaign__in=ids).count() == len(ids) * SCALE_STEPS:
        return ids
    Campaign.objects.filter(pk__in=ids).update(counts_at=None)
    with connection.cursor() as cursor:  # the ORM's cascade would load millions of ids
        cursor.execute(
            "DELETE FROM campaigns_send WHERE step_id IN (SELECT id FROM campaigns_emailstep WHERE campaign_id = "
            "ANY(%s))",
            [ids],
        )
        cursor.execute("DELETE FROM campaigns_member WHERE campaign_id = ANY(%s)", [ids])
    Campaign.objects.filter(pk__in=ids).delete()
    channel = Channel.objects.order_by("pk").first()
    now = clock.now()
    ids = []
    for number in range(SCALE_CAMPAIGNS):
        campaign = Campaign.objects.create(
            name=f"Bench scale {number + 1}", kind="email", channel=channel, owner=admin, starts_on=now.date()
        )
        ids.append(campaign.pk)
        print(f"building {campaign.name}", file=sys.stderr, flush=True)
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO campaigns_member (campaign_id, lead_id, source, added_at) "
                "SELECT %s, id, 'filter', %s FROM leads_lead",
                [campaign.pk, now],
            )
            for position in range(1, SCALE_STEPS + 1):
                step = EmailStep.objects.create(campaign=campaign, position=position, released_at=now)
                a = EmailVariant.objects.create(step=step, label="A", subject="A", body="a", share=50)
                b = EmailVariant.objects.create(step=step, label="B", subject="B", body="b", share=50)
                cursor.execute(
                    """INSERT INTO campaigns_send (member_id, step_id, variant_id, state, reason, queued_at, sent_at,
                           opened_at, clicked_at, bounced_at, unsubscribed_at)
                       SELECT m.id, %(step)s, CASE WHEN m.id %% 2 = 0 THEN %(a)s ELSE %(b)s END, 'sent', '',
                           %(now)s, %(now)s,
                           CASE WHEN (m.id + %(step)s) %% 3 = 0 THEN %(now)s::timestamptz END,
                           CASE WHEN (m.id + %(step)s) %% 10 = 0 THEN %(now)s::timestamptz END,
                           CASE WHEN (m.id + %(step)s) %% 50 = 1 THEN %(now)s::timestamptz END,
                           CASE WHEN (m.id + %(step)s) %% 200 = 2 THEN %(now)s::timestamptz END
                       FROM campaigns_member m WHERE m.campaign_id = %(campaign)s""",
                    {"step": step.pk, "a": a.pk, "b": b.pk, "now": now, "campaign": campaign.pk},
                )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE campaigns_send; ANALYZE campaigns_member")
    return ids


def _timed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def _at_scale(admin) -> dict:
    """The report over SCALE_CAMPAIGNS campaigns from the rollup, beside the hand-written SQL baselines."""
    import datetime as dt

    from django.db import connection

    from campaigns import counts
    from campaigns.models import Campaign, EmailCounts, Member, MemberCounts, Send
    from reports.periods import Period
    from reports.scope import ReportScope
    from reports.selectors.campaigns import campaigns_report

    ids = _build_scale(admin)
    # The campaign page before its first rollup (too large to count live: it says the figures are being counted).
    Campaign.objects.filter(pk__in=ids).update(counts_at=None)
    page_live_ms = {key: _timed(request) * 1000 for key, request in _page_requests(ids[0]).items()}
    refresh_s = _timed(counts.counts_refresh)  # every campaign, as the beat task does
    today = Campaign.objects.get(pk=ids[0]).starts_on
    scope = ReportScope.for_user(admin, Period(today - dt.timedelta(days=1), today, "custom"))
    sends = Send.objects.filter(step__campaign__in=ids)
    events = sends.count() + sum(
        sends.filter(**{f"{name}__isnull": False}).count()
        for name in ("opened_at", "clicked_at", "bounced_at", "unsubscribed_at")
    )

    def sql(statements):
        with connection.cursor() as cursor:
            for statement in statements.split(";"):
                cursor.execute(statement, {"ids": ids})
                cursor.fetchall()

    ours, raw, rolled = [], [], []
    for _ in range(REPORT_RUNS):  # alternating, so load changes hit all three alike
        ours.append(_timed(lambda: campaigns_report(scope)))
        raw.append(_timed(lambda: sql(RAW_SQL)))
        rolled.append(_timed(lambda: sql(ROLLUP_SQL)))
    requests = _page_requests(ids[0])
    for request in requests.values():  # warm-up
        request()
    pages: dict[str, list[float]] = {key: [] for key in requests}
    for _ in range(PAGE_RUNS):  # the pages in turn, so load changes hit them alike
        for key, request in requests.items():
            pages[key].append(_timed(request))
    return {
        "scale_campaigns": len(ids),
        "scale_members": sum(MemberCounts.objects.filter(campaign__in=ids).values_list("members", flat=True)),
        "scale_events": events,
        "rollup_rows": EmailCounts.objects.filter(campaign__in=ids).count()
        + MemberCounts.objects.filter(campaign__in=ids).count(),
        "refresh_s": refresh_s,
        "scale_report_ms": statistics.median(ours) * 1000,
        "raw_ms": statistics.median(raw) * 1000,
        "rollup_sql_ms": statistics.median(rolled) * 1000,
        "scale_members_one": Member.objects.filter(campaign=ids[0]).count(),
        "page_ms": {key: statistics.median(runs) * 1000 for key, runs in pages.items()},
        "page_live_ms": page_live_ms,
    }


def _page_requests(campaign_id: int) -> dict:
    """The campaign page's requests (key → a call making it), each answered 200 or the bench stops."""
    from django.test import Client

    from crm.models import User
    from crm.roles import Role

    users = {
        "admin": User.objects.filter(groups__name=Role.ADMIN.value).order_by("pk").first(),
        "manager": User.objects.filter(groups__name=Role.MANAGER.value, managed_teams__isnull=False)
        .order_by("pk")
        .first(),
    }
    clients = {}
    for role, user in users.items():
        clients[role] = Client()
        clients[role].force_login(user)
    url = f"/campaigns/{campaign_id}/"

    def get(role: str, path: str):
        def request():
            response = clients[role].get(path)
            if response.status_code != 200:
                raise RuntimeError(f"{path} as {role}: {response.status_code}")

        return request

    return {
        "admin": get("admin", url),
        "admin_opened": get("admin", f"{url}?did=opened&step=1"),
        "manager": get("manager", url),
        "manager_opened": get("manager", f"{url}?did=opened&step=1"),
        "manager_unsubscribed": get("manager", f"{url}?did=unsubscribed"),
    }


if __name__ == "__main__":
    measure_main("python -m bench.campaigns", _child, run)
