"""Imports are idempotent: a file imported again (twice in a row, killed midway and rerun, or twice at once) creates
each lead once, rows without email or phone included; concurrent runs take the identity lock of every way in."""

import json

import pytest
from django.test import Client

from leads.channels import services as channel_services
from leads.imports.services import ImportOptions, LeadImporter, guess_mapping, import_file, read_header
from leads.models import Interaction, Lead, StageChange
from tests.imports.conftest import csv_text, run_import
from tests.threads import together

ROWS = [
    "Ada Lovelace,ada@example.com,,",
    "Grace Hopper,,+1 415 555 0101,",
    "Nameless Caller,,,Oslo",  # no email, no phone: only the row's key tells it was imported
    "Alan Turing,alan@example.com,+1 415 555 0102,London",
    "Nameless Caller,,,Oslo",  # the same row twice in one file: two rows, two leads
    "Edsger Dijkstra,,,Nuenen",
    "Ada Lovelace,ADA@example.com,,",  # a duplicate within the file (of the first row)
]
FILE = csv_text("name,email,phone,city", *ROWS)
LEADS_IN_FILE = 6  # every row but the in-file duplicate


def _names():
    return sorted(Lead.objects.values_list("name", flat=True))


@pytest.mark.django_db
@pytest.mark.parametrize("policy", ["skip", "update", "create"])
def test_an_import_run_twice_creates_nothing_the_second_time(policy):
    first = run_import(FILE, on_duplicate=policy)
    leads, history = _names(), StageChange.objects.count()
    assert first.created == (LEADS_IN_FILE + 1 if policy == "create" else LEADS_IN_FILE)

    second = run_import(FILE, on_duplicate=policy)
    assert second.created == 0 and second.rejected == 0
    assert _names() == leads and StageChange.objects.count() == history
    assert _names().count("Nameless Caller") == 2


@pytest.mark.django_db
def test_an_import_killed_midway_and_rerun_creates_each_lead_once(small_chunks):
    class Killed(Exception):
        pass

    chunks = []

    def die_in_the_second_chunk(progress, rows):
        chunks.append(rows)
        if len(chunks) == 2:
            raise Killed  # the second chunk's transaction rolls back; the first one stays committed

    mapping = guess_mapping(read_header(FILE))
    importer = LeadImporter(
        text=FILE, mapping=mapping, options=ImportOptions(), user=None, on_chunk=die_in_the_second_chunk
    )
    with pytest.raises(Killed):
        importer.run()
    assert Lead.objects.count() == 2  # the first chunk (two rows)

    rerun = import_file(text=FILE, mapping=mapping, options=ImportOptions())
    assert rerun.created == LEADS_IN_FILE - 2 and rerun.skipped == 3  # two already imported, one in-file duplicate
    assert Lead.objects.count() == LEADS_IN_FILE
    assert _names().count("Nameless Caller") == 2 and _names().count("Edsger Dijkstra") == 1


@pytest.mark.django_db
def test_a_corrected_file_imports_only_the_rows_it_did_not_have(small_chunks):
    run_import(csv_text("name,email,phone,city", "Nameless Caller,,,Oslo", "Broken,,," + "x" * 101))
    fixed = run_import(csv_text("name,email,phone,city", "Nameless Caller,,,Oslo", "Fixed,fixed@example.com,,"))
    assert fixed.created == 1 and fixed.skipped == 1
    assert _names() == ["Fixed", "Nameless Caller"]


@pytest.mark.django_db
def test_a_dry_run_of_an_imported_file_says_it_would_create_nothing():
    run_import(FILE)
    assert run_import(FILE, dry_run=True).created == 0


# --- Concurrent runs: real PostgreSQL transactions in threads -----------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("policy", ["skip", "create"])
def test_two_imports_of_the_same_file_at_once_create_each_lead_once(small_chunks, policy):
    rows = [f"Person {i},{f'p{i}@example.com' if i % 3 == 0 else ''},{f'+1 415 555 {i:04d}' if i % 3 == 1 else ''},"
            for i in range(30)]  # fmt: skip
    text = csv_text("name,email,phone,city", *rows)
    (first, second), errors = together(
        lambda: run_import(text, on_duplicate=policy), lambda: run_import(text, on_duplicate=policy)
    )
    assert errors == [None, None]
    assert Lead.objects.count() == 30
    assert sorted(_names()) == sorted(f"Person {i}" for i in range(30))
    assert first.created + second.created == 30 and first.skipped + second.skipped == 30


@pytest.mark.django_db(transaction=True)
def test_an_import_and_an_api_arrival_of_one_person_at_once_make_one_lead(admin_user, channel):
    _, raw_token = channel_services.api_token_create(user=admin_user, channel=channel, name="Landing page")
    text = csv_text("name,email", *[f"Person {i},p{i}@example.com" for i in range(200)], "Ada,ada@example.com")

    def api():
        return Client().post(
            "/api/v1/leads/",
            json.dumps({"name": "Ada from the web", "email": "ADA@example.com"}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {raw_token}",
        )

    # The import brings its rows into the token's channel: an API token matches only its own channel's leads.
    (result, response), errors = together(lambda: run_import(text, channel=channel.name), api)
    assert errors == [None, None]
    assert Lead.objects.filter(email_normalized="ada@example.com").count() == 1
    ada = Lead.objects.get(email_normalized="ada@example.com")
    if response.status_code == 200:  # the import came first: the submission is recorded on its lead
        assert Interaction.objects.get().lead == ada and result.created == 201
    else:  # the API came first: the import skipped Ada's row
        assert response.status_code == 201 and result.created == 200 and result.skipped == 1
