"""The one list of lead facts: every way in (form, import, API, services, demo data) and out (export, API answer)
carries each fact it says it does, and the import knows the column names other CRMs export."""

import csv
import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.urls import reverse

from leads import facts
from leads.channels import services as channel_services
from leads.dedupe.services import FILLABLE_FACTS
from leads.demo.writers import TABLES
from leads.exports import COLUMNS, export_csv_lines
from leads.forms import LeadForm
from leads.imports.services import FIELDS, UPDATABLE_FIELDS, guess_mapping, read_header
from leads.models import Lead
from leads.services import EDITABLE_FIELDS, lead_update
from tests.factories import ChannelFactory, LeadFactory
from tests.imports.conftest import csv_text, run_import

pytestmark = pytest.mark.django_db

# Fields of a lead that are not facts a person or a file gives: services, the clock and scoring keep them.
KEPT_BY_SERVICES = {
    "email_normalized",
    "phone_normalized",
    "team",
    "assigned_at",
    "stage_changed_at",
    "scored_at",
    "first_response_at",
    "response_seconds",
    "last_activity_at",
    "updated_at",
    "search_text",
    "import_row_key",
    "import_job",
}

# A value for every fact, unlike any default, so a fact that a way in drops shows as a difference. A fact added
# to the list without a value here fails `test_every_fact_has_a_sample_value`.
SAMPLE = {
    "name": "Ada Lovelace",
    "email": "ada@example.com",
    "phone": "+49 30 1234567",
    "company": "Analytical Engines",
    "job_title": "Mathematician",
    "industry": "Software",
    "company_size": 250,
    "country": "DE",
    "region": "Berlin",
    "city": "Potsdam",
    "utm_source": "newsletter",
    "utm_medium": "email",
    "utm_campaign": "spring",
    "budget": "confirmed",
    "budget_amount": Decimal("5000.00"),
    "authority": "decision_maker",
    "need": "Reports in minutes, not days",
    "timeline": "30",
    "attributes": {"tier": "gold", "seats": 5},
    "external_id": "00Q5g00000AbCdE",
}
# Facts whose sample needs the database or another fact (set in the tests), and the export-only columns.
SET_IN_TESTS = {"channel", "owner", "stage", "lost_reason", "created_at", "won_at", "deal_value"}
NAME_PARTS = {"first_name", "last_name"}
EXPORT_ONLY = {"id", "score", "grade"}


def test_every_fact_has_a_sample_value():
    assert {f.name for f in facts.FACTS} == set(SAMPLE) | SET_IN_TESTS | NAME_PARTS | EXPORT_ONLY


def test_every_field_of_a_lead_is_a_fact_or_kept_by_services():
    fields = {f.name for f in Lead._meta.concrete_fields if not f.primary_key}
    listed = {f.name for f in facts.FACTS if f.field is not None}
    assert fields - KEPT_BY_SERVICES == listed - {"id"}
    assert all(f.field is not None for f in facts.FACTS if f.name not in NAME_PARTS)


def test_every_editable_fact_goes_every_way_but_the_stated_exceptions():
    for fact in facts.FACTS:
        if not fact.editable:
            continue
        assert fact.importable and fact.export, fact.name
        assert fact.form or fact.name == "attributes", fact.name  # attributes have their own panel
        assert fact.api or fact.name == "channel", fact.name  # the API's channel is its token's


def test_the_services_the_import_the_merge_and_the_demo_writer_read_the_list():
    assert EDITABLE_FIELDS == facts.EDITABLE_FIELDS
    assert set(UPDATABLE_FIELDS) == set(facts.EDITABLE_FIELDS) - {"attributes"}  # attributes are merged
    assert list(FIELDS) == [f.name for f in facts.FACTS if f.importable]
    assert list(COLUMNS) == [f.name for f in facts.FACTS if f.export]
    fillable = {Lead._meta.get_field(name).attname for name in facts.EDITABLE_FIELDS} - {"name", "attributes"}
    assert set(FILLABLE_FACTS) == fillable  # a merge fills each blank fact of the survivor
    lead_columns = TABLES["leads"].columns
    for name in facts.EDITABLE_FIELDS:
        assert Lead._meta.get_field(name).attname in lead_columns, name


