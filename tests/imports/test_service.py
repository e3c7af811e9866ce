"""The import service: mapping, validation with line numbers, duplicate policies, options, historical rows."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection

from leads.imports import services as imports
from leads.imports.services import ImportFileError, ImportOptions, decode_upload, guess_mapping, read_header
from leads.models import Channel, ImportJob, Lead, LeadHistory, ResponseClock, ResponsePolicy, StageChange
from leads.signals import leads_bulk_created
from tests.factories import ChannelFactory, LeadFactory
from tests.imports.conftest import csv_text, run_import

pytestmark = pytest.mark.django_db

HEADER = "name,email,phone,company,stage,created_at,won_at,deal_value,lost_reason,channel,owner"


# --- The file ----------------------------------------------------------------------------------------------------


def test_obvious_columns_are_guessed_from_the_header():
    mapping = guess_mapping(["Full Name", "E-mail", "Phone number", "Company", "Status", "Amount", "attributes.tier"])
    assert mapping == {
        "name": "Full Name",
        "email": "E-mail",
        "phone": "Phone number",
        "company": "Company",
        "stage": "Status",
        "deal_value": "Amount",
        "attributes.tier": "attributes.tier",
    }


def test_first_and_last_name_make_the_name_and_attributes_keep_extra_columns(db):
    text = csv_text("First,Last,Mail,Shoe size", "Ada,Lovelace,ada@example.com,38")
    result = run_import(
        text, {"first_name": "First", "last_name": "Last", "email": "Mail", "attributes.shoe_size": "Shoe size"}
    )
    assert result.created == 1
    lead = Lead.objects.get()
    assert lead.name == "Ada Lovelace"
    assert lead.email_normalized == "ada@example.com"
    assert lead.attributes == {"shoe_size": "38"}


def test_a_mapping_with_nothing_that_names_a_lead_is_refused():
    with pytest.raises(ImportFileError, match="Map a column that names the lead"):
        run_import(csv_text("email,city", "a@example.com,Rome"), {"city": "city"})


def test_without_a_name_column_a_lead_is_named_by_its_company_email_phone_or_external_id():
    text = csv_text(
        "Company,Email,Phone,Record ID,City",
        "Engines Ltd,ada@example.com,,,",
        ",bob@example.com,+49 30 1234567,,",
        ",,+49 30 7654321,,",
        ",,,A-17,",
        ",,,,Rome",
    )
    result = run_import(text)
    assert sorted(Lead.objects.values_list("name", flat=True)) == [
        "+49 30 7654321",
        "Engines Ltd",
        "Record ID A-17",
        "bob@example.com",
    ]
    assert Lead.objects.get(name="Record ID A-17").external_id == "A-17"
    assert [(r.line, r.reason) for r in result.rejections] == [
        (6, "no identity: no name, company, email, phone or external id")
    ]


def test_a_mapping_to_an_unknown_field_or_a_missing_column_is_refused():
    with pytest.raises(ImportFileError, match="unknown field “colour”"):
        run_import(csv_text("name,colour", "Ada,blue"), {"name": "name", "colour": "colour"})
    with pytest.raises(ImportFileError, match="no column “Mail”"):
        run_import(csv_text("name", "Ada"), {"name": "name", "email": "Mail"})


def test_an_oversized_file_is_refused_before_reading(settings):
    settings.IMPORT_MAX_BYTES = 100
    with pytest.raises(ImportFileError, match="largest file accepted is 100 bytes"):
        decode_upload(b"name\n" + b"Ada Lovelace\n" * 20)


def test_a_file_that_is_not_utf8_is_refused_unless_its_encoding_is_chosen():
    data = "name,city\nJosé,Zürich\n".encode("latin-1")
    with pytest.raises(ImportFileError, match="not UTF-8"):
        decode_upload(data)
    text, encoding = decode_upload(data, encoding="latin-1")
    assert "José" in text and encoding == "latin-1"


def test_a_utf8_byte_order_mark_is_dropped():
    text, _ = decode_upload("\ufeffname\nAda\n".encode())
    assert read_header(text) == ["name"]


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"   \n\n", "empty"),
        (b"Ada Lovelace,ada@example.com\n", "looks like data"),
        (b"\nname\nAda\n", "no header"),
        (("," * 20_000 + "name\nAda\n").encode(), "at most 200"),
        ((",".join(f"c{i}" for i in range(201)) + "\n" + "x," * 200 + "x\n").encode(), "at most 200"),
        (("n" * 201 + "\nAda\n").encode(), "longer than 200"),
    ],
)
def test_an_empty_file_or_a_missing_header_is_a_clear_error(data, message, admin_user):
    with pytest.raises(ImportFileError, match=message):
        imports.import_job_create(user=admin_user, file_name="x.csv", data=data)


def test_a_header_without_rows_is_a_clear_error(admin_user):
    with pytest.raises(ImportFileError, match="no rows"):
        imports.import_job_create(user=admin_user, file_name="x.csv", data=b"name,email\n")


def test_unnamed_columns_are_dropped_when_empty_and_named_by_position_when_not():
    text = csv_text("name,,city,,", "Ada,,London,,", "Bob,,Paris,vip,")
    assert read_header(text) == ["name", "", "city", "Column D"]
    result = run_import(text)
    assert (result.created, result.rejected) == (2, 0)
    assert Lead.objects.get(name="Bob").attributes == {"column_d": "vip"}
    assert Lead.objects.get(name="Ada").attributes == {}


def test_a_column_name_given_twice_is_numbered():
    text = csv_text("name,Email,Email", "Ada,ada@example.com,ada@work.example")
    assert read_header(text) == ["name", "Email", "Email (2)"]
    run_import(text)
    lead = Lead.objects.get()
    assert (lead.email, lead.attributes) == ("ada@example.com", {"email_2": "ada@work.example"})


# --- Rows --------------------------------------------------------------------------------------------------------


def test_every_rejected_row_has_its_line_number_and_reason_and_good_rows_are_kept(rep, channel):
    text = csv_text(
        HEADER,
        "Good One,good@example.com,,,new,2024-01-05,,,,,",  # line 2
        "Bad Email,nope@,,,,,,,,,",  # 3
        ",noname@example.com,,,,,,,,,",  # 4
        "",  # a blank line: not a row, but it counts in the numbering
        "Odd Stage,odd@example.com,,,negotiating,,,,,,",  # 6
        "Bad Date,date@example.com,,,,31/31/2024,,,,,",  # 7
        "Future,future@example.com,,,,2999-01-01,,,,,",  # 8
        "No Value,novalue@example.com,,,won,2024-01-01,2024-02-01,,,,",  # 9
        "Bad Value,badvalue@example.com,,,won,2024-01-01,2024-02-01,lots,,,",  # 10
        "Won Early,early@example.com,,,won,2024-03-01,2024-02-01,10,,,",  # 11
        "Lost Why,why@example.com,,,lost,,,,because,,",  # 12
        "Who Owns,who@example.com,,,,,,,,,nobody",  # 13
        "Which Channel,which@example.com,,,,,,,,TikTok,",  # 14
        "Good Two,good2@example.com,,,,,,,,Google Ads,rep",  # 15
    )
    result = run_import(text)
    # Rejected: only what cannot be a lead's value (a date that cannot be read, a deal value that is no number).
    assert {r.line: r.reason for r in result.rejections} == {
        7: "created date “31/31/2024” is not a date (use YYYY-MM-DD or YYYY-MM-DD HH:MM)",
        10: "deal value “lots” is not a number",
    }
    # Everything else is imported, with what was odd as a warning.
    assert {r.line: r.reason for r in result.warnings} == {
        3: "bad email “nope@” left out (There must be something after the @-sign)",
        6: "unknown stage “negotiating”: imported as New, kept as the attribute stage",
        8: "created date “2999-01-01” is in the future",
        9: "won without a deal value",
        11: "won date before the created date (imported as given)",
        12: "unknown lost reason “because”: recorded as Other",
        13: "unknown owner “nobody”: imported as a row without an owner, kept as the attribute owner",
        14: "unknown channel “TikTok” (use --create-channels to add it): imported as a row without a channel, kept as "
        "the attribute channel",
    }
    assert result.created == 11 and result.warned == 8
    assert (result.created + result.rejected + result.skipped) == result.rows == 13
    assert Lead.objects.get(name="Bad Email").email == ""
    assert Lead.objects.get(name="Odd Stage").stage == "new"
    no_value = Lead.objects.get(name="No Value")
    assert (no_value.stage, no_value.deal_value, no_value.won_at.date()) == ("won", None, dt.date(2024, 2, 1))
    early = Lead.objects.get(name="Won Early")
    assert early.won_at < early.created_at  # as given
    assert Lead.objects.get(name="Lost Why").lost_reason == "other"
    assert Lead.objects.get(name="noname@example.com").email == "noname@example.com"
    good_two = Lead.objects.get(name="Good Two")
    assert good_two.owner == rep and good_two.team_id == rep.team_id and good_two.channel == channel


def test_values_the_database_cannot_hold_are_rejected_and_countries_are_read_by_name():
    text = csv_text(
        "name,company_size,country,city",
        "A,many,DE,x",
        "B,12,Germany,x",
        "C,12,DE," + "y" * 101,
        "D,1 200,de,Berlin",
        "E,51-200,United States,x",
        "F,,Atlantis,x",
        "G,4294967296,,x",
    )
    result = run_import(text)
    assert [(r.line, r.reason) for r in result.rejections] == [
        (2, "company size “many” is not a whole number"),
        (4, "city longer than 100 characters"),
        (8, "company size “4294967296” is out of range (at most 10,000,000)"),
    ]
    assert [(r.line, r.reason) for r in result.warnings] == [
        (6, "company size “51-200” read as 51"),
        (7, "country “Atlantis” is neither a 2-letter code nor a country's name: left out"),
    ]
    leads = {lead.name: (lead.company_size, lead.country) for lead in Lead.objects.all()}
    assert leads == {"B": (12, "DE"), "D": (1200, "DE"), "E": (51, "US"), "F": (None, "")}


def test_rejected_and_warned_rows_come_back_as_csv_with_their_own_columns_line_and_reason():
    text = csv_text("name,email", "Ada,ada@example.com", "Bob,bob@", "Cy,cy@example.com", "=1+1,x@y")
    result = run_import(text)
    out = imports.rejections_csv(["name", "email"], result.warnings, with_header=True, reason="warning")
    assert out.splitlines() == [
        "name,email,line,warning",
        "Bob,bob@,3,bad email “bob@” left out (There must be something after the @-sign)",
        "'=1+1,x@y,5,bad email “x@y” left out (The part after the @-sign is not valid. It should have a period)",
    ]


def test_a_manager_may_not_give_leads_to_another_teams_rep(manager, other_rep):
    result = run_import(csv_text("name,owner", "Ada,other_rep"), user=manager)
    assert result.warnings[0].reason == (
        "owner “other_rep” is not someone you may give leads to: imported as a row without an owner, kept as the "
        "attribute owner"
    )
    assert Lead.objects.get().owner is None


# --- Options -----------------------------------------------------------------------------------------------------


def test_default_channel_and_owner_apply_to_rows_without_one(rep, channel):
    other = ChannelFactory(name="Fair")
    result = run_import(csv_text("name,channel", "Ada,", "Bob,Fair"), channel="google ads", owner="rep")
    assert result.created == 2
    ada, bob = Lead.objects.get(name="Ada"), Lead.objects.get(name="Bob")
    assert (ada.channel, bob.channel) == (channel, other)
    assert ada.owner == bob.owner == rep
    assert ada.assigned_at is not None


def test_an_unknown_default_channel_or_owner_stops_the_import_with_a_clear_error(db):
    with pytest.raises(ImportFileError, match="Unknown channel “Nowhere”"):
        run_import(csv_text("name", "Ada"), channel="Nowhere")
    with pytest.raises(ImportFileError, match="Unknown owner “ghost”"):
        run_import(csv_text("name", "Ada"), owner="ghost")


def test_create_channels_adds_the_channels_the_file_names(db):
    result = run_import(csv_text("name,channel", "Ada,TikTok", "Bob,tiktok", "Cy,Fair"), create_channels=True)
    assert result.created == 3
    assert sorted(Channel.objects.values_list("name", "kind")) == [("Fair", "import"), ("TikTok", "import")]
    assert Lead.objects.filter(channel__name="TikTok").count() == 2


def test_stage_values_map_booleans_and_stages_match_whatever_their_case(db):
    text = csv_text(
        "name,stage,deal_value,won_at", "A,1,100,2024-05-01", "B,0,,", "C,QUALIFIED,,", "D,Won,5,2024-01-01"
    )
    # Without a created date, a won lead was created by its won date at the latest.
    result = run_import(text, stage_values={"1": "won", "0": "lost"})
    assert result.rejected == 0
    stages = dict(Lead.objects.values_list("name", "stage"))
    assert stages == {"A": "won", "B": "lost", "C": "qualified", "D": "won"}
    assert Lead.objects.get(name="B").lost_reason == "other"


def test_stage_values_are_parsed_and_checked():
    assert imports.parse_stage_values("won=1, lost=0,won=Yes") == {"1": "won", "0": "lost", "yes": "won"}
    with pytest.raises(ImportFileError, match="unknown stage “closed”"):
        imports.parse_stage_values("closed=1")
    with pytest.raises(ImportFileError, match="not STAGE=VALUE"):
        imports.parse_stage_values("won")


def test_on_duplicate_skip_skips_rows_matching_a_stored_lead_or_an_earlier_row(small_chunks):
    LeadFactory(email="ada@example.com", email_normalized="ada@example.com", phone="", name="Stored Ada")
    Lead.objects.filter(name="Stored Ada").update(phone_normalized="+14155550100")
    text = csv_text(
        "name,email,phone",
        "Ada again, ADA@Example.com ,",  # the stored lead, by email
        "Ada by phone,,(415) 555-0100",  # the stored lead, by phone
        "Bob,bob@example.com,",
        "Bob twice,BOB@example.com,",  # an earlier row of the same chunk
        "Bob thrice,bob@example.com,",  # an earlier row of another chunk
    )
    result = run_import(text, on_duplicate="skip")
    assert (result.created, result.skipped, result.updated) == (1, 4, 0)
    assert Lead.objects.count() == 2


def test_on_duplicate_update_changes_the_stored_lead_and_merges_attributes(small_chunks):
    stored = LeadFactory(email="ada@example.com", company="Old Co", attributes={"tier": "gold"}, industry="Math")
    text = csv_text(
        "name,email,company,industry,attributes.source",
        "Ada Lovelace,ada@example.com,New Co,,fair",  # an empty industry leaves it as it was
        "Bob,bob@example.com,Bob Co,,",
        "Bob,bob@example.com,Bob Ltd,,",  # updates the lead the row above created (same chunk)
        "Bob,bob@example.com,Bob GmbH,,",  # ... and from the next chunk, the stored one
    )
    result = run_import(text, on_duplicate="update")
    assert (result.created, result.updated, result.skipped) == (1, 3, 0)
    stored.refresh_from_db()
    assert (stored.name, stored.company, stored.industry) == ("Ada Lovelace", "New Co", "Math")
    assert stored.attributes == {"tier": "gold", "source": "fair"}
    assert Lead.objects.get(email="bob@example.com").company == "Bob GmbH"
    # Each stored lead's history says what the import changed, from what (a field left as it was is not there).
    changes = {h.field: (h.old_value, h.new_value, h.note) for h in LeadHistory.objects.filter(lead=stored)}
    assert set(changes) == {"name", "company", "attributes"}
    assert changes["company"] == ("Old Co", "New Co", "CSV import (command line)")
    bob = Lead.objects.get(email="bob@example.com")
    assert [(h.old_value, h.new_value) for h in LeadHistory.objects.filter(lead=bob, field="company")] == [
        ("Bob Co", "Bob GmbH")  # the first chunk created it; the next one changed it twice: one row, first to last
    ]


def test_on_duplicate_update_refuses_leads_the_importer_may_not_change(manager, other_rep):
    LeadFactory(email="theirs@example.com", owner=other_rep)
    result = run_import(csv_text("name,email", "Theirs,theirs@example.com"), user=manager, on_duplicate="update")
    assert result.rejections[0].reason == "duplicate of a lead you may not change"


def test_on_duplicate_create_creates_them_all(db):
    LeadFactory(email="ada@example.com")
    result = run_import(csv_text("name,email", "Ada,ada@example.com", "Ada,ada@example.com"), on_duplicate="create")
    assert result.created == 2
    assert Lead.objects.filter(email_normalized="ada@example.com").count() == 3


def test_a_dry_run_counts_everything_and_writes_nothing(small_chunks):
    LeadFactory(email="ada@example.com")
    before = (Lead.objects.count(), StageChange.objects.count(), Channel.objects.count())
    text = csv_text(
        "name,email,channel", "Ada,ada@example.com,New", "Bob,bob@example.com,New", "Bob,bob@example.com,", ",x@,"
    )
    result = run_import(text, dry_run=True, create_channels=True, on_duplicate="update")
    assert (result.created, result.updated, result.rejected) == (1, 2, 1)
    assert (Lead.objects.count(), StageChange.objects.count(), Channel.objects.count()) == before


# --- Historical rows, clocks, signals ------------------------------------------------------------------------------


def test_historical_rows_keep_their_dates_and_their_stage_history(db):
    text = csv_text(
        "name,created_at,stage,won_at,deal_value,lost_reason",
        "Won,2024-01-10,won,2024-03-01 14:30,1200.50,",
        "Lost,2024-02-01,Lost,,,No budget",
        "Open,2024-02-05,proposal,,,",
    )
    run_import(text)
    won = Lead.objects.get(name="Won")
    assert won.created_at == dt.datetime(2024, 1, 10, tzinfo=dt.UTC)
    assert won.won_at == dt.datetime(2024, 3, 1, 14, 30, tzinfo=dt.UTC)
    assert won.deal_value == Decimal("1200.50")
    assert won.last_activity_at == won.created_at and won.stage_changed_at == won.won_at
    history = list(
        StageChange.objects.filter(lead=won).order_by("changed_at").values_list("from_stage", "to_stage", "changed_at")
    )
    assert history == [("", "new", won.created_at), ("new", "won", won.won_at)]
    lost = Lead.objects.get(name="Lost")
    assert (lost.stage, lost.lost_reason) == ("lost", "no_budget")
    assert StageChange.objects.filter(lead__name="Open", to_stage="proposal").exists()
    # The reports' funnel ("reached stage") reads these rows.
    from leads.filters import reached_stage_condition

    assert set(Lead.objects.filter(reached_stage_condition("proposal")).values_list("name", flat=True)) == {
        "Won",
        "Open",
    }


def test_imported_open_leads_get_response_clocks(db):
    ResponsePolicy.objects.create(name="All", target_minutes=60)
    run_import(csv_text("name,stage,deal_value", "Open,new,", "Closed,won,10"))
    assert list(ResponseClock.objects.values_list("lead__name", flat=True)) == ["Open"]


def test_bulk_created_is_sent_on_commit_per_chunk_with_the_new_ids(small_chunks, django_capture_on_commit_callbacks):
    received = []

    def receiver(sender, lead_ids, **kwargs):
        received.append(sorted(lead_ids))

    leads_bulk_created.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            run_import(csv_text("name", "A", "B", "C"))
    finally:
        leads_bulk_created.disconnect(receiver)
    ids = sorted(Lead.objects.values_list("pk", flat=True))
    assert received == [ids[:2], ids[2:]]


# --- Chunks are atomic ---------------------------------------------------------------------------------------------


@pytest.fixture
def failing_insert(db):
    """A real database failure for one row (a trigger), as a crash mid-import would be."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION boom() RETURNS trigger AS $$ BEGIN "
            "IF NEW.name = 'Boom' THEN RAISE EXCEPTION 'disk on fire'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql;"
            "CREATE TRIGGER boom BEFORE INSERT ON leads_lead FOR EACH ROW EXECUTE FUNCTION boom();"
        )
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER IF EXISTS boom ON leads_lead; DROP FUNCTION IF EXISTS boom();")


