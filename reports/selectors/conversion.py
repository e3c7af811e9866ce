"""Conversion: leads won ÷ leads created in the period, by a grouping, beside the previous period of equal length."""

import datetime as dt

from django.db.models.functions import TruncMonth

from crm.models import Team, User
from leads.filters import BLANK, SIZE_BANDS
from leads.models import Channel, Grade, Stage
from reports import charts
from reports.periods import months_between
from reports.scope import ReportScope, owners_in_scope, teams_in_scope
from reports.selectors.common import linker, names_of, stats_by, stats_total
from reports.tables import Column, Headline, ReportResult, Table, change, count, money, points, rate, text

GROUPINGS = {
    "channel": "Channel",
    "owner": "Owner",
    "team": "Team",
    "industry": "Industry",
    "region": "Region",
    "size": "Company size",
    "grade": "Grade",
    "month": "Month of creation",
}
DEFAULT_GROUPING = "channel"
MEASURES = ("leads", "won", "won_value")


def _groups(scope: ReportScope, by: str) -> list[tuple[object, str, dict]]:
    """(key, label, leads-list filters) of every group to show, empty ones included where the groups are known."""
    if by == "channel":
        channels = (
            Channel.objects.filter(active=True) if not scope.channel else Channel.objects.filter(pk=scope.channel.pk)
        )
        return [(c.pk, c.name, {"channel": c.pk}) for c in channels]
    if by == "owner":
        owners = owners_in_scope(scope.user)
        if scope.owner:
            owners = owners.filter(pk=scope.owner.pk)
        elif scope.team:
            owners = owners.filter(team=scope.team)
        return [(u.pk, str(u), {"owner": u.pk}) for u in owners.order_by("first_name", "last_name", "username")]
    if by == "team":
        teams = teams_in_scope(scope.user) if not scope.own_leads_only else Team.objects.none()
        if scope.team:
            teams = teams.filter(pk=scope.team.pk)
        return [(t.pk, t.name, {"team": t.pk}) for t in teams]
    if by == "size":
        return [(k, label, {"size": k}) for k, label, _, _ in SIZE_BANDS] + [
            ("unknown", "Unknown", {"size": "unknown"})
        ]
    if by == "grade":
        return [(g.value, g.label, {"grade": g.value}) for g in Grade] + [("", "Not scored", None)]
    if by == "month":
        return [(m, f"{m:%b %Y}", {}) for m in months_between(scope.period)]
    return []  # industry, region: free text, only the values that occur


def _data(scope: ReportScope, by: str) -> dict:
    if by in ("channel", "owner", "team"):
        return stats_by(scope, by, measures=MEASURES)
    if by == "month":
        return stats_by(scope, {"month": TruncMonth("day")}, measures=MEASURES)
    return stats_by(scope, "value", dimension=by, measures=MEASURES)


