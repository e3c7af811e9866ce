"""Campaign figures: email performance per campaign, step and variant, A/B tests, returns, events, attribution.

The period selects campaigns by their start day (the day they were created when they have none); the channel
filter, a campaign's channel; team and owner filters (and a manager's or rep's view), the members counted, by
their lead. Definitions (docs/campaigns.md, from the domain notes):

- Delivered = sent − bounced. Open rate = unique opens ÷ delivered; click rate = unique clickers ÷ delivered;
  click-to-open = clickers ÷ openers; unsubscribe rate = unsubscribes ÷ delivered; bounce rate = bounced ÷ sent.
  Unique = per member and step. Opens are a lower bound (clients block pixels); a click counts as an open.
- A/B: click rate per variant, B − A in points, two-proportion z-test p-value; a winner only below 5%.
- Leads influenced = members who opened or clicked one of its emails, registered, attended, or arrived with its
  utm_campaign (ad and content campaigns: `campaigns.arrivals`). Spend = its own, or its share of its channel's
  spend periods over its dates (`campaigns.spend`). Conversion = those
  won ÷ influenced; won value = their deal values; cost per lead = spend ÷ influenced;
  ROI = (won value − spend) ÷ spend. A lead in two campaigns counts in both (influence, not attribution).
- Events: attendance rate = attended ÷ registered; attendee → won = attendees won ÷ attendees; cost per attendee
  = spend ÷ attended; event ROI = (attendees' won value − spend) ÷ spend.
- A view narrower than the company gets each campaign's spend in proportion to its members in view.
"""

from decimal import Decimal

from django.conf import settings
from django.db.models import Sum
from django.db.models.functions import Coalesce, TruncDate
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign, EmailCounts, Member, MemberCounts, Send
from campaigns.selectors import MEMBER_MEASURES, EmailFigures, email_figures, member_figures, two_proportion_p_value
from campaigns.spend import campaign_spend
from leads.models import Lead, Stage
from reports import charts
from reports.scope import ReportScope
from reports.tables import (
    Cell,
    Column,
    Headline,
    ReportResult,
    Table,
    count,
    money,
    money_per,
    points,
    rate,
    ratio,
    text,
)

SIGNIFICANCE = 0.05
FORMULAS = "\n".join(
    (
        "Delivered = sent − bounced · open rate = unique opens ÷ delivered · click rate = unique clickers ÷ delivered.",
        "Click-to-open = clickers ÷ openers · unsubscribe rate = unsubscribes ÷ delivered · bounce rate = bounced ÷ sent.",
        "Opens are a lower bound: mail clients block or pre-fetch the pixel; a click counts as an open.",
    )
)


def _campaigns(scope: ReportScope):
    day = Coalesce("starts_on", TruncDate("created_at"))
    campaigns = Campaign.objects.annotate(day=day).filter(day__gte=scope.period.start, day__lte=scope.period.end)
    if scope.channel:
        campaigns = campaigns.filter(channel=scope.channel)
    return {campaign.pk: campaign for campaign in campaigns.select_related("channel").order_by("-day", "-pk")}


def _drill(campaign_id: int, **params) -> str:
    query = "&".join(f"{key}={value}" for key, value in params.items() if value not in (None, ""))
    return f"{reverse('campaigns:detail', args=[campaign_id])}?{query}#members"


