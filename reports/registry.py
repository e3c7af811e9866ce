"""The reports, in the order the navigation shows them.

A report is a slug, a title, who may open it, and a function from a `ReportScope` (the user's permissions plus
the filters in the URL) to a `ReportResult`. The page, its htmx partial and `?format=csv` are the same view for
every report (`reports.views.report`). To add one (pool and recovery, scoring health...), write its selector in
`reports/selectors/` and append a `Report` here: the page, filters, CSV, links and permissions come with it.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from crm import access
from reports.scope import ReportScope
from reports.selectors.campaigns import campaigns_report
from reports.selectors.completeness import completeness_report
from reports.selectors.conversion import DEFAULT_GROUPING, GROUPINGS, conversion_report
from reports.selectors.customers import (
    VALUE_GROUPINGS,
    churn_report,
    cohorts_report,
    customer_value_report,
    satisfaction_report,
)
from reports.selectors.economics import economics_report
from reports.selectors.funnel import funnel_report
from reports.selectors.grades import grades_report
from reports.selectors.pool import pool_report
from reports.selectors.speed import speed_report
from reports.selectors.team import team_report
from reports.selectors.velocity import velocity_report
from reports.tables import ReportResult


@dataclass(frozen=True)
class Report:
    slug: str
    title: str
    summary: str
    build: Callable[..., ReportResult]
    reps_allowed: bool = True
    # A report with variants (conversion "by channel", "by owner"...) names them; `?by=` picks one.
    options: dict[str, str] = field(default_factory=dict)
    default_option: str = ""
    # What the period selects, said under the filters.
    period_selects: str = "leads created in the period"
    # Computed from the base tables at each view (the customer reports), not from the refreshed rollups.
    live: bool = False

    def run(self, scope: ReportScope, option: str = "") -> ReportResult:
        if self.options:
            return self.build(scope, option if option in self.options else self.default_option)
        return self.build(scope)

    def allowed_for(self, user) -> bool:
        return self.reps_allowed or access.can_see_team_reports(user)


REPORTS: dict[str, Report] = {
    report.slug: report
    for report in (
        Report("funnel", "Funnel", "Leads per stage, stage conversion and drop-off, lost reasons.", funnel_report),
        Report(
            "conversion",
            "Conversion",
            "Won ÷ created by channel, owner, team, industry, region, size, grade or month, against the period before.",
            conversion_report,
            options=GROUPINGS,
            default_option=DEFAULT_GROUPING,
        ),
        Report(
            "velocity", "Velocity", "Days from created to won, time in each stage, open leads ageing.", velocity_report
        ),
        Report(
            "economics",
            "Channel economics",
            "Spend, cost per lead, CAC, won value, return on spend and CLV ÷ CAC per channel.",
            economics_report,
            reps_allowed=False,
        ),
        Report(
            "speed",
            "Speed to lead",
            "First response time (average, median, p90) and conversion by response time.",
            speed_report,
        ),
        Report(
            "team",
            "Team",
            "Leaderboard: open leads, overdue tasks, response time, conversion, won value.",
            team_report,
            reps_allowed=False,
        ),
        Report(
            "completeness", "Data completeness", "Share of leads with each key field filled in.", completeness_report
        ),
        Report(
            "pool",
            "Pool and recovery",
            "Leads waiting in the pool, claims, reclaims by rule and rep, recovery rate and cycle by channel and region.",
            pool_report,
            period_selects="claims and reclaims in the period; the pool as it is now",
        ),
        Report(
            "campaigns",
            "Campaigns",
            "Sent, open, click and unsubscribe rates per email and variant, A/B tests, events, returns per campaign.",
            campaigns_report,
            reps_allowed=False,
            period_selects="campaigns starting in the period",
        ),
        Report(
            "grades",
            "Scoring health",
            "Conversion per grade for closed leads, ROC AUC of the published model, grades by month.",
            grades_report,
        ),
        Report(
            "clv",
            "Customer value",
            "CLV from recorded revenue per channel or segment, CAC of new customers, CLV ÷ CAC.",
            customer_value_report,
            reps_allowed=False,
            options=VALUE_GROUPINGS,
            default_option="channel",
            period_selects="customers new in the period (CAC); CLV from every order recorded to date",
            live=True,
        ),
        Report(
            "churn",
            "Churn",
            "Customers lost ÷ customers at the start, by month and channel, under the churn rule in force.",
            churn_report,
            period_selects="customers at the start of each month and those lost in it",
            live=True,
        ),
        Report(
            "cohorts",
            "Revenue by cohort",
            "Revenue of each month's new customers, by months since they became customers.",
            cohorts_report,
            period_selects="customers new in the period; their orders to date",
            live=True,
        ),
        Report(
            "satisfaction",
            "Satisfaction",
            "CSAT and NPS of customers' survey answers, by channel and month.",
            satisfaction_report,
            period_selects="survey answers given in the period",
            live=True,
        ),
    )
}


def reports_for(user) -> list[Report]:
    return [report for report in REPORTS.values() if report.allowed_for(user)]
