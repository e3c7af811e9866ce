"""Speed to lead in a real browser: an admin sets a target, a rep watches the clock run down and answers."""

import datetime as dt
import re

import pytest
from playwright.sync_api import Page, expect

from crm import clock
from leads.models import Lead, ResponseClock, ResponsePolicy
from leads.sla.services import response_clocks_recompute
from tests.factories import LeadFactory
from tests.workers import own_queue, wait_for, worker_on

pytestmark = pytest.mark.browser


def log_in(page: Page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()


def test_an_admin_sets_a_target_and_the_rep_answers_before_the_countdown_runs_out(
    live_server, page: Page, screenshot, admin_user, rep, channel
):
    lead = LeadFactory(
        owner=rep, channel=channel, name="Ada Lovelace", created_at=clock.now() - dt.timedelta(minutes=2)
    )

    # The admin creates a 5-minute target; a bad value is refused next to its field, in place.
    log_in(page, live_server.url, "admin")
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_text("Settings").click()  # admins' settings menu
    nav.get_by_role("link", name="Response SLA").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Response targets")
    page.get_by_role("link", name="+ New target").click()
    page.get_by_label("Name").fill("Everyone")
    page.get_by_label("Answer within (minutes)").fill("0")
    page.get_by_role("button", name="Save target").click()
    expect(page.locator("#id_target_minutes_error")).to_contain_text("A target is at least 1 minute.")
    screenshot("sla-01-target-error")
    page.get_by_label("Answer within (minutes)").fill("5")
    # Saving queues the re-timing of running clocks on Redis; a real Celery worker does it.
    with own_queue("e2e-sla"), worker_on("e2e-sla"):
        page.get_by_role("button", name="Save target").click()
        expect(page).to_have_url(re.compile(r"/leads/sla/$"))
        expect(page.locator("table")).to_contain_text("Everyone")
        screenshot("sla-02-targets")
        wait_for(ResponseClock.objects.filter(lead=lead, due_at__isnull=False).exists, what="the re-timing")
    assert ResponsePolicy.objects.get().target_minutes == 5
    page.get_by_role("button", name="Log out").click()

    # The rep sees the clock tick down on the lead page, without a reload.
    log_in(page, live_server.url, "rep")
    page.goto(f"{live_server.url}{lead.get_absolute_url()}")
    countdown = page.locator("#lead-header [data-sla-left]")
    expect(countdown).to_contain_text("answer within 2 min")
    first = countdown.inner_text()
    page.evaluate("window.__stillTheSamePage = true")
    expect(countdown).not_to_have_text(first, timeout=5000)  # it ticks
    screenshot("sla-03-countdown")

    # A call stops the clock: the header now says how fast the answer came.
    page.locator("summary", has_text="Log call").click()
    page.get_by_role("button", name="Connected", exact=True).click()
    expect(page.locator("#lead-header")).to_contain_text("answered in 2 min")
    expect(page.locator("#lead-header")).to_contain_text("within target")
    expect(page.locator("#lead-header [data-sla-left]")).to_have_count(0)
    assert page.evaluate("window.__stillTheSamePage") is True
    screenshot("sla-04-answered")
    lead.refresh_from_db()
    assert lead.first_response_at is not None and lead.sla_next_at is None


def test_a_rep_corrects_the_first_response_on_the_timeline(live_server, page: Page, screenshot, rep, channel):
    from leads import services

    ResponsePolicy.objects.create(name="Everyone", target_minutes=60)
    lead = LeadFactory(
        owner=rep, channel=channel, name="Grace Hopper", created_at=clock.now() - dt.timedelta(minutes=20)
    )
    response_clocks_recompute()
    services.interaction_log(lead=lead, user=rep, kind="call", outcome="connected")
    log_in(page, live_server.url, "rep")
    page.goto(f"{live_server.url}{lead.get_absolute_url()}")
    expect(page.locator("#lead-header")).to_contain_text("answered in 20 min")

    # It was logged by mistake: deleting it puts the clock back (40 minutes left).
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#timeline .tl-kind-call").get_by_role("button", name="Delete").click()
    expect(page.locator("#lead-header [data-sla-left]")).to_contain_text("answer within 39 min")
    expect(page.locator("#timeline .tl-kind-call")).to_have_count(0)
    screenshot("sla-05-response-deleted")
    assert Lead.objects.get(pk=lead.pk).first_response_at is None
