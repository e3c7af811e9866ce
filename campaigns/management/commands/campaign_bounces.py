"""`manage.py campaign_bounces [FILE]`: record bounced campaign messages, one Message-ID per line (stdin by default).

The Message-ID names the send (`<campaign-send-<id>@…>`), which is what a bounce report or a mail server's log
carries back. A message already marked bounced is not counted again.
"""

import sys

from django.core.management.base import BaseCommand, CommandParser

from campaigns.tracking import bounce_record

MAX_LINE = 1000


class Command(BaseCommand):
    stealth_options = ("stdin",)
    help = "Mark campaign messages bounced, from their Message-IDs (one per line; a file, or standard input)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", nargs="?", help="A file of Message-IDs; standard input when absent.")

    def handle(self, *args, file: str | None = None, **options) -> None:
        if file:
            with open(file, encoding="utf-8", errors="replace") as stream:
                recorded, not_understood = self._read(stream)
        else:
            recorded, not_understood = self._read(options.get("stdin") or sys.stdin)
        self.stdout.write(
            f"{recorded} bounce{'s' if recorded != 1 else ''} recorded; "
            f"{not_understood} line{'s' if not_understood != 1 else ''} not understood."
        )

    def _read(self, stream) -> tuple[int, int]:
        recorded = not_understood = 0
        for line in stream:
            reference = line.strip()[:MAX_LINE]
            if not reference:
                continue
            if bounce_record(reference=reference):
                recorded += 1
            elif "campaign-send-" not in reference:
                not_understood += 1
        return recorded, not_understood
