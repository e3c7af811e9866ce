"""A rep's working day in a real browser: find a lead, call it, qualify it, plan and finish the follow-up."""

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from crm import clock
from leads.models import FollowUpTask, Interaction, Lead
from tests.factories import LeadFactory

pytestmark = pytest.mark.browser

NO_RELOAD_MARKER = "window.__stillTheSamePage"


def mark_page(page: Page) -> None:
    """Put a marker on `window`: a full page load would wipe it, an htmx swap keeps it."""
    page.evaluate(f"{NO_RELOAD_MARKER} = true")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate(NO_RELOAD_MARKER) is True, "the page was reloaded instead of updated in place"


def test_a_rep_finds_a_lead_calls_it_qualifies_it_and_completes_the_follow_up(
    live_server, page: Page, screenshot, rep, lead, channel
):
    LeadFactory(owner=rep, channel=channel, name="Grace Hopper", company="Compilers Inc")
    due = dt.datetime.combine(clock.today() + dt.timedelta(days=2), dt.time(9, 30))  # local time, like the form

    # Log in through the form (My day is behind the login).
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(re.compile(r"/login/"))
    page.get_by_label("Username").fill("rep")
    page.get_by_label("Password").fill("demo")
    screenshot("01-login")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(rep.first_name)

    # The leads list: searching narrows the table in place and pushes ?q= to the address bar.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Leads").click()
    rows = page.locator("#results tbody tr")
    expect(rows).to_have_count(2)
    screenshot("02-list")
    mark_page(page)
    page.get_by_role("searchbox", name="Search", exact=True).press_sequentially("Ada")
    expect(page).to_have_url(re.compile(r"[?&]q=Ada\b"))
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Ada Lovelace")
    assert_not_reloaded(page)
    screenshot("03-list-searched")

    # The lead page.
    page.get_by_role("link", name="Ada Lovelace").click()
    header = page.locator("#lead-header")
    timeline = page.locator("#timeline")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Ada Lovelace")
    expect(header.locator(".badge")).to_have_text("New")
    screenshot("04-lead")
    mark_page(page)

    # Log a call in two clicks; the first outbound call moves the lead from New to Contacted.
    page.locator("summary", has_text="Log call").click()
    page.get_by_role("button", name="Connected", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("✓ Call logged.")
    expect(timeline.locator(".tl-kind-call")).to_contain_text("Connected")
    expect(header.locator(".badge")).to_have_text("Contacted")
    expect(page.locator("#stage .step-current")).to_have_text("Contacted")
    assert_not_reloaded(page)
    screenshot("05-call-logged")

    # Qualify it from the Stage panel.
    page.locator("#stage").get_by_role("button", name="Qualified").click()
    expect(header.locator(".badge")).to_have_text("Qualified")
    expect(page.locator("#stage .step-current")).to_have_text("Qualified")
    expect(timeline).to_contain_text("→ Qualified")
    assert_not_reloaded(page)
    screenshot("06-qualified")

    # Plan the follow-up...
    tasks = page.locator("#tasks")
    tasks.get_by_label("Next step").fill("Send the proposal")
    tasks.get_by_label("Due").fill(due.strftime("%Y-%m-%dT%H:%M"))
    tasks.get_by_role("button", name="Add follow-up").click()
    task = tasks.locator("li.task", has_text="Send the proposal")
    expect(task).to_contain_text(due.strftime("%a %H:%M"))
    expect(task).not_to_have_class(re.compile(r"\btask-done\b"))
    screenshot("07-task-added")

    # ...and tick it off.
    task.get_by_role("button", name="Complete “Send the proposal”").click()
    expect(task).to_have_class(re.compile(r"\btask-done\b"))
    expect(task.get_by_role("button", name="Reopen “Send the proposal”")).to_be_visible()
    expect(task).to_contain_text("done")
    assert_not_reloaded(page)
    screenshot("08-task-done")

    page.set_viewport_size({"width": 390, "height": 844})
    screenshot("09-lead-phone")

    lead.refresh_from_db()
    assert lead.stage == "qualified"
    interaction = Interaction.objects.get(lead=lead)
    assert (interaction.kind, interaction.outcome, interaction.user) == ("call", "connected", rep)
    follow_up = FollowUpTask.objects.get(lead=lead)
    assert follow_up.title == "Send the proposal"
    assert timezone.localtime(follow_up.due_at).replace(tzinfo=None) == due
    assert follow_up.done_at is not None
    assert Lead.objects.get(name="Grace Hopper").stage == "new"
