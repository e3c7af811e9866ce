"""`manage.py seed_demo`: demo users, channels and a year of leads, for trying the CRM and for benchmarks.

`make run` calls it on every start, so on a database that already has leads it only says so.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from leads.demo import DEFAULT_LEADS, DEMO_PASSWORD, DEMO_USERS, demo_seed


class Command(BaseCommand):
    help = (
        "Create demo users (password “demo”), channels with a year of spend, and leads with interactions, stage "
        "changes and tasks. Does nothing when leads exist, unless --force."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--leads", type=int, default=DEFAULT_LEADS, help=f"How many leads (default {DEFAULT_LEADS})."
        )
        parser.add_argument("--seed", type=int, default=None, help="Random seed: the same seed gives the same data.")
        parser.add_argument(
            "--force",
            action="store_true",
            help="Delete ALL leads, interactions, tasks, stage changes, channels and spend first, then seed.",
        )
        parser.add_argument(
            "--demo-passwords",
            action="store_true",
            help="Seed even with DEBUG off: demo users with the known password “demo” (a throwaway database only).",
        )

    def handle(self, *args, leads: int, seed: int | None, force: bool, demo_passwords: bool, **options) -> None:
        if not settings.DEBUG and not demo_passwords:
            # A production database must never get an `admin` whose password everyone knows.
            raise CommandError(
                f"seed_demo creates users whose password is “{DEMO_PASSWORD}”, so with DEBUG off it is refused. "
                "On a throwaway database, pass --demo-passwords."
            )
        if leads < 0:
            raise CommandError("--leads cannot be negative.")
        result = demo_seed(leads=leads, seed=seed, force=force, progress=self.stdout.write)
        if result.skipped:
            self.stdout.write(
                f"The database already has {result.existing_leads:,} leads; nothing seeded "
                "(seed_demo --force deletes them and seeds again)."
            )
            return
        counts = result.counts
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {counts['leads']:,} leads, {counts['interactions']:,} interactions, "
                f"{counts['stage_changes']:,} stage changes, {counts['tasks']:,} tasks, {result.channels} channels "
                f"with {result.spend_rows} monthly spend rows in {result.seconds:.1f}s (seed {result.seed})."
            )
        )
        usernames = ", ".join(user.username for user in DEMO_USERS)
        created = f"{result.users_created} created" if result.users_created else "already there"
        self.stdout.write(f"Demo users ({created}): {usernames}; password “{DEMO_PASSWORD}”.")
