"""Pre-aggregated figures the report pages read, so a 12-month page sums a few thousand rows, not a million leads.

`DailyLeadStats` holds, per day of creation (in the configured time zone), channel, owner and team, the counts and
sums every cohort figure is made of. `DailyAttributeStats` splits the same leads once more by an attribute
("industry", "region", "size", "grade", "response" bucket) and holds only the few measures the reports group by
those (a narrow table: a 12-month grouping reads a few hundred thousand small rows). `reports.services` rebuilds
the rows of the days whose leads changed (Celery, every few minutes) and the whole table nightly: the figures are
exact as of `StatsRefresh.refreshed_at`.
"""

from django.conf import settings
from django.db import models


# Database defaults too: the attribute rows are written by INSERT ... SELECT, which names only their measures.
def _count() -> models.PositiveIntegerField:
    return models.PositiveIntegerField(default=0, db_default=0)


def _seconds() -> models.BigIntegerField:
    return models.BigIntegerField(default=0, db_default=0)


class DailyLeadStats(models.Model):
    day = models.DateField()
    # No database constraints: rows are rebuilt wholesale, and a deleted user or channel must not block that.
    channel = models.ForeignKey(
        "leads.Channel", null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    team = models.ForeignKey("crm.Team", null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")

    # From the lead row.
    leads = _count()
    won = _count()
    lost = _count()
    won_value = models.DecimalField(max_digits=18, decimal_places=2, default=0, db_default=0)
    won_seconds = _seconds()  # sum over won leads of created → won
    open_new = _count()
    open_contacted = _count()
    open_qualified = _count()
    open_proposal = _count()
    responded = _count()
    response_seconds_total = _seconds()  # sum over responded leads
    response_under_5m = _count()
    response_5_30m = _count()
    response_30_60m = _count()
    response_1_24h = _count()
    response_over_24h = _count()
    lost_no_budget = _count()
    lost_no_need = _count()
    lost_competitor = _count()
    lost_no_response = _count()
    lost_bad_data = _count()
    lost_timing = _count()
    lost_other = _count()
    with_email = _count()
    with_phone = _count()
    with_company = _count()
    with_job_title = _count()
    with_industry = _count()
    with_company_size = _count()
    with_region = _count()

    # From the stage history.
    reached_contacted = _count()
    reached_qualified = _count()
    reached_proposal = _count()
    reached_won = _count()
    # Completed spells in a stage (entered, then left for another stage): how many, and their total length.
    spells_new = _count()
    spent_new = _seconds()
    spells_contacted = _count()
    spent_contacted = _seconds()
    spells_qualified = _count()
    spent_qualified = _seconds()
    spells_proposal = _count()
    spent_proposal = _seconds()

    class Meta:
        indexes = [models.Index(fields=["day"], name="dailystats_day_idx")]
        verbose_name_plural = "daily lead stats"

    def __str__(self) -> str:
        return f"{self.day}: {self.leads} leads"


class DailyAttributeStats(models.Model):
    day = models.DateField()
    channel = models.ForeignKey(
        "leads.Channel", null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    team = models.ForeignKey("crm.Team", null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    dimension = models.CharField(max_length=16)
    value = models.CharField(max_length=100, blank=True)
    leads = _count()
    won = _count()
    lost = _count()
    won_value = models.DecimalField(max_digits=18, decimal_places=2, default=0, db_default=0)

    class Meta:
        # Covering: a grouping reads only this index (an index-only scan on PostgreSQL).
        indexes = [
            models.Index(
                fields=["dimension", "day"],
                name="attributestats_dim_day_idx",
                include=["value", "channel", "owner", "team", "leads", "won", "lost", "won_value"],
            )
        ]
        verbose_name_plural = "daily attribute stats"

    def __str__(self) -> str:
        return f"{self.day} {self.dimension}={self.value}: {self.leads} leads"


class StatsRefresh(models.Model):
    """One row: when the figures were last rebuilt, and up to which change time they include."""

    refreshed_at = models.DateTimeField(null=True)
    # Leads changed at or after this moment (less a safety margin) are rebuilt by the next refresh.
    changes_seen_until = models.DateTimeField(null=True)
    full_rebuild_at = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return f"Report figures refreshed at {self.refreshed_at}"
