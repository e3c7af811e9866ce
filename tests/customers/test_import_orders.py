"""`manage.py import_orders` and `export_customers`: errors reported per row, customers matched or created, refunds,
amounts from quantity × unit price, totals, dry runs, formula-safe export."""

import csv
import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from customers import services
from customers.models import Account, Order
from tests.customers.conftest import won_lead

pytestmark = pytest.mark.django_db


def run(tmp_path, content: str, *maps: str, **options) -> str:
    path = tmp_path / "orders.csv"
    path.write_text(content, encoding="utf-8")
    out = io.StringIO()
    args = [a for m in maps for a in ("--map", m)]
    call_command("import_orders", str(path), *args, stdout=out, **options)
    return out.getvalue()


STANDARD = ("customer=Client", "ordered_at=Date", "amount=Total", "description=Item")


def test_orders_join_known_customers_and_create_unknown_ones(tmp_path, customer):
    output = run(
        tmp_path,
        "Client,Date,Total,Item\n"
        "us navy,2026-01-05,250.00,Support plan\n"
        'New Shop,2026-02-01,"$1,200.50",Licence\n'
        "New Shop,2026-03-01,-200,Return\n"
        "new shop ,05.03.2026,(50.00),Credit note\n",
        *STANDARD,
    )
    assert "4 rows" in output and "2 orders and 2 refunds imported" in output
    assert "1 customers matched, 1 created" in output and "line 3: Customer “New Shop” was not known" in output
    customer.refresh_from_db()
    assert (customer.revenue, customer.orders_count) == (Decimal(1250), 2)  # the won deal of 1,000 and 250
    shop = Account.objects.get(name="New Shop")
    assert (shop.revenue, shop.orders_count, shop.customer_since, shop.channel) == (
        Decimal("950.50"),
        1,
        Order.objects.filter(account=shop, amount__gt=0).get().ordered_on,
        None,
    )
    assert sorted(shop.orders.values_list("amount", flat=True)) == [Decimal(-200), Decimal(-50), Decimal("1200.50")]


def test_amount_is_quantity_times_unit_price_when_only_those_are_mapped(tmp_path, db):
    output = run(
        tmp_path,
        "Client,Date,Qty,Price\nAcme,2026-01-05,3,19.99\nAcme,2026-01-06,-1,19.99\n",
        "customer=Client",
        "ordered_at=Date",
        "quantity=Qty",
        "unit_price=Price",
    )
    assert "2 amounts computed as quantity × unit price" in output
    assert sorted(Order.objects.values_list("amount", "quantity")) == [
        (Decimal("-19.99"), Decimal("-1.000")),
        (Decimal("59.97"), Decimal("3.000")),
    ]


def test_bad_rows_are_rejected_with_line_and_reason_and_the_rest_imported(tmp_path, db):
    content = (
        "Client,Date,Total,Item\n"
        ",2026-01-05,10,No customer\n"
        "Acme,03/04/2026,10,Ambiguous date\n"
        "Acme,2026-02-30,10,No such day\n"
        "Acme,2099-01-01,10,Future\n"
        "Acme,2026-01-05,ten,Not a number\n"
        "Acme,2026-01-05,0,Zero\n"
        "Acme,2026-01-05,,No amount\n"
        "Acme,2026-01-05,1e20,Too big\n"
        "Acme,2026-01-05\n"
        "\n"
        "Acme,2026-01-05,10,Fine\n"
    )
    output = run(tmp_path, content, *STANDARD)
    assert "10 rows" in output and "1 orders and 0 refunds imported" in output and "9 rows rejected" in output
    with open(tmp_path / "orders.csv.rejected.csv", encoding="utf-8") as file:
        rejected = list(csv.DictReader(file))
    assert [(r["line"], r["reason"]) for r in rejected] == [
        ("2", "No customer."),
        ("3", "Date “03/04/2026” is not understood: write it as 2026-03-31."),
        ("4", "Date “2026-02-30” does not exist."),
        ("5", "Date “2099-01-01” is in the future."),
        ("6", "Amount “ten” is not a number."),
        ("7", "The amount is 0."),
        ("8", "No amount (nor a quantity and a unit price)."),
        ("9", "Amount “1e20” is out of range."),
        ("10", "The row has 2 cells, fewer than the mapped columns need."),
    ]
    assert rejected[0]["Item"] == "No customer"
    assert Order.objects.count() == 1


def test_a_dry_run_counts_everything_and_writes_nothing(tmp_path, db):
    output = run(tmp_path, "Client,Date,Total\nAcme,2026-01-05,10\n", *STANDARD[:3], dry_run=True)
    assert "dry run: nothing written" in output and "1 would be created" in output
    assert not Account.objects.exists() and not Order.objects.exists()


@pytest.mark.parametrize(
    ("maps", "message"),
    [
        (("customer=Client", "ordered_at=Date"), "Map a column to amount, or columns to quantity and unit_price"),
        (("customer=Client", "ordered_at=Date", "amount=Nope"), "The file has no column Nope"),
        (("customer=Client", "amount=Total"), "Map a column to ordered_at"),
        (("customer=Client", "ordered_at=Date", "amount=Total", "colour=Total"), "Unknown field colour"),
    ],
)
def test_a_mapping_that_cannot_work_is_refused(tmp_path, db, maps, message):
    with pytest.raises(CommandError, match=message):
        run(tmp_path, "Client,Date,Total\nAcme,2026-01-05,10\n", *maps)


def test_customers_created_by_an_import_get_the_channel_and_owner_given(tmp_path, channel, rep):
    run(tmp_path, "Client,Date,Total\nAcme,2026-01-05,10\n", *STANDARD[:3], channel=channel.name, owner="rep")
    acme = Account.objects.get()
    assert (acme.channel, acme.owner, acme.team) == (channel, rep, rep.team)


def test_a_customer_is_matched_by_external_id(tmp_path, customer):
    Account.objects.filter(pk=customer.pk).update(external_id="C-17")
    run(tmp_path, "Client,Date,Total\nC-17,2026-01-05,10\n", *STANDARD[:3])
    assert Account.objects.count() == 1 and customer.orders.count() == 2


def test_export_customers_lists_totals_and_status_formula_safe(tmp_path, rep):
    lead = won_lead(rep, company="=HYPERLINK(1)", email="x@formula.example")
    services.lead_convert(lead=lead, user=rep)
    out = io.StringIO()
    call_command("export_customers", stdout=out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert rows == [
        {
            "customer": "'=HYPERLINK(1)",
            "external_id": "",
            "channel": "Web",
            "customer_since": lead.won_at.date().isoformat(),
            "first_order_date": lead.won_at.date().isoformat(),
            "last_order_date": lead.won_at.date().isoformat(),
            "orders": "1",
            "revenue": "1000.00",
            "status": "active",
            "churned_date": "",
        }
    ]


def test_the_customers_export_in_the_browser_holds_only_what_the_user_sees(client, customer, other_customer, rep):
    client.force_login(rep)
    body = b"".join(client.get("/customers/export.csv").streaming_content).decode()
    assert "US Navy" in body and "Bletchley" not in body
