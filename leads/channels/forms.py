"""Forms of the channel set-up pages (admins) and of the public web-to-lead form."""

import re
from functools import partial
from urllib.parse import parse_qs, urlsplit

from django import forms

from leads.models import ApiToken, Channel, ChannelSpend, StandardEmailFormField, WebForm
from leads.normalize import normalize_email, normalize_phone

UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
# Bots fill every field; people never see this one (hidden off-screen, skipped by the tab key).
HONEYPOT_FIELD = "website"


class ChannelForm(forms.ModelForm):
    class Meta:
        model = Channel
        fields = ["name", "kind", "active"]
        help_texts = {"active": "Switched-off channels accept no web form submissions and no API calls."}
        error_messages = {
            "name": {
                "required": "Give the channel a name.",
                "unique": "A channel with this name already exists.",
            }
        }

    def clean_name(self) -> str:
        return self.cleaned_data["name"].strip()


class ChannelSpendForm(forms.ModelForm):
    class Meta:
        model = ChannelSpend
        fields = ["period_start", "period_end", "amount", "currency"]
        widgets = {
            "period_start": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "period_end": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "amount": forms.NumberInput(attrs={"min": 0, "step": "0.01", "inputmode": "decimal"}),
        }
        labels = {"period_start": "From", "period_end": "To (inclusive)"}
        error_messages = {
            "period_start": {"required": "When did the period start?", "invalid": "Enter a date as YYYY-MM-DD."},
            "period_end": {"required": "When did the period end?", "invalid": "Enter a date as YYYY-MM-DD."},
            "amount": {"required": "How much was spent?", "invalid": "Enter an amount, e.g. 1250.00."},
            "currency": {"max_length": "A three-letter currency code, e.g. USD or EUR."},
        }

    def __init__(self, *args, channel: Channel, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.channel = channel

    def clean_currency(self) -> str:
        currency = self.cleaned_data["currency"].strip().upper()
        if not re.fullmatch(r"[A-Z]{3}", currency):
            raise forms.ValidationError("A three-letter currency code, e.g. USD or EUR.")
        return currency

    def clean_amount(self):
        amount = self.cleaned_data["amount"]
        if amount is not None and amount < 0:
            raise forms.ValidationError("Spend cannot be negative.")
        return amount

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("period_start"), cleaned.get("period_end")
        if start and end:
            if end < start:
                self.add_error("period_end", "The period must end on or after its first day.")
                return cleaned
            # Overlapping periods would count the same days' spend twice in every cost figure.
            clash = (
                ChannelSpend.objects.filter(channel=self.instance.channel, period_start__lte=end, period_end__gte=start)
                .exclude(pk=self.instance.pk)
                .first()
            )
            if clash:
                self.add_error(
                    "period_start",
                    f"Overlaps the spend recorded for {clash.period_start:%Y-%m-%d} – {clash.period_end:%Y-%m-%d}; "
                    "change that one instead.",
                )
        return cleaned


class WebFormSettingsForm(forms.ModelForm):
    class Meta:
        model = WebForm
        fields = [
            "slug",
            "published",
            "title",
            "intro",
            "submit_label",
            "thank_you_message",
            "redirect_url",
            "ask_phone",
            "ask_company",
            "ask_job_title",
            "ask_country",
            "ask_message",
        ]
        labels = {
            "slug": "Address",
            "published": "Published (the form accepts submissions)",
            "redirect_url": "After submitting, go to",
            "ask_phone": "Ask for a phone number",
            "ask_company": "Ask for the company",
            "ask_job_title": "Ask for the job title",
            "ask_country": "Ask for the country",
            "ask_message": "Ask for a message",
        }
        widgets = {"intro": forms.Textarea(attrs={"rows": 2}), "thank_you_message": forms.Textarea(attrs={"rows": 2})}
        field_classes = {"redirect_url": partial(forms.URLField, assume_scheme="https")}
        error_messages = {
            "slug": {
                "required": "Give the form an address.",
                "invalid": "Use lower-case letters, digits and hyphens only.",
                "unique": "Another channel's form already has this address.",
            },
            "redirect_url": {"invalid": "Enter a full address, e.g. https://example.com/thanks."},
        }

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"].strip().lower()
        if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", slug):
            raise forms.ValidationError("Use lower-case letters, digits and single hyphens, e.g. “spring-webinar”.")
        return slug


class ApiTokenForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["name"]
        labels = {"name": "Token name"}
        widgets = {"name": forms.TextInput(attrs={"placeholder": "e.g. Landing page backend"})}
        error_messages = {"name": {"required": "Name the token after who will use it."}}


class WebToLeadForm(forms.Form):
    """The public form; which optional fields it shows follows the channel's WebForm settings."""

    name = forms.CharField(max_length=200, error_messages={"required": "Please tell us your name."})
    email = StandardEmailFormField(
        max_length=254,
        error_messages={"required": "Please give your email address.", "invalid": "Please check your email address."},
    )
    phone = forms.CharField(max_length=40, required=False)
    company = forms.CharField(max_length=200, required=False)
    job_title = forms.CharField(max_length=200, required=False)
    country = forms.CharField(max_length=2, required=False, help_text="Two letters, e.g. DE")
    message = forms.CharField(max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 4}))
    # Where the visitor came from: filled from the query string and referrer (hosted page) or by the snippet.
    utm_source = forms.CharField(max_length=200, required=False, widget=forms.HiddenInput)
    utm_medium = forms.CharField(max_length=200, required=False, widget=forms.HiddenInput)
    utm_campaign = forms.CharField(max_length=200, required=False, widget=forms.HiddenInput)
    utm_term = forms.CharField(max_length=200, required=False, widget=forms.HiddenInput)
    utm_content = forms.CharField(max_length=200, required=False, widget=forms.HiddenInput)
    referrer = forms.CharField(max_length=2000, required=False, widget=forms.HiddenInput)
    page = forms.CharField(max_length=2000, required=False, widget=forms.HiddenInput)

    OPTIONAL = {
        "phone": "ask_phone",
        "company": "ask_company",
        "job_title": "ask_job_title",
        "country": "ask_country",
        "message": "ask_message",
    }

    def __init__(self, *args, web_form: WebForm, **kwargs):
        super().__init__(*args, **kwargs)
        self.web_form = web_form
        for field, setting in self.OPTIONAL.items():
            if not getattr(web_form, setting):
                del self.fields[field]
        self.fields["email"].widget.attrs.update(autocomplete="email")
        self.fields["name"].widget.attrs.update(autocomplete="name")
        if "phone" in self.fields:
            self.fields["phone"].widget = forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"})

    def clean_phone(self) -> str:
        phone = self.cleaned_data.get("phone", "").strip()
        if phone and not normalize_phone(phone):
            raise forms.ValidationError("Please check the phone number (with the country code, e.g. +49 30 1234567).")
        return phone

    def clean_country(self) -> str:
        country = self.cleaned_data.get("country", "").strip().upper()
        if country and not re.fullmatch(r"[A-Z]{2}", country):
            raise forms.ValidationError("Two letters, e.g. DE or US.")
        return country

    def utm(self, *, page_url: str = "") -> dict[str, str]:
        """UTM values posted with the form, else those in the query string of the page the form was on."""
        posted = {name: self.cleaned_data.get(name, "").strip() for name in UTM_FIELDS}
        if any(posted.values()) or not page_url:
            return posted
        query = parse_qs(urlsplit(page_url).query)
        return {name: (query.get(name) or [""])[0][:200] for name in UTM_FIELDS}

    def lead_facts(self, *, utm: dict[str, str]) -> dict:
        data = self.cleaned_data
        facts = {"name": data["name"].strip(), "email": data["email"].strip()}
        for name in ("phone", "company", "job_title", "country"):
            if data.get(name):
                facts[name] = data[name].strip()
        facts.update({name: utm[name] for name in ("utm_source", "utm_medium", "utm_campaign") if utm[name]})
        return facts

    def duplicate_key(self) -> list:
        """The normalised fields: the same person sending the same thing twice gives the same key."""
        data = self.cleaned_data
        return [
            self.web_form.pk,
            normalize_email(data["email"]),
            " ".join(data["name"].lower().split()),
            normalize_phone(data.get("phone", "")),
            " ".join(data.get("company", "").lower().split()),
            " ".join(data.get("message", "").lower().split()),
        ]
