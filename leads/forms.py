import copy
import datetime as dt

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from crm import access, clock
from crm.models import User
from crm.widgets import OneQueryModelChoiceField, PlainSelect
from leads.facts import FORM_FACTS, FORM_FIELDS
from leads.models import Channel, FollowUpTask, Interaction, Lead, LostReason, Stage
from leads.normalize import normalize_phone
from leads.selectors import lead_duplicates


class LeadForm(forms.ModelForm):
    """A lead's facts. Managers and admins also choose its owner (empty: the pool)."""

    owner = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, empty_label="By the assignment rules (or the pool)"
    )
    # Wider than the stored code, so "Germany" gets the helpful message below rather than a length error.
    country = forms.CharField(
        required=False,
        max_length=60,
        help_text="Two-letter code, e.g. DE",
        widget=forms.TextInput(attrs={"placeholder": "DE", "style": "text-transform:uppercase"}),
    )
    create_duplicate = forms.BooleanField(
        required=False, label="Create it anyway", help_text="This lead's email or phone matches another lead."
    )
    # An existing lead's `updated_at` when the form was shown; with each field's shown value (a hidden
    # `initial-<name>` input beside it), `lead_update` tells this person's changes from everyone else's.
    version = forms.CharField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = Lead
        fields = list(FORM_FIELDS)
        labels = {fact.name: fact.verbose_label for fact in FORM_FACTS}
        help_texts = {fact.name: fact.help for fact in FORM_FACTS}
        widgets = {
            "need": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["channel"].queryset = Channel.objects.filter(active=True)
        if not access.can_reassign_leads(user) or self.instance.pk:
            # Reps' new leads are their own; on an existing lead the owner has its own control.
            del self.fields["owner"]
        else:
            self.fields["owner"].queryset = access.users_assignable_by(user)
        if self.instance.pk:
            del self.fields["create_duplicate"]
            self.initial.setdefault("version", self.instance.updated_at.isoformat())
            for name in self.Meta.fields:
                self.fields[name].show_hidden_initial = True
        else:
            del self.fields["version"]
        self.duplicates = []

    def clean_country(self):
        country = self.cleaned_data["country"].strip().upper()
        if country and (len(country) != 2 or not country.isalpha()):
            raise forms.ValidationError("Use the two-letter country code, e.g. DE or US.")
        return country

    def clean_phone(self):
        phone = self.cleaned_data["phone"].strip()
        if phone and not normalize_phone(phone):
            raise forms.ValidationError("This does not look like a phone number.")
        return phone

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("email") and not cleaned.get("phone"):
            self.add_error("email", "Give an email or a phone number, so the lead can be reached.")
        if "create_duplicate" in self.fields and not self.errors:
            self.duplicates = list(lead_duplicates(email=cleaned.get("email", ""), phone=cleaned.get("phone", "")))
            if self.duplicates and not cleaned.get("create_duplicate"):
                raise forms.ValidationError(
                    "A lead with this email or phone already exists. Open it, or tick “Create it anyway”.",
                    code="duplicate",
                )
        return cleaned

    def facts(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}

    def shown_facts(self) -> dict | None:
        """The facts as the form showed them (its hidden initial inputs); None from a form without them."""
        shown = {}
        for name in self.Meta.fields:
            field, key = self.fields[name], self[name].html_initial_name
            if key not in self.data:
                return None
            raw = field.hidden_widget().value_from_datadict(self.data, self.files, key)
            try:
                shown[name] = field.to_python(raw)
            except ValidationError:  # e.g. a channel since retired: compared as given
                shown[name] = raw
        return shown

    def shown_version(self) -> dt.datetime | None:
        return parse_datetime(self.cleaned_data.get("version") or "")

    def rebased(self, lead: Lead, errors: dict[str, list[str]]) -> "LeadForm":
        """This form again over the lead as it is now, with `errors` next to their fields: this person's own changes
        kept as typed, everyone else's shown, and the shown values and version moved on, so that saving again keeps
        this person's values."""
        fresh = LeadForm(instance=lead, user=self.user)
        data = self.data.copy()
        mine = set(self.changed_data)
        for name in self.Meta.fields:
            value = fresh[name].initial
            value = "" if value is None else str(value)
            data[fresh[name].html_initial_name] = value
            if name not in mine:
                data[name] = value
        data["version"] = lead.updated_at.isoformat()
        form = LeadForm(data, instance=copy.copy(lead), user=self.user)  # validating writes to its instance
        form.full_clean()
        for name, messages in errors.items():
            form.add_error(name if name in form.fields else None, messages)
        return form


class InteractionForm(forms.ModelForm):
    class Meta:
        model = Interaction
        fields = ["kind", "direction", "outcome", "occurred_at", "subject", "body"]
        widgets = {
            "occurred_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
            "body": forms.Textarea(attrs={"rows": 3, "placeholder": "What was said, what comes next"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["occurred_at"].required = False
        self.fields["occurred_at"].help_text = "Leave empty for now."
        personal = {k.value for k in Interaction.PERSONAL_KINDS} | {Interaction.Kind.NOTE.value}
        self.fields["kind"].choices = [(k, label) for k, label in Interaction.Kind.choices if k in personal]

    def clean_occurred_at(self):
        occurred_at = self.cleaned_data.get("occurred_at")
        if occurred_at and occurred_at > clock.now() + dt.timedelta(minutes=5):
            raise forms.ValidationError("An interaction cannot happen in the future.")
        return occurred_at

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("kind") != Interaction.Kind.CALL:
            cleaned["outcome"] = ""
        if cleaned.get("kind") == Interaction.Kind.NOTE:
            cleaned["direction"] = Interaction.Direction.SYSTEM
            if not cleaned.get("body"):
                self.add_error("body", "A note needs some text.")
        return cleaned


class StageForm(forms.Form):
    stage = forms.ChoiceField(choices=Stage.choices)
    deal_value = forms.DecimalField(required=False, min_value=0, max_digits=14, decimal_places=2)
    lost_reason = forms.ChoiceField(choices=[("", "Choose a reason"), *LostReason.choices], required=False)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("stage") == Stage.WON and cleaned.get("deal_value") is None:
            self.add_error("deal_value", "Enter the deal value to mark the lead won.")
        if cleaned.get("stage") == Stage.LOST and not cleaned.get("lost_reason"):
            self.add_error("lost_reason", "Choose why the lead was lost.")
        return cleaned


def _default_due() -> dt.datetime:
    """Tomorrow at 10:00 local time: the usual "call back tomorrow"."""
    tomorrow = clock.today() + dt.timedelta(days=1)
    return timezone.make_aware(dt.datetime.combine(tomorrow, dt.time(10, 0)))


class TaskForm(forms.ModelForm):
    class Meta:
        model = FollowUpTask
        fields = ["title", "due_at"]
        widgets = {
            "title": forms.TextInput(attrs={"placeholder": "Call back, send proposal…"}),
            "due_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        }
        labels = {"title": "Next step", "due_at": "Due"}
        error_messages = {
            "title": {"required": "Say what needs doing."},
            "due_at": {"required": "Say when it is due."},
        }

    def __init__(self, *args, **kwargs):
        instance = kwargs.get("instance")
        if instance is None or instance.pk is None:  # a new task; an existing one shows its own due time
            kwargs.setdefault("initial", {"due_at": _default_due()})
        super().__init__(*args, **kwargs)


TASK_CHOICES = [("follow", "Go to the new owner"), ("stay", "Stay with their assignee")]


class OwnerForm(forms.Form):
    owner = forms.ModelChoiceField(queryset=User.objects.none(), required=False, empty_label="Pool (unassigned)")
    tasks = forms.ChoiceField(choices=TASK_CHOICES, initial="follow", required=False, widget=forms.RadioSelect)

    def clean_tasks(self) -> bool:
        """True when the follow-ups go with the lead (the default, also when the choice is not sent)."""
        return self.cleaned_data.get("tasks") != "stay"

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = access.users_assignable_by(user)


class BulkActionForm(forms.Form):
    ACTIONS = [("reassign", "Reassign to…"), ("stage", "Move to stage…")]

    # Shown above every manager's leads list: its selects are `PlainSelect`s, drawn without templates (crm/widgets.py).
    action = forms.ChoiceField(choices=ACTIONS, widget=PlainSelect)
    lead_ids = forms.TypedMultipleChoiceField(coerce=int, choices=[], error_messages={"required": "Tick some leads."})
    owner = OneQueryModelChoiceField(queryset=User.objects.none(), required=False, empty_label="Pool (unassigned)")
    stage = forms.ChoiceField(
        choices=[("", "Choose a stage"), *[c for c in Stage.choices if c[0] != Stage.WON]],
        required=False,
        widget=PlainSelect,
    )
    lost_reason = forms.ChoiceField(
        choices=[("", "Lost reason"), *LostReason.choices], required=False, widget=PlainSelect
    )
    tasks = forms.ChoiceField(
        choices=TASK_CHOICES, initial="follow", required=False, label="Open follow-ups", widget=PlainSelect
    )

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = access.users_assignable_by(user)

    def clean_tasks(self) -> bool:
        return self.cleaned_data.get("tasks") != "stay"

    def full_clean(self):
        # Lead ids are checked against what the user may see by the service; here they only need to be ints.
        ids = self.data.getlist("lead_ids") if hasattr(self.data, "getlist") else []
        self.fields["lead_ids"].choices = [(i, i) for i in ids if str(i).isdigit()]
        super().full_clean()

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("action") == "stage":
            if not cleaned.get("stage"):
                self.add_error("stage", "Choose a stage.")
            elif cleaned["stage"] == Stage.LOST and not cleaned.get("lost_reason"):
                self.add_error("lost_reason", "Choose why the leads were lost.")
        return cleaned
