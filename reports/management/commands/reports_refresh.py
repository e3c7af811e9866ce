from django.core.management.base import BaseCommand

from reports.services import stats_refresh


class Command(BaseCommand):
    help = "Bring the reports' pre-aggregated figures up to date (the days whose leads changed, or all with --full)."

    def add_arguments(self, parser):
        parser.add_argument("--full", action="store_true", help="Rebuild every day (after a change of TIME_ZONE).")

    def handle(self, *args, full: bool = False, **options):
        written = stats_refresh(full=full)
        self.stdout.write(self.style.SUCCESS(f"Report figures refreshed: {written} day/channel/owner rows rebuilt."))