def test_the_rep_form_shows_each_form_fact_with_its_label(rep, rep_client):
    form = LeadForm(user=rep)
    page = rep_client.get(reverse("leads:create")).content.decode()
    for fact in facts.FACTS:
        if fact.form:
            assert fact.name in form.fields, fact.name
            assert f'name="{fact.name}"' in page, f"the new-lead page does not render {fact.name}"
            if fact.name != "country":  # its field is declared on the form, with a longer help text
                assert form.fields[fact.name].label == fact.verbose_label
        else:
            assert fact.name not in form.fields, fact.name


def test_a_lead_update_keeps_every_editable_fact(rep, lead):
    channel = ChannelFactory(name="Trade fair")
    data = {**{name: value for name, value in SAMPLE.items() if name in facts.EDITABLE_FIELDS}, "channel": channel}
    assert set(data) == set(facts.EDITABLE_FIELDS)
    lead_update(lead=lead, user=rep, data=data)
    lead.refresh_from_db()
    for name, value in data.items():
        assert getattr(lead, name) == value, name


def _export(leads) -> str:
    return "".join(part.decode() if isinstance(part, bytes) else part for part in export_csv_lines(leads))


def test_every_exported_and_imported_fact_survives_an_export_and_an_import(admin_user, rep, channel):
    created = dt.datetime(2024, 1, 15, 9, 30, tzinfo=dt.UTC)
    won = LeadFactory(
        **SAMPLE,
        channel=channel,
        owner=rep,
        stage="won",
        deal_value=Decimal("1200.50"),
        won_at=dt.datetime(2024, 3, 1, tzinfo=dt.UTC),
        created_at=created,
    )
    lost = LeadFactory(
        **{**SAMPLE, "email": "bob@example.com", "phone": "+49 30 7654321"},
        channel=channel,
        owner=rep,
        stage="lost",
        lost_reason="competitor",
        created_at=created,
    )
    text = _export(Lead.objects.filter(pk__in=[won.pk, lost.pk]))
    header = next(csv.reader(io.StringIO(text)))
    for fact in facts.FACTS:
        assert (fact.name in header) == fact.export, fact.name
    originals = {lead.email: lead for lead in (won, lost)}
    Lead.objects.all().delete()

    mapping = guess_mapping(read_header(text))
    assert set(mapping) == {f.name for f in facts.FACTS if f.export and f.importable}
    result = run_import(text, mapping, user=admin_user)
    assert (result.created, result.rejections) == (2, [])
    for imported in Lead.objects.all():
        original = originals[imported.email]
        for fact in facts.FACTS:
            if fact.importable and fact.field is not None:
                assert getattr(imported, fact.name) == getattr(original, fact.name), fact.name


def test_each_importable_fact_is_read_from_a_column_named_by_its_label(admin_user, rep, channel):
    """The mapping page's labels are headers the import recognises, so a file made from them maps itself."""
    for fact in facts.FACTS:
        if fact.importable:
            assert guess_mapping([fact.import_label]) in ({fact.name: fact.import_label}, {}), fact.name
            assert facts.HEADER_SYNONYMS[facts.header_key(fact.import_label)] == fact.name


def test_an_import_update_fills_every_updatable_fact(admin_user):
    lead = LeadFactory(name="Ada", email="ada@example.com", company="", phone="")
    header = ["email", *(name for name in UPDATABLE_FIELDS if name not in ("email", "channel"))]
    cells = {
        name: json.dumps(value) if isinstance(value, dict) else str(value)
        for name, value in SAMPLE.items()
        if name in header
    }
    text = csv_text(",".join(header), ",".join(f'"{cells[name]}"' for name in header))
    result = run_import(text, {name: name for name in header}, user=admin_user, on_duplicate="update")
    assert (result.updated, result.rejections) == (1, [])
    lead.refresh_from_db()
    for name in header:
        assert getattr(lead, name) == SAMPLE[name], name