def _month_key(value) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def conversion_report(scope: ReportScope, by: str = DEFAULT_GROUPING) -> ReportResult:
    by = by if by in GROUPINGS else DEFAULT_GROUPING
    previous_scope = scope.previous()
    current, previous = _data(scope, by), _data(previous_scope, by)
    if by == "month":
        current = {_month_key(k): v for k, v in current.items()}
        previous = {}  # each month is its own period; the change is read down the column

    groups = _groups(scope, by)
    known = {key for key, _, _ in groups}
    extra = sorted((k for k in {*current, *previous} if k not in known), key=lambda k: (k is None, str(k)))
    if by in ("channel", "owner", "team"):
        model = {"channel": Channel, "owner": User, "team": Team}[by]
        labels = names_of(model, extra)
        none_label = {"channel": "No channel", "owner": "Pool (no owner)", "team": "No team"}[by]
        groups += [(k, labels.get(k, none_label if k is None else f"#{k}"), _filters_for(by, k)) for k in extra]
    elif by in ("industry", "region"):
        groups += [(k, k or "(blank)", {by: k or BLANK}) for k in extra]
    elif by == "grade":
        groups += [(k, k, None) for k in extra]

    table = Table(
        key="conversion",
        title=f"Conversion by {GROUPINGS[by].lower()}",
        columns=[
            Column("group", GROUPINGS[by], "text"),
            Column("leads", "Leads"),
            Column("won", "Won"),
            Column("conversion_rate", "Conversion", "rate"),
            Column("won_value", "Won value", "money"),
        ],
    )
    if by != "month":
        table.columns += [
            Column("previous_leads", "Leads before"),
            Column("previous_won", "Won before"),
            Column("previous_conversion_rate", "Conversion before", "rate"),
            Column("conversion_change", "Change", "points"),
            Column("leads_change", "Leads change", "percent"),
        ]
        table.note = f"“Before” is {previous_scope.period.label}, the period of equal length just before."
    empty = dict.fromkeys(MEASURES, 0)
    for key, label, filters in groups:
        now, before = current.get(key, empty), previous.get(key, empty)
        if by == "month":
            month_end = min(
                (key.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1), scope.period.end
            )
            month_start = max(key, scope.period.start)
            filters = {"created_after": month_start.isoformat(), "created_before": month_end.isoformat()}
        link = linker(scope, filters)
        link_before = linker(previous_scope, filters)
        row = {
            "group": text(label),
            "leads": count(now["leads"], link()),
            "won": count(now["won"], link(stage=Stage.WON.value)),
            "conversion_rate": rate(now["won"], now["leads"]),
            "won_value": money(now["won_value"]),
        }
        if by != "month":
            row["previous_leads"] = count(before["leads"], link_before())
            row["previous_won"] = count(before["won"], link_before(stage=Stage.WON.value))
            row["previous_conversion_rate"] = rate(before["won"], before["leads"])
            row["conversion_change"] = points(row["conversion_rate"], row["previous_conversion_rate"])
            row["leads_change"] = change(now["leads"], before["leads"])
        table.rows.append(row)

    total, total_before = stats_total(scope, measures=MEASURES), stats_total(previous_scope, measures=MEASURES)
    table.total = {
        "group": text("All"),
        "leads": count(total["leads"], scope.leads_url()),
        "won": count(total["won"], scope.leads_url(stage=Stage.WON.value)),
        "conversion_rate": rate(total["won"], total["leads"]),
        "won_value": money(total["won_value"]),
    }
    if by != "month":
        table.total.update(
            previous_leads=count(total_before["leads"], previous_scope.leads_url()),
            previous_won=count(total_before["won"], previous_scope.leads_url(stage=Stage.WON.value)),
            previous_conversion_rate=rate(total_before["won"], total_before["leads"]),
        )
        table.total["conversion_change"] = points(
            table.total["conversion_rate"], table.total["previous_conversion_rate"]
        )
        table.total["leads_change"] = change(total["leads"], total_before["leads"])

    labels = [row["group"].text for row in table.rows]
    conversion_values = [
        None if r["conversion_rate"].value is None else 100 * r["conversion_rate"].value for r in table.rows
    ]
    if by == "month":
        table.chart_title = "Leads and won per month"
        table.chart = charts.lines(
            "Leads and won per month",
            labels,
            {"Leads": [r["leads"].value for r in table.rows], "Won": [r["won"].value for r in table.rows]},
        )
    else:
        table.chart_title = f"Conversion by {GROUPINGS[by].lower()} (%)"
        table.chart = charts.horizontal_bars(table.chart_title, labels, conversion_values, unit="%")
    headlines = [
        Headline("Leads", count(total["leads"], scope.leads_url()), detail=_vs(total["leads"], total_before["leads"])),
        Headline("Won", count(total["won"], scope.leads_url(stage=Stage.WON.value))),
        Headline(
            "Conversion",
            table.total["conversion_rate"],
            detail=f"{points(table.total['conversion_rate'], rate(total_before['won'], total_before['leads'])).text} vs before",
        ),
        Headline("Won value", money(total["won_value"], whole=True)),
    ]
    return ReportResult(headlines=headlines, tables=[table])


def _filters_for(by: str, key) -> dict | None:
    """List filters for a group found in the data; None when the list cannot show exactly that group."""
    if key:
        return {by: key}
    return {"pool": "on"} if by == "owner" else None


def _vs(now: int, before: int) -> str:
    return f"{change(now, before).text} vs before ({before:,})"
