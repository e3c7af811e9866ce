"""Campaign sends at scale: a 100,000-member email campaign queued, and the campaign report over its sends.

On a copy of the seeded 100,000-lead database (`crm_bench_campaigns`): every lead joins one email campaign through
the leads-list filter (one INSERT … SELECT), then scheduling it "now" is timed: the release writes one queued send
per member (one INSERT … SELECT with the A/B split), commits, and queues the batch tasks. The target: ≤ 10 s.
Then a third of the sends are marked opened and a tenth clicked, and the Campaigns report (email, A/B, returns,
events tables) is timed as an admin sees it. The campaign is deleted afterwards, so a rerun measures the same.

    python -m bench campaigns        python -m bench.campaigns
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

from bench._harness import Context, Verdict, run_django_json, seeded_copy

LEADS = 100_000
REPORT_RUNS = 3


def verdicts(f: dict) -> list[Verdict]:
    return [
        Verdict(
            f"A {f['members']:,}-member email campaign queued ≤ 10 s",
            f["queue_s"] <= 10.0,
            f"{f['queue_s']:.1f} s to schedule and queue {f['queued']:,} sends (members added from a leads-list "
            f"filter in {f['members_s']:.1f} s)",
        ),
        Verdict(
            "Campaign report over those sends (informative; the 1M-lead, 10M-event target is not measured here)",
            True,
            f"median {f['report_ms']:.0f} ms over {REPORT_RUNS} runs",
        ),
    ]


def run(ctx: Context | None = None) -> list[Verdict]:
    ctx = ctx or Context.from_env()
    figures = run_django_json(ctx, seeded_copy(ctx, "campaigns", leads=LEADS), "bench.campaigns", "--measure")
    result = verdicts(figures)
    for verdict in result:
        print(verdict.line())
    print()
    return result


def _child() -> dict:
    os.environ["LOG_LEVEL"] = "WARNING"
    import django

    django.setup()
    import datetime as dt

    from campaigns import services
    from campaigns.models import Campaign, Send
    from crm.models import User
    from leads.models import Channel
    from reports.periods import Period
    from reports.scope import ReportScope
    from reports.selectors.campaigns import campaigns_report

    admin = User.objects.filter(groups__name="Admin").order_by("pk").first()
    Campaign.objects.filter(name="Bench: 100k send").delete()
    campaign = services.campaign_save(
        user=admin,
        campaign=Campaign(name="Bench: 100k send", kind="email", channel=Channel.objects.order_by("pk").first()),
    )
    try:
        start = time.perf_counter()
        members = services.members_add_by_filter(user=admin, campaign=campaign, address="?")
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
        "members": members,
        "members_s": members_s,
        "queued": queued,
        "queue_s": queue_s,
        "report_ms": statistics.median(runs) * 1000,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.campaigns")
    parser.add_argument("--measure", action="store_true", help="(internal) measure in this Django process")
    parser.add_argument("--out", type=Path, help="(internal) where --measure writes its figures")
    args = parser.parse_args()
    if args.measure:
        figures = _child()
        if args.out:
            args.out.write_text(json.dumps(figures))
        else:
            print(json.dumps(figures))
    else:
        run()
