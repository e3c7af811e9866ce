"""`manage.py import_orders FILE --map customer=COLUMN --map ordered_at=COLUMN --map amount=COLUMN ...`: orders
(and refunds, as negative lines) from another system. Customers the file names and the CRM does not know are
created. Rejected rows (the file's columns + line + reason) go to --rejects (default: FILE.rejected.csv)."""

import time
from pathlib import Path

from django.core.management.base import CommandError, CommandParser

from crm.models import User
from customers import imports
from leads.imports.command import ImportCommand
from leads.imports.rows import ImportFileError, read_header
from leads.imports.services import rejections_csv
from leads.models import Channel


class Command(ImportCommand):
    help = (
        "Import orders from a CSV file: amount = quantity × unit price when only those are mapped; negative = refund."
    )

    fields = imports.FIELDS
    map_help = "."
    map_example = 'amount="Net amount"'

    def add_import_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--channel", default="", help="Channel (name) of the customers the file creates.")
        parser.add_argument("--owner", default="", help="Owner (username) of the customers the file creates.")

    def handle(self, *args, **options) -> None:
        path, text, mapping = self.read_file(options)
        channel = owner = None
        if options["channel"]:
            channel = Channel.objects.filter(name__iexact=options["channel"]).first()
            if channel is None:
                raise CommandError(f"No channel named “{options['channel']}”.")
        if options["owner"]:
            owner = User.objects.filter(username=options["owner"], is_active=True).first()
            if owner is None:
                raise CommandError(f"No active user “{options['owner']}”.")
        started = time.perf_counter()
        try:
            result = imports.orders_import(
                text=text, mapping=mapping, channel=channel, owner=owner, dry_run=options["dry_run"]
            )
        except ImportFileError as error:
            raise CommandError(str(error)) from None
        seconds = time.perf_counter() - started
        verb = "would be " if options["dry_run"] else ""
        self.stdout.write(
            f"{result.rows:,} rows in {seconds:.1f} s{' (dry run: nothing written)' if options['dry_run'] else ''}: "
            f"{result.orders:,} orders and {result.refunds:,} refunds {verb}imported, "
            f"{result.customers_matched:,} customers matched, {result.customers_created:,} {verb}created, "
            f"{result.rejected:,} rows rejected."
        )
        if options["verbosity"] >= 2:
            self.stdout.write("Steps: " + ", ".join(f"{step} {sec:.1f} s" for step, sec in result.seconds.items()))
        if result.computed_amounts:
            self.stdout.write(f"{result.computed_amounts:,} amounts computed as quantity × unit price.")
        if result.warnings:
            self.stdout.write(f"{len(result.warnings):,} warnings:")
            for line, message in result.warnings[:10]:
                self.stdout.write(f"  line {line}: {message}")
            if len(result.warnings) > 10:
                self.stdout.write(f"  … and {len(result.warnings) - 10:,} more")
        if result.rejections:
            rejects = Path(options["rejects"] or f"{path}.rejected.csv")
            header = read_header(text)
            rejects.write_text(rejections_csv(header, result.rejections, with_header=True), encoding="utf-8")
            self.stdout.write(f"Rejected rows (with line and reason) written to {rejects}")
            for rejection in result.rejections[:10]:
                self.stdout.write(f"  line {rejection.line}: {rejection.reason}")
            if result.rejected > 10:
                self.stdout.write(f"  … and {result.rejected - 10:,} more")
