"""`manage.py export_leads [--stage S] [--channel NAME] [--owner USERNAME] > leads.csv`: every lead (or the
filtered ones) as CSV on standard output, streamed, with the columns of the browser's export."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from crm.models import User
from leads.exports import export_csv_lines
from leads.models import Channel, Lead, Stage


class Command(BaseCommand):
    help = "Export leads as CSV to standard output (see README: Importing and exporting leads)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--stage", default="", help=f"Only this stage: {', '.join(Stage.values)}.")
        parser.add_argument("--channel", default="", help="Only this channel (name).")
        parser.add_argument("--owner", default="", help="Only this owner (username); 'pool' for unowned leads.")

    def handle(self, *args, **options) -> None:
        leads = Lead.objects.all()
        stage = options["stage"].strip().lower()
        if stage:
            if stage not in Stage.values:
                raise CommandError(f"Unknown stage {options['stage']!r}: one of {', '.join(Stage.values)}.")
            leads = leads.filter(stage=stage)
        if options["channel"]:
            channel = Channel.objects.filter(name__iexact=options["channel"].strip()).first()
            if channel is None:
                raise CommandError(f"No channel named {options['channel']!r}.")
            leads = leads.filter(channel=channel)
        if options["owner"]:
            if options["owner"] == "pool":
                leads = leads.filter(owner__isnull=True)
            else:
                owner = User.objects.filter(username__iexact=options["owner"].strip()).first()
                if owner is None:
                    raise CommandError(f"No user named {options['owner']!r}.")
                leads = leads.filter(owner=owner)
        for chunk in export_csv_lines(leads):
            self.stdout.write(chunk if isinstance(chunk, str) else chunk.decode(), ending="")
