"""What the import commands (`import_leads`, `import_orders`) share: the file, its `--map` options, its encoding,
a dry run and where the rejected rows go, read and checked the same way, each mistake a `CommandError`."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from leads.imports.columns import map_options
from leads.imports.rows import ENCODINGS, decode_upload


class ImportCommand(BaseCommand):
    """A command importing one CSV file. Subclasses name their fields and an example `--map`, add their own
    options in `add_import_arguments`, and call `read_file` in `handle`."""

    fields: tuple[str, ...] = ()
    map_help = ""
    map_example = 'field="Column name"'

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The CSV file, with a header line naming the columns.")
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="FIELD=COLUMN",
            help=f"Put COLUMN into FIELD (repeat). Fields: {', '.join(self.fields)}{self.map_help}",
        )
        parser.add_argument("--dry-run", action="store_true", help="Check and count everything, write nothing.")
        parser.add_argument("--encoding", choices=list(ENCODINGS), default="", help="Default: UTF-8.")
        parser.add_argument("--rejects", default="", help="Where to write the rejected rows (CSV).")
        self.add_import_arguments(parser)

    def add_import_arguments(self, parser: CommandParser) -> None:
        """The command's own options."""

    def read_file(self, options: dict) -> tuple[Path, str, dict[str, str]]:
        """The file's path, its text (decoded as `--encoding` says, or guessed) and the `--map` options."""
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        try:
            mapping = map_options(options["map"], example=self.map_example)
            text, _ = decode_upload(path.read_bytes(), encoding=options["encoding"])
        except ValueError as error:  # a bad --map, or an ImportFileError
            raise CommandError(str(error)) from None
        return path, text, mapping
