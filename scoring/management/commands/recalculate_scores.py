"""Rescore every lead now, chunk by chunk, printing progress.

python manage.py recalculate_scores               # with the live model
python manage.py recalculate_scores --model 3     # publish (or roll back to) version 3 first, then rescore
python manage.py recalculate_scores --if-unscored # only when some lead has no score yet (used by `make run`)

A run of the same model already queued or running (a publish the worker is executing) is joined, not repeated.
"""

import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from leads.models import Lead
from scoring import selectors, services
from scoring.models import ScoreChange, ScoringModel, ScoringRun


class Command(BaseCommand):
    help = "Rescore every lead with the live scoring model (or publish --model VERSION first)."

    def add_arguments(self, parser):
        parser.add_argument("--model", type=int, metavar="VERSION", help="Publish this version first, then rescore")
        parser.add_argument("--chunk-size", type=int, default=services.rescore.CHUNK_SIZE)
        parser.add_argument("--if-unscored", action="store_true", help="Do nothing when every lead has a score")

    def handle(self, *args, model=None, chunk_size, if_unscored, verbosity=1, **options):
        if if_unscored and not Lead.objects.filter(score__isnull=True).exists():
            if verbosity:
                self.stdout.write("Every lead has a score; nothing to do.")
            return
        if model is not None:
            target = ScoringModel.objects.filter(version=model).first()
            if target is None:
                raise CommandError(f"There is no scoring model version {model}.")
            if target.status != ScoringModel.Status.PUBLISHED:
                try:
                    # Queued for the worker too: whichever of us takes a chunk first writes it.
                    run = services.scoring_model_publish(model=target, user=None)
                except ValidationError as error:
                    raise CommandError(" ".join(error.messages)) from error
                run.refresh_from_db()
                if verbosity:
                    self.stdout.write(f"Published v{target.version}.")
            else:
                run = self._join_or_start(target, verbosity)
        else:
            live = selectors.published_model()
            if live is None:
                raise CommandError("No scoring model is published. Publish one on the Scoring page first.")
            run = self._join_or_start(live, verbosity)
        started = time.monotonic()

        def progress(current):
            if verbosity:
                self.stdout.write(
                    f"  {current.percent:3d}%  {current.leads_done} leads, {current.leads_changed} changed"
                )

        # A run a worker is executing too is shared chunk by chunk (each chunk is written once, by whichever
        # executor claims it first), so this reports its progress and helps it finish.
        run = services.scoring_run_execute(run_id=run.pk, chunk_size=chunk_size, progress=progress)
        if run.status != ScoringRun.Status.DONE:
            raise CommandError(f"The run stopped ({run.get_status_display().lower()}): {run.error}")
        if verbosity:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Scored {run.leads_done} leads with v{run.model.version} in {time.monotonic() - started:.1f} s; "
                    f"{run.leads_changed} changed score or grade."
                )
            )

    def _join_or_start(self, model: ScoringModel, verbosity: int) -> ScoringRun:
        run, started = services.scoring_run_join_or_start(
            model=model, reason=ScoreChange.Reason.RECALCULATE, queue=False
        )
        if not started and verbosity:
            self.stdout.write(
                f"A run of v{model.version} is already in progress ({run.get_reason_display().lower()}, "
                f"{run.percent}%): joining it."
            )
        return run