@pytest.fixture
def token(admin_user, channel):
    """A live API token of the channel, and an empty cache (the token's rate limit counts there)."""
    cache.clear()
    yield channel_services.api_token_create(user=admin_user, channel=channel, name="Landing page")[1]
    cache.clear()


def _call(client, url, body, *, token):
    return client.post(url, json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")


LEADS = "/api/v1/leads/"


def test_the_api_keeps_every_fact_it_accepts_and_refuses_the_others(client, token, channel):
    raw = token
    body = {fact.name: SAMPLE[fact.name] for fact in facts.FACTS if fact.api and fact.name in SAMPLE}
    body["budget_amount"] = str(body["budget_amount"])
    response = _call(client, LEADS, body, token=raw)
    assert response.status_code == 201, response.content
    lead = Lead.objects.get(pk=response.json()["lead"]["id"])
    for name in body:
        assert getattr(lead, name) == SAMPLE[name], name
    answer = response.json()["lead"]
    for fact in facts.FACTS:
        if fact.api_out:
            assert fact.name in answer, fact.name
    assert answer["channel"] == channel.name

    parts = _call(
        client, LEADS, {"first_name": "Grace", "last_name": "Hopper", "email": "grace@example.com"}, token=raw
    )
    assert parts.status_code == 201 and parts.json()["lead"]["name"] == "Grace Hopper"

    for fact in facts.FACTS:
        if not fact.api:
            refused = _call(client, LEADS, {"name": "Eve", "email": "eve@example.com", fact.name: "x"}, token=raw)
            assert refused.status_code == 400 and fact.name in refused.json()["errors"], fact.name
    assert not Lead.objects.filter(name="Eve").exists()


def test_the_api_checks_facts_by_their_model_fields(client, token):
    raw = token
    bad = {
        "email": "ada@example.com",
        "name": "Ada",
        "timeline": "tomorrow",
        "budget_amount": "-5",
        "company_size": 20_000_000,
        "need": "x" * 5001,
    }
    response = _call(client, LEADS, bad, token=raw)
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"timeline", "budget_amount", "company_size", "need"}
    assert not Lead.objects.exists()


# --- Column names of other systems' exports ---------------------------------------------------------------------

# Header lines as these systems write them in a lead (or contact) export, and what each column fills here.
OTHER_CRMS = {
    "HubSpot": {
        "Record ID": "external_id",
        "First Name": "first_name",
        "Last Name": "last_name",
        "Email": "email",
        "Phone Number": "phone",
        "Company Name": "company",
        "Job Title": "job_title",
        "Industry": "industry",
        "Number of Employees": "company_size",
        "City": "city",
        "State/Region": "region",
        "Country/Region": "country",
        "Contact owner": "owner",
        "Create Date": "created_at",
        "Lead Status": "stage",
        "Original Source": "channel",
    },
    "Salesforce": {
        "Lead ID": "external_id",
        "Salutation": None,
        "First Name": "first_name",
        "Last Name": "last_name",
        "Title": "job_title",
        "Company / Account": "company",
        "Email": "email",
        "Phone": "phone",
        "Mobile": None,  # a second phone: the first one fills the lead's phone
        "Lead Source": "channel",
        "Lead Status": "stage",
        "Industry": "industry",
        "No. of Employees": "company_size",
        "City": "city",
        "State/Province": "region",
        "Country": "country",
        "Lead Owner": "owner",
        "Created Date": "created_at",
    },
    "Pipedrive": {
        "Person - Name": "name",
        "Person - Email": "email",
        "Person - Phone": "phone",
        "Organization - Name": "company",
        "Lead - Owner": "owner",
        "Lead - Source": "channel",
        "Lead - Created": "created_at",
        "Deal - Value": "deal_value",
    },
    "Zoho CRM": {
        "First Name": "first_name",
        "Last Name": "last_name",
        "Email": "email",
        "Phone": "phone",
        "Company": "company",
        "Designation": "job_title",
        "Industry": "industry",
        "No. of Employees": "company_size",
        "Lead Source": "channel",
        "Lead Status": "stage",
        "Lead Owner": "owner",
        "Created Time": "created_at",
        "City": "city",
        "State": "region",
        "Country": "country",
    },
    "Facebook lead ads": {
        "id": "external_id",
        "created_time": "created_at",
        "campaign_name": "utm_campaign",
        "full_name": "name",
        "email": "email",
        "phone_number": "phone",
        "company_name": "company",
        "job_title": "job_title",
        "city": "city",
    },
}