def _rolled_up(scope: ReportScope, campaign_ids: list[int]) -> tuple[list[EmailFigures], dict, dict]:
    """The email and member figures of campaigns with a rollup (`campaigns.counts`), from its rows."""
    if not campaign_ids:
        return [], {}, {}
    email_sums = {name: Sum(name) for name in ("sent", "bounced", "opened", "clicked", "unsubscribed")}
    by_variant = [
        EmailFigures(campaign_id=row.pop("campaign_id"), step=row.pop("step"), variant=row.pop("variant"), **row)
        for row in EmailCounts.objects.filter(scope._who(), campaign_id__in=campaign_ids)
        .values("campaign_id", "step", "variant")
        .annotate(**email_sums)
        .order_by("campaign_id", "step", "variant")
    ]
    member_sums = {name: Sum(name) for name in MEMBER_MEASURES}
    people = {
        row.pop("campaign_id"): row
        for row in MemberCounts.objects.filter(scope._who(), campaign_id__in=campaign_ids)
        .values("campaign_id")
        .annotate(**member_sums)
        .order_by()
    }
    if scope.is_everything:
        all_members = {pk: row["members"] for pk, row in people.items()}
    else:
        all_members = dict(
            MemberCounts.objects.filter(campaign_id__in=campaign_ids)
            .values("campaign_id")
            .annotate(total=Sum("members"))
            .order_by()
            .values_list("campaign_id", "total")
        )
    return by_variant, people, all_members


def _counted_live(scope: ReportScope, campaign_ids: list[int]) -> tuple[list[EmailFigures], dict, dict]:
    """The same figures of campaigns without a rollup yet, counted from their sends and members."""
    if not campaign_ids:
        return [], {}, {}
    members = Member.objects.filter(scope._who("lead__"), campaign__in=campaign_ids)
    # By step (its index) rather than a semi-join on the members, which the planner answers with a scan of every
    # send: the members' filter only when the view is narrower than the company.
    sends = Send.objects.filter(step__campaign__in=campaign_ids)
    if not scope.is_everything:
        sends = sends.filter(member__in=members.values("pk"))
    by_variant = email_figures(sends)
    people = member_figures(members)
    if scope.is_everything:
        all_members = {pk: row["members"] for pk, row in people.items()}
    else:
        all_members = {
            pk: row["members"] for pk, row in member_figures(Member.objects.filter(campaign__in=campaign_ids)).items()
        }
    return by_variant, people, all_members


def _variant_order(f: EmailFigures) -> tuple:
    return (f.campaign_id, f.step, f.variant is None, f.variant or "")


def campaigns_report(scope: ReportScope) -> ReportResult:
    campaigns = _campaigns(scope)
    rolled = [pk for pk, campaign in campaigns.items() if campaign.counts_at is not None]
    live = [pk for pk, campaign in campaigns.items() if campaign.counts_at is None]
    by_variant, people, all_members = _rolled_up(scope, rolled)
    live_variants, live_people, live_members = _counted_live(scope, live)
    by_variant = sorted(by_variant + live_variants, key=_variant_order)
    people.update(live_people)
    all_members.update(live_members)

    # Each campaign's spend: its own, or its share of its channel's spend periods (`campaigns.spend`).
    spends = campaign_spend(campaigns.values())

    def spend_of(campaign: Campaign) -> Decimal:
        if scope.is_everything:
            return spends[campaign.pk]
        total = all_members.get(campaign.pk, 0)
        in_view = people.get(campaign.pk, {}).get("members", 0)
        return spends[campaign.pk] * in_view / total if total else Decimal(0)

    email = _email_table(campaigns, by_variant)
    if email.rows:
        email.chart_title = "Click rate per email and variant (%)"
        email.chart = charts.horizontal_bars(
            email.chart_title,
            [f"{r['group'].text} · {r['step'].text}{r['variant'].text}" for r in email.rows],
            [None if r["click_rate"].value is None else 100 * r["click_rate"].value for r in email.rows],
            unit="%",
        )
    tests = _ab_table(campaigns, by_variant)
    returns, totals = _returns_table(campaigns, people, spend_of)
    if returns.rows:
        returns.chart_title = "ROI per campaign ((won value − spend) per 1 spent)"
        returns.chart = charts.horizontal_bars(
            returns.chart_title,
            [r["group"].text for r in returns.rows],
            [r["roi"].value for r in returns.rows],
            unit="×",
        )
    events = _events_table(campaigns, people, spend_of)
    sent = sum(f.sent for f in by_variant)
    delivered = sum(f.delivered for f in by_variant)
    headlines = [
        Headline("Sent", count(sent)),
        Headline("Open rate", rate(sum(f.opened for f in by_variant), delivered), detail="a lower bound"),
        Headline("Click rate", rate(sum(f.clicked for f in by_variant), delivered)),
        Headline("Leads influenced", count(totals["influenced"])),
        Headline("ROI", ratio(totals["won_value"] - totals["spend"], totals["spend"])),
    ]
    notes = []
    if rolled:
        oldest = min(campaigns[pk].counts_at for pk in rolled)
        notes.append(
            f"Email, returns and event figures as of {timezone.localtime(oldest):%Y-%m-%d %H:%M} at the oldest "
            f"(counted again every {settings.CAMPAIGN_COUNTS_MINUTES} minutes); attribution is live."
        )
    if not scope.is_everything:
        notes.append("Spend is attributed to this view in proportion to each campaign's members in it.")
    attribution = _attribution_table(scope)
    return ReportResult(headlines=headlines, tables=[email, tests, returns, events, attribution], notes=notes)


