"""Item 9 of issue 15: the top bar's search, keyboard first, finds only leads the user may see."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_speed_to_lead import log_in
from tests.factories import LeadFactory

pytestmark = pytest.mark.browser


def test_a_rep_presses_slash_types_a_name_and_opens_the_lead(live_server, page: Page, screenshot, rep, other_rep):
    mine = LeadFactory(owner=rep, name="Grace Hopper", company="Compilers Inc", email="grace@compilers.test")
    LeadFactory(owner=other_rep, name="Grace Kelly", company="Monaco Films")
    log_in(page, live_server.url, "rep")

    # Before: nothing focused; "/" goes straight to the search box, from any page.
    box = page.get_by_role("searchbox", name="Search leads")
    expect(box).not_to_be_focused()
    page.keyboard.press("/")
    expect(box).to_be_focused()
    page.keyboard.type("grace")
    results = page.locator("#global-search-results")
    expect(results.get_by_role("option")).to_have_count(1)
    expect(results).to_contain_text("Grace Hopper")
    expect(results).not_to_contain_text("Grace Kelly")  # another team's lead stays out of sight
    screenshot("search-01-results")

    # By company and by email too; then the keyboard reaches the result.
    box.fill("compilers")
    expect(results.get_by_role("option")).to_have_count(1)
    box.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/leads/{mine.pk}/$"))

    # Enter in the box opens the leads list filtered by the words.
    page.keyboard.press("/")
    page.keyboard.type("grace@compilers")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/leads/\?q=grace%40compilers"))
    expect(page.locator("#results tbody tr")).to_have_count(1)
    screenshot("search-02-list")
