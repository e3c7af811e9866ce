"""Forms of the campaign pages, and the public event registration form (the web form's fields and limits)."""

import re
from dataclasses import dataclass
from decimal import Decimal

from django import forms

from campaigns.content import MERGE_FIELDS, body_links
from campaigns.models import Campaign
from leads.channels.forms import WebToLeadForm
from leads.models import Channel


class CampaignForm(forms.ModelForm):
    class Meta:
        model = Campaign
        fields = [
            "name",
            "kind",
            "channel",
            "owner",
            "starts_on",
            "ends_on",
            "spend_source",
            "spend",
            "utm_campaign",
            "event_starts_at",
            "location",
            "registration_slug",
            "registration_open",
        ]
        widgets = {
            "starts_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "ends_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "event_starts_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
            "spend": forms.NumberInput(attrs={"min": 0, "step": "0.01", "inputmode": "decimal"}),
        }
        labels = {
            "registration_slug": "Registration page address",
            "registration_open": "Registration open (the public page accepts sign-ups)",
            "event_starts_at": "Event starts",
            "utm_campaign": "UTM campaign",
            "spend_source": "Spend",
            "spend": "Its own spend",
        }
        help_texts = {
            "spend_source": "A share of the channel's spend periods: each day of the campaign's dates, the channel's "
            "spend that day shared equally by its campaigns taking channel spend that day (needs a start date; "
            "without an end date, up to today).",
            "utm_campaign": "Ad and content campaigns: leads arriving with this utm_campaign join as members.",
        }
        error_messages = {"name": {"required": "Give the campaign a name."}}

    def __init__(self, *args, owners, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].queryset = Channel.objects.filter(active=True) | Channel.objects.filter(
            pk=self.instance.channel_id or 0
        )
        self.fields["owner"].queryset = owners
        self.fields["spend_source"].required = False  # left out: its own spend
        self.fields["spend"].required = False  # left out: nothing (or a share of the channel's)

    def clean_spend(self):
        spend = self.cleaned_data.get("spend")
        return Decimal(0) if spend is None else spend

    def clean_spend_source(self):
        return self.cleaned_data.get("spend_source") or Campaign.SpendSource.OWN

    def clean_registration_slug(self):
        slug = (self.cleaned_data.get("registration_slug") or "").strip().lower()
        if slug and not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", slug):
            raise forms.ValidationError("Use lower-case letters, digits and single hyphens, e.g. “expo-2026”.")
        return slug or None

    def clean(self):
        data = super().clean()
        if data.get("registration_slug") and data.get("kind") != Campaign.Kind.EVENT:
            self.add_error("registration_slug", "Only event campaigns have a registration page.")
        if data.get("spend_source") == Campaign.SpendSource.CHANNEL and not data.get("starts_on"):
            self.add_error("starts_on", "A campaign taking a share of its channel's spend needs a start date.")
        return data


def _check_body(body: str) -> str:
    unknown = set(re.findall(r"\{\{\s*(\w+)\s*\}\}", body)) - set(MERGE_FIELDS)
    if unknown:
        raise forms.ValidationError(
            f"Unknown merge field: {', '.join(sorted(unknown))}. Use first_name, name, company, job_title or city."
        )
    if len(body_links(body)) > 50:
        raise forms.ValidationError("At most 50 links per email.")
    return body.strip()


class StepForm(forms.Form):
    subject_a = forms.CharField(max_length=200, label="Subject")
    body_a = forms.CharField(
        max_length=20_000,
        label="Body",
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text="Plain text. Merge fields: {{ first_name }}, {{ name }}, {{ company }}, {{ job_title }}, {{ city }}. "
        "Links (https://…) are tracked; an unsubscribe link is added.",
    )
    subject_b = forms.CharField(max_length=200, required=False, label="Variant B subject")
    body_b = forms.CharField(
        max_length=20_000,
        required=False,
        label="Variant B body",
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="Leave both B fields empty for no A/B test; an empty one is the same as A's.",
    )
    share_a = forms.IntegerField(min_value=1, max_value=99, initial=50, label="Members getting A (%)")
    delay_days = forms.IntegerField(
        min_value=0, max_value=365, initial=3, label="Days after the previous step", required=False
    )
    stop_if_engaged = forms.BooleanField(
        required=False, initial=True, label="Skip members who replied, clicked or became Contacted"
    )

    def clean_body_a(self):
        return _check_body(self.cleaned_data["body_a"])

    def clean_body_b(self):
        return _check_body(self.cleaned_data.get("body_b", ""))


class MembersByFilterForm(forms.Form):
    address = forms.CharField(
        max_length=4000,
        label="Leads list address",
        help_text="Filter the leads list, then paste its address here (or just the part after “?”).",
        widget=forms.TextInput(attrs={"placeholder": "/leads/?stage=new&channel=3"}),
    )


class MemberByHandForm(forms.Form):
    lead = forms.CharField(max_length=254, label="Lead's email or number")


class ScheduleForm(forms.Form):
    send_at = forms.DateTimeField(
        required=False,
        label="Send at",
        help_text="Empty: now.",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )


@dataclass(frozen=True)
class RegistrationSettings:
    """What the web form reads of its settings, for an event: which optional fields to ask."""

    pk: str
    ask_phone: bool = True
    ask_company: bool = True
    ask_job_title: bool = True
    ask_country: bool = False
    ask_message: bool = False


def registration_form(campaign: Campaign, data=None, **kwargs) -> WebToLeadForm:
    """The public web form's fields, limits and checks, for an event's registration page."""
    return WebToLeadForm(data, web_form=RegistrationSettings(pk=f"event-{campaign.pk}"), **kwargs)
