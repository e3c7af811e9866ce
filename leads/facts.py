"""The one list of a lead's facts: what each way in and out of the CRM reads to know a lead's fields.

Each `Fact` names a field of `Lead` (or, for `first_name` and `last_name`, a column the import and the API read
to make the name) and says where it goes: the rep's lead form, the services' editable fields, the CSV import
(its mapping list, the header spellings it recognises, how a cell is read), the CSV export (its columns, in
this list's order) and the JSON API (its input schema, and the few facts its answer shows). Types, lengths,
choices and help texts come from the model field, so a new field on `Lead` and one line here reach every way
in at once; `tests/leads/test_facts.py` fails when a way in or out leaves a fact behind.

The export keeps the column positions it had before the UTM and qualification facts joined it (they come after
`attributes`), so files read by position keep working.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from django.core.exceptions import FieldDoesNotExist
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.text import capfirst

from leads.models import Lead


def header_key(text: str) -> str:
    """A column name as the import compares it: lower-cased, letters and digits only ("E-mail" → "email")."""
    return re.sub(r"[\W_]+", "", text.lower())


@dataclass(frozen=True)
class Fact:
    name: str
    label: str = ""  # empty: the model field's verbose name
    help_text: str | None = None  # None: the model field's help text
    # Import: other spellings of the column (as other CRMs and ad platforms export it), and a hint shown in
    # the mapping list after the label ("Company size (employees)").
    synonyms: tuple[str, ...] = ()
    import_hint: str = ""
    importable: bool = True
    editable: bool = True  # lead_create / lead_update (and an import's `update`) may set it
    form: bool = True  # on the rep's lead form
    api: bool = True  # accepted by POST /api/v1/leads/
    # In the API's lead answer. Few on purpose: an answer about an existing lead may reach a caller of another
    # channel (issue 13), so it does not grow with this list.
    api_out: bool = False
    export: bool = True
    export_source: str = ""  # the `values_list` path when not the field itself ("channel__name")
    max_length: int | None = None  # the longest value taken from outside; None: the model field's
    maximum: int | None = None  # the largest number taken from outside (a sanity bound below the column's)

    @cached_property
    def field(self) -> models.Field | None:
        try:
            return Lead._meta.get_field(self.name)
        except FieldDoesNotExist:
            return None

    @property
    def verbose_label(self) -> str:
        if self.label:
            return self.label
        return capfirst(str(self.field.verbose_name)) if self.field is not None else capfirst(self.name)

    @property
    def help(self) -> str:
        if self.help_text is not None:
            return self.help_text
        return str(self.field.help_text) if self.field is not None else ""

    @property
    def import_label(self) -> str:
        return f"{self.verbose_label} ({self.import_hint})" if self.import_hint else self.verbose_label

    @property
    def kind(self) -> str:
        """How a value is read and typed: text, email, int, decimal, choice, relation, json or datetime."""
        field = self.field
        if field is None or isinstance(field, models.TextField):
            return "text"
        if field.is_relation:
            return "relation"
        if field.choices:
            return "choice"
        if isinstance(field, models.EmailField):
            return "email"
        if isinstance(field, models.CharField):
            return "text"
        if isinstance(field, models.DecimalField):
            return "decimal"
        if isinstance(field, models.IntegerField):
            return "int"
        if isinstance(field, models.JSONField):
            return "json"
        if isinstance(field, models.DateTimeField):
            return "datetime"
        raise TypeError(f"Lead.{self.name}: no reader for {type(field).__name__}")

    @property
    def longest(self) -> int | None:
        if self.max_length is not None:
            return self.max_length
        return getattr(self.field, "max_length", None)

    @property
    def bounds(self) -> tuple[int | float | None, int | float | None]:
        """The smallest and largest number the field holds (its validators, the column's range), then `maximum`."""
        low = high = None
        for validator in getattr(self.field, "validators", ()):
            if isinstance(validator, MinValueValidator):
                low = validator.limit_value if low is None else max(low, validator.limit_value)
            elif isinstance(validator, MaxValueValidator):
                high = validator.limit_value if high is None else min(high, validator.limit_value)
        if self.maximum is not None:
            high = self.maximum if high is None else min(high, self.maximum)
        return low, high

    @property
    def choices(self) -> list[tuple[str, str]]:
        return list(self.field.choices) if self.field is not None and self.field.choices else []

    @property
    def export_column(self) -> str:
        return self.name

    @property
    def source(self) -> str:
        return self.export_source or self.name

    def header_keys(self) -> set[str]:
        """Every header the import takes for this fact: its name, its labels and its synonyms."""
        spellings = {self.name, self.verbose_label, self.import_label, *self.synonyms}
        return {header_key(spelling) for spelling in spellings}


# In the export's column order; facts that are not exported keep the form's order among the others.
FACTS: tuple[Fact, ...] = (
    Fact("id", importable=False, editable=False, form=False, api=False),
    Fact(
        "name",
        # HubSpot, Salesforce and Zoho export first and last names; Meta Lead Ads `full_name`, Google Ads lead
        # forms "Full Name", Pipedrive "Person - Name" / "Deal - Contact person".
        synonyms=(
            "Full name",
            "Contact",
            "Contact name",
            "Lead name",
            "Person name",
            "Person - Name",
            "Display name",
            "Deal - Contact person",
            "Your name",
            # Sales teams selling to people (real estate, insurance, education) export "Customer name" or
            # "Client name"; "Customer" alone names a company as often as a person, so it is not one of these.
            "Customer name",
            "Client name",
        ),
        api_out=True,
    ),
    Fact(
        "first_name",
        label="First name",
        synonyms=("First", "Given name", "Forename", "FirstName", "Contact first name", "User first name"),
        max_length=100,
        editable=False,
        form=False,
        export=False,
    ),
    Fact(
        "last_name",
        label="Last name",
        synonyms=("Last", "Surname", "Family name", "LastName", "Contact last name", "User last name"),
        max_length=100,
        editable=False,
        form=False,
        export=False,
    ),
    Fact(
        "email",
        synonyms=(
            "E-mail",
            "Email address",
            "E-mail address",
            "Mail",
            "Email 1",
            "Work email",
            "Business email",
            "Primary email",
            "Email (work)",
            "Person - Email",
            "Person - Email - Work",
            "User email",  # Google Ads lead forms
            "Contact email",
            "Email address (work)",
        ),
        api_out=True,
    ),
    Fact(
        "phone",
        synonyms=(
            "Phone number",
            "Telephone",
            "Tel",
            "Mobile",
            "Cell",
            "Mobile phone",
            "Mobile phone number",
            "Phone 1",
            "Work phone",
            "Business phone",
            "Primary phone",
            "Person - Phone",
            "Person - Phone - Work",
            "User phone",  # Google Ads lead forms
            "Phone (work)",
            "Mobile number",
        ),
        api_out=True,
    ),
    Fact(
        "company",
        synonyms=(
            "Company name",
            "Organisation",
            "Organization",
            "Organisation name",
            "Organization name",
            "Account",
            "Account name",
            "Business",
            "Employer",
            "Company / Account",
            "Organization - Name",
            "Person - Organization",
            "Associated company",  # HubSpot contacts
            "Company name (work)",
        ),
        api_out=True,
    ),
    Fact(
        "job_title",
        synonyms=("Title", "Position", "Role", "Designation", "Job position", "Person - Job title", "Job title (work)"),
    ),
    Fact("industry", synonyms=("Sector", "Vertical", "Company industry", "Organization - Industry")),
    Fact(
        "company_size",
        import_hint="employees",
        synonyms=(
            "Employees",
            "Size",
            "Headcount",
            "Number of employees",
            "No. of employees",
            "NumberOfEmployees",
            "numemployees",
            "Employee count",
            "Company size (employees)",
            "Organization - Number of employees",
        ),
        maximum=10_000_000,
    ),
    # A country's name is read too ("Germany", "United States"): see `leads.normalize.country_code`.
    Fact("country", import_hint="ISO code or name", synonyms=("Country code", "Country/Region", "Country name")),
    Fact(
        "region",
        synonyms=(
            "State",
            "Province",
            "State/Province",
            "State/Region",
            "State or province",
            "County",
            "Mailing state",
        ),
    ),
    Fact("city", synonyms=("Town", "Mailing city")),
    Fact(
        "channel",
        synonyms=(
            "Source",
            "Lead source",
            "Original source",
            "Lead - Source",
            "Deal - Source",
            "Source channel",
            "Origin",  # Olist's marketing-qualified leads ("paid_search", "social", "referral"...)
            "Marketing channel",
            "Acquisition channel",
        ),
        api=False,  # the token's channel
        api_out=True,
        export_source="channel__name",
    ),
    Fact(
        "owner",
        import_hint="username or email",
        synonyms=(
            "Rep",
            "Sales rep",
            "Assigned to",
            "Lead owner",
            "Contact owner",
            "Owner name",
            "Lead - Owner",
            "Deal - Owner",
            "HubSpot owner",
            "Record owner",
        ),
        editable=False,
        form=False,
        api=False,
        export_source="owner__username",
    ),
    Fact(
        "stage",
        # Meta Lead Ads `lead_status`, Pipedrive "Deal - Status", HubSpot "Lifecycle stage"; an outcome column
        # ("Converted" 1/0, Salesforce's IsConverted) reads as won/lost (OUTCOME_COLUMNS).
        synonyms=(
            "Status",
            "Lead status",
            "Lead stage",
            "Lifecycle stage",
            "Deal - Status",
            "Deal - Stage",
            "Pipeline stage",
            "Converted",
            "Is converted",
            "IsConverted",
            "Outcome",
        ),
        editable=False,
        form=False,
        api=False,
    ),
    Fact(
        "lost_reason",
        synonyms=("Reason lost", "Loss reason", "Closed lost reason", "Deal - Lost reason", "Lost reason (deal)"),
        editable=False,
        form=False,
        api=False,
    ),
    Fact("score", importable=False, editable=False, form=False, api=False),
    Fact("grade", importable=False, editable=False, form=False, api=False),
    Fact(
        "created_at",
        label="Created date",
        synonyms=(
            "Created",
            "Date created",
            "Date",
            "Create date",
            "Created time",
            "Created on",
            "Lead created",
            "Lead - Created",
            "CreatedDate",
            "Deal - Deal created",
            "Submitted at",  # LinkedIn Lead Gen
            "Submit time",  # Google Ads lead forms
            "Submission date",
            "Date submitted",
            "Date added",
            "First contact date",  # Olist's marketing-qualified leads
            "First contact",
            "Inquiry date",
            "Enquiry date",
        ),
        editable=False,
        form=False,
        api=False,
    ),
    Fact(
        "won_at",
        label="Won date",
        synonyms=(
            "Date won",
            "Close date",
            "Closed date",
            "Closed at",
            "Won time",
            "Deal - Won time",
            "Deal - Close date",
            "Converted date",
            "Became a customer date",  # HubSpot
        ),
        editable=False,
        form=False,
        api=False,
    ),
    Fact(
        "deal_value",
        # Not "Annual revenue" (HubSpot, Salesforce, Zoho): that is the company's, not the deal's.
        synonyms=(
            "Value",
            "Amount",
            "Deal amount",
            "Revenue",
            "Opportunity amount",
            "Deal - Value",
            "Lead - Value",
            "Deal value (amount)",
            "Close value",
        ),
        editable=False,
        form=False,
        api=False,
    ),
    Fact(
        "attributes",
        import_hint="JSON object",
        help_text="Custom attributes (JSON object).",
        form=False,  # shown and kept on the lead page; the import also takes one column per key
    ),
    Fact("utm_source", label="UTM source"),
    Fact("utm_medium", label="UTM medium"),
    Fact("utm_campaign", label="UTM campaign", synonyms=("Campaign", "Campaign name", "Campaign - Name")),
    Fact("budget", synonyms=("Budget status",)),
    Fact("budget_amount", synonyms=("Budget value",)),
    Fact("authority"),
    Fact("need", synonyms=("Needs",), max_length=5000),
    Fact("timeline", synonyms=("Purchase timeline", "Buying timeline", "Timeframe")),
    Fact(
        "external_id",
        label="External id",
        # HubSpot "Record ID", Salesforce "Lead ID", Zoho "Record Id", Google Ads and LinkedIn "Lead ID", Pipedrive
        # "Lead - ID", the X Education dataset's "Prospect ID" and "Lead Number".
        synonyms=(
            "ID",  # Meta Lead Ads' "id", Salesforce Data Loader's "Id"
            "Record ID",
            "Lead ID",
            "Contact ID",
            "Prospect ID",
            "Lead number",
            "Lead - ID",
            "Opportunity ID",
            "Deal - ID",
            "Person - ID",
            "Salesforce ID",
            "CRM ID",
            "MQL ID",  # a marketing-qualified lead's id (Olist's funnel dataset)
        ),
        # Set by the system a lead came from, not typed: kept by imports (and exported), not by the lead form.
        editable=False,
        form=False,
        api=False,
    ),
)

BY_NAME: dict[str, Fact] = {fact.name: fact for fact in FACTS}

# Facts that can name a lead that has no name (in this order): an import row needs one of them, or a name.
IDENTITY_FACTS: tuple[str, ...] = ("company", "email", "phone", "external_id")

# How other systems spell the stages (compared as `header_key` spells them): Salesforce and Zoho lead statuses,
# HubSpot lead statuses and lifecycle stages, Pipedrive deal statuses, Meta Lead Ads' lead_status.
STAGE_SPELLINGS: dict[str, tuple[str, ...]] = {
    "new": (
        "Open - Not Contacted",
        "Open",
        "Not contacted",
        "Lead",
        "New lead",
        "Subscriber",
        "Unassigned",
        "Created",
        "Fresh",
    ),
    "contacted": (
        "Working - Contacted",
        "Working",
        "Attempted to contact",
        "Attempted",
        "Connected",
        "In progress",
        "Contact in future",
        "Engaged",
        "Engaging",
        "Nurturing",
        "Prospecting",  # Salesforce's first opportunity stage
        "Re-engagement",  # a cold lead worked again
        "Re-engaged",
        "On hold",  # open, paused by the rep
        "Follow up",
    ),
    "qualified": (
        "Pre-qualified",
        "Marketing qualified lead",
        "MQL",
        "Sales qualified lead",
        "SQL",
        "Qualified lead",
        "Open deal",
        "Qualification",
        "Needs analysis",
    ),
    "proposal": (
        "Opportunity",
        "Proposal/Price quote",
        "Proposal",
        "Proposal sent",
        "Negotiation/Review",
        "Negotiation",
        "Quote sent",
        "Demo",
        "Value proposition",
        "Id. decision makers",
        "Perception analysis",
    ),
    "won": ("Closed won", "Closed - Converted", "Converted", "Customer", "Deal won", "Evangelist"),
    "lost": (
        "Closed lost",
        "Closed - Not converted",
        "Unqualified",
        "Not qualified",
        "Disqualified",
        "Junk lead",
        "Lost lead",
        "Deal lost",
        "Bad timing",
    ),
}
# Columns that say whether a lead converted ("Converted": 1/0, yes/no, true/false) rather than name a stage.
OUTCOME_COLUMNS: tuple[str, ...] = ("Converted", "Is converted", "IsConverted", "Outcome", "Won")
OUTCOME_YES: tuple[str, ...] = ("1", "1.0", "true", "yes", "y", "won", "converted")
OUTCOME_NO: tuple[str, ...] = ("0", "0.0", "false", "no", "n", "lost", "not converted")
# How other systems spell lost reasons.
LOST_REASON_SPELLINGS: dict[str, tuple[str, ...]] = {
    "no_budget": ("Budget", "Price", "Too expensive", "Pricing"),
    "no_need": ("Not interested", "No interest", "Not a fit"),
    "competitor": ("Competitor", "Lost to competitor", "Went with competitor", "Chose competitor"),
    "no_response": ("Unresponsive", "No contact", "Not reachable", "Unreachable", "Ghosted"),
    "bad_data": ("Junk", "Invalid", "Wrong number", "Fake", "Spam", "Duplicate"),
    "timing": ("Timing", "Not now", "Later"),
}

# Facts a person may set directly on a lead (stage, owner and scores have services of their own).
EDITABLE_FIELDS: tuple[str, ...] = tuple(f.name for f in FACTS if f.editable)
FORM_FACTS: tuple[Fact, ...] = tuple(f for f in FACTS if f.form)
FORM_FIELDS: tuple[str, ...] = tuple(f.name for f in FORM_FACTS)
IMPORT_FACTS: tuple[Fact, ...] = tuple(f for f in FACTS if f.importable)
# Facts an import's `update` may replace on an existing lead (stage, owner and dates have services and history
# of their own; attributes are merged key by key instead).
IMPORT_UPDATABLE_FIELDS: tuple[str, ...] = tuple(
    f.name for f in IMPORT_FACTS if f.editable and f.field is not None and f.kind != "json"
)
EXPORT_FACTS: tuple[Fact, ...] = tuple(f for f in FACTS if f.export)
API_FACTS: tuple[Fact, ...] = tuple(f for f in FACTS if f.api)
API_OUT_FACTS: tuple[Fact, ...] = tuple(f for f in FACTS if f.api_out)


def _header_synonyms() -> dict[str, str]:
    found: dict[str, str] = {}
    for fact in IMPORT_FACTS:
        for key in fact.header_keys():
            if found.setdefault(key, fact.name) != fact.name:
                raise ValueError(f"The header “{key}” would name both {found[key]} and {fact.name}.")
    return found


# Header (as `header_key` spells it) → fact: built once, one lookup per column.
HEADER_SYNONYMS: dict[str, str] = _header_synonyms()


# Custom attributes: a lead's own keys and values (a JSON object), bounded on every way in.
ATTRIBUTES_MAX_KEYS = 50
ATTRIBUTE_KEY_MAX_LENGTH = 64
ATTRIBUTE_VALUE_MAX_LENGTH = 1000


def attributes_problem(value) -> str | None:
    """Why `value` cannot be a lead's custom attributes, or None: a JSON object of at most ATTRIBUTES_MAX_KEYS keys
    (each at most ATTRIBUTE_KEY_MAX_LENGTH characters) whose values are text (at most ATTRIBUTE_VALUE_MAX_LENGTH
    characters), numbers, true/false or null."""
    if not isinstance(value, dict):
        return "Give a JSON object of keys and values."
    if len(value) > ATTRIBUTES_MAX_KEYS:
        return f"At most {ATTRIBUTES_MAX_KEYS} attributes, not {len(value)}."
    for key, item in value.items():
        if not key or len(key) > ATTRIBUTE_KEY_MAX_LENGTH:
            return f"Attribute names have 1 to {ATTRIBUTE_KEY_MAX_LENGTH} characters."
        if isinstance(item, str):
            if len(item) > ATTRIBUTE_VALUE_MAX_LENGTH:
                return f"“{key}” is longer than {ATTRIBUTE_VALUE_MAX_LENGTH} characters."
        elif item is not None and not isinstance(item, bool | int | float):
            return f"“{key}” must be text, a number, true/false or null, not a list or an object."
    return None
