"""`manage.py import_leads FILE --map FIELD=COLUMN ...`: the CSV import of the browser, from the command line.

Rows go in chunks, each committed whole (see `leads.imports.services`); the report figures of the days touched
are rebuilt, then the counts are printed, and the rejected rows (the file's columns + line + reason) and the rows
imported with warnings (+ line + warning) are written to --rejects and --warnings (default: FILE.rejected.csv and
FILE.warnings.csv).
"""

import time
from pathlib import Path

from django.core.management.base import CommandError, CommandParser
from django.template.defaultfilters import pluralize

from leads.imports import services as imports
from leads.imports.command import ImportCommand


class Command(ImportCommand):
    help = "Import leads from a CSV file (see README: Importing and exporting leads)."
    fields = (*imports.FIELDS, "attributes.KEY")
    map_help = ". Columns whose names are obvious are mapped by guess; --map adds to the guess or overrides it."
    map_example = 'email="E-mail address"'

    def add_import_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--channel", default="", help="Channel (name) of rows without one.")
        parser.add_argument("--owner", default="", help="Owner (username) of rows without one; none: the pool.")
        parser.add_argument("--on-duplicate", choices=imports.DUPLICATE_POLICIES, default="skip")
        parser.add_argument("--create-channels", action="store_true", help="Create channels the file names.")
        parser.add_argument(
            "--stage-values", default="", metavar="STAGE=VALUE,...", help="Extra spellings of stages, e.g. won=1,lost=0"
        )
        parser.add_argument("--warnings", default="", help="Where to write the rows imported with warnings (CSV).")
        parser.add_argument(
            "--unmapped",
            choices=imports.UNMAPPED_POLICIES,
            default="attributes",
            help="Columns not mapped: kept as custom attributes (default) or ignored.",
        )
        parser.add_argument(
            "--ignore", action="append", default=[], metavar="COLUMN", help="A column not to import (repeat)."
        )

    def handle(self, *args, **options) -> None:
        path, text, mapping = self.read_file(options)
        try:
            header = imports.read_header(text)
            # The guess, with each --map in place of what the guess gave that field or that column.
            given = mapping
            mapping = {
                name: column
                for name, column in imports.guess_mapping(header).items()
                if name not in given and column not in given.values()
            }
            mapping.update(given)
            self.stderr.write("Mapping: " + ", ".join(f"{k}={v}" for k, v in mapping.items()))
            unknown = [column for column in options["ignore"] if column not in header]
            if unknown:
                raise CommandError(f"--ignore: the file has no column {', '.join(map(repr, unknown))}.")
            settings = imports.ImportOptions(
                channel=options["channel"],
                owner=options["owner"],
                on_duplicate=options["on_duplicate"],
                create_channels=options["create_channels"],
                stage_values=imports.parse_stage_values(options["stage_values"]),
                dry_run=options["dry_run"],
                unmapped=options["unmapped"],
                ignored=options["ignore"],
            )
            started = time.perf_counter()
            importer = imports.LeadImporter(text=text, mapping=mapping, options=settings, user=None)
            if importer.kept_columns:
                self.stderr.write(
                    "Kept as custom attributes: "
                    + ", ".join(f"{column} → {key}" for key, column in importer.kept_columns.items())
                )
            if importer.left_out:
                self.stderr.write(
                    f"Not kept (a lead holds at most {imports.ATTRIBUTES_MAX_KEYS} attributes): "
                    + ", ".join(importer.left_out)
                )
            result = imports.import_file(text=text, mapping=mapping, options=settings)
        except imports.ImportFileError as error:
            raise CommandError(str(error)) from None
        seconds = time.perf_counter() - started

        verb = "would be " if settings.dry_run else ""
        self.stdout.write(
            f"{result.rows:,} rows in {seconds:.1f} s{' (dry run: nothing written)' if settings.dry_run else ''}: "
            f"{result.created:,} {verb}created, {result.updated:,} {verb}updated, {result.skipped:,} skipped "
            f"(duplicates), {result.rejected:,} rejected; {result.warned:,} {verb}imported with warnings."
        )
        if not settings.dry_run and result.days:
            self.stdout.write(f"Report figures refreshed for {len(result.days):,} day{pluralize(len(result.days))}.")
        for kind, rows, target, default in (
            ("Rejected rows", result.rejections, options["rejects"], f"{path}.rejected.csv"),
            ("Rows with warnings", result.warnings, options["warnings"], f"{path}.warnings.csv"),
        ):
            if not rows:
                continue
            out = Path(target or default)
            reason = "reason" if kind.startswith("Rejected") else "warning"
            out.write_text(imports.rejections_csv(header, rows, with_header=True, reason=reason), encoding="utf-8")
            self.stdout.write(f"{kind} (with line and {reason}) written to {out}")
            for summary, count in imports.summarize(rows)[:10]:
                self.stdout.write(f"  {count:>7,} × {summary}")
