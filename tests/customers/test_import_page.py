"""Importing orders in the browser (admins): upload, columns guessed and matched, a check that writes nothing, the
import once (also under two clicks), rejected rows to download."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from customers import imports
from customers.models import Account, Order, OrderImport
from tests.threads import together

pytestmark = pytest.mark.django_db
FILE = "Client,Date,Total,Item\nAcme,2026-01-05,100,Licence\nAcme,2026-01-06,-20,Refund\n,2026-01-07,5,No customer\n"


def upload(client, content: str = FILE, name: str = "orders.csv"):
    return client.post(
        reverse("customers:orders_import"), {"file": SimpleUploadedFile(name, content.encode(), "text/csv")}
    )


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def test_an_upload_guesses_the_columns_and_a_check_writes_nothing(admin_client):
    response = upload(admin_client)
    job = OrderImport.objects.get()
    assert response.status_code == 302 and response["Location"] == job.get_absolute_url()
    page = admin_client.get(job.get_absolute_url())
    form = page.context["form"]
    assert (form["customer"].initial, form["ordered_at"].initial, form["amount"].initial) == ("Client", "Date", "Total")
    data = {"customer": "Client", "ordered_at": "Date", "amount": "Total", "description": "Item", "check": "1"}
    checked = admin_client.post(job.get_absolute_url(), data, follow=True).content.decode()
    assert "Check (nothing written)" in checked and "1 orders and 1 refunds would be imported" in checked
    assert "line 4: No customer." in checked
    assert not Order.objects.exists() and not Account.objects.exists()


def test_the_import_writes_once_and_keeps_the_rejected_rows(admin_client):
    upload(admin_client)
    job = OrderImport.objects.get()
    data = {"customer": "Client", "ordered_at": "Date", "amount": "Total", "description": "Item", "import": "1"}
    done = admin_client.post(job.get_absolute_url(), data, follow=True).content.decode()
    assert "Imported" in done and Order.objects.count() == 2 and Account.objects.get().name == "Acme"
    again = admin_client.post(job.get_absolute_url(), data, follow=True)
    assert Order.objects.count() == 2 and "Match the columns" not in again.content.decode()
    rejected = admin_client.get(reverse("customers:orders_import_rejects", args=[job.pk]))
    rows = list(csv.DictReader(io.StringIO(rejected.content.decode())))
    assert [(r["line"], r["reason"]) for r in rows] == [("4", "No customer.")]
    job.refresh_from_db()
    assert job.text == "" and job.state == "done"


@pytest.mark.django_db(transaction=True)
def test_two_clicks_on_import_at_once_import_once(admin_user):
    job = imports.order_import_create(user=admin_user, file_name="o.csv", data=FILE.encode())
    mapping = {"customer": "Client", "ordered_at": "Date", "amount": "Total"}
    _, errors = together(
        lambda: imports.order_import_run(job=job, user=admin_user, mapping=mapping),
        lambda: imports.order_import_run(job=job, user=admin_user, mapping=mapping),
    )
    assert sorted(type(e).__name__ for e in errors if e) == ["AlreadyImported"]
    assert Order.objects.count() == 2


def test_a_mapping_that_cannot_work_is_said_on_the_page(admin_client):
    upload(admin_client)
    job = OrderImport.objects.get()
    page = admin_client.post(job.get_absolute_url(), {"customer": "Client", "amount": "Total", "import": "1"})
    assert "Map a column to ordered_at" in page.content.decode()
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "Choose a CSV file to import"),
        ("Client,Date\n" + "x" * (imports.BROWSER_MAX_BYTES + 1), "Bigger files: manage.py import_orders"),
        ("acme@example.com,2026-01-01,5\n", "looks like data"),
    ],
)
def test_a_file_that_cannot_be_imported_is_refused_with_the_reason(admin_client, content, message):
    response = upload(admin_client, content) if content else admin_client.post(reverse("customers:orders_import"))
    assert response.status_code == 200 and message in response.content.decode()
    assert not OrderImport.objects.exists()


def test_only_admins_import_orders_and_each_sees_only_their_uploads(client, manager, admin_user, admin_client):
    upload(admin_client)
    job = OrderImport.objects.get()
    client.force_login(manager)
    assert upload(client).status_code == 403
    assert client.get(job.get_absolute_url()).status_code == 403
