"""The pieces real files need: delimiters, dates written either way, amounts with a decimal comma, addresses by the
standards, countries by name, attribute keys and labels."""

import codecs
import datetime as dt
from decimal import Decimal

import pytest

from crm import clock
from leads.imports.columns import (
    attribute_columns,
    attribute_key,
    attribute_label,
    detect_delimiter,
    guess_mapping,
    read_header,
    slash_date_order,
)
from leads.imports.rows import ImportFileError, decode_upload
from leads.models import Lead
from leads.normalize import country_code, email_problem
from tests.imports.conftest import csv_text, run_import


@pytest.mark.parametrize(
    "address",
    ["ada@example.com", "josé@bücher.de", "用户@例子.广告", "Ada.Lovelace+crm@sub.example.co.uk", "ñandú@perú.pe"],
)
def test_internationalised_and_ordinary_addresses_are_valid(address):
    assert email_problem(address) == ""


@pytest.mark.parametrize("address", ["nope@", "a@b", "two@@example.com", "a b@example.com", "@example.com"])
def test_addresses_that_are_not_ones_are_not(address):
    assert email_problem(address)


@pytest.mark.parametrize(
    "text, code",
    [("DE", "DE"), ("de", "DE"), ("Germany", "DE"), ("United States", "US"), ("USA", "US"), ("UK", "GB"),
     ("United Kingdom", "GB"), ("India", "IN"), ("Viet Nam", "VN"), ("Russian Federation", "RU"),
     ("Lao People's Democratic Republic", "LA"), ("Slovakia (Slovak Republic)", "SK"), ("Saint Barthelemy", "BL"),
     ("Saint Barthélemy", "BL"), ("South Georgia and the South Sandwich Islands", "GS"), ("Swaziland", "SZ"),
     ("Korea, Republic of", "KR"), ("unknown", ""), ("Atlantis", ""), ("Asia/Pacific Region", ""), ("", "")],
)  # fmt: skip
def test_countries_are_read_by_code_or_name(text, code):
    assert country_code(text) == code


@pytest.mark.parametrize(
    "column, key, label",
    [
        ("Lead Origin", "lead_origin", "Lead Origin"),
        ("Utm source", "utm_source", "UTM source"),
        ("utm_term", "utm_term", "UTM term"),
        ("lead-quality", "lead_quality", "Lead quality"),
        ("Original Source Drill-Down 1", "original_source_drill_down_1", "Original Source Drill-Down 1"),
        ("用户", "column", "用户"),
        ("x" * 80, "x" * 60, "X" * 1 + "x" * 79),
    ],
)
def test_attribute_keys_are_clean_and_labels_readable(column, key, label):
    assert (attribute_key(column), attribute_label(column)) == (key, label)


def test_attribute_keys_never_collide_and_a_lead_holds_at_most_fifty():
    header = ["name", "Lead Origin", "lead_origin", *[f"c{i}" for i in range(60)]]
    kept, left_out = attribute_columns(header=header, mapping={"name": "name"})
    assert kept["lead_origin"] == "Lead Origin" and kept["lead_origin_2"] == "lead_origin"
    assert len(kept) == 50 and left_out == [f"c{i}" for i in range(48, 60)]


@pytest.mark.parametrize(
    "first_line, delimiter",
    [("a,b,c", ","), ("a;b;c", ";"), ("a\tb\tc", "\t"), ("a|b|c", "|"), ('"x;y",b', ","), ("name", ",")],
)
def test_the_delimiter_is_the_one_the_header_uses(first_line, delimiter):
    assert detect_delimiter(first_line + "\nrow\n") == delimiter


@pytest.mark.django_db
def test_a_semicolon_file_with_decimal_commas_imports():
    text = csv_text("Name;Email;Amount;Status", "Anna;anna@example.com;1.200,50;won", "Ben;ben@example.com;99,90;won")
    result = run_import(text)
    assert (result.created, result.rejected) == (2, 0)
    assert sorted(Lead.objects.values_list("deal_value", flat=True)) == [Decimal("99.90"), Decimal("1200.50")]


@pytest.mark.django_db
def test_dates_written_with_slashes_are_read_the_way_the_file_writes_them():
    mapping = {"name": "name", "created_at": "created"}
    us = csv_text("name,created", "A,1/15/2024", "B,3/4/2024")
    assert slash_date_order(us, ["name", "created"], mapping) == "mdy"
    europe = csv_text("name,created", "A,15/1/2024", "B,3/4/2024")
    assert slash_date_order(europe, ["name", "created"], mapping) == "dmy"
    unclear = csv_text("name,created", "A,3/4/2024")
    assert slash_date_order(unclear, ["name", "created"], mapping) == ""
    run_import(europe, mapping)
    assert Lead.objects.get(name="B").created_at.date().isoformat() == "2024-04-03"