def test_a_failure_mid_import_leaves_no_partial_chunk_and_the_job_says_where_it_stopped(
    small_chunks, failing_insert, admin_user
):
    data = csv_text("name", "A", "B", "C", "Boom", "E").encode()
    job = imports.import_job_create(user=admin_user, file_name="f.csv", data=data)
    imports.import_job_start(job=job, user=admin_user)
    with pytest.raises(Exception, match="disk on fire"):
        imports.import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    assert (job.rows_done, job.created) == (2, 2)
    assert "Stopped after 2 rows" in job.error
    # The chunk with "Boom" went whole: "C" (same chunk) is not there either.
    assert sorted(Lead.objects.values_list("name", flat=True)) == ["A", "B"]
    assert StageChange.objects.count() == 2


def test_a_rerun_of_a_job_carries_on_after_the_last_committed_chunk(small_chunks, admin_user):
    data = csv_text("name,email", "A,a@example.com", ",b@", "C,c@example.com", ",d@").encode()
    job = imports.import_job_create(user=admin_user, file_name="f.csv", data=data)
    imports.import_job_start(job=job, user=admin_user)
    imports.import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.rows_done, job.created, job.rejected) == ("done", 4, 2, 2)
    no_identity = "no identity: no name, company, email, phone or external id; bad email “{}” left out (There must be something after the @-sign)"
    assert job.rejected_csv.splitlines() == [
        "name,email,line,reason",
        f',b@,3,"{no_identity.format("b@")}"',
        f',d@,5,"{no_identity.format("d@")}"',
    ]
    # A redelivered task for a finished job does nothing.
    imports.import_job_run(job_id=job.pk)
    assert Lead.objects.count() == 2