def _email_table(campaigns: dict, by_variant) -> Table:
    table = Table(
        key="email",
        title="Email per campaign, step and variant",
        columns=[
            Column("group", "Campaign", "text"),
            Column("step", "Email"),
            Column("variant", "Variant", "text"),
            Column("sent", "Sent"),
            Column("delivered", "Delivered"),
            Column("open_rate", "Open rate", "rate"),
            Column("click_rate", "Click rate", "rate"),
            Column("click_to_open", "Click-to-open", "rate"),
            Column("unsubscribe_rate", "Unsubscribe rate", "rate"),
            Column("bounce_rate", "Bounce rate", "rate"),
        ],
        note=FORMULAS,
    )
    for f in by_variant:
        campaign = campaigns.get(f.campaign_id)
        if campaign is None:
            continue

        def link(did, f=f):
            return _drill(f.campaign_id, did=did, step=f.step, variant=f.variant)

        table.rows.append(
            {
                "group": text(campaign.name, reverse("campaigns:detail", args=[campaign.pk])),
                "step": count(f.step),
                "variant": text(f.variant or ""),
                "sent": count(f.sent, link("sent")),
                "delivered": count(f.delivered, link("delivered")),
                "open_rate": rate(f.opened, f.delivered, link("opened")),
                "click_rate": rate(f.clicked, f.delivered, link("clicked")),
                "click_to_open": rate(f.clicked, f.opened, link("clicked")),
                "unsubscribe_rate": rate(f.unsubscribed, f.delivered, link("unsubscribed")),
                "bounce_rate": rate(f.bounced, f.sent, link("bounced")),
            }
        )
    return table


def p_value_cell(p: float | None) -> Cell:
    if p is None:
        return Cell(value=None, text="–")
    return Cell(value=round(p, 6), text="< 0.0001" if p < 0.0001 else f"{p:.4f}")


def _ab_table(campaigns: dict, by_variant) -> Table:
    table = Table(
        key="ab",
        title="A/B tests (click rate)",
        columns=[
            Column("group", "Campaign", "text"),
            Column("step", "Email"),
            Column("rate_a", "Click rate A", "rate"),
            Column("rate_b", "Click rate B", "rate"),
            Column("difference", "B − A", "points"),
            Column("p_value", "p-value", "ratio"),
            Column("winner", "Winner", "text"),
        ],
        note=f"Two-proportion z-test (pooled), two-sided; a winner is called only below p = {SIGNIFICANCE}.",
    )
    pairs: dict[tuple, dict] = {}
    for f in by_variant:
        pairs.setdefault((f.campaign_id, f.step), {})[f.variant] = f
    for (campaign_id, step), variants in pairs.items():
        if campaign_id not in campaigns or not {"A", "B"} <= set(variants):
            continue
        a, b = variants["A"], variants["B"]
        rate_a, rate_b = rate(a.clicked, a.delivered), rate(b.clicked, b.delivered)
        p = two_proportion_p_value(a.clicked, a.delivered, b.clicked, b.delivered)
        winner = "–"
        if p is not None and p < SIGNIFICANCE:
            winner = "A" if rate_a.value > rate_b.value else "B"
        table.rows.append(
            {
                "group": text(campaigns[campaign_id].name),
                "step": count(step),
                "rate_a": rate_a,
                "rate_b": rate_b,
                "difference": points(rate_b, rate_a),
                "p_value": p_value_cell(p),
                "winner": text(winner),
            }
        )
    return table