@pytest.mark.parametrize("system", OTHER_CRMS)
def test_the_import_maps_the_columns_of_other_crms_exports(system):
    columns = OTHER_CRMS[system]
    expected = {fact: column for column, fact in columns.items() if fact is not None}
    assert guess_mapping(list(columns)) == expected


def test_the_new_facts_import_by_code_or_label_and_bad_values_are_rejected_or_warned_with_reasons(admin_user):
    text = csv_text(
        "Name,Email,Budget,Budget amount,Authority,Timeline,Need,Company size",
        'Ada,ada@example.com,Has budget,"$12,000",Decision maker,Within 30 days,Reports,10',
        "Bob,bob@example.com,confirmed,100,influencer,later,,20",
        "Cy,cy@example.com,maybe,,,,,",
        "Di,di@example.com,,,,,,20000000",
        "Ed,ed@example.com,,lots,,,,",
    )
    result = run_import(text, user=admin_user)
    # A value the column cannot hold rejects the row; an unknown choice is left out with a warning.
    assert [(r.line, r.reason) for r in result.rejections] == [
        (5, "company size “20000000” is out of range (at most 10,000,000)"),
        (6, "budget amount “lots” is not a number"),
    ]
    assert [(r.line, r.reason) for r in result.warnings] == [
        (4, "unknown budget “maybe” left out (one of: unknown, confirmed, none)"),
    ]
    assert Lead.objects.get(name="Cy").budget == "unknown"
    ada = Lead.objects.get(name="Ada")
    assert (ada.budget, ada.budget_amount, ada.authority, ada.timeline, ada.need) == (
        "confirmed",
        Decimal("12000.00"),
        "decision_maker",
        "30",
        "Reports",
    )
    bob = Lead.objects.get(name="Bob")
    assert (bob.budget, bob.authority, bob.timeline, bob.need) == ("confirmed", "influencer", "later", "")


def test_empty_qualification_cells_keep_the_defaults(admin_user):
    run_import(csv_text("name,email,budget,timeline", "Ada,ada@example.com,,"), user=admin_user)
    lead = Lead.objects.get()
    assert (lead.budget, lead.timeline, lead.authority) == ("unknown", "unknown", "unknown")


def test_the_attributes_column_and_attribute_columns_merge(admin_user):
    text = csv_text(
        "name,email,attributes,attributes.tier", 'Ada,ada@example.com,"{""seats"": 5, ""tier"": ""x""}",gold'
    )
    run_import(text, user=admin_user)
    assert Lead.objects.get().attributes == {"seats": 5, "tier": "gold"}
    result = run_import(csv_text("name,email,attributes", "Bob,bob@example.com,[1]"), user=admin_user)
    assert result.rejections[0].reason == "attributes “[1]” is not a JSON object"


def test_an_import_update_with_empty_cells_keeps_the_leads_own_values(admin_user):
    lead = LeadFactory(email="ada@example.com", budget="confirmed", company_size=40, timeline="90")
    text = csv_text("name,email,budget,company_size,timeline", "Ada,ada@example.com,,,")
    result = run_import(text, user=admin_user, on_duplicate="update")
    assert (result.updated, result.rejections) == (1, [])
    lead.refresh_from_db()
    assert (lead.budget, lead.company_size, lead.timeline) == ("confirmed", 40, "90")
