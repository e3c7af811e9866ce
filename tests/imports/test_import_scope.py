"""Item 5 of issue 15: a manager's import to the pool routes only to the manager's own team, and "See the leads"
lists that import's leads."""

import pytest
from django.urls import reverse

from leads.imports import services as imports
from leads.imports.services import ImportOptions
from leads.models import Lead
from tests.factories import LeadFactory
from tests.imports.conftest import csv_text
from tests.routing.conftest import make_rule

pytestmark = pytest.mark.django_db

FILE = csv_text("name,email", "Ada Lovelace,ada@example.com", "Grace Hopper,grace@example.com")


def _import(user, text: str = FILE):
    job = imports.import_job_create(user=user, file_name="leads.csv", data=text.encode())
    imports.import_job_configure(
        job=job, user=user, mapping={"name": "name", "email": "email"}, options=ImportOptions()
    )
    imports.import_job_start(job=job, user=user)
    return imports.import_job_run(job_id=job.pk)


def test_a_managers_import_never_routes_to_another_teams_reps(admin_user, manager, other_team, other_rep):
    make_rule(admin_user, other_team, name="Everything to the other team")
    job = _import(manager)
    assert job.created == 2
    leads = Lead.objects.filter(import_job=job)
    assert leads.count() == 2
    assert set(leads.values_list("owner_id", flat=True)) == {None}  # the pool, which the manager sees
    assert not leads.filter(team=other_team).exists()


def test_a_managers_import_routes_to_the_managers_own_team(admin_user, manager, team, rep, other_team, other_rep):
    make_rule(admin_user, other_team, name="First: the other team")
    make_rule(admin_user, team, name="Then: the manager's team")
    job = _import(manager)
    assert set(Lead.objects.filter(import_job=job).values_list("owner_id", flat=True)) == {rep.pk}


def test_an_admins_import_follows_every_rule(admin_user, other_team, other_rep):
    make_rule(admin_user, other_team, name="Everything to the other team")
    job = _import(admin_user)
    assert set(Lead.objects.filter(import_job=job).values_list("owner_id", flat=True)) == {other_rep.pk}


def test_see_the_leads_opens_the_list_filtered_to_that_import(client, manager, rep):
    LeadFactory(owner=rep, name="Not imported")
    job = _import(manager)
    client.force_login(manager)
    page = client.get(reverse("leads:import_detail", args=[job.pk])).content.decode()
    link = f"{reverse('leads:list')}?import_job={job.pk}"
    assert f'href="{link}"' in page
    listed = client.get(link).content.decode()
    assert "Ada Lovelace" in listed and "Grace Hopper" in listed
    assert "Not imported" not in listed
