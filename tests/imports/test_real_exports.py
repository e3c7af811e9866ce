"""Files in the shapes other systems export (tests/imports/exports/, written here after the real exports' shapes):
each imports whole with its columns guessed, and every row is imported or reported, none lost silently.

The shapes: a HubSpot contacts export saved by a spreadsheet (byte-order mark, CRLF, a trailing empty column),
a Salesforce leads report (every cell quoted, US dates), a Pipedrive deals export from a European Excel (semicolons,
decimal commas), Meta Lead Ads' download (UTF-16, tabs, prefixed ids and phones), LinkedIn Lead Gen Forms and
Google Ads lead forms; and the first rows of Olist's public marketing funnel dataset (its marketing-qualified leads
and its closed deals, as published, CRLF). Their rows hold what real files hold: won deals without amounts, dates that contradict,
internationalised addresses, addresses that are not ones, company sizes as bands, rows with nothing to name a lead.
"""

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from crm.roles import Role
from leads.imports import services as imports
from leads.models import AttributeLabel, Channel, Lead, StageChange
from reports.models import DailyLeadStats
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

EXPORTS = Path(__file__).parent / "exports"


def import_export(name: str, **options) -> imports.ImportResult:
    """Import a file the way `manage.py import_leads FILE` does without --map: decoded, mapping guessed."""
    text, _ = imports.decode_upload((EXPORTS / name).read_bytes())
    mapping = imports.guess_mapping(imports.read_header(text))
    result = imports.import_file(text=text, mapping=mapping, options=imports.ImportOptions(**options))
    # None lost silently: every data row is created, skipped or rejected, each warning belongs to an imported row.
    assert result.rows == imports.count_rows(text)
    assert result.created + result.updated + result.skipped + result.rejected == result.rows
    rejected_lines = {r.line for r in result.rejections}
    assert len(rejected_lines) == result.rejected and not rejected_lines & {w.line for w in result.warnings}
    assert Lead.objects.count() == result.created
    return result


def reasons(rows) -> dict[int, str]:
    return {row.line: row.reason for row in rows}


def test_a_hubspot_contacts_export_saved_by_a_spreadsheet():
    result = import_export("hubspot_contacts.csv", create_channels=True)
    assert (result.rows, result.created, result.rejected) == (7, 6, 1)
    assert reasons(result.rejections) == {7: "no identity: no name, company, email, phone or external id"}
    assert reasons(result.warnings) == {
        2: "company size “51-200” read as 51",
        3: "won without a deal value; won date before the created date (imported as given)",
        5: "company size “10001+” read as 10,001; bad email “grace@” left out (There must be something after the "
        "@-sign)",
        8: "created date “2099-01-01 00:00” is in the future",
    }
    ada = Lead.objects.get(external_id="5101")
    assert (ada.name, ada.stage, ada.deal_value, ada.country, ada.company_size) == (
        "Ada Lovelace",
        "won",
        Decimal("12000.00"),
        "GB",
        51,
    )
    assert ada.won_at == dt.datetime(2024, 3, 1, 16, 0, tzinfo=dt.UTC) and ada.channel.name == "PAID_SEARCH"
    # The columns no field takes are kept as custom attributes, the trailing unnamed empty column is not.
    assert ada.attributes == {
        "lead_status": "CONNECTED",
        "original_source_drill_down_1": "google",
        "utm_term": "crm software",
    }
    jose = Lead.objects.get(external_id="5102")
    assert (jose.email, jose.stage, jose.deal_value, jose.country) == ("josé@bücher.de", "won", None, "DE")
    assert jose.won_at < jose.created_at  # as the file gives it
    assert Lead.objects.get(external_id="5103").email == "用户@例子.广告"
    assert Lead.objects.get(external_id="5104").stage == "qualified"
    assert Lead.objects.get(external_id="5105").name == "Record ID 5105"
    assert Lead.objects.get(external_id="5106").stage == "proposal"


