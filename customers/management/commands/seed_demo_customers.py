"""`manage.py seed_demo_customers`: demo customers, orders, churn and survey answers from the won demo leads, on a
database seeded before customers existed (`seed_demo` does this itself). Does nothing when customers exist."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from customers.demo import demo_customers_seed


class Command(BaseCommand):
    help = "Convert most won leads into demo customers with orders, churn and survey answers (only without customers)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=1, help="Random seed: the same seed gives the same data.")
        parser.add_argument(
            "--throwaway-database", action="store_true", help="Seed even with DEBUG off (it converts won leads)."
        )

    def handle(self, *args, seed: int, throwaway_database: bool, **options) -> None:
        if not settings.DEBUG and not throwaway_database:
            raise CommandError(
                "Demo customers with DEBUG off are refused (won leads would become customers); on a throwaway "
                "database, pass --throwaway-database."
            )
        result = demo_customers_seed(seed=seed)
        if not result.accounts:
            self.stdout.write("Customers exist (or no lead is won): nothing seeded.")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {result.accounts:,} customers, {result.orders:,} orders and {result.surveys:,} surveys."
            )
        )
