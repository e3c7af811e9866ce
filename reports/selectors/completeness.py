"""Data completeness: the share of the leads created in the period with each key field filled in."""

from leads.filters import KEY_FIELDS
from reports import charts
from reports.scope import ReportScope
from reports.selectors.common import stats_total
from reports.tables import Column, Headline, ReportResult, Table, count, rate, text


def completeness_report(scope: ReportScope) -> ReportResult:
    totals = stats_total(scope)
    leads = totals["leads"]
    table = Table(
        key="fields",
        title="Key fields filled in",
        columns=[
            Column("group", "Field", "text"),
            Column("filled", "Filled in"),
            Column("missing", "Missing"),
            Column("filled_rate", "Filled in", "rate"),
        ],
    )
    for name, label in KEY_FIELDS.items():
        filled = totals[f"with_{name}"]
        table.rows.append(
            {
                "group": text(label),
                "filled": count(filled, scope.leads_url(filled=name)),
                "missing": count(leads - filled, scope.leads_url(missing=name)),
                "filled_rate": rate(filled, leads),
            }
        )
    table.chart_title = "Share of leads with the field filled in (%)"
    table.chart = charts.horizontal_bars(
        table.chart_title,
        [r["group"].text for r in table.rows],
        [None if r["filled_rate"].value is None else 100 * r["filled_rate"].value for r in table.rows],
        unit="%",
    )
    headlines = [
        Headline("Leads", count(leads, scope.leads_url())),
        Headline("Email filled", table.rows[0]["filled_rate"]),
        Headline("Phone filled", table.rows[1]["filled_rate"]),
        Headline("Industry filled", table.rows[4]["filled_rate"]),
    ]
    return ReportResult(headlines=headlines, tables=[table])
