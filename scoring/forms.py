"""Forms of the scoring pages: they parse what admins type and show errors next to the field.

The rules themselves are checked by `Rule.clean()` through the services; the view maps those errors back onto
these fields, so a rule with an unknown field says so under "Field".
"""

from django import forms

from leads.models import Interaction
from scoring.fields import FIT_FIELDS
from scoring.models import Rule, RuleGroup, ScoringModel
from scoring.tiers import tiers_from_json, tiers_parse, tiers_text, tiers_to_json

WHOLE_NUMBER = {"invalid": "Enter a whole number, e.g. 10 or -5."}
NUMBER = {"invalid": "Enter a number, e.g. 50 or 2.5."}


class RuleForm(forms.Form):
    name = forms.CharField(max_length=100)
    group = forms.ModelChoiceField(queryset=RuleGroup.objects.none(), empty_label=None)
    kind = forms.ChoiceField(choices=Rule.Kind.choices)
    points = forms.IntegerField(
        required=False,
        min_value=-1000,
        max_value=1000,
        error_messages=WHOLE_NUMBER,
        help_text="Tiered rules take their points from the tiers",
    )
    field = forms.CharField(
        required=False, max_length=80, help_text="A lead field, or attributes.<key> for a custom attribute"
    )
    operator = forms.ChoiceField(choices=[("", "—"), *Rule.Operator.choices], required=False)
    value = forms.CharField(required=False, max_length=200)
    values = forms.CharField(required=False, max_length=1000, help_text="Separate values with commas")
    range_min = forms.DecimalField(required=False, max_digits=14, decimal_places=2, error_messages=NUMBER)
    range_max = forms.DecimalField(required=False, max_digits=14, decimal_places=2, error_messages=NUMBER)
    interaction_kind = forms.ChoiceField(choices=[("", "—"), *Interaction.Kind.choices], required=False)
    detail_key = forms.CharField(required=False, max_length=40, label="Detail")
    detail_contains = forms.CharField(required=False, max_length=200, label="contains")
    measure = forms.ChoiceField(choices=Rule.Measure.choices, required=False)
    window_days = forms.IntegerField(
        required=False, min_value=1, max_value=3650, label="Within days", error_messages=WHOLE_NUMBER
    )
    tiers = forms.CharField(required=False, max_length=500, help_text="e.g. 3-5 = 5; 6+ = 10")
    decays = forms.BooleanField(required=False, initial=True, label="Fades with the half-life")
    inactive_days = forms.IntegerField(required=False, min_value=1, max_value=3650, error_messages=WHOLE_NUMBER)

    def __init__(self, *args, model: ScoringModel, rule: Rule | None = None, **kwargs):
        if rule is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": rule.name,
                "group": rule.group_id,
                "kind": rule.kind,
                "points": rule.points,
                "field": rule.field,
                "operator": rule.operator,
                "value": rule.value,
                "values": ", ".join(str(v) for v in rule.values or []),
                "range_min": rule.range_min,
                "range_max": rule.range_max,
                "interaction_kind": rule.interaction_kind,
                "detail_key": rule.detail_key,
                "detail_contains": rule.detail_contains,
                "measure": rule.measure,
                "window_days": rule.window_days,
                "tiers": tiers_text(tiers_from_json(rule.tiers or [])),
                "decays": rule.decays,
                "inactive_days": rule.inactive_days,
            }
        super().__init__(*args, **kwargs)
        self.fields["group"].queryset = RuleGroup.objects.filter(model=model)
        self.fields["field"].widget.attrs["list"] = "fit-fields"
        self.fields["points"].widget.attrs["inputmode"] = "numeric"

    def clean_tiers(self):
        text = self.cleaned_data.get("tiers", "")
        if self.data.get(self.add_prefix("kind")) != Rule.Kind.ACTIVITY:
            return []
        try:
            return tiers_to_json(tiers_parse(text))
        except ValueError as error:
            raise forms.ValidationError(str(error)) from error

    def clean_values(self):
        return [v.strip() for v in self.cleaned_data.get("values", "").split(",") if v.strip()]

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        needs_points = kind in (Rule.Kind.FIT, Rule.Kind.HAS_DONE, Rule.Kind.INACTIVITY)
        if needs_points and data.get("points") is None and "points" not in self.errors:
            self.add_error("points", "Give the points this rule adds (negative to subtract).")
        return data

    def rule_data(self) -> dict:
        """What the service needs, with the settings of other kinds cleared."""
        data = dict(self.cleaned_data)
        kind = data["kind"]
        data["points"] = data.get("points") or 0
        data["measure"] = data.get("measure") or Rule.Measure.COUNT
        data["decays"] = bool(data.get("decays"))
        if kind != Rule.Kind.FIT:
            data.update(field="", operator="", value="", values=[], range_min=None, range_max=None)
        if kind not in (Rule.Kind.ACTIVITY, Rule.Kind.HAS_DONE):
            data.update(interaction_kind="", detail_key="", detail_contains="", window_days=None, decays=True)
        if kind != Rule.Kind.ACTIVITY:
            data.update(tiers=[], measure=Rule.Measure.COUNT)
        if kind != Rule.Kind.INACTIVITY:
            data["inactive_days"] = None
        if kind == Rule.Kind.ACTIVITY:
            data["points"] = 0
        return data


class GroupForm(forms.Form):
    name = forms.CharField(max_length=60)
    cap = forms.IntegerField(
        required=False, min_value=0, max_value=1000, label="Cap (most points)", error_messages=WHOLE_NUMBER
    )


class ModelSettingsForm(forms.ModelForm):
    class Meta:
        model = ScoringModel
        fields = ["name", "notes", "score_min", "score_max", "half_life_days"]
        labels = {"score_min": "Lowest score", "score_max": "Highest score", "half_life_days": "Half-life (days)"}
        help_texts = {"half_life_days": "Engagement points halve every this many days. Empty: no fading."}
        widgets = {"notes": forms.Textarea(attrs={"rows": 2})}
        error_messages = {
            "score_min": WHOLE_NUMBER,
            "score_max": WHOLE_NUMBER,
            "half_life_days": WHOLE_NUMBER,
        }


class BandsForm(forms.Form):
    """Four bands, each from a lowest to a highest score (both included)."""

    def __init__(self, *args, model: ScoringModel, **kwargs):
        super().__init__(*args, **kwargs)
        current = {b.grade: b for b in model.bands.all()}
        for grade in "ABCD":
            band = current.get(grade)
            self.fields[f"{grade}_min"] = forms.IntegerField(
                label=f"{grade} from", initial=band.min_score if band else None, error_messages=WHOLE_NUMBER
            )
            self.fields[f"{grade}_max"] = forms.IntegerField(
                label=f"{grade} to", initial=band.max_score if band else None, error_messages=WHOLE_NUMBER
            )

    def rows(self):
        return [(grade, self[f"{grade}_min"], self[f"{grade}_max"]) for grade in "ABCD"]

    def bands(self) -> list[tuple[str, int, int]]:
        return [(g, self.cleaned_data[f"{g}_min"], self.cleaned_data[f"{g}_max"]) for g in "ABCD"]


FIT_FIELD_CHOICES = [(f.name, f.label) for f in FIT_FIELDS.values()]
