"""Learn rule points from won and lost leads and save them as a new draft (never published by this command).

python manage.py suggest_weights             # from the live model's rules
python manage.py suggest_weights --model 3   # from version 3's rules
python manage.py suggest_weights --discover  # propose new rules from the leads' fields, attributes and activity
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from scoring import selectors, services
from scoring.describe import rule_points_text
from scoring.models import ScoringModel


class Command(BaseCommand):
    help = "Suggest rule points from closed leads (logistic regression); saves a new draft to review."

    def add_arguments(self, parser):
        parser.add_argument("--model", type=int, metavar="VERSION", help="Learn for this version's rules")
        parser.add_argument(
            "--discover",
            action="store_true",
            help="Build a new model from the data: candidate rules from lead fields, channel, custom attributes "
            "and activity, learned points, useless rules dropped",
        )
        parser.add_argument("--seed", type=int, default=0, help="Seed of the train/held-out split")

    def handle(self, *args, model=None, discover=False, seed=0, verbosity=1, **options):
        if discover and model:
            raise CommandError("--discover builds a model from the data alone; leave out --model.")
        try:
            if discover:
                draft = services.scoring_model_discover(user=None, seed=seed)
            else:
                base = ScoringModel.objects.filter(version=model).first() if model else selectors.published_model()
                if base is None:
                    raise CommandError("No such scoring model." if model else "No scoring model is published.")
                draft = services.scoring_model_suggest(user=None, based_on=base, seed=seed)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        report = draft.suggestion
        self.stdout.write(f"Learned from {report['train_leads']} closed leads; judged on {report['test_leads']} more.")
        if discover:
            self.stdout.write(
                f"  {report['candidates']} candidate rules ({report['features']} features); "
                f"{report['rules']} kept, the others dropped by the regularisation."
            )
            labels = {
                "test_auc_points": f"Held-out ROC AUC of the discovered model (v{draft.version})",
                "train_auc": "ROC AUC on the training split",
            }
        else:
            labels = {
                "test_auc_points": f"Held-out ROC AUC of the suggestion (v{draft.version})",
                "test_auc_current": f"Held-out ROC AUC of v{base.version} as it is",
                "train_auc": "ROC AUC on the training split",
            }
        for name, label in labels.items():
            value = report.get(name)
            self.stdout.write(f"  {label}: {'–' if value is None else f'{value:.3f}'}")
        if verbosity > 1:
            for rule in draft.rules.order_by("group__position", "position"):
                self.stdout.write(f"  {rule.name}: {rule_points_text(rule)}")
        self.stdout.write(
            self.style.SUCCESS(f"Saved as draft v{draft.version}. Preview and publish it on the Scoring page.")
        )
