"""Item 9 of issue 15, the smaller things, in a browser: the duplicates page fits a phone; a lead's custom
attributes read as words; the web form snippet points at the address the CRM is opened at."""

import pytest
from playwright.sync_api import Page, expect

from leads.models import WebForm
from tests.e2e.test_speed_to_lead import log_in
from tests.factories import LeadFactory

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 740}


def _overflow(page: Page) -> int:
    """How many pixels the page is wider than the screen (0: it fits, nothing to scroll sideways)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def test_the_duplicates_page_fits_a_phone(live_server, page: Page, screenshot, manager, rep):
    for name in ("Ada Lovelace-Byron of Ockham Park", "Ada King, Countess of Lovelace"):
        LeadFactory(
            owner=rep,
            name=name,
            company="Analytical Engines and Difference Machines Ltd",
            email="ada.lovelace.countess@analytical-engines.example.com",
            email_normalized="ada.lovelace.countess@analytical-engines.example.com",
        )
    page.set_viewport_size(PHONE)
    log_in(page, live_server.url, "manager")
    page.goto(f"{live_server.url}/leads/duplicates/")
    expect(page.get_by_role("button", name="Review merge…")).to_be_visible()
    screenshot("small-01-duplicates-phone")
    assert _overflow(page) <= 0
    # Nothing is cut off inside the group either: no table wider than its card.
    assert page.evaluate(
        "[...document.querySelectorAll('.duplicate-group .table-wrap')].every(w => w.scrollWidth <= w.clientWidth)"
    )


def test_custom_attributes_read_as_words(live_server, page: Page, screenshot, rep):
    lead = LeadFactory(owner=rep, name="Ada", attributes={"newsletter": True, "utm_source": "google"})
    log_in(page, live_server.url, "rep")
    page.goto(f"{live_server.url}/leads/{lead.pk}/")
    details = page.locator("dl")
    expect(details).to_contain_text("UTM source")
    expect(details).to_contain_text("Newsletter")
    expect(details).not_to_contain_text("True")
    expect(details.locator("dt", has_text="Newsletter").locator("xpath=following-sibling::dd[1]")).to_have_text("Yes")


def test_the_web_form_snippet_points_at_the_address_the_crm_is_opened_at(live_server, page: Page, admin_user, channel):
    WebForm.objects.create(channel=channel, slug="contact-us", title="Contact us")
    log_in(page, live_server.url, "admin")
    page.goto(f"{live_server.url}/leads/channels/{channel.pk}/form/")
    expect(page.locator("main")).to_contain_text(f"{live_server.url}/f/contact-us/")  # this server's port
    expect(page.locator("main")).not_to_contain_text("127.0.0.1:8000")
