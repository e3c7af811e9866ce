"""A manager's email campaign in a real browser: created, written, sent by a real Celery worker, opened and clicked
by the lead, and the figures on the campaign page."""

import re

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from tests.factories import LeadFactory
from tests.workers import own_queue, wait_for, worker_on

pytestmark = pytest.mark.browser


def test_a_manager_sends_an_email_campaign_and_sees_its_opens_and_clicks(
    live_server, page: Page, screenshot, manager, rep, channel, settings
):
    settings.SITE_URL = live_server.url  # the links in the email point at this server
    lead = LeadFactory(owner=rep, channel=channel, name="Ada Lovelace", email="ada@example.com")

    page.goto(f"{live_server.url}/")
    page.get_by_label("Username").fill("manager")
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Log in").click()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Campaigns").click()
    page.get_by_role("link", name="+ New campaign").click()
    page.get_by_label("Name").fill("Autumn offer")
    page.get_by_label("Kind").select_option("email")
    page.get_by_label("Channel").select_option(str(channel.pk))
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Autumn offer")

    page.get_by_label("Lead's email or number").fill(lead.email)
    page.get_by_role("button", name="Add this lead").click()
    expect(page.locator("#member-rows")).to_contain_text("Ada Lovelace")

    page.get_by_role("link", name="+ Write the first email").click()
    page.locator("#id_subject_a").fill("An offer for {{ company }}")
    page.locator("#id_body_a").fill(f"Hello {{{{ first_name }}}},\n\nThe offer: {live_server.url}/health/\n\nBye")
    page.get_by_role("button", name="Save email").click()
    screenshot("30-campaign-written")

    with own_queue("e2e-campaigns"), worker_on("e2e-campaigns"):
        page.get_by_role("button", name=re.compile("Schedule")).click()
        expect(page.locator("#messages")).to_contain_text("Sending now")
        wait_for(lambda: len(mail.outbox) == 1, what="the worker to send the email")
    message = mail.outbox[0]
    assert message.to == ["ada@example.com"] and message.extra_headers["List-Unsubscribe-Post"]
    html = message.alternatives[0].content
    open_url = re.search(r'<img src="([^"]+)"', html).group(1)
    click_url = re.search(r'<a href="([^"]+/c/c/[^"]+)"', html).group(1)

    # The lead's mail client loads the pixel; the lead clicks the link and lands on the campaign's own page.
    page.goto(open_url)
    page.goto(click_url)
    expect(page).to_have_url(f"{live_server.url}/health/")

    page.goto(f"{live_server.url}/campaigns/")
    page.get_by_role("link", name="Autumn offer").click()
    figures = page.locator("#figures-h + .table-wrap tbody tr").first
    expect(figures).to_contain_text("100.0%")
    expect(figures).to_contain_text("1 / 1")
    screenshot("31-campaign-figures")
    page.get_by_role("link", name="Ada Lovelace").click()
    expect(page.locator("#campaigns-h")).to_be_visible()
    expect(page.get_by_text("Email link clicked").first).to_be_visible()
    screenshot("32-lead-timeline-campaign")
