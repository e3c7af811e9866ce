"""Forms of the admins' speed-to-lead settings: response targets and business-hours calendars."""

import datetime as dt

from django import forms

from crm.business_hours import time_zone_names
from crm.models import BusinessCalendar, Team
from leads.models import Channel, ResponsePolicy

WEEKDAYS = [(i, name) for i, name in enumerate(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"])]


class ResponsePolicyForm(forms.ModelForm):
    class Meta:
        model = ResponsePolicy
        fields = [
            "name",
            "grade",
            "channel",
            "target_minutes",
            "reminder_percent",
            "calendar",
            "escalate_to_manager",
            "pool_leads",
            "pool_team",
            "active",
        ]
        labels = {
            "target_minutes": "Answer within (minutes)",
            "reminder_percent": "Remind the owner at (% of the target)",
            "calendar": "Business hours",
            "escalate_to_manager": "Escalate to the owner's manager on breach",
            "pool_leads": "Pool leads",
            "pool_team": "Pool team",
        }
        widgets = {
            "target_minutes": forms.NumberInput(attrs={"min": 1, "max": 43200, "inputmode": "numeric"}),
            "reminder_percent": forms.NumberInput(attrs={"min": 1, "max": 99, "inputmode": "numeric"}),
            "name": forms.TextInput(attrs={"placeholder": "e.g. Hot web leads"}),
        }
        error_messages = {
            "target_minutes": {
                "required": "Say how many minutes a lead may wait for an answer.",
                "min_value": "A target is at least 1 minute.",
                "max_value": "A target is at most 30 days (43,200 minutes).",
                "invalid": "Enter the target as a whole number of minutes.",
            },
            "reminder_percent": {
                "min_value": "Remind at 1%% of the target or later.",
                "max_value": "Remind before the target passes: at most 99%%.",
                "invalid": "Enter a whole percentage, e.g. 50.",
            },
            "name": {"required": "Give the target a name people will recognise."},
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["grade"].choices = [("", "Any grade"), *self.fields["grade"].choices[1:]]
        self.fields["channel"].queryset = Channel.objects.order_by("name")
        self.fields["channel"].empty_label = "Any channel"
        self.fields["calendar"].queryset = BusinessCalendar.objects.order_by("name")
        self.fields["calendar"].empty_label = "Around the clock"
        self.fields["pool_team"].queryset = Team.objects.order_by("name")
        self.fields["pool_team"].empty_label = "None"
        if not self.instance.pk:
            # The usual starting point: an hour, reminded half way.
            self.initial["target_minutes"] = self.initial.get("target_minutes") or 60
            self.initial["reminder_percent"] = self.initial.get("reminder_percent") or 50

    def clean(self):
        cleaned = super().clean()
        grade, channel = cleaned.get("grade", ""), cleaned.get("channel")
        if "grade" in cleaned and "channel" in cleaned:
            clash = (
                ResponsePolicy.objects.filter(grade=grade or "", channel=channel).exclude(pk=self.instance.pk).first()
            )
            if clash:
                self.add_error(
                    "channel",
                    f"“{clash.name}” already sets the target for {clash.applies_to.lower()}: change that one instead.",
                )
        return cleaned

    def validate_unique(self):
        # The grade/channel pair is checked in clean() with a message that names the clashing target.
        pass


class BusinessCalendarForm(forms.ModelForm):
    working_days = forms.TypedMultipleChoiceField(
        choices=WEEKDAYS,
        coerce=int,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "weekday-choice"}),
        error_messages={"required": "Tick at least one working day."},
    )
    holidays = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 5, "placeholder": "2026-12-25 Christmas Day\n2026-12-26"}),
        help_text="One date per line (YYYY-MM-DD), optionally followed by its name. The clock stands still on these days.",
    )

    class Meta:
        model = BusinessCalendar
        fields = ["name", "time_zone", "opens_at", "closes_at"]
        widgets = {
            "opens_at": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "closes_at": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }
        labels = {"opens_at": "Opens at", "closes_at": "Closes at"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].widget = forms.Select(choices=[(z, z) for z in sorted(time_zone_names())])
        if self.instance.pk:
            self.initial["working_days"] = sorted(self.instance.working_weekdays)
            self.initial["holidays"] = "\n".join(
                f"{h.date:%Y-%m-%d} {h.name}".strip() for h in self.instance.holidays.all()
            )
        else:
            self.initial.setdefault("working_days", [0, 1, 2, 3, 4])

    def clean_holidays(self) -> list[tuple[dt.date, str]]:
        holidays, errors = [], []
        for number, line in enumerate(self.cleaned_data["holidays"].splitlines(), start=1):
            line = line.strip()
            if not line:
                continue
            date_text, _, name = line.partition(" ")
            try:
                day = dt.date.fromisoformat(date_text)
            except ValueError:
                errors.append(f"Line {number}: “{date_text}” is not a date; write it as YYYY-MM-DD.")
                continue
            holidays.append((day, name.strip()[:100]))
        if errors:
            raise forms.ValidationError(errors)
        return holidays

    def clean(self):
        cleaned = super().clean()
        opens, closes = cleaned.get("opens_at"), cleaned.get("closes_at")
        if opens and closes and closes <= opens:
            self.add_error("closes_at", "Closing time must be after opening time (hours cannot cross midnight).")
        for index, name in enumerate(BusinessCalendar.WEEKDAY_FIELDS):
            setattr(self.instance, name, index in cleaned.get("working_days", []))
        return cleaned
