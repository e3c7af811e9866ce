"""Item 4 of issue 15: right after `make run` (leads seeded, the report tables never refreshed, beat not run yet),
a manager's first look at the reports shows the real counts, says how fresh they are, and an empty period shows
an empty state instead of zeros on a broken axis."""

import pytest
from playwright.sync_api import Page, expect

from reports.models import StatsRefresh
from tests.e2e.test_speed_to_lead import log_in
from tests.factories import LeadFactory

pytestmark = pytest.mark.browser


def test_a_managers_first_look_at_the_reports_shows_the_real_counts_and_their_age(
    live_server, page: Page, screenshot, manager, rep, teammate, channel
):
    for owner in (rep, rep, teammate):
        LeadFactory(owner=owner, channel=channel)
    assert not StatsRefresh.objects.exists()  # as after seeding: nothing has computed the counts

    log_in(page, live_server.url, "manager")
    page.goto(f"{live_server.url}/reports/funnel/?period=month")
    results = page.locator("#results")
    expect(results.locator(".freshness")).to_contain_text("refreshed every 5 min")
    expect(results.locator(".freshness")).not_to_contain_text("manage.py")
    # The funnel's first row, "New": the three leads, on the first view.
    new_row = results.locator("#table-stages tbody tr").first
    expect(new_row).to_contain_text("3")
    expect(results.locator("#table-stages figure.chart img.chart-image")).to_be_visible()
    screenshot("reports-01-first-view")

    # A period with no leads: an empty state where the chart would be.
    page.goto(f"{live_server.url}/reports/funnel/?period=custom&start=2020-01-01&end=2020-01-31")
    expect(page.locator("#table-stages .chart-empty")).to_contain_text("Nothing to chart yet")
    expect(page.locator("#table-stages figure.chart")).to_have_count(0)
    screenshot("reports-02-empty-period")