def test_a_salesforce_leads_report_with_us_dates():
    result = import_export("salesforce_leads.csv", create_channels=True)
    assert (result.rows, result.created, result.rejected) == (5, 3, 2)
    assert reasons(result.rejections) == {
        5: "company size “many” is not a whole number",
        6: "created date “13/13/2024” is not a date (use YYYY-MM-DD or YYYY-MM-DD HH:MM)",
    }
    unknown_owner = "unknown owner “Sam Seller”: imported as a row without an owner, kept as the attribute lead_owner"
    assert reasons(result.warnings) == {
        2: f"{unknown_owner}; won without a deal value",
        3: f"{unknown_owner}; lost without a reason: recorded as Other",
        4: f"phone “555-0199” is not a valid number (kept as given); {unknown_owner}; won without a deal value; won "
        "date before the created date (imported as given)",
    }
    # 1/15/2024 is read month first: another date of the file (2/13/2024) can only be.
    ada = Lead.objects.get(external_id="00Q5g00000AbCd1")
    assert (ada.created_at.date(), ada.won_at.date(), ada.stage) == (dt.date(2024, 1, 15), dt.date(2024, 3, 2), "won")
    assert (ada.country, ada.region, ada.company_size, ada.attributes) == (
        "US",
        "CA",
        250,
        {"annual_revenue": "5000000", "rating": "Hot", "lead_owner": "Sam Seller"},
    )
    bob = Lead.objects.get(external_id="00Q5g00000AbCd2")
    assert (bob.stage, bob.lost_reason, bob.country) == ("lost", "other", "US")
    assert set(Channel.objects.values_list("name", flat=True)) == {"Web", "Trade Show"}


def test_a_pipedrive_deals_export_from_a_european_spreadsheet():
    result = import_export("pipedrive_deals.csv")
    assert (result.rows, result.created, result.rejected) == (6, 5, 1)
    assert reasons(result.rejections) == {7: "deal value “99999999999999999” is out of range"}
    assert reasons(result.warnings) == {
        3: "won without a deal value",
        5: "lost without a reason: recorded as Other",
        6: "unknown owner “ghost@nowhere.example”: imported as a row without an owner, kept as the attribute deal_owner",
    }
    anna = Lead.objects.get(email="anna@acme.example")
    assert (anna.deal_value, anna.stage, anna.company) == (Decimal("1200.50"), "won", "Acme GmbH")
    assert anna.attributes == {"deal_title": "Acme deal", "deal_currency": "EUR"}
    gina = Lead.objects.get(email="gina@gamma.example")
    assert (gina.stage, gina.lost_reason) == ("lost", "no_budget")  # "Too expensive"
    assert Lead.objects.get(company="Delta BV").name == "Delta BV"  # no person: named by its company
    assert list(StageChange.objects.filter(lead=anna).values_list("to_stage", flat=True).order_by("changed_at")) == [
        "new",
        "won",
    ]


def test_a_meta_lead_ads_download_in_utf16_with_tabs():
    result = import_export("meta_lead_ads.csv")
    assert (result.rows, result.created, result.rejected) == (3, 3, 0)
    assert reasons(result.warnings) == {
        3: "bad email “tom@gmial” left out (The part after the @-sign is not valid. It should have a period); phone "
        "“p:+1555” is not a phone number (kept as given)"
    }
    maria = Lead.objects.get(external_id="l:1180000000000001")
    assert (maria.name, maria.phone_normalized, maria.utm_campaign) == (
        "María José Pérez",
        "+34612345678",
        "spring_launch",
    )
    assert maria.created_at == dt.datetime(2024, 5, 12, 14, 32, 11, tzinfo=dt.UTC)
    assert maria.attributes["platform"] == "fb" and maria.attributes["form_name"] == "Demo form"
    assert Lead.objects.get(external_id="l:1180000000000003").name == "id l:1180000000000003"


def test_linkedin_and_google_ads_lead_form_exports():
    result = import_export("linkedin_leads.csv")
    assert (result.created, result.rejected, result.warned) == (2, 0, 2)
    linh = Lead.objects.get(external_id="urn:li:lead:1")
    assert (linh.country, linh.company_size, linh.utm_campaign) == ("VN", 51, "Q2 Data Leaders")
    assert linh.created_at == dt.datetime(2024, 4, 2, 9, 12, 45, tzinfo=dt.UTC)
    Lead.objects.all().delete()
    result = import_export("google_ads_leads.csv")
    assert (result.created, result.rejected, result.warned) == (2, 0, 0)
    priya = Lead.objects.get(external_id="TeST-1")
    assert (priya.email, priya.phone_normalized, priya.country) == ("priya@example.in", "+919876543210", "IN")
    assert priya.attributes == {"campaign_id": "1234567890", "gcl_id": "Cj0KCQ", "postal_code": "400001"}


def test_after_an_import_the_report_figures_of_its_days_are_there_without_a_refresh():
    """The import rebuilds its days' figures before it returns (`leads.signals.import_finished` → reports)."""
    assert not DailyLeadStats.objects.exists()
    import_export("pipedrive_deals.csv")
    rows = DailyLeadStats.objects.values_list("day", "leads", "won")
    days = {day: (leads, won) for day, leads, won in rows}
    assert days == {
        dt.date(2024, 1, 10): (1, 1),
        dt.date(2024, 2, 1): (1, 1),
        dt.date(2024, 2, 2): (1, 0),
        dt.date(2024, 2, 3): (1, 0),
        dt.date(2024, 2, 4): (1, 0),
    }