def _returns_table(campaigns: dict, people: dict, spend_of) -> tuple[Table, dict]:
    table = Table(
        key="returns",
        title="Returns per campaign",
        columns=[
            Column("group", "Campaign", "text"),
            Column("kind", "Kind", "text"),
            Column("spend", "Spend", "money"),
            Column("members", "Members"),
            Column("influenced", "Leads influenced"),
            Column("won", "Won"),
            Column("conversion", "Conversion", "rate"),
            Column("won_value", "Won value", "money"),
            Column("cost_per_lead", "Cost per lead", "money"),
            Column("roi", "ROI", "ratio"),
        ],
        note="Influenced = opened or clicked an email, registered, attended, or arrived with the campaign's UTM "
        "campaign (ad and content campaigns). Spend = the campaign's own, or its share of the channel's spend "
        "periods over its dates. ROI = (won value − spend) ÷ spend.",
    )
    totals = {"spend": Decimal(0), "members": 0, "influenced": 0, "won": 0, "won_value": Decimal(0)}
    for campaign in campaigns.values():
        row = people.get(campaign.pk, {})
        spend = spend_of(campaign)
        figures = {
            "spend": spend,
            "members": row.get("members", 0),
            "influenced": row.get("influenced", 0),
            "won": row.get("won", 0),
            "won_value": row.get("won_value") or Decimal(0),
        }
        for key in totals:
            totals[key] += figures[key]
        table.rows.append(_returns_row(campaign.name, campaign.get_kind_display(), figures, campaign.pk))
    table.total = _returns_row("All campaigns", "", totals, None)
    return table, totals


def _returns_row(label: str, kind: str, f: dict, campaign_id: int | None) -> dict:
    def link(did):
        return _drill(campaign_id, did=did) if campaign_id else None

    return {
        "group": text(label, reverse("campaigns:detail", args=[campaign_id]) if campaign_id else None),
        "kind": text(kind),
        "spend": money(f["spend"]),
        "members": count(f["members"], link("")),
        "influenced": count(f["influenced"]),
        "won": count(f["won"], link("won")),
        "conversion": rate(f["won"], f["influenced"]),
        "won_value": money(f["won_value"]),
        "cost_per_lead": money_per(f["spend"], f["influenced"]),
        "roi": ratio(f["won_value"] - f["spend"], f["spend"]),
    }


def _events_table(campaigns: dict, people: dict, spend_of) -> Table:
    table = Table(
        key="events",
        title="Events",
        columns=[
            Column("group", "Campaign", "text"),
            Column("registered", "Registrations"),
            Column("attended", "Attended"),
            Column("attendance_rate", "Attendance rate", "rate"),
            Column("attendees_won", "Attendees won"),
            Column("attendee_conversion", "Attendee → won", "rate"),
            Column("cost_per_attendee", "Cost per attendee", "money"),
            Column("event_roi", "Event ROI", "ratio"),
        ],
        note="Attendance rate = attended ÷ registered · cost per attendee = spend ÷ attended · event ROI = "
        "(attendees' won value − spend) ÷ spend.",
    )
    for campaign in campaigns.values():
        if campaign.kind != Campaign.Kind.EVENT:
            continue
        row = people.get(campaign.pk, {})
        spend = spend_of(campaign)
        registered, attended, won = row.get("registered", 0), row.get("attended", 0), row.get("attendees_won", 0)
        won_value = row.get("attendees_won_value") or Decimal(0)
        table.rows.append(
            {
                "group": text(campaign.name, reverse("campaigns:detail", args=[campaign.pk])),
                "registered": count(registered, _drill(campaign.pk, did="registered")),
                "attended": count(attended, _drill(campaign.pk, did="attended")),
                "attendance_rate": rate(attended, registered),
                "attendees_won": count(won),
                "attendee_conversion": rate(won, attended),
                "cost_per_attendee": money_per(spend, attended),
                "event_roi": ratio(won_value - spend, spend),
            }
        )
    return table


