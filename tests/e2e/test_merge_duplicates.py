"""A manager merges two records of the same person in a real browser: leads list → duplicates → review → merge."""

import re

import pytest
from playwright.sync_api import Page, expect

from leads.models import Interaction, Lead, LeadMerge
from tests.factories import InteractionFactory, LeadFactory

pytestmark = pytest.mark.browser


def test_a_manager_merges_a_duplicate_into_the_lead_to_keep(
    live_server, page: Page, screenshot, manager, rep, teammate
):
    keep = LeadFactory(owner=rep, name="Grace Hopper", email="grace@navy.mil", company="")
    twin = LeadFactory(owner=teammate, name="G. Hopper", email="GRACE@navy.mil", company="US Navy")
    InteractionFactory(lead=twin, user=teammate)

    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("manager")
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/leads/")
    page.get_by_role("link", name="Duplicates").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Likely duplicates")
    group = page.get_by_role("form", name="grace@navy.mil")
    expect(group.locator("tbody tr")).to_have_count(2)
    screenshot("merge-01-duplicates")

    # The oldest is preselected to keep; the other to merge.
    expect(group.get_by_label("Keep Grace Hopper")).to_be_checked()
    expect(group.get_by_label("Merge G. Hopper")).to_be_checked()
    group.get_by_role("button", name="Review merge…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Merge leads")
    expect(page.get_by_text("1 interaction")).to_be_visible()
    screenshot("merge-02-review")
    page.get_by_role("button", name="Merge 1 lead").click()

    expect(page).to_have_url(re.compile(rf"/leads/{keep.pk}/$"))
    expect(page.get_by_text("Merged 1 lead into this one.")).to_be_visible()
    expect(page.locator("#merges")).to_contain_text("merged in by")
    screenshot("merge-03-survivor")
    assert not Lead.objects.filter(pk=twin.pk).exists()
    assert Interaction.objects.get().lead_id == keep.pk
    kept = Lead.objects.get(pk=keep.pk)
    assert kept.company == "US Navy"
    # The moved call answered the lead: New → Contacted, as when a call is logged.
    assert kept.stage == "contacted" and kept.first_response_at is not None
    assert LeadMerge.objects.get().merged_lead_ids == [twin.pk]
