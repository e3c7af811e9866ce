"""Item 8 of issue 15: refusals and missing pages in the app's layout, with the reason and a way back, under
DEBUG=True as `make run` has it."""

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_speed_to_lead import log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def debug_on(settings):
    settings.DEBUG = True


def test_a_rep_refused_a_settings_page_reads_why_and_finds_the_way_back(live_server, page: Page, screenshot, rep):
    log_in(page, live_server.url, "rep")
    response = page.goto(f"{live_server.url}/leads/sla/")
    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    expect(page.locator("main")).to_contain_text("admin")  # the app's reason, not a bare "403 Forbidden"
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    screenshot("errors-01-forbidden")
    page.get_by_role("link", name="Back to the start page").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(rep.first_name)


def test_an_unknown_address_under_debug_is_the_apps_404_not_djangos(live_server, page: Page, screenshot, rep, debug_on):
    log_in(page, live_server.url, "rep")
    response = page.goto(f"{live_server.url}/no-such-page/")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    expect(page.locator("body")).not_to_contain_text("Using the URLconf")  # Django's debug page
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    screenshot("errors-02-not-found")

    # A lead that does not exist (a view's Http404): the same page.
    response = page.goto(f"{live_server.url}/leads/999999999/")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    page.get_by_role("main").get_by_role("link", name="Leads").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Leads")
