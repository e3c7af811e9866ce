"""Leads written in bulk (a CSV import chunk) reach scoring through `leads_bulk_created` / `leads_bulk_updated`:
they are marked for rescoring in one statement, and one sweep is queued for the lot."""

import pytest

from leads.models import Lead
from scoring.models import DirtyLead
from tests.imports.conftest import csv_text, run_import

pytestmark = pytest.mark.django_db


def test_imported_leads_are_all_marked_for_rescoring(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        result = run_import(
            csv_text("name,email", "Ada,ada@example.com", "Grace,grace@example.com", "Linus,linus@example.com"),
            {"name": "name", "email": "email"},
        )
    assert result.created == 3
    assert set(DirtyLead.objects.values_list("lead_id", flat=True)) == set(Lead.objects.values_list("pk", flat=True))


def test_leads_updated_by_an_import_are_marked_too(django_capture_on_commit_callbacks):
    run_import(csv_text("name,email", "Ada,ada@example.com"), {"name": "name", "email": "email"})
    DirtyLead.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        result = run_import(
            csv_text("name,email,company", "Ada,ada@example.com,Analytical Engines"),
            {"name": "name", "email": "email", "company": "company"},
            on_duplicate="update",
        )
    assert result.updated == 1
    assert list(DirtyLead.objects.values_list("lead_id", flat=True)) == [Lead.objects.get().pk]
