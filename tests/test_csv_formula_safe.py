"""Every CSV the app writes is formula-safe (issue 13, item 4).

Formulas planted the way an outsider would (a lead's name and company through the lead services a web form and
the API call, a channel's name through the channel service) come out of every CSV with a leading `'`: the leads
export (browser and `export_leads`), a report's CSV, an import's rejected rows (browser and `import_leads`).
Plain text and numbers come out as they went in; a rejected-rows file imports back as the values it came from.
"""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse

from crm import clock
from crm.csv import FORMULA_STARTS
from leads.channels.services import channel_save
from leads.imports import services as imports
from leads.models import Channel, ImportJob, Lead
from leads.services import lead_create
from reports.services import stats_refresh
from tests.imports.conftest import run_import

pytestmark = pytest.mark.django_db

PLANTED = ['=HYPERLINK("http://evil","x")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


def read_csv(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def quoted(stored: str) -> str:
    """The cell a stored value must give: a formula start (the services may have trimmed it) behind a quote."""
    assert stored.startswith(FORMULA_STARTS), f"{stored!r} is no longer a formula: the test plants nothing"
    return "'" + stored


@pytest.fixture
def planted(admin_user, rep):
    """One channel and one lead per planted formula, written through the services; and one ordinary lead."""
    leads = []
    for i, formula in enumerate(PLANTED):
        channel = channel_save(user=admin_user, channel=Channel(name=formula))
        leads.append(
            lead_create(
                user=admin_user, owner=rep, channel=channel, name=formula, company=formula, industry=formula,
                email=f"planted{i}@example.com", company_size=40,
            )
        )  # fmt: skip
    plain = channel_save(user=admin_user, channel=Channel(name="Google Ads"))
    anne = lead_create(
        user=admin_user, owner=rep, channel=plain, name="Anne-Marie", company="Smith-Jones Ltd",
        email="anne-marie@example.com", phone="+49 30 1234567", company_size=12,
    )  # fmt: skip
    # No way in takes a negative deal value today; the export must still write the column as a number.
    Lead.objects.filter(pk=anne.pk).update(stage="won", deal_value=Decimal("-5"), won_at=clock.now())
    return [Lead.objects.get(pk=lead.pk) for lead in leads], Lead.objects.get(pk=anne.pk)


def check_leads_export(rows: list[dict], planted) -> None:
    leads, anne = planted
    by_id = {row["id"]: row for row in rows}
    assert len(by_id) == len(PLANTED) + 1
    for lead in leads:
        row = by_id[str(lead.pk)]
        assert row["name"] == quoted(lead.name)
        assert row["company"] == quoted(lead.company)
        assert row["industry"] == quoted(lead.industry)
        assert row["channel"] == quoted(lead.channel.name)
        assert row["email"] == lead.email and row["company_size"] == "40"
    row = by_id[str(anne.pk)]
    assert (row["name"], row["company"], row["email"]) == ("Anne-Marie", "Smith-Jones Ltd", "anne-marie@example.com")
    assert row["channel"] == "Google Ads" and row["stage"] == "won"
    assert row["phone"] == "'+49 30 1234567"  # text: a spreadsheet shows it as typed, not as a sum
    assert (row["deal_value"], row["company_size"], row["id"]) == ("-5.00", "12", str(anne.pk))  # numbers


def test_the_leads_export_download_quotes_every_planted_formula(client, admin_user, planted):
    client.force_login(admin_user)
    response = client.get(reverse("leads:export"))
    text = b"".join(response.streaming_content).decode()
    check_leads_export(read_csv(text), planted)


def test_the_export_leads_command_quotes_every_planted_formula(planted):
    out = io.StringIO()
    call_command("export_leads", stdout=out)
    check_leads_export(read_csv(out.getvalue()), planted)


@pytest.mark.parametrize("by", ["channel", "industry"])
def test_a_report_csv_quotes_planted_group_names_and_keeps_numbers(client, admin_user, planted, by):
    leads, _ = planted
    stats_refresh(full=True)  # the industry grouping reads the rollups
    client.force_login(admin_user)
    response = client.get("/reports/conversion/", {"period": "12m", "by": by, "format": "csv"})
    assert response.status_code == 200
    rows = {row["group"]: row for row in read_csv(response.content.decode())}
    for lead in leads:
        group = lead.channel.name if by == "channel" else lead.industry
        assert rows[quoted(group)]["leads"] == "1"
    if by == "channel":
        assert rows["Google Ads"]["won"] == "1"
    assert rows["All"]["leads"] == str(len(PLANTED) + 1)
    assert not any(key.startswith("'") for key in rows["All"])


def planted_file() -> str:
    """An import file whose rows are all rejected (a city longer than its column), formulas in a header and in the
    cells."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["name", "email", "=Notes", "city"])
    for i, formula in enumerate(PLANTED):
        writer.writerow([formula, f"bad{i}@", formula, "y" * 101])
    writer.writerow(["Anne-Marie", "anne@", "-5", "y" * 101])
    return out.getvalue()


def check_rejected_rows(text: str) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == ["name", "email", "'=Notes", "city", "line", "reason"]
    for formula, row in zip(PLANTED, rows[1:], strict=False):
        assert row[0] == row[2] == "'" + formula
        assert row[1].startswith("bad") and row[-1].startswith("city longer than 100 characters")
    assert rows[-1][:3] == ["Anne-Marie", "anne@", "'-5"] and rows[-1][4].isdigit()  # the line: a number
    return rows


def test_an_imports_rejected_rows_download_quotes_formulas_and_imports_back_as_typed(client, manager):
    job = imports.import_job_create(user=manager, file_name="planted.csv", data=planted_file().encode())
    mapping = {"name": "name", "email": "email", "city": "city"}
    imports.import_job_configure(job=job, user=manager, mapping=mapping, options=imports.ImportOptions())
    imports.import_job_start(job=job, user=manager)
    imports.import_job_run(job_id=job.pk)
    assert ImportJob.objects.get(pk=job.pk).rejected == len(PLANTED) + 1

    client.force_login(manager)
    response = client.get(reverse("leads:import_rejects", args=[job.pk]))
    rows = check_rejected_rows(response.content.decode())

    # Fixed in a spreadsheet (the emails and cities) and imported again: the values are the ones typed, no quote
    # added.
    fixed = io.StringIO()
    writer = csv.writer(fixed)
    writer.writerow(rows[0][:4])
    for i, row in enumerate(rows[1:]):
        writer.writerow([row[0], f"fixed{i}@example.com", row[2], "Oslo"])
    result = run_import(fixed.getvalue(), {"name": "name", "email": "email"}, user=manager)
    assert (result.created, result.rejections) == (len(PLANTED) + 1, [])
    names = set(Lead.objects.values_list("name", flat=True))
    assert names == {formula.strip() for formula in PLANTED} | {"Anne-Marie"}


def test_the_import_leads_command_writes_rejected_rows_with_formulas_quoted(tmp_path):
    path = tmp_path / "planted.csv"
    path.write_text(planted_file(), encoding="utf-8")
    rejects = tmp_path / "rejected.csv"
    call_command("import_leads", str(path), "--rejects", str(rejects), stdout=io.StringIO())
    check_rejected_rows(rejects.read_bytes().decode())  # read_text would turn the planted \r into \n


def test_a_report_table_writes_negative_numbers_as_numbers():
    from reports.tables import Column, Table, change, count, points, rate, text

    table = Table(
        key="t", title="T",
        columns=[Column("group", "Group", "text"), Column("leads", "Leads"), Column("change", "Change", "percent"),
                 Column("points", "Points", "points")],
        rows=[{"group": text("-2+3"), "leads": count(-5), "change": change(1, 4),
               "points": points(rate(1, 4), rate(3, 4))}],
    )  # fmt: skip
    (row,) = read_csv(table.csv_text())
    assert row == {"group": "'-2+3", "leads": "-5", "change": "-0.75", "points": "-50.00"}


def test_dates_in_report_csv_are_not_text_to_quote():
    from reports.tables import Cell, Column, Table

    table = Table(key="t", title="T", columns=[Column("day", "Day", "text")])
    table.rows = [{"day": Cell(value=dt.date(2026, 3, 1), text="1 Mar")}]
    assert read_csv(table.csv_text()) == [{"day": "2026-03-01"}]


def test_the_exports_choice_columns_hold_no_code_that_starts_a_formula():
    """The export leaves choice columns out of its SQL rule (they hold the code's own codes): none may need it."""
    from crm.csv import csv_safe
    from leads.facts import EXPORT_FACTS

    choices = [(fact.name, value) for fact in EXPORT_FACTS if fact.kind == "choice" for value, _ in fact.choices]
    assert choices and all(csv_safe(value) == value for _, value in choices), choices
