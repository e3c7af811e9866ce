"""`manage.py import_leads` and `manage.py export_leads`."""

import csv
import io

import pytest
from django.core.management import CommandError, call_command

from leads.models import Channel, Lead
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def write(tmp_path, text: str, name="leads.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_import_prints_the_counts_and_where_the_rejected_and_warned_rows_went(tmp_path, rep):
    LeadFactory(email="dup@example.com")
    path = write(
        tmp_path,
        "Who,Mail,Source,Won\nAda,ada@example.com,Fair,1\nBob,bob@,Fair,0\nDup,dup@example.com,Fair,0\n"
        "Cy,cy@example.com,Web,0\n,nobody@,Web,1\n",
    )
    out = io.StringIO()
    call_command(
        "import_leads", str(path), "--map", "name=Who", "--map", "email=Mail", "--map", "channel=Source",
        "--map", "stage=Won", "--stage-values", "won=1,lost=0", "--create-channels", "--owner", "rep",
        "--rejects", str(tmp_path / "bad.csv"), "--warnings", str(tmp_path / "odd.csv"), stdout=out,
    )  # fmt: skip
    text = out.getvalue()
    assert (
        "5 rows" in text
        and "3 created, 0 updated, 1 skipped (duplicates), 1 rejected; 3 imported with warnings." in text
    )
    assert f"written to {tmp_path / 'bad.csv'}" in text and f"written to {tmp_path / 'odd.csv'}" in text
    assert "Report figures refreshed for 1 day." in text
    rejects = list(csv.reader((tmp_path / "bad.csv").open()))
    assert rejects[0] == ["Who", "Mail", "Source", "Won", "line", "reason"]
    assert [r[-2:] for r in rejects[1:]] == [
        ["6", "no identity: no name, company, email, phone or external id; bad email “nobody@” left out (There must "
              "be something after the @-sign)"],
    ]  # fmt: skip
    warned = list(csv.reader((tmp_path / "odd.csv").open()))
    assert warned[0] == ["Who", "Mail", "Source", "Won", "line", "warning"]
    assert [r[-2:] for r in warned[1:]] == [
        ["2", "won without a deal value"],
        ["3", "bad email “bob@” left out (There must be something after the @-sign); lost without a reason: "
              "recorded as Other"],
        ["5", "lost without a reason: recorded as Other"],
    ]  # fmt: skip
    assert Lead.objects.get(name="Cy").owner == rep
    assert Lead.objects.get(name="Bob").email == ""
    assert Lead.objects.get(name="Ada").deal_value is None
    assert Channel.objects.filter(name="Fair").exists()


def test_import_dry_run_writes_nothing(tmp_path):
    path = write(tmp_path, "name,email\nAda,ada@example.com\n")
    out = io.StringIO()
    call_command("import_leads", str(path), "--dry-run", stdout=out)
    assert "dry run: nothing written" in out.getvalue() and "1 would be created" in out.getvalue()
    assert not Lead.objects.exists()


def test_import_with_an_encoding(tmp_path):
    path = write(tmp_path, "name,city\nJosé,Zürich\n", encoding="latin-1")
    with pytest.raises(CommandError, match="not UTF-8"):
        call_command("import_leads", str(path), stdout=io.StringIO())
    call_command("import_leads", str(path), "--encoding", "latin-1", stdout=io.StringIO())
    assert Lead.objects.get().city == "Zürich"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--map", "email"], "write FIELD=COLUMN"),
        (["--map", "colour=name"], "unknown field “colour”"),
        (["--map", "name=Nope"], "no column “Nope”"),
        (["--map", "city=name", "--map", "region=email"], "Map a column that names the lead"),
        (["--ignore", "Nope"], "--ignore: the file has no column 'Nope'"),
        (["--unmapped", "keep"], "invalid choice: 'keep'"),
        (["--stage-values", "won"], "not STAGE=VALUE"),
        (["--channel", "Nowhere"], "Unknown channel “Nowhere”"),
        (["--owner", "ghost"], "Unknown owner “ghost”"),
    ],
)
def test_import_bad_arguments_are_command_errors(tmp_path, args, message):
    path = write(tmp_path, "name,email\nAda,ada@example.com\n")
    with pytest.raises(CommandError, match=message):
        call_command("import_leads", str(path), *args, stdout=io.StringIO())


def test_import_of_a_missing_or_oversized_file(tmp_path, settings):
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_leads", str(tmp_path / "nope.csv"))
    settings.IMPORT_MAX_BYTES = 10
    with pytest.raises(CommandError, match="largest file accepted"):
        call_command("import_leads", str(write(tmp_path, "name\nAda Lovelace\n")))


def test_export_writes_csv_with_its_filters(rep, channel):
    LeadFactory(owner=rep, channel=channel, stage="qualified", name="Q")
    LeadFactory(stage="new", name="N")
    out = io.StringIO()
    call_command("export_leads", "--stage", "Qualified", "--channel", "google ads", "--owner", "rep", stdout=out)
    exported = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [r["name"] for r in exported] == ["Q"]
    out = io.StringIO()
    call_command("export_leads", stdout=out)
    assert len(list(csv.DictReader(io.StringIO(out.getvalue())))) == 2


@pytest.mark.parametrize(
    "args, message",
    [(["--stage", "closed"], "Unknown stage"), (["--channel", "x"], "No channel"), (["--owner", "x"], "No user")],
)
def test_export_bad_filters_are_command_errors(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("export_leads", *args, stdout=io.StringIO())


def test_an_export_imports_again(tmp_path, rep, channel):
    LeadFactory(owner=rep, channel=channel, name="Round Trip", attributes={"tier": "gold"})
    out = io.StringIO()
    call_command("export_leads", stdout=out)
    path = write(tmp_path, out.getvalue())
    Lead.objects.all().delete()
    call_command("import_leads", str(path), stdout=io.StringIO())
    lead = Lead.objects.get()
    assert (lead.name, lead.owner, lead.channel) == ("Round Trip", rep, channel)


def test_map_adds_to_the_guess_and_unmapped_columns_are_kept_or_ignored(tmp_path):
    path = write(
        tmp_path, "Company Name,Contact email,engage_date,Lead Origin\nEngines Ltd,ada@example.com,2024-01-05,API\n"
    )
    out, err = io.StringIO(), io.StringIO()
    # No name column: the company names the lead; --map gives the one column the guess cannot know.
    call_command("import_leads", str(path), "--map", "created_at=engage_date", stdout=out, stderr=err)
    assert "Mapping: company=Company Name, email=Contact email, created_at=engage_date" in err.getvalue()
    assert "Kept as custom attributes: Lead Origin → lead_origin" in err.getvalue()
    lead = Lead.objects.get()
    assert (lead.name, lead.created_at.date().isoformat(), lead.attributes) == (
        "Engines Ltd",
        "2024-01-05",
        {"lead_origin": "API"},
    )
    Lead.objects.all().delete()
    call_command("import_leads", str(path), "--unmapped", "ignore", stdout=io.StringIO(), stderr=io.StringIO())
    assert Lead.objects.get().attributes == {}