def test_reps_may_not_import(rep):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        imports.import_job_create(user=rep, file_name="f.csv", data=b"name\nAda\n")


def test_options_round_trip_through_the_job(admin_user):
    options = ImportOptions(channel="", owner="", on_duplicate="update", stage_values={"1": "won"}, dry_run=True)
    assert ImportOptions.from_dict(options.as_dict()) == options


def test_a_won_row_without_a_created_date_is_created_at_its_won_date(db):
    run_import(csv_text("name,stage,deal_value,won_at", "A,won,100,2024-05-01"))
    lead = Lead.objects.get()
    assert lead.created_at == lead.won_at == dt.datetime(2024, 5, 1, tzinfo=dt.UTC)


def test_an_update_by_phone_stores_the_new_email_normalised(db):
    stored = LeadFactory(email="", email_normalized="", phone="+1 415 555 0100")
    Lead.objects.filter(pk=stored.pk).update(phone_normalized="+14155550100")
    run_import(csv_text("name,email,phone", "Ada,ADA@Example.com,(415) 555-0100"), on_duplicate="update")
    stored.refresh_from_db()
    assert (stored.email, stored.email_normalized) == ("ADA@Example.com", "ada@example.com")


@pytest.mark.parametrize("encoding", ["", "latin-1"])
def test_a_binary_file_is_refused_whatever_the_encoding(encoding):
    with pytest.raises(ImportFileError, match="not a text CSV"):
        decode_upload("name\nAda\n".encode("utf-16-le"), encoding=encoding)
    with pytest.raises(ImportFileError, match="not a text CSV"):
        decode_upload(b"PK\x03\x04\x14\x00\x06\x00", encoding=encoding)


def test_bytes_undefined_in_windows_1252_are_a_clear_error():
    with pytest.raises(ImportFileError, match="not Windows-1252"):
        decode_upload(b"name\nA\x81\n", encoding="cp1252")


def test_a_file_whose_lines_end_with_a_comma_imports_whole(admin_user):
    # As spreadsheet tools write it: an unnamed, empty last column on every line.
    from tests.imports.conftest import run_import

    result = run_import("name,email,\nAda,ada@example.com,\nGrace,grace@example.com,\n")
    assert result.created == 2 and not result.rejections
