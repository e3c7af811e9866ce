"""The Content Security Policy holds in a real browser: no page of the app trips it (no inline script, no eval),
and what used to be inline (confirmations, live countdowns, scoring's rule forms) works from static/js/app.js."""

import re

import pytest
from playwright.sync_api import Page, expect

from leads.channels import services as channel_services
from leads.models import ApiToken
from tests.factories import LeadFactory, ResponsePolicyFactory

pytestmark = pytest.mark.browser


def _log_in(page: Page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Log in").click()
    expect(page).not_to_have_url(re.compile(r"/login/"))


def test_no_page_trips_the_policy_and_confirmations_still_ask(live_server, page: Page, admin_user, rep, channel):
    ResponsePolicyFactory(name="Everyone", grade="", channel=None, target_minutes=60)
    lead = LeadFactory(owner=rep, channel=channel, name="Ada Lovelace")
    token, _ = channel_services.api_token_create(user=admin_user, channel=channel, name="Landing page")
    violations = []
    page.on(
        "console",
        lambda message: (
            violations.append(f"{page.url} {message.text[:60]}") if "Content Security Policy" in message.text else None
        ),
    )

    _log_in(page, live_server, "admin")
    for path in (
        "/",
        "/my-day/",
        "/leads/",
        f"/leads/{lead.pk}/",
        "/reports/",
        "/reports/funnel/",  # charts are SVG images with their own <style>: no inline style on the page
        "/reports/conversion/",
        "/reports/speed/",
        "/scoring/",
        "/admin/",
        f"/admin/crm/user/{rep.pk}/change/",
        f"/leads/channels/{channel.pk}/",  # last: the confirmations below are asked on this page
    ):
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
    assert violations == []

    # A confirmation from data-confirm: dismissed, nothing is revoked; accepted, the token is revoked.
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.get_by_role("button", name="Revoke").click()
    assert asked and "Revoke “Landing page”?" in asked[0]
    token.refresh_from_db()
    assert token.revoked_at is None
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke").click()
    page.wait_for_load_state("networkidle")
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert violations == []


def test_the_response_countdown_ticks_from_the_static_script(live_server, page: Page, rep, channel):
    ResponsePolicyFactory(name="Everyone", grade="", channel=None, target_minutes=60)
    from leads.services import lead_create

    lead_create(user=rep, name="Waiting Walter", email="walter@example.com", channel=channel)
    _log_in(page, live_server, "rep")
    page.goto(f"{live_server.url}/leads/")
    chip = page.locator("[data-sla-left]").first
    expect(chip).to_contain_text(re.compile(r"answer within (59|60) min"))
