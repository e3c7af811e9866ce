"""The browser flow: upload → map → preview → start → progress → report, and who may use it."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from leads.imports import services as imports
from leads.models import AttributeLabel, Channel, ImportJob, Lead
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

CSV = (
    "Full Name,E-mail,Status,Amount,Won date,Created,Colour\n"
    "Ada Lovelace,ada@example.com,won,1200,2024-03-01,2024-01-05,blue\n"
    "Bad Email,nope@,new,,,2024-01-05,red\n"
    "Grace Hopper,grace@example.com,qualified,,,2024-02-01,green\n"
    ",,new,,,2024-01-09,grey\n"
)
BAD_EMAIL = "bad email “nope@” left out (There must be something after the @-sign)"
NO_IDENTITY = "no identity: no name, company, email, phone or external id"


def upload(client, data: bytes = CSV.encode(), name="leads.csv", encoding=""):
    return client.post(
        reverse("leads:imports"), {"file": SimpleUploadedFile(name, data, "text/csv"), "encoding": encoding}
    )


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


def mapping_post(job, **extra):
    data = {"on_duplicate": "skip", "stage_values": "", "channel": "", "owner": ""}
    for i, column in enumerate(job.header):
        field = {v: k for k, v in job.mapping.items()}.get(column, "")
        data[f"column_{i}"] = "__attribute__" if field.startswith("attributes.") else field
    data.update(extra)
    return data


def test_the_whole_flow_from_upload_to_report(manager_client, manager, htmx):
    response = upload(manager_client)
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("leads:import_map", args=[job.pk])
    assert job.created_by == manager and job.rows_total == 4 and job.status == "draft"

    # The mapping page guesses the obvious columns and previews the first rows, problems marked.
    page = manager_client.get(reverse("leads:import_map", args=[job.pk])).content.decode()
    assert '<option value="name" selected>' in page and '<option value="email" selected>' in page
    assert "row-rejected" in page and NO_IDENTITY in page
    assert "row-warned" in page and BAD_EMAIL in page

    # Preview again with the colour kept as a custom attribute (the htmx partial).
    colour = job.header.index("Colour")
    data = mapping_post(job, action="preview", **{f"column_{colour}": "__attribute__"})
    partial = manager_client.post(reverse("leads:import_map", args=[job.pk]), data, headers=htmx)
    assert (
        partial.status_code == 200
        and b"<html" not in partial.content
        and b"Preview: the first 4 rows" in partial.content
    )

    # Start: queued for the worker; the page polls its progress.
    data["action"] = "start"
    response = manager_client.post(reverse("leads:import_map", args=[job.pk]), data)
    assert response.status_code == 302 and response["Location"] == job.get_absolute_url()
    job.refresh_from_db()
    assert job.status == "queued" and job.mapping["attributes.colour"] == "Colour"
    progress = manager_client.get(job.get_absolute_url(), headers=htmx).content.decode()
    assert 'hx-trigger="every 1s"' in progress and "0 of 4 rows" in progress

    imports.import_job_run(job_id=job.pk)  # what the Celery worker does (see test_celery.py for the real one)

    report = manager_client.get(job.get_absolute_url(), headers=htmx).content.decode()
    assert 'hx-trigger="every 1s"' not in report  # finished: the polling stops
    assert "4 of 4 rows" in report and "Download the 1 rejected row" in report and NO_IDENTITY in report
    assert "Imported with warnings: 1" in report and "Download the 1 row with warnings" in report
    assert BAD_EMAIL in report
    rejects = manager_client.get(reverse("leads:import_rejects", args=[job.pk]))
    assert rejects["Content-Type"].startswith("text/csv")
    assert rejects.content.decode().splitlines()[1] == f',,new,,,2024-01-09,grey,5,"{NO_IDENTITY}"'
    warnings = manager_client.get(reverse("leads:import_warnings", args=[job.pk]))
    assert warnings["Content-Type"].startswith("text/csv")
    assert 'filename="leads-warnings.csv"' in warnings["Content-Disposition"]
    assert warnings.content.decode().splitlines() == [
        "Full Name,E-mail,Status,Amount,Won date,Created,Colour,line,warning",
        f"Bad Email,nope@,new,,,2024-01-05,red,3,{BAD_EMAIL}",
    ]
    ada = Lead.objects.get(name="Ada Lovelace")
    assert (ada.stage, ada.attributes) == ("won", {"colour": "blue"})
    assert AttributeLabel.objects.get(key="colour").label == "Colour"
    assert Lead.objects.get(name="Bad Email").email == ""
    # The list of past imports shows it.
    listing = manager_client.get(reverse("leads:imports")).content.decode()
    assert "leads.csv" in listing and "Done" in listing


def test_a_started_import_cannot_be_mapped_again(manager_client):
    upload(manager_client)
    job = ImportJob.objects.get()
    manager_client.post(reverse("leads:import_map", args=[job.pk]), mapping_post(job, action="start"))
    response = manager_client.post(reverse("leads:import_map", args=[job.pk]), mapping_post(job, action="start"))
    assert response.status_code == 302
    assert ImportJob.objects.get().status == "queued"


def test_a_field_mapped_twice_is_an_error_next_to_the_column(manager_client):
    upload(manager_client)
    job = ImportJob.objects.get()
    data = mapping_post(job, action="start", column_2="email")
    response = manager_client.post(reverse("leads:import_map", args=[job.pk]), data)
    assert response.status_code == 200
    assert "already fills Email" in response.content.decode()
    assert ImportJob.objects.get().status == "draft"


def test_nothing_that_names_a_lead_mapped_is_a_form_error(manager_client):
    upload(manager_client)
    job = ImportJob.objects.get()
    response = manager_client.post(
        reverse("leads:import_map", args=[job.pk]), mapping_post(job, action="start", column_0="", column_1="")
    )
    assert "Map a column that names the lead" in response.content.decode()


def test_unmapped_columns_are_kept_as_attributes_when_ticked_and_ignored_columns_never(manager_client, htmx):
    upload(manager_client, b"name,utm_term,Shoe size,Secret\nAda,crm,38,x\n")
    job = ImportJob.objects.get()
    page = manager_client.get(reverse("leads:import_map", args=[job.pk])).content.decode()
    assert re.search(r'<input type="checkbox" name="unmapped_attributes" [^>]* checked>', page)  # ticked by default
    data = mapping_post(job, action="start", unmapped_attributes="on", column_3="__ignore__")
    manager_client.post(reverse("leads:import_map", args=[job.pk]), data)
    job.refresh_from_db()
    assert (job.options["unmapped"], job.options["ignored"]) == ("attributes", ["Secret"])
    imports.import_job_run(job_id=job.pk)
    assert Lead.objects.get().attributes == {"utm_term": "crm", "shoe_size": "38"}
    assert dict(AttributeLabel.objects.values_list("key", "label")) == {
        "utm_term": "UTM term",
        "shoe_size": "Shoe size",
    }
    # The lead page reads the attributes by their labels.
    page = manager_client.get(Lead.objects.get().get_absolute_url()).content.decode()
    assert "<dt>UTM term</dt><dd>crm</dd>" in page and "<dt>Shoe size</dt><dd>38</dd>" in page


@pytest.mark.parametrize(
    "data, encoding, message",
    [
        ("name\nJosé\n".encode("latin-1"), "", "not UTF-8"),
        (b"", "", "The file is empty."),
        (b"Ada,ada@example.com\n", "", "looks like data"),
        (b"name,email\n", "", "no rows"),
    ],
)
def test_bad_files_get_an_error_next_to_the_field(manager_client, data, encoding, message):
    response = upload(manager_client, data, encoding=encoding)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ImportJob.objects.exists()


def test_an_oversized_upload_is_refused(manager_client, settings):
    settings.IMPORT_MAX_BYTES = 50
    response = upload(manager_client)
    assert response.status_code == 200 and "largest file accepted is 50 bytes" in response.content.decode()


def test_a_latin1_file_imports_when_its_encoding_is_chosen(manager_client):
    upload(manager_client, "name,city\nJosé,Zürich\n".encode("latin-1"), encoding="latin-1")
    job = ImportJob.objects.get()
    assert job.encoding == "latin-1" and "José" in job.content


def test_reps_are_refused_every_import_page(rep_client, admin_user):
    job = imports.import_job_create(user=admin_user, file_name="a.csv", data=CSV.encode())
    assert rep_client.get(reverse("leads:imports")).status_code == 403
    assert upload(rep_client).status_code == 403
    for name in ("import_map", "import_detail", "import_rejects", "import_warnings"):
        assert rep_client.get(reverse(f"leads:{name}", args=[job.pk])).status_code == 403


def test_managers_see_only_their_own_imports_and_admins_all(manager_client, admin_user, client, manager):
    theirs = imports.import_job_create(user=admin_user, file_name="admins.csv", data=CSV.encode())
    assert manager_client.get(reverse("leads:import_detail", args=[theirs.pk])).status_code == 404
    assert "admins.csv" not in manager_client.get(reverse("leads:imports")).content.decode()
    mine = imports.import_job_create(user=manager, file_name="mine.csv", data=CSV.encode())
    client.force_login(admin_user)
    assert client.get(reverse("leads:import_map", args=[mine.pk])).status_code == 200


def test_the_list_of_imports_takes_a_bounded_number_of_queries(manager_client, manager, django_assert_max_num_queries):
    for i in range(15):
        imports.import_job_create(user=manager, file_name=f"f{i}.csv", data=CSV.encode())
    with django_assert_max_num_queries(8):
        response = manager_client.get(reverse("leads:imports"))
    assert response.content.decode().count("f1") >= 1


def test_the_leads_list_links_to_import_for_managers_and_export_keeping_the_filter(manager_client, rep):
    LeadFactory()
    page = manager_client.get(reverse("leads:list") + "?stage=won").content.decode()
    assert reverse("leads:imports") in page
    assert reverse("leads:export") + "?stage=won" in page
    manager_client.force_login(rep)
    assert reverse("leads:imports") not in manager_client.get(reverse("leads:list")).content.decode()


def test_only_admins_create_channels_through_an_import(client, manager, admin_user):
    """Channels are an admin's to set up: a manager is not offered the box, and a ticked box changes nothing."""
    text = b"name,email,channel\nAda,ada@example.com,TikTok\n"
    client.force_login(manager)
    upload(client, text)
    job = ImportJob.objects.get()
    assert b"Create channels" not in client.get(reverse("leads:import_map", args=[job.pk])).content
    client.post(reverse("leads:import_map", args=[job.pk]), mapping_post(job, create_channels="on", action="start"))
    imports.import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert not Channel.objects.filter(name="TikTok").exists() and Lead.objects.get().channel is None
    assert "unknown channel" in job.warnings_csv

    client.force_login(admin_user)
    upload(client, text.replace(b"ada@", b"bea@"))
    job = ImportJob.objects.latest("pk")
    assert b"Create channels" in client.get(reverse("leads:import_map", args=[job.pk])).content
    client.post(reverse("leads:import_map", args=[job.pk]), mapping_post(job, create_channels="on", action="start"))
    imports.import_job_run(job_id=job.pk)
    assert Lead.objects.get(email="bea@example.com").channel.name == "TikTok"


def test_a_managers_command_line_style_import_cannot_create_channels(manager):
    from tests.imports.conftest import csv_text, run_import

    result = run_import(csv_text("name,channel", "Ada,TikTok"), user=manager, create_channels=True)
    assert result.created == result.warned == 1 and not Channel.objects.filter(name="TikTok").exists()
    assert Lead.objects.get().channel is None