def _attribution_table(scope: ReportScope) -> Table:
    """First and last touch of the leads won in the period, side by side.

    A lead's touches: each campaign it joined (when it registered, else when it joined), and its arrival with UTM
    parameters (at its creation: the campaign with that utm_campaign, else "UTM: source / campaign"). Only touches
    up to the win count. First touch = the earliest, last touch = the latest; each won lead's value goes to one
    touch per model, never split or counted twice.
    """
    won = Lead.objects.filter(
        scope.leads_q(all_time=True),
        stage=Stage.WON,
        won_at__gte=scope.period.starts_at,
        won_at__lt=scope.period.ends_before,
    )
    by_utm = dict(Campaign.objects.exclude(utm_campaign="").values_list("utm_campaign", "name"))
    touches: dict[int, list[tuple]] = {}
    leads = {}
    for pk, won_at, value, created_at, source, utm_campaign in won.values_list(
        "pk", "won_at", "deal_value", "created_at", "utm_source", "utm_campaign"
    ):
        leads[pk] = (won_at, value or Decimal(0))
        if source or utm_campaign:
            label = by_utm.get(utm_campaign) or f"UTM: {source or '–'} / {utm_campaign or '–'}"
            touches.setdefault(pk, []).append((created_at, 0, label))
    # By the won leads' ids (read once above) rather than the won-leads query again as a subquery, when they are a
    # list a query can carry.
    won_ids = list(leads) if len(leads) <= 10_000 else won.values("pk")
    memberships = Member.objects.filter(lead__in=won_ids).values_list(
        "lead_id", "registered_at", "added_at", "campaign_id", "campaign__name"
    )
    for lead_id, registered_at, added_at, campaign_id, name in memberships:
        touches.setdefault(lead_id, []).append((registered_at or added_at, campaign_id, name))
    first: dict[str, list] = {}
    last: dict[str, list] = {}
    for pk, (won_at, value) in leads.items():
        before = sorted(touch for touch in touches.get(pk, []) if touch[0] <= won_at)
        if not before:
            continue
        for model, touch in ((first, before[0]), (last, before[-1])):
            figures = model.setdefault(touch[2], [0, Decimal(0)])
            figures[0] += 1
            figures[1] += value
    table = Table(
        key="attribution",
        title="Attribution of the leads won in the period",
        columns=[
            Column("group", "Touch", "text"),
            Column("first_won", "First touch: won"),
            Column("first_value", "First touch: won value", "money"),
            Column("last_won", "Last touch: won"),
            Column("last_value", "Last touch: won value", "money"),
        ],
        note="Touches: campaigns joined (or registered for) and arrival with UTM parameters, up to the win. "
        "Each won lead counts once per model. Leads won without a recorded touch are not in this table.",
    )
    for label in sorted(set(first) | set(last)):
        f, l_ = first.get(label, [0, Decimal(0)]), last.get(label, [0, Decimal(0)])
        table.rows.append(
            {
                "group": text(label),
                "first_won": count(f[0]),
                "first_value": money(f[1]),
                "last_won": count(l_[0]),
                "last_value": money(l_[1]),
            }
        )
    table.rows.sort(key=lambda row: -(row["first_value"].value + row["last_value"].value))
    return table
