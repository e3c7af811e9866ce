"""A manager imports a spreadsheet in a real browser: upload, map, preview, start, watch the progress, get the report.

The import runs on a real Celery worker (Redis broker); the progress page polls the job with htmx until it is done.
"""

import csv
import io
import re

import pytest
from playwright.sync_api import Page, expect

from leads.models import ImportJob, Lead
from tests.workers import own_queue, worker_on

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A HubSpot contacts export as a spreadsheet saves it: byte-order mark, CRLF line ends, every line ending with a
# comma (an unnamed, empty last column); a won deal without its amount, an address that is not one, a row with
# nothing that names a lead.
CSV = (
    "\ufeffRecord ID,First Name,Last Name,Email,Lead Status,Amount,Close Date,Create Date,Tier,\r\n"
    "101,Ada,Lovelace,ada@example.com,Closed won,1200,2024-03-01,2024-01-05,gold,\r\n"
    "102,Bad,Email,nope@,New,,,2024-01-05,silver,\r\n"
    "103,Grace,Hopper,grace@example.com,Closed won,,2024-02-20,2024-02-01,bronze,\r\n"
    "104,José,Bücher,josé@bücher.de,Working,,,2024-02-03,gold,\r\n"
    ",,,,New,,,2024-02-04,tin,\r\n"
)


@pytest.fixture
def worker():
    # This module's own queue: no other test's tasks reach its worker, nor its tasks theirs.
    with own_queue("e2e-csv-import"), worker_on("e2e-csv-import"):
        yield


def test_a_manager_imports_a_real_export_maps_it_and_downloads_the_warnings(
    live_server, page: Page, screenshot, manager, worker, tmp_path
):
    path = tmp_path / "hubspot-contacts.csv"
    path.write_bytes(CSV.encode("utf-8"))
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("manager")
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Log in").click()

    page.goto(f"{live_server.url}/leads/")
    page.get_by_role("link", name="Import CSV").click()
    page.get_by_label("CSV file").set_input_files(str(path))
    page.get_by_role("button", name="Upload and map columns").click()

    # Mapping: HubSpot's columns are known; the empty unnamed column is not offered; the preview marks the row that
    # will be rejected and the rows that will carry warnings.
    expect(page.get_by_role("heading", name="hubspot-contacts.csv")).to_be_visible()
    expect(page.get_by_label("First Name")).to_have_value("first_name")
    expect(page.get_by_label("Email", exact=True)).to_have_value("email")
    expect(page.get_by_label("Record ID")).to_have_value("external_id")
    expect(page.get_by_label("Lead Status")).to_have_value("stage")
    expect(page.locator("select[name^=column_]")).to_have_count(9)
    expect(page.get_by_label("Keep every column not mapped as a custom attribute")).to_be_checked()
    expect(page.locator("tr.row-rejected")).to_have_count(1)
    expect(page.locator("tr.row-rejected")).to_contain_text("no identity")
    expect(page.locator("tr.row-warned")).to_have_count(2)
    expect(page.locator("tr.row-warned").first).to_contain_text("bad email “nope@” left out")
    page.get_by_label("Tier").select_option("__attribute__")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("tr.row-warned")).to_have_count(2)
    screenshot("import-01-mapping")

    page.get_by_role("button", name=re.compile(r"Import 5 rows")).click()
    expect(page).to_have_url(re.compile(r"/leads/imports/\d+/$"))
    # The worker imports; the page, polling every second, shows the report without a reload: two lists.
    expect(page.get_by_text("Download the 1 rejected row (CSV)")).to_be_visible(timeout=20_000)
    expect(page.locator("#import-progress")).to_contain_text("5 of 5 rows")
    expect(page.get_by_role("heading", name="Imported with warnings: 2")).to_be_visible()
    expect(page.locator("#import-progress")).to_contain_text("won without a deal value")
    screenshot("import-02-report")

    job = ImportJob.objects.get()
    assert (job.status, job.created, job.rejected, job.warned) == ("done", 4, 1, 2)
    ada = Lead.objects.get(name="Ada Lovelace")
    assert (ada.stage, ada.external_id, ada.attributes) == ("won", "101", {"tier": "gold"})
    assert Lead.objects.get(name="José Bücher").email == "josé@bücher.de"
    assert Lead.objects.get(name="Grace Hopper").deal_value is None
    with page.expect_download() as download:
        page.get_by_text("Download the 2 rows with warnings (CSV)").click()
    assert download.value.suggested_filename == "hubspot-contacts-warnings.csv"
    rows = list(csv.reader(io.StringIO(download.value.path().read_text(encoding="utf-8"), newline="")))
    assert rows[0][-2:] == ["line", "warning"]
    assert [(row[0], row[-2]) for row in rows[1:]] == [("102", "3"), ("103", "4")]
    assert rows[2][-1] == "won without a deal value"
    with page.expect_download() as download:
        page.get_by_text("Download the 1 rejected row (CSV)").click()
    assert download.value.suggested_filename == "hubspot-contacts-rejected.csv"