def test_a_sample_leads_file_with_owners_by_full_name_and_its_own_stages():
    """The shape of Datablist's widely used sample leads files: owners by full name, stages of its own, US phones
    written with "001" and extensions."""
    bethany = UserFactory(username="bdixon", first_name="Bethany", last_name="Dixon", role=Role.REP)
    UserFactory(username="slee1", first_name="Sam", last_name="Lee", role=Role.REP)
    UserFactory(username="slee2", first_name="Sam", last_name="Lee", role=Role.REP)
    result = import_export("datablist_leads.csv", create_channels=True)
    assert (result.rows, result.created, result.rejected) == (6, 6, 0)
    leads = {lead.email: lead for lead in Lead.objects.select_related("owner")}
    # The owner's full name names Bethany, however it is spaced; a name two people share names nobody.
    assert [leads[e].owner for e in ("vera.cole@hartlane.example", "ralph@vh.example", "iris@nolan.example")] == [
        bethany
    ] * 3
    assert {leads[e].stage for e in leads} >= {"new", "proposal", "contacted", "lost", "won"}
    assert leads["mauro@crosby.example"].stage == "proposal"
    assert leads["ralph@vh.example"].stage == "contacted" and leads["dana@barrett.example"].stage == "contacted"
    # "001-…" is +1 where the world dials abroad with 00; so is "0049 …".
    assert leads["mauro@crosby.example"].phone_normalized == "+12125550187"
    assert leads["dana@barrett.example"].phone_normalized == "+493012345678"
    # An owner the CRM does not know is not lost: the lead keeps it as an attribute, and the warning says so.
    assert leads["mauro@crosby.example"].owner is None
    assert leads["mauro@crosby.example"].attributes["lead_owner"] == "Andres Callahan"
    assert leads["dana@barrett.example"].attributes["lead_owner"] == "Sam Lee"
    assert "lead_owner" not in leads["vera.cole@hartlane.example"].attributes
    warnings = reasons(result.warnings)
    assert warnings[3] == (
        "unknown owner “Andres Callahan”: imported as a row without an owner, kept as the attribute lead_owner"
    )
    assert warnings[5].startswith("owner “Sam Lee” names more than one person: imported as a row without an owner")
    assert AttributeLabel.objects.get(key="lead_owner").label == "Lead Owner"


def test_an_unknown_stage_is_kept_as_an_attribute_unless_unmapped_columns_are_ignored():
    text = "Name,Email,Status\nAda,ada@example.com,Parked by legal\n"
    result = imports.import_file(
        text=text, mapping=imports.guess_mapping(imports.read_header(text)), options=imports.ImportOptions()
    )
    assert reasons(result.warnings) == {
        2: "unknown stage “Parked by legal”: imported as New, kept as the attribute status"
    }
    assert Lead.objects.get().attributes == {"status": "Parked by legal"}
    Lead.objects.all().delete()
    result = imports.import_file(
        text=text,
        mapping=imports.guess_mapping(imports.read_header(text)),
        options=imports.ImportOptions(unmapped="ignore"),
    )
    assert reasons(result.warnings) == {2: "unknown stage “Parked by legal”: imported as New"}
    assert Lead.objects.get().attributes == {}


def test_olists_marketing_qualified_leads_and_closed_deals_import_with_their_own_column_names():
    # Olist's funnel dataset: nothing names a lead but its mql_id; dates are US-style; some origins are empty.
    result = import_export("olist_marketing_qualified_leads.csv", create_channels=True)
    assert (result.rows, result.created, result.rejected, result.warned) == (9, 9, 0, 0)
    lead = Lead.objects.get(external_id="8c18d1de7f67e60dbd64e3c07d7e9d5d")
    assert (lead.name, lead.channel.name, lead.created_at.date()) == (
        "mql_id 8c18d1de7f67e60dbd64e3c07d7e9d5d",
        "paid_search",
        dt.date(2017, 10, 20),
    )
    assert Lead.objects.filter(channel=None).count() == 2  # the empty origins
    Lead.objects.all().delete()

    # Its closed deals: no stage column, so a row with a won date was won; the seller's columns are kept.
    result = import_export("olist_closed_deals.csv")
    assert (result.rows, result.created, result.rejected) == (4, 4, 0)
    assert {w.reason for w in result.warnings} == {"won without a deal value"}
    deal = Lead.objects.get(external_id="5420aad7fec3549a85876ba1c529bd84")
    assert (deal.stage, deal.won_at.date(), deal.created_at) == ("won", dt.date(2018, 2, 26), deal.won_at)
    assert deal.attributes["business_segment"] == "pet" and deal.attributes["seller_id"].startswith("2c43fb51")
