"""A manager adds campaign members from a CSV file in a real browser and is told which rows named no lead."""

import pytest
from playwright.sync_api import Page, expect

from campaigns.models import Campaign, Member
from tests.factories import LeadFactory

pytestmark = pytest.mark.browser


def test_a_manager_adds_members_from_a_csv_file(live_server, page: Page, screenshot, manager, rep, channel, tmp_path):
    campaign = Campaign.objects.create(name="Winter webinar", channel=channel, kind="email", owner=manager)
    ada = LeadFactory(owner=rep, channel=channel, name="Ada Lovelace", email="ada@example.com")
    grace = LeadFactory(owner=rep, channel=channel, name="Grace Hopper")
    upload = tmp_path / "members.csv"
    upload.write_text(f"email\nada@example.com\n{grace.pk}\nnobody@example.com\n")

    page.goto(f"{live_server.url}/")
    page.get_by_label("Username").fill("manager")
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/campaigns/{campaign.pk}/")
    page.get_by_label("Leads from a CSV file").set_input_files(str(upload))
    page.get_by_role("button", name="Add the leads of this file").click()
    expect(page.locator("#messages")).to_contain_text("2 leads added from the file.")
    expect(page.locator("#messages")).to_contain_text("1 row named no lead you can see (row 4: nobody@example.com)")
    expect(page.locator("#member-rows")).to_contain_text("Ada Lovelace")
    expect(page.locator("#member-rows")).to_contain_text("Grace Hopper")
    screenshot("33-campaign-members-from-csv")
    assert set(Member.objects.filter(campaign=campaign).values_list("lead_id", flat=True)) == {ada.pk, grace.pk}
