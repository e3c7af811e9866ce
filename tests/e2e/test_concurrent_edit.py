"""Two people edit the same lead in real browsers' time: the second sees the first's value next to the field."""

import re

import pytest
from playwright.sync_api import Page, expect

from leads import services

pytestmark = pytest.mark.browser

CONFLICT = "Someone else changed this to “Babbage & Co” while you were editing; your value: “Lovelace Ltd”."


def _log_in(page: Page, live_server) -> None:
    page.goto(f"{live_server.url}/")
    page.get_by_label("Username").fill("rep")
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Log in").click()


def test_an_inline_edit_of_a_field_someone_changed_meanwhile_shows_both_values_and_saves_on_second_try(
    live_server, page: Page, screenshot, rep, teammate, manager, lead
):
    _log_in(page, live_server)
    page.goto(f"{live_server.url}{lead.get_absolute_url()}")
    facts = page.locator("#facts")
    facts.get_by_role("link", name="Edit").click()
    company = facts.get_by_label("Company", exact=True)
    expect(company).to_have_value("Analytical Engines")

    # Meanwhile, in the manager's tab: the company and the city change.
    services.lead_update(lead=lead, user=manager, data={"company": "Babbage & Co", "city": "London"})

    company.fill("Lovelace Ltd")
    facts.get_by_label("Job title").fill("Countess")
    facts.get_by_role("button", name="Save").click()
    error = facts.locator(".field-invalid").filter(has=page.get_by_label("Company", exact=True))
    expect(error).to_contain_text(CONFLICT)
    expect(company).to_have_value("Lovelace Ltd")  # the person's input is kept
    expect(facts.get_by_label("City")).to_have_value("London")  # the other change is shown
    screenshot("concurrent-edit-01-inline-conflict")
    lead.refresh_from_db()
    assert (lead.company, lead.job_title) == ("Babbage & Co", "")

    facts.get_by_role("button", name="Save").click()
    expect(facts.get_by_role("heading", name="Details", exact=True)).to_be_visible()
    expect(facts).to_contain_text("Lovelace Ltd")
    lead.refresh_from_db()
    assert (lead.company, lead.job_title, lead.city) == ("Lovelace Ltd", "Countess", "London")


def test_the_full_edit_page_shows_the_conflict_next_to_the_field(
    live_server, page: Page, screenshot, rep, manager, lead
):
    _log_in(page, live_server)
    page.goto(f"{live_server.url}/leads/{lead.pk}/edit/")
    services.lead_update(lead=lead, user=manager, data={"company": "Babbage & Co"})
    page.get_by_label("Company", exact=True).fill("Lovelace Ltd")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".field-invalid").filter(has=page.get_by_label("Company", exact=True))).to_contain_text(
        CONFLICT
    )
    screenshot("concurrent-edit-02-full-page-conflict")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(rf"/leads/{lead.pk}/$"))
    lead.refresh_from_db()
    assert lead.company == "Lovelace Ltd"
