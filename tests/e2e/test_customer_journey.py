"""After the sale, in a real browser: a manager converts a won lead from its page, records an order and a refund,
and finds the customer in the Customer value report; a customer answers a survey link without logging in."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from crm import clock
from customers import services, surveys
from leads.models import Stage
from tests.factories import LeadFactory

pytestmark = pytest.mark.browser


def watch_policy(page: Page) -> list[str]:
    """Content Security Policy violations the pages report (none expected: no inline script)."""
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    return violations


def log_in(page: Page, url: str, username: str) -> None:
    page.goto(f"{url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Log in").click()


def test_a_manager_converts_a_won_lead_adds_an_order_and_sees_it_in_the_clv_report(
    live_server, page: Page, screenshot, manager, rep, channel
):
    won = LeadFactory(
        owner=rep,
        channel=channel,
        name="Wendy Won",
        email="wendy@harbour.example",
        company="Harbour Freight",
        stage=Stage.WON,
        deal_value=Decimal(1000),
        won_at=clock.now(),
    )
    violations = watch_policy(page)
    log_in(page, live_server.url, "manager")
    page.goto(f"{live_server.url}{won.get_absolute_url()}")

    # The customer panel (loaded by URL once the page shows) says what converting will do.
    panel = page.locator("#customer-panel")
    expect(panel).to_contain_text("Creates the customer Harbour Freight (harbour.example)")
    screenshot("40-won-lead-convert")
    panel.get_by_role("button", name="Convert to customer").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Harbour Freight")
    expect(page.locator("#messages")).to_contain_text("Wendy Won is a new customer")
    expect(page.locator("#orders")).to_contain_text("Won deal (lead #")

    orders = page.locator("#orders")
    orders.get_by_label("Amount (negative: refund)").fill("250")
    orders.get_by_label("Description").fill("Support plan")
    orders.get_by_role("button", name="Add order").click()
    expect(page.locator("#messages")).to_contain_text("Order of 250.00")
    orders.get_by_label("Amount (negative: refund)").fill("-50")
    orders.get_by_label("Description").fill("Credit note")
    orders.get_by_role("button", name="Add order").click()
    expect(page.locator("#orders")).to_contain_text("refund")
    expect(page.locator(".lead-meta")).to_contain_text("Revenue 1,200.00")
    screenshot("41-customer-page")

    # Reports › Customer value: the channel has one customer with revenue 1,200 (two orders, one refund).
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    page.get_by_role("navigation", name="Reports").get_by_role("link", name="Customer value").click()
    expect(page).to_have_url(re.compile(r"/reports/clv/"))
    row = page.locator("#table-value tbody tr").filter(has_text=channel.name)
    expect(row.locator("td").nth(1)).to_have_text("1")
    expect(row.locator("td").nth(2)).to_have_text("1,200.00")
    expect(row.locator("td").nth(5)).to_have_text("600.00")  # simple formula: 1,200 ÷ 2 orders × 1 × 1
    expect(row.locator("td").nth(6)).to_have_text("simple formula")
    screenshot("42-customer-value-report")
    assert violations == []


def test_a_customer_answers_a_survey_link_once_without_logging_in(live_server, page: Page, screenshot, rep, channel):
    lead = LeadFactory(
        owner=rep,
        channel=channel,
        name="Sam Survey",
        email="sam@dock.example",
        company="Dock Co",
        stage=Stage.WON,
        deal_value=Decimal(500),
        won_at=clock.now(),
    )
    conversion = services.lead_convert(lead=lead, user=rep)
    survey = surveys.survey_send(account=conversion.account, contact=conversion.contact, kind="nps", user=rep)
    link = f"{live_server.url}/s/{surveys.survey_token(survey)}/"

    violations = watch_policy(page)
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("A quick question")
    page.get_by_label("9", exact=True).check()
    page.get_by_label("Comment").fill("Quick and friendly")
    screenshot("43-survey-page")
    page.get_by_role("button", name="Send my answer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you!")

    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("This survey was answered already")
    page.goto(link[:-3] + "xx/")
    expect(page.get_by_role("heading", level=1)).to_have_text("This link is not valid")

    log_in(page, live_server.url, "rep")
    page.goto(f"{live_server.url}{conversion.account.get_absolute_url()}")
    expect(page.locator("#surveys")).to_contain_text("9 / 10")
    expect(page.locator("#surveys")).to_contain_text("Quick and friendly")
    screenshot("44-survey-answer-on-customer-page")
    assert violations == []
