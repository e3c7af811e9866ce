"""A manager imports a spreadsheet in a real browser: upload, map, preview, start, watch the progress, get the report.

The import runs on a real Celery worker (Redis broker); the progress page polls the job with htmx until it is done.
"""

import re

import pytest
from celery.contrib.testing.worker import start_worker
from playwright.sync_api import Page, expect

from crm.celery import app
from leads.models import ImportJob, Lead

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CSV = (
    "Full Name,E-mail,Status,Amount,Won date,Created,Tier\n"
    "Ada Lovelace,ada@example.com,won,1200,2024-03-01,2024-01-05,gold\n"
    "Bad Email,nope@,new,,,2024-01-05,silver\n"
    "Grace Hopper,grace@example.com,qualified,,,2024-02-01,bronze\n"
)


@pytest.fixture
def worker():
    app.control.purge()
    with start_worker(app, perform_ping_check=False, concurrency=1, pool="threads"):
        yield


def test_a_manager_imports_a_csv_and_watches_it_finish(live_server, page: Page, screenshot, manager, worker, tmp_path):
    path = tmp_path / "spreadsheet.csv"
    path.write_text(CSV)
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("manager")
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Log in").click()

    page.goto(f"{live_server.url}/leads/")
    page.get_by_role("link", name="Import CSV").click()
    page.get_by_label("CSV file").set_input_files(str(path))
    page.get_by_role("button", name="Upload and map columns").click()

    # Mapping: the obvious columns are guessed, the preview marks the bad row.
    expect(page.get_by_role("heading", name="spreadsheet.csv")).to_be_visible()
    expect(page.get_by_label("Full Name")).to_have_value("name")
    expect(page.get_by_label("E-mail")).to_have_value("email")
    expect(page.locator("tr.row-rejected")).to_contain_text("bad email “nope@”")
    page.get_by_label("Tier").select_option("__attribute__")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("tr.row-rejected")).to_have_count(1)
    screenshot("import-01-mapping")

    page.get_by_role("button", name=re.compile(r"Import 3 rows")).click()
    expect(page).to_have_url(re.compile(r"/leads/imports/\d+/$"))
    # The worker imports; the page, polling every second, shows the report without a reload.
    expect(page.get_by_text("Download the 1 rejected row (CSV)")).to_be_visible(timeout=20_000)
    expect(page.locator("#import-progress")).to_contain_text("3 of 3 rows")
    screenshot("import-02-report")

    job = ImportJob.objects.get()
    assert (job.status, job.created, job.rejected) == ("done", 2, 1)
    assert Lead.objects.get(name="Ada Lovelace").attributes == {"Tier": "gold"}
    with page.expect_download() as download:
        page.get_by_text("Download the 1 rejected row (CSV)").click()
    assert download.value.suggested_filename == "spreadsheet-rejected.csv"
