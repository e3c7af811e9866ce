"""Forms of the routing set-up: assignment rules (with reps' weights), reclaim rules, and people's availability."""

from django import forms
from django.conf import settings

from crm.models import Team, User
from crm.roles import Role
from leads.models import AssignmentRule, AssignmentRuleMember, Channel, ReclaimRule


class ListField(forms.CharField):
    """Comma-separated values → a list of trimmed, distinct values (order kept)."""

    def __init__(self, *, upper: bool = False, max_item: int = 100, **kwargs):
        self.upper, self.max_item = upper, max_item
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return ", ".join(value)
        return value

    def to_python(self, value) -> list[str]:
        text = super().to_python(value) or ""
        items = []
        for part in text.replace(";", ",").replace("\n", ",").split(","):
            part = " ".join(part.split())
            if part:
                part = part.upper() if self.upper else part
                if len(part) > self.max_item:
                    raise forms.ValidationError(f"“{part[:20]}…” is too long (at most {self.max_item} characters).")
                if part.casefold() not in {i.casefold() for i in items}:
                    items.append(part)
        return items


def team_reps(team_id) -> list[User]:
    if not team_id:
        return []
    return list(
        User.objects.filter(team_id=team_id, is_active=True, is_superuser=False, groups__name=Role.REP.value)
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


class AssignmentRuleForm(forms.ModelForm):
    regions = ListField(help_text="Comma-separated, e.g. EMEA, DACH. Empty: any region.")
    countries = ListField(upper=True, help_text="ISO codes, comma-separated, e.g. DE, AT, CH. Empty: any.")
    industries = ListField(help_text="Comma-separated, e.g. SaaS, Retail. Empty: any industry.")

    class Meta:
        model = AssignmentRule
        fields = [
            "name",
            "regions",
            "countries",
            "industries",
            "channels",
            "company_size_min",
            "company_size_max",
            "team",
            "strategy",
            "active",
        ]
        labels = {
            "company_size_min": "Company size from (employees)",
            "company_size_max": "Company size up to (employees)",
            "team": "Route to team",
        }
        widgets = {
            "channels": forms.CheckboxSelectMultiple,
            "name": forms.TextInput(attrs={"placeholder": "e.g. DACH enterprise"}),
            "company_size_min": forms.NumberInput(attrs={"min": 0, "inputmode": "numeric"}),
            "company_size_max": forms.NumberInput(attrs={"min": 0, "inputmode": "numeric"}),
        }
        help_texts = {"channels": "None ticked: any channel."}
        error_messages = {
            "name": {"required": "Give the rule a name people will recognise."},
            "team": {"required": "Choose the team whose reps get these leads."},
            "company_size_min": {"invalid": "Enter a whole number of employees.", "min_value": "Cannot be negative."},
            "company_size_max": {"invalid": "Enter a whole number of employees.", "min_value": "Cannot be negative."},
        }

    def __init__(self, *args, team_id=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channels"].queryset = Channel.objects.order_by("name")
        self.fields["team"].queryset = Team.objects.order_by("name")
        # The weights of the chosen team's reps (weighted round-robin): the team in the data, else the rule's.
        if team_id is None:
            team_id = self.data.get("team") if self.is_bound else self.instance.team_id
        try:
            team_id = int(team_id) if team_id else None
        except (TypeError, ValueError):
            team_id = None
        current = {}
        if self.instance.pk:
            current = dict(AssignmentRuleMember.objects.filter(rule=self.instance).values_list("user_id", "weight"))
        self.reps = team_reps(team_id)
        for rep in self.reps:
            self.fields[f"weight_{rep.pk}"] = forms.IntegerField(
                label=str(rep),
                min_value=0,
                max_value=100,
                initial=current.get(rep.pk, 1),
                required=False,
                widget=forms.NumberInput(attrs={"min": 0, "max": 100, "inputmode": "numeric", "class": "narrow"}),
                error_messages={
                    "min_value": "A weight is 0 (no leads) or more.",
                    "max_value": "A weight is at most 100.",
                    "invalid": "Enter a whole number.",
                },
            )

    @property
    def weight_fields(self):
        return [self[f"weight_{rep.pk}"] for rep in self.reps]

    def clean_countries(self):
        countries = self.cleaned_data["countries"]
        bad = [c for c in countries if len(c) != 2 or not c.isalpha()]
        if bad:
            raise forms.ValidationError(f"Use two-letter ISO country codes (e.g. DE): {', '.join(bad)}.")
        return countries

    def clean(self):
        cleaned = super().clean()
        low, high = cleaned.get("company_size_min"), cleaned.get("company_size_max")
        if low is not None and high is not None and high < low:
            self.add_error("company_size_max", "The upper bound must not be below the lower bound.")
        if cleaned.get("strategy") == AssignmentRule.Strategy.WEIGHTED and self.reps:
            weights = [cleaned.get(f"weight_{rep.pk}") for rep in self.reps]
            if all((w if w is not None else 1) == 0 for w in weights):
                self.add_error(None, "With every weight at 0 nobody in the team would get a lead.")
        return cleaned

    def weights(self) -> dict[int, int]:
        weights = {rep.pk: self.cleaned_data.get(f"weight_{rep.pk}") for rep in self.reps}
        return {pk: 1 if weight is None else weight for pk, weight in weights.items()}


class ReclaimRuleForm(forms.ModelForm):
    class Meta:
        model = ReclaimRule
        fields = ["name", "kind", "days", "warn_hours", "action", "active"]
        labels = {"kind": "When", "days": "Within (days)", "warn_hours": "Warn the owner (hours before)"}
        widgets = {
            "days": forms.NumberInput(attrs={"min": 1, "max": 365, "inputmode": "numeric"}),
            "warn_hours": forms.NumberInput(attrs={"min": 0, "max": 720, "inputmode": "numeric"}),
            "name": forms.TextInput(attrs={"placeholder": "e.g. Untouched for 3 days"}),
        }
        error_messages = {
            "name": {"required": "Give the rule a name people will recognise."},
            "days": {
                "required": "Say after how many days a neglected lead is reclaimed.",
                "min_value": "At least 1 day.",
                "max_value": "At most 365 days.",
                "invalid": "Enter a whole number of days.",
            },
            "warn_hours": {
                "max_value": "Warn at most 720 hours (30 days) before.",
                "invalid": "Enter a whole number of hours (0: no warning).",
            },
        }

    def clean(self):
        cleaned = super().clean()
        days, hours = cleaned.get("days"), cleaned.get("warn_hours")
        if days and hours is not None and hours >= days * 24:
            self.add_error("warn_hours", f"Warn less than the rule's {days} day(s) ({days * 24} hours) before.")
        return cleaned


class AvailabilityForm(forms.ModelForm):
    """Away dates (everyone, for themselves); capacity and holding limit (managers and admins)."""

    class Meta:
        model = User
        fields = ["away_from", "away_until", "max_open_leads", "pool_holding_limit"]
        labels = {
            "away_from": "Away from",
            "away_until": "Away until (last day)",
            "max_open_leads": "Capacity (open leads)",
            "pool_holding_limit": "Pool holding limit",
        }
        widgets = {
            "away_from": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "away_until": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "max_open_leads": forms.NumberInput(attrs={"min": 0, "inputmode": "numeric", "placeholder": "no limit"}),
            "pool_holding_limit": forms.NumberInput(attrs={"min": 0, "inputmode": "numeric"}),
        }
        error_messages = {
            "away_from": {"invalid": "Enter a date (YYYY-MM-DD)."},
            "away_until": {"invalid": "Enter a date (YYYY-MM-DD)."},
            "max_open_leads": {"invalid": "Enter a whole number.", "min_value": "Cannot be negative."},
            "pool_holding_limit": {"invalid": "Enter a whole number.", "min_value": "Cannot be negative."},
        }

    def __init__(self, *args, can_set_limits: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.can_set_limits = can_set_limits
        if not can_set_limits:
            del self.fields["max_open_leads"], self.fields["pool_holding_limit"]
        else:
            self.fields["pool_holding_limit"].widget.attrs["placeholder"] = f"default {settings.POOL_HOLDING_LIMIT}"
            self.fields["max_open_leads"].help_text = "Routing skips them at this many open leads. Empty: no limit."
            self.fields["pool_holding_limit"].help_text = "Open leads claimed from the pool they may hold at once."

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("away_from"), cleaned.get("away_until")
        if start and end and end < start:
            self.add_error("away_until", "The last day away cannot be before the first.")
        return cleaned

    def validate_unique(self):
        pass  # only availability fields here; the user's unique fields are not edited
