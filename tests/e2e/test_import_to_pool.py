"""Item 5 of issue 15: a manager imports new leads to the pool while a routing rule sends everything to another
team; the leads stay where the manager can open them, and "See the leads" lists exactly that import's leads."""

import re

import pytest
from playwright.sync_api import Page, expect

from leads.models import Lead
from tests.e2e.test_csv_import import worker  # noqa: F401 (a fixture: a real Celery worker)
from tests.e2e.test_speed_to_lead import log_in
from tests.factories import LeadFactory
from tests.routing.conftest import make_rule

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CSV = "Full Name,E-mail\nAda Lovelace,ada@example.com\nGrace Hopper,grace@example.com\n"


def test_a_managers_import_stays_in_the_managers_sight_and_see_the_leads_lists_it(
    live_server,
    page: Page,
    screenshot,
    admin_user,
    manager,
    rep,
    other_team,
    other_rep,
    worker,  # noqa: F811
    tmp_path,
):
    make_rule(admin_user, other_team, name="Everything to the other team")
    LeadFactory(owner=rep, name="Already here")
    path = tmp_path / "fair.csv"
    path.write_text(CSV)

    log_in(page, live_server.url, "manager")
    page.goto(f"{live_server.url}/leads/imports/")
    page.get_by_label("CSV file").set_input_files(str(path))
    page.get_by_role("button", name="Upload and map columns").click()
    page.get_by_role("button", name=re.compile(r"Import 2 rows")).click()
    see = page.get_by_role("link", name="See the leads")
    expect(see).to_be_visible(timeout=20_000)
    screenshot("import-scope-01-done")

    # Nothing went to the other team's reps: both leads are in the pool, which the manager sees.
    assert set(Lead.objects.filter(name__in=["Ada Lovelace", "Grace Hopper"]).values_list("owner", flat=True)) == {None}
    see.click()
    expect(page).to_have_url(re.compile(r"/leads/\?import_job=\d+"))
    rows = page.locator("#results tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("#results")).not_to_contain_text("Already here")
    screenshot("import-scope-02-its-leads")
    page.get_by_role("link", name="Ada Lovelace").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Ada Lovelace")
