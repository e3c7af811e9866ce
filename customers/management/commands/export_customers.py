"""`manage.py export_customers > customers.csv`: one row per customer (customer, external id, channel, customer
since, first and last order date, orders, revenue, status and churned date under the churn rule in force), so the
figures can be checked against any spreadsheet. Text cells are formula-safe."""

from django.core.management.base import BaseCommand, CommandParser

from customers.exports import customers_csv
from customers.models import Account


class Command(BaseCommand):
    help = "Export every customer as CSV to standard output (or --output FILE)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", default="", help="Write to this file instead of standard output.")

    def handle(self, *args, output: str, **options) -> None:
        chunks = customers_csv(accounts=Account.objects.all())
        if output:
            with open(output, "w", encoding="utf-8", newline="") as out:
                for chunk in chunks:
                    out.write(chunk)
            return
        for chunk in chunks:
            self.stdout.write(chunk, ending="")
