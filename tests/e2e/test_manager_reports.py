"""A manager's morning in a real browser: the dashboard, a report, a filter change in place, the leads behind a figure."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from crm import clock
from leads.models import StageChange
from reports.services import stats_refresh
from tests.e2e.test_rep_working_day import assert_not_reloaded, mark_page
from tests.factories import LeadFactory

pytestmark = pytest.mark.browser


def test_a_manager_reads_the_dashboard_filters_a_report_and_opens_the_leads_behind_a_figure(
    live_server, page: Page, screenshot, manager, rep, teammate, other_rep, channel
):
    now = clock.now()
    won = LeadFactory(
        owner=rep, channel=channel, name="Won Wendy", stage="won", deal_value=Decimal(900), won_at=now, created_at=now
    )
    contacted = LeadFactory(owner=teammate, channel=channel, name="Called Carl", stage="contacted", created_at=now)
    LeadFactory(owner=rep, channel=channel, name="Fresh Fiona", created_at=now)
    LeadFactory(owner=other_rep, channel=channel, name="Other Team Otto", created_at=now)
    for lead, stages in ((won, ["new", "contacted", "won"]), (contacted, ["new", "contacted"])):
        for i, stage in enumerate(stages):
            StageChange.objects.create(lead=lead, to_stage=stage, changed_at=now - dt.timedelta(hours=3 - i))
    stats_refresh(full=True)

    page.goto(f"{live_server.url}/")
    page.get_by_label("Username").fill("manager")
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Log in").click()

    # The manager's home is the dashboard: the team's figures only (not the other team's lead).
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    leads_card = page.locator(".headline").filter(has_text="Leads").first
    expect(leads_card.locator(".headline-value")).to_have_text("3")
    expect(page.get_by_role("link", name="My day »")).to_be_visible()
    screenshot("10-manager-dashboard")

    # The funnel report; changing the period updates the figures in place and in the address bar.
    page.get_by_role("navigation", name="Reports").get_by_role("link", name="Funnel").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Funnel")
    mark_page(page)
    page.get_by_label("Period").select_option("12m")
    expect(page).to_have_url(re.compile(r"[?&]period=12m"))
    expect(page.locator(".freshness")).to_contain_text("leads created in the period")
    assert_not_reloaded(page)
    screenshot("11-funnel-12-months")

    # "Reached Contacted: 2" opens exactly those two leads.
    stages = page.locator("#table-stages tbody tr")
    contacted_row = stages.filter(has_text="Contacted")
    expect(contacted_row.locator("td").nth(1)).to_have_text("2")
    contacted_row.locator("td").nth(1).get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/leads/\?.*reached=contacted"))
    rows = page.locator("#results tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("#results")).to_contain_text("Won Wendy")
    expect(page.locator("#results")).to_contain_text("Called Carl")
    screenshot("12-leads-behind-a-figure")