@pytest.mark.django_db
def test_a_date_the_file_leaves_ambiguous_imports_the_lead_created_now_and_keeps_the_date_as_an_attribute():
    # A gym's export: ISO dates, and one row typed by hand with slashes; nothing in the file says which part is
    # the day. Either reading is a date, so the lead is not rejected; it is not guessed either.
    mapping = {"name": "Full Name", "created_at": "Created Date", "stage": "Status", "won_at": "Won On"}
    text = csv_text(
        "Full Name,Created Date,Status,Won On",
        "Ann,2024-03-02,new,",
        "Mike,03/05/2024,new,",
        "Wendy,2024-03-01,won,04/06/2024",
    )
    result = run_import(text, mapping)
    assert (result.created, result.rejected) == (3, 0)
    assert {r.line: r.reason for r in result.warnings} == {
        3: "created date “03/05/2024” could be day or month first (no other date of the file tells): imported as "
        "created now, kept as the attribute created_date",
        4: "won without a deal value; won date “04/06/2024” could be day or month first (no other date of the file tells): imported as won "
        "now, kept as the attribute won_on",
    }
    mike, wendy = Lead.objects.get(name="Mike"), Lead.objects.get(name="Wendy")
    assert mike.attributes == {"created_date": "03/05/2024"} and mike.created_at.date() == clock.today()
    assert (wendy.created_at.date(), wendy.won_at.date()) == (dt.date(2024, 3, 1), clock.today())
    assert wendy.attributes == {"won_on": "04/06/2024"}
    assert Lead.objects.get(name="Ann").attributes == {}


def test_utf16_with_its_byte_order_mark_is_read():
    text, encoding = decode_upload(codecs.BOM_UTF16_LE + "name\tcity\nJosé\tZürich\n".encode("utf-16-le"))
    assert (encoding, read_header(text)) == ("utf-16", ["name", "city"])
    with pytest.raises(ImportFileError, match="not a text CSV"):
        decode_upload("name\nAda\n".encode("utf-16-le"))


def test_a_column_named_as_a_field_wins_over_a_synonym():
    # This CRM's export has "id" (its own) and "external_id": the latter is the external id.
    assert guess_mapping(["id", "name", "external_id", "score", "grade"]) == {
        "name": "name",
        "external_id": "external_id",
    }
    assert guess_mapping(["id", "full_name"]) == {"external_id": "id", "name": "full_name"}


def test_a_first_column_that_is_an_id_names_the_lead_only_when_nothing_else_can():
    assert guess_mapping(["Ref. Id", "notes"]) == {"external_id": "Ref. Id"}
    assert guess_mapping(["customerId", "notes"]) == {"external_id": "customerId"}
    assert guess_mapping(["Customer ID", "notes"]) == {"external_id": "Customer ID"}
    # A name that merely ends in those letters is no id.
    for first in ("Paid", "Valid", "Android"):
        assert "external_id" not in guess_mapping([first, "notes"])
    assert guess_mapping(["deal_id", "won_date", "seller_id"]) == {"external_id": "deal_id", "won_at": "won_date"}
    # Something else names the lead: the id column is left to be kept as an attribute.
    assert guess_mapping(["ticket_id", "Email"]) == {"email": "Email"}
    # Only the first column: a later one ending in "id" is more likely another record's.
    assert guess_mapping(["notes", "seller_id"]) == {}


def test_a_customer_or_client_name_column_names_the_lead():
    # A real-estate CRM's export: "Customer Name", with the people's phones and WhatsApp numbers.
    assert guess_mapping(["Customer Name", "Phone", "WhatsApp", "Lead Status"]) == {
        "name": "Customer Name",
        "phone": "Phone",
        "stage": "Lead Status",
    }
    assert guess_mapping(["Client name", "Email"]) == {"name": "Client name", "email": "Email"}


@pytest.mark.django_db
def test_an_imported_internationalised_address_passes_the_lead_form_and_the_api_rule(rep):
    from leads.forms import LeadForm
    from leads.intake.api import _LeadInRules

    form = LeadForm(data={"name": "José", "email": "josé@bücher.de", "phone": ""}, user=rep)
    form.is_valid()
    assert "email" not in form.errors
    assert 'inputmode="email"' in str(form["email"])  # a text input: browsers refuse josé@ in type=email
    assert _LeadInRules._email("用户@例子.广告") == "用户@例子.广告"
    bad = LeadForm(data={"name": "Bob", "email": "bob@", "phone": ""}, user=rep)
    assert "Enter a valid email address. There must be something after the @-sign." in bad.errors["email"][0]


def test_special_use_domains_are_valid_syntax_no_deliverability_is_judged():
    assert email_problem("drill@fault-drill.invalid") == email_problem("ada@foo.test") == ""
