"""Channel economics: what each channel cost and what it brought, for the leads created in the period.

- Spend in the period: each spend record (a date range and an amount) counts in proportion to the days it
  shares with the period: amount × (days in both ÷ days of the record), both ends included.
- When the figures are narrower than the whole company (a manager's teams, a team or an owner filter), a
  channel's spend is attributed in proportion to its leads: spend × (leads in view ÷ all the channel's leads in
  the period). Cost per lead is then the channel's; CAC and return on spend are the view's.
- CPL = spend ÷ leads; CAC = spend ÷ won; return on spend = won value ÷ spend.
- CLV = the channel's customers' lifetime value from their recorded orders (`customers.figures`: revenue per
  customer per year × average lifetime, or the simple formula while their history is short, labelled); shown as
  CLV ÷ CAC.
"""

from decimal import Decimal

from django.db.models import Q

from crm import clock
from customers.figures import clv, value_sums
from customers.models import Account
from leads.models import Channel, ChannelSpend, Stage
from reports import charts
from reports.periods import Period
from reports.scope import ReportScope
from reports.selectors.common import linker, stats_by
from reports.tables import Column, Headline, ReportResult, Table, count, money, money_per, ratio, text

MEASURES = ("leads", "won", "won_value")
FORMULAS = "\n".join(
    (
        "Spend in the period = each spend record's amount × (days it shares with the period ÷ its days), ends included.",
        "Cost per lead = spend ÷ leads created in the period · CAC = spend ÷ those leads won.",
        "Return on spend = won deal value ÷ spend.",
        "CLV = the channel's customers' lifetime value from their recorded orders (see the Customer value report: "
        "recorded revenue per customer per year × average lifetime, or the simple formula while history is short).",
        "A view narrower than the whole company gets each channel's spend in proportion to its share of the "
        "channel's leads.",
    )
)


def spend_in_period(period: Period, channel_ids=None) -> dict[int, Decimal]:
    """Spend per channel prorated to the period by days. The records are few (one per channel and month), and
    exact decimal arithmetic matters more here than where the multiplication runs."""
    records = ChannelSpend.objects.filter(period_start__lte=period.end, period_end__gte=period.start)
    if channel_ids is not None:
        records = records.filter(channel__in=channel_ids)
    spend: dict[int, Decimal] = {}
    for channel_id, start, end, amount in records.values_list("channel", "period_start", "period_end", "amount"):
        shared = (min(end, period.end) - max(start, period.start)).days + 1
        length = (end - start).days + 1
        spend[channel_id] = spend.get(channel_id, Decimal(0)) + amount * shared / length
    return spend


def economics_report(scope: ReportScope) -> ReportResult:
    channel_ids = [scope.channel.pk] if scope.channel else None
    spend = spend_in_period(scope.period, channel_ids)
    in_view = stats_by(scope, "channel", measures=MEASURES)
    customers = Account.objects.filter(scope.customers_q())
    lifetime = value_sums(customers, "channel", today=clock.today())
    if scope.is_everything:
        company = in_view
    else:
        # The channel's leads company-wide, for attributing its spend.
        company = stats_by(
            ReportScope(user=scope.user, period=scope.period, channel=scope.channel), "channel", measures=("leads",)
        )

    channels = Channel.objects.filter(Q(active=True) | Q(pk__in=[*spend, *(k for k in in_view if k)]))
    if scope.channel:
        channels = channels.filter(pk=scope.channel.pk)
    table = Table(
        key="channels",
        title="Channel economics",
        columns=[
            Column("group", "Channel", "text"),
            Column("spend", "Spend", "money"),
            Column("leads", "Leads"),
            Column("cost_per_lead", "Cost per lead", "money"),
            Column("won", "Won"),
            Column("cac", "CAC", "money"),
            Column("won_value", "Won value", "money"),
            Column("return_on_spend", "Return on spend", "ratio"),
            Column("clv", "CLV", "money"),
            Column("clv_to_cac", "CLV ÷ CAC", "ratio"),
        ],
        note=FORMULAS,
    )
    totals = {"spend": Decimal(0), "leads": 0, "won": 0, "won_value": Decimal(0)}
    empty = dict.fromkeys(MEASURES, 0)
    for channel in channels:
        data = in_view.get(channel.pk, empty)
        channel_spend = spend.get(channel.pk, Decimal(0))
        if not scope.is_everything:
            all_leads = company.get(channel.pk, {}).get("leads", 0)
            channel_spend = channel_spend * data["leads"] / all_leads if all_leads else Decimal(0)
        row = _row(scope, channel.name, {"channel": channel.pk}, channel_spend, data, lifetime.get(channel.pk))
        table.rows.append(row)
        totals["spend"] += channel_spend
        for key in ("leads", "won", "won_value"):
            totals[key] += data[key]
    if None in in_view and not scope.channel:
        data = in_view[None]
        table.rows.append(_row(scope, "No channel", None, Decimal(0), data, lifetime.get(None)))
        for key in ("leads", "won", "won_value"):
            totals[key] += data[key]
    lifetime_total = value_sums(customers, None, today=clock.today())[None]
    table.total = _row(scope, "All channels", {}, totals["spend"], totals, lifetime_total)
    labels = [r["group"].text for r in table.rows]
    table.chart_title = "Return on spend by channel (won value per 1 spent)"
    table.chart = charts.horizontal_bars(
        table.chart_title, labels, [r["return_on_spend"].value for r in table.rows], unit="×"
    )
    headlines = [
        Headline("Spend", money(totals["spend"], whole=True)),
        Headline("Cost per lead", money_per(totals["spend"], totals["leads"]), detail=f"{totals['leads']:,} leads"),
        Headline("CAC", money_per(totals["spend"], totals["won"]), detail=f"{totals['won']:,} won"),
        Headline("Return on spend", ratio(totals["won_value"], totals["spend"])),
    ]
    notes = []
    if not scope.is_everything:
        notes.append("Spend is attributed to this view in proportion to its share of each channel's leads.")
    return ReportResult(headlines=headlines, tables=[table], notes=notes)


def _row(scope, label, filters, spend: Decimal, data: dict, lifetime: dict | None) -> dict:
    link = linker(scope, filters)
    value, method, *_ = clv(lifetime or {"customers": 0, "revenue": 0, "orders": 0, "observed": 0, "lived": 0})
    customers = lifetime["customers"] if lifetime else 0
    cac = spend / data["won"] if data["won"] else None
    return {
        "group": text(label),
        "spend": money(spend),
        "leads": count(data["leads"], link()),
        "cost_per_lead": money_per(spend, data["leads"]),
        "won": count(data["won"], link(stage=Stage.WON.value)),
        "cac": money_per(spend, data["won"]),
        "won_value": money(data["won_value"]),
        "return_on_spend": ratio(data["won_value"], spend),
        "clv": money(value, sub=f"{customers:,} customers{' · simple formula' if method == 'simple' else ''}"),
        "clv_to_cac": ratio(value, cac) if value is not None and cac else ratio(0, 0),
    }
