"""`manage.py seed_campaigns`: demo campaigns over the demo leads (run by `make run` after `seed_demo`).

Does nothing when a campaign exists or there are no leads; refused with DEBUG off, like `seed_demo`.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from campaigns.demo import demo_campaigns_seed


class Command(BaseCommand):
    help = "Create demo campaigns (email with an A/B test and a follow-up, a webinar, a trade show, ads)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--demo", action="store_true", help="Seed even with DEBUG off (a throwaway database).")

    def handle(self, *args, demo: bool = False, **options) -> None:
        if not settings.DEBUG and not demo:
            raise CommandError("seed_campaigns writes demo data; with DEBUG off pass --demo (a throwaway database).")
        created = demo_campaigns_seed()
        if created:
            self.stdout.write(f"{created} demo campaigns created.")
        else:
            self.stdout.write("Campaigns exist already (or there are no leads); nothing seeded.")
