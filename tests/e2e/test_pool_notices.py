"""Item 6 of issue 15, in a browser: an admin sees how many leads a reclaim rule would take before switching it
on; the rep sees the leads at risk on My day; once the rule took them, "2 of your leads went back to the pool"
opens exactly those two, not the whole pool."""

import datetime as dt
import re

import pytest
import time_machine
from playwright.sync_api import Page, expect

from crm import clock
from leads import services
from leads.models import ReclaimRule
from leads.routing import reclaim
from tests.e2e.test_speed_to_lead import log_in
from tests.factories import LeadFactory

pytestmark = pytest.mark.browser


def test_a_rule_is_previewed_its_leads_shown_at_risk_and_the_notice_opens_exactly_them(
    live_server, page: Page, screenshot, admin_user, rep, channel
):
    with time_machine.travel(clock.now() - dt.timedelta(days=4), tick=False):
        ada = services.lead_create(user=rep, name="Ada Neglected")
        grace = services.lead_create(user=rep, name="Grace Neglected")
    LeadFactory(owner=None, channel=channel, name="Someone Else In The Pool")
    rule = reclaim.reclaim_rule_save(
        user=admin_user,
        rule=ReclaimRule(name="Untouched 3 days", kind="no_outbound", days=3, warn_hours=24, active=False),
    )

    # The admin, before switching it on: how many leads would it take?
    log_in(page, live_server.url, "admin")
    page.goto(f"{live_server.url}/leads/setup/routing/")
    expect(page.get_by_text("would take 2 leads if switched on now")).to_be_visible()
    page.get_by_role("link", name="Untouched 3 days").click()
    expect(page.locator(".reclaim-preview")).to_contain_text("warn the owners of 2 leads")
    page.get_by_label("Days").fill("10")
    page.get_by_role("button", name="Count the leads it would take").click()
    expect(page.locator(".reclaim-preview")).to_contain_text("warn the owners of 0 leads")
    screenshot("pool-01-preview")
    assert ReclaimRule.objects.get(pk=rule.pk).days == 3  # a dry run saves nothing
    rule.active = True
    rule.save()
    page.get_by_role("button", name="Log out").click()

    # The first sweep warns; the rep's My day lists both leads at risk.
    reclaim.reclaim_sweep()
    log_in(page, live_server.url, "rep")
    at_risk = page.locator("#at-risk")
    expect(at_risk).to_contain_text("Ada Neglected")
    expect(at_risk).to_contain_text("Grace Neglected")
    expect(at_risk).to_contain_text("back to the pool")
    screenshot("pool-02-at-risk")

    # A day later the rule takes them; the notice opens exactly those two.
    with time_machine.travel(clock.now() + dt.timedelta(hours=25), tick=False):
        assert reclaim.reclaim_sweep().reclaimed == 2
    page.goto(f"{live_server.url}/notifications/")
    page.get_by_role("button", name=re.compile(r"2 of your leads went back to the pool")).click()
    expect(page).to_have_url(re.compile(r"/leads/\?reclaimed=\w+"))
    rows = page.locator("#results tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("#results")).to_contain_text(ada.name)
    expect(page.locator("#results")).to_contain_text(grace.name)
    expect(page.locator("#results")).not_to_contain_text("Someone Else In The Pool")
    screenshot("pool-03-exactly-those")
