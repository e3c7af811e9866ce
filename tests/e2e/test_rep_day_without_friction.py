"""Issue 15's journeys in a real browser, the failing path of each first: a merge keeps the won deal; a reassigned
lead's follow-up moves to the new owner, who snoozes, edits and deletes it in place; a call back-dated after a
breach leaves the breach standing; an edited field shows on the timeline."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from crm import clock
from leads import services
from leads.models import FollowUpTask, Lead, ResponsePolicy, Stage
from leads.sla.services import response_clocks_recompute
from tests.factories import LeadFactory, TaskFactory

pytestmark = pytest.mark.browser

NO_RELOAD_MARKER = "window.__stillTheSamePage"


def log_in(page: Page, base: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Log in").click()
    expect(page).not_to_have_url(re.compile(r"/login/"))


def mark_page(page: Page) -> None:
    page.evaluate(f"{NO_RELOAD_MARKER} = true")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate(NO_RELOAD_MARKER) is True, "the page was reloaded instead of updated in place"


def test_merging_a_won_duplicate_into_an_older_contacted_lead_keeps_won_8500(
    live_server, page: Page, screenshot, manager, rep, teammate
):
    older = LeadFactory(
        owner=rep, name="Grace Hopper", email="grace@navy.mil", created_at=clock.now() - dt.timedelta(days=9)
    )
    services.lead_change_stage(lead=older, user=rep, stage=Stage.CONTACTED)
    twin = LeadFactory(owner=teammate, name="G. Hopper", email="GRACE@navy.mil", company="US Navy")
    services.lead_change_stage(lead=twin, user=teammate, stage=Stage.PROPOSAL)
    services.lead_change_stage(lead=twin, user=teammate, stage=Stage.WON, deal_value=Decimal("8500"))

    log_in(page, live_server.url, "manager")
    page.goto(f"{live_server.url}/leads/duplicates/")
    group = page.get_by_role("form", name="grace@navy.mil")
    # The page's defaults keep the older (Contacted) lead and fold the Won one into it: the trap.
    expect(group.get_by_label("Keep Grace Hopper")).to_be_checked()
    group.get_by_role("button", name="Review merge…").click()

    # The review shows the conflict field by field, and by default the won deal survives.
    conflicts = page.get_by_role("table", name="Conflicts")
    outcome = conflicts.locator("#conflict-outcome")
    expect(outcome).to_contain_text("Won 8,500.00")
    expect(outcome).to_contain_text("Contacted since")
    expect(outcome.get_by_role("radio", name=re.compile(r"Won 8,500\.00"))).to_be_checked()
    expect(page.locator("#merge-outcome")).to_contain_text("Won 8,500")
    screenshot("issue15-merge-01-review")
    page.get_by_role("button", name="Merge 1 lead").click()

    expect(page).to_have_url(re.compile(rf"/leads/{older.pk}/$"))
    header = page.locator("#lead-header")
    expect(header).to_contain_text("Won 8,500.00")
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text(f"from merged lead G. Hopper (#{twin.pk})")
    expect(timeline).to_contain_text("Merged in:")
    screenshot("issue15-merge-02-survivor")
    kept = Lead.objects.get(pk=older.pk)
    assert kept.stage == Stage.WON and kept.deal_value == Decimal("8500")

    # The merged lead's old address leads to the survivor (it answered 404 before).
    page.goto(f"{live_server.url}/leads/{twin.pk}/")
    expect(page).to_have_url(re.compile(rf"/leads/{older.pk}/\?merged_from={twin.pk}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Grace Hopper")
    expect(page.get_by_text(f"Lead #{twin.pk} was merged into this one")).to_be_visible()


def test_a_reassigned_leads_follow_up_moves_to_the_new_owner_who_works_it_in_place(
    live_server, page: Page, screenshot, manager, rep, teammate, lead
):
    TaskFactory(lead=lead, assignee=rep, title="Send the proposal", due_at=clock.now() + dt.timedelta(minutes=20))

    log_in(page, live_server.url, "rep")
    expect(page.locator("#tasks-h").locator("..")).to_contain_text("Send the proposal")

    log_in(page, live_server.url, "manager")
    page.goto(f"{live_server.url}{lead.get_absolute_url()}")
    page.get_by_text("Reassign…").click()
    page.get_by_label("New owner", exact=True).select_option(label=str(teammate))
    expect(page.get_by_label("Go to the new owner")).to_be_checked()
    screenshot("issue15-tasks-01-reassign-dialog")
    page.get_by_role("button", name="Reassign", exact=True).click()
    expect(page.get_by_text("its open follow-ups went along")).to_be_visible()
    expect(page.locator("#timeline")).to_contain_text("1 open follow-up moved to the new owner")

    # The old owner's My day no longer lists it.
    log_in(page, live_server.url, "rep")
    expect(page.get_by_role("heading", level=1)).to_contain_text(rep.first_name)
    expect(page.get_by_text("Send the proposal")).to_have_count(0)

    # The new owner's does, and they snooze, edit and delete it without a reload.
    log_in(page, live_server.url, "teammate")
    task = FollowUpTask.objects.get(title="Send the proposal")
    row = page.locator(f"#task-{task.pk}")
    expect(row).to_contain_text("Send the proposal")
    mark_page(page)
    row.get_by_text("Snooze").click()
    row.get_by_role("button", name="+1 h").click()
    expect(row.get_by_role("button", name="+1 h")).to_have_count(0)  # the row was swapped
    task.refresh_from_db()
    assert task.version == 2 and task.due_at > clock.now() + dt.timedelta(minutes=50)  # moved, then snoozed

    snoozed_to = task.due_at
    row.get_by_role("link", name="Edit “Send the proposal”").click()
    expect(row.get_by_label("Due")).to_have_value(timezone.localtime(snoozed_to).strftime("%Y-%m-%dT%H:%M"))
    row.get_by_label("Next step").fill("Send the signed proposal")
    row.get_by_role("button", name="Save").click()
    expect(row).to_contain_text("Send the signed proposal")
    task.refresh_from_db()
    assert task.title == "Send the signed proposal" and task.due_at == snoozed_to
    screenshot("issue15-tasks-02-edited-in-place")

    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Delete “Send the signed proposal”").click()
    expect(row).to_have_count(0)
    assert_not_reloaded(page)
    assert not FollowUpTask.objects.exists()


def test_a_call_back_dated_after_a_breach_leaves_the_breach_standing(
    live_server, page: Page, screenshot, rep, channel, settings
):
    ResponsePolicy.objects.create(name="Everyone", target_minutes=60)
    arrived = clock.now() - dt.timedelta(hours=2)
    lead = LeadFactory(owner=rep, channel=channel, name="Ada Lovelace", created_at=arrived)
    response_clocks_recompute(lead_ids=[lead.pk])

    log_in(page, live_server.url, "rep")
    page.goto(f"{live_server.url}{lead.get_absolute_url()}")
    header = page.locator("#lead-header")
    expect(header).to_contain_text("overdue")

    page.get_by_text("Log email, meeting, note…").click()
    form = page.locator("#log form.stack")
    form.get_by_label("Kind").select_option("call")
    # First, a time before the lead existed: refused next to the field.
    before = timezone.localtime(arrived - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    form.get_by_label("Occurred at").fill(before)
    form.get_by_role("button", name="Save").click()
    expect(page.locator("#log")).to_contain_text("nothing can have happened before")
    screenshot("issue15-clock-01-before-arrival")

    # Then a time a minute after arrival: the timeline shows it, the response counts from now, the breach stands.
    form = page.locator("#log form.stack")
    form.get_by_label("Kind").select_option("call")
    stated = timezone.localtime(arrived + dt.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M")
    form.get_by_label("Occurred at").fill(stated)
    form.get_by_role("button", name="Save").click()
    expect(page.locator("#log")).to_contain_text("Call logged")
    expect(header).to_contain_text("missed the target")
    expect(header).not_to_contain_text("within target")
    expect(page.locator("#timeline")).to_contain_text("response times count from when it was logged")
    screenshot("issue15-clock-02-breach-stands")
    lead.refresh_from_db()
    assert lead.sla_breached and lead.response_seconds >= 2 * 3600 - 60


def test_an_edited_field_shows_on_the_timeline_and_under_changes(live_server, page: Page, screenshot, rep, lead):
    log_in(page, live_server.url, "rep")
    page.goto(f"{live_server.url}{lead.get_absolute_url()}")
    timeline = page.locator("#timeline")
    expect(timeline).not_to_contain_text("Company:")

    mark_page(page)
    page.locator("#facts").get_by_role("link", name="Edit").click()
    page.locator("#facts").get_by_label("Company", exact=True).fill("Engines Ltd")
    page.locator("#facts").get_by_role("button", name="Save").click()
    expect(page.locator("#facts")).to_contain_text("Engines Ltd")
    expect(timeline).to_contain_text("Company: Analytical Engines → Engines Ltd")
    expect(timeline).to_contain_text(f"Edited by {rep}")

    timeline.get_by_role("link", name="Changes").click()
    expect(timeline.get_by_role("link", name="Changes")).to_have_attribute("aria-current", "true")
    expect(timeline.locator("li.tl")).to_have_count(1)
    assert_not_reloaded(page)
    screenshot("issue15-history-01-changes")
