"""Forms of the customer pages: they parse input and show errors beside the fields; the rules are in services."""

from django import forms

from crm import access, clock
from crm.models import User
from customers.imports import FIELDS
from customers.models import Account, ChurnRule, Contact, Order, Survey
from customers.selectors import STATUS_FILTERS
from leads.imports.rows import ENCODINGS
from leads.models import Channel

_DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class CustomerFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=100, label="Search")
    status = forms.ChoiceField(choices=list(STATUS_FILTERS.items()), required=False)
    channel = forms.ModelChoiceField(queryset=Channel.objects.all(), required=False, empty_label="All channels")


class OrderForm(forms.ModelForm):
    class Meta:
        model = Order
        fields = ["ordered_on", "amount", "description"]
        widgets = {
            "ordered_on": _DATE,
            "amount": forms.NumberInput(
                attrs={"step": "0.01", "inputmode": "decimal", "placeholder": "-50 for a refund"}
            ),
            "description": forms.TextInput(attrs={"placeholder": "What was bought (or refunded)"}),
        }
        labels = {"ordered_on": "Date", "amount": "Amount (negative: refund)"}

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {"ordered_on": clock.today()})
        super().__init__(*args, **kwargs)

    def clean_ordered_on(self):
        day = self.cleaned_data["ordered_on"]
        if day > clock.today():
            raise forms.ValidationError("An order cannot be dated in the future.")
        return day

    def clean_amount(self):
        amount = self.cleaned_data["amount"]
        if amount == 0:
            raise forms.ValidationError("Give the amount (negative for a refund).")
        return amount


class ContactForm(forms.ModelForm):
    class Meta:
        model = Contact
        fields = ["name", "email", "phone", "job_title"]


class ChurnForm(forms.Form):
    churned_on = forms.DateField(widget=_DATE, label="Churned on")
    reason = forms.ChoiceField(choices=[("", "Choose a reason"), *Account.ChurnReason.choices])
    note = forms.CharField(required=False, max_length=500)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {"churned_on": clock.today()})
        super().__init__(*args, **kwargs)


class SurveySendForm(forms.Form):
    contact = forms.ModelChoiceField(queryset=Contact.objects.none(), empty_label=None)
    kind = forms.ChoiceField(choices=Survey.Kind.choices, label="Question")

    def __init__(self, *args, account: Account, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contact"].queryset = account.contacts.exclude(email="")


class ReassignForm(forms.Form):
    owner = forms.ModelChoiceField(queryset=User.objects.none(), empty_label=None, label="New owner")

    def __init__(self, *args, user, account: Account, **kwargs):
        kwargs.setdefault("initial", {"owner": account.owner_id})
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = access.users_assignable_by(user).order_by("first_name", "username")


class ChurnRuleForm(forms.ModelForm):
    class Meta:
        model = ChurnRule
        fields = ["kind", "inactivity_days"]
        widgets = {"kind": forms.RadioSelect}
        labels = {"kind": "A customer is churned when", "inactivity_days": "N (days without an order)"}


class SurveyAnswerForm(forms.Form):
    score = forms.TypedChoiceField(coerce=int, widget=forms.RadioSelect, label="Your answer")
    comment = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args, survey: Survey, **kwargs):
        super().__init__(*args, **kwargs)
        scores = range(survey.min_score, survey.max_score + 1)
        self.fields["score"].choices = [(n, str(n)) for n in scores]
        self.fields["score"].error_messages["required"] = "Choose a score."


class OrderUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="The first line names the columns: customer, date and amount at least (or quantity and unit price).",
        error_messages={"required": "Choose a CSV file to import.", "empty": "The file is empty."},
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
    encoding = forms.ChoiceField(
        choices=[("", "UTF-8 (recommended)"), *[(k, v) for k, v in ENCODINGS.items() if k != "utf-8"]],
        required=False,
    )


class OrderMappingForm(forms.Form):
    """One choice of the file's columns per order field, the customers' channel and owner, dry run or import."""

    channel = forms.ModelChoiceField(
        queryset=Channel.objects.all(), required=False, empty_label="None", help_text="Of customers the file creates."
    )
    owner = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, empty_label="Nobody", help_text="Of customers the file creates."
    )

    def __init__(self, *args, header: list[str], user: User, initial_mapping: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        columns = [("", "—"), *((column, column) for column in header)]
        for name, label in FIELDS.items():
            self.fields[name] = forms.ChoiceField(
                choices=columns, required=False, label=label, initial=initial_mapping.get(name, "")
            )
        self.fields["owner"].queryset = access.users_assignable_by(user).order_by("first_name", "last_name")
        self.order_fields([*FIELDS, "channel", "owner"])

    def mapping(self) -> dict[str, str]:
        return {name: self.cleaned_data[name] for name in FIELDS if self.cleaned_data.get(name)}
