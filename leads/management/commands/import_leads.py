"""`manage.py import_leads FILE --map FIELD=COLUMN ...`: the CSV import of the browser, from the command line.

Rows go in chunks, each committed whole (see `leads.imports.services`); the counts are printed at the end, and the
rejected rows (the file's columns + line + reason) are written to --rejects (default: FILE.rejected.csv).
"""

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from leads.imports import services as imports


class Command(BaseCommand):
    help = "Import leads from a CSV file (see README: Importing and exporting leads)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The CSV file, with a header line naming the columns.")
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="FIELD=COLUMN",
            help=f"Put COLUMN into FIELD (repeat). Fields: {', '.join(imports.FIELDS)}, attributes.KEY. "
            "Without any --map, obvious column names are mapped by guess.",
        )
        parser.add_argument("--channel", default="", help="Channel (name) of rows without one.")
        parser.add_argument("--owner", default="", help="Owner (username) of rows without one; none: the pool.")
        parser.add_argument("--on-duplicate", choices=imports.DUPLICATE_POLICIES, default="skip")
        parser.add_argument("--create-channels", action="store_true", help="Create channels the file names.")
        parser.add_argument("--dry-run", action="store_true", help="Check and count everything, write nothing.")
        parser.add_argument(
            "--stage-values", default="", metavar="STAGE=VALUE,...", help="Extra spellings of stages, e.g. won=1,lost=0"
        )
        parser.add_argument("--encoding", choices=list(imports.ENCODINGS), default="", help="Default: UTF-8.")
        parser.add_argument("--rejects", default="", help="Where to write the rejected rows (CSV).")

    def handle(self, *args, **options) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        mapping = {}
        for item in options["map"]:
            name, sep, column = item.partition("=")
            if not sep or not name.strip() or not column.strip():
                raise CommandError(f'--map {item!r}: write FIELD=COLUMN, e.g. --map email="E-mail address".')
            mapping[name.strip()] = column.strip()
        try:
            text, _ = imports.decode_upload(path.read_bytes(), encoding=options["encoding"])
            if not mapping:
                mapping = imports.guess_mapping(imports.read_header(text))
                self.stderr.write(
                    "Mapping guessed from the header: " + ", ".join(f"{k}={v}" for k, v in mapping.items())
                )
            settings = imports.ImportOptions(
                channel=options["channel"],
                owner=options["owner"],
                on_duplicate=options["on_duplicate"],
                create_channels=options["create_channels"],
                stage_values=imports.parse_stage_values(options["stage_values"]),
                dry_run=options["dry_run"],
            )
            started = time.perf_counter()
            result = imports.import_file(text=text, mapping=mapping, options=settings)
        except imports.ImportFileError as error:
            raise CommandError(str(error)) from None
        seconds = time.perf_counter() - started

        verb = "would be " if settings.dry_run else ""
        self.stdout.write(
            f"{result.rows:,} rows in {seconds:.1f} s{' (dry run: nothing written)' if settings.dry_run else ''}: "
            f"{result.created:,} {verb}created, {result.updated:,} {verb}updated, {result.skipped:,} skipped "
            f"(duplicates), {result.rejected:,} rejected."
        )
        if result.rejections:
            rejects = Path(options["rejects"] or f"{path}.rejected.csv")
            header = imports.read_header(text)
            rejects.write_text(imports.rejections_csv(header, result.rejections, with_header=True), encoding="utf-8")
            self.stdout.write(f"Rejected rows (with line and reason) written to {rejects}")
            for rejection in result.rejections[:10]:
                self.stdout.write(f"  line {rejection.line}: {rejection.reason}")
            if result.rejected > 10:
                self.stdout.write(f"  … and {result.rejected - 10:,} more")
