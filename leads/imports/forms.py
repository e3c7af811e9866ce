"""Forms of the CSV import pages: the upload, then the column mapping with the import's options."""

from django import forms
from django.conf import settings

from crm import access
from crm.models import User
from leads.imports import services as imports
from leads.models import Channel, ImportJob

UNMAPPED = ""  # left to the "keep the other columns" tick box
IGNORE = "__ignore__"
ATTRIBUTE = "__attribute__"


class UploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="The first line names the columns. UTF-8 unless you choose another encoding.",
        error_messages={"required": "Choose a CSV file to import.", "empty": "The file is empty."},
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
    encoding = forms.ChoiceField(
        choices=[("", "UTF-8 (recommended)"), *[(k, v) for k, v in imports.ENCODINGS.items() if k != "utf-8"]],
        required=False,
        help_text="Older Excel files saved as plain “CSV” are often Windows-1252.",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.IMPORT_MAX_BYTES
        if upload.size > limit:
            # Checked before reading: an oversized upload is never loaded into memory.
            raise forms.ValidationError(
                f"The file is {imports.human_size(upload.size)}; the largest file accepted is {imports.human_size(limit)}. "
                "Split it into parts."
            )
        return upload


class MappingForm(forms.Form):
    """One select per CSV column (which lead field it fills), then the import's options."""

    channel = forms.ModelChoiceField(
        queryset=Channel.objects.none(), required=False, empty_label="None", label="Channel of rows without one"
    )
    owner = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, empty_label="Nobody (the pool)", label="Owner of rows without one"
    )
    on_duplicate = forms.ChoiceField(
        choices=[
            ("skip", "Skip the row"),
            ("update", "Update the existing lead"),
            ("create", "Create a new lead anyway"),
        ],
        label="When a row matches a lead (same email or phone)",
    )
    create_channels = forms.BooleanField(required=False, label="Create channels the file names that do not exist yet")
    stage_values = forms.CharField(
        required=False,
        label="Other spellings of stages",
        help_text="e.g. won=1,lost=0 or won=yes,lost=no. Stage names match whatever their case.",
        widget=forms.TextInput(attrs={"placeholder": "won=1,lost=0"}),
    )
    unmapped_attributes = forms.BooleanField(
        required=False,
        label="Keep every column not mapped as a custom attribute",
        help_text="Under a clean key, with the column's name as its label. Untick to import only the mapped columns.",
    )
    dry_run = forms.BooleanField(required=False, label="Dry run: check and count, write nothing")

    def __init__(self, data=None, *, job: ImportJob, user: User):
        super().__init__(data)
        self.job = job
        self.fields["channel"].queryset = Channel.objects.filter(active=True).order_by("name")
        self.fields["owner"].queryset = access.users_assignable_by(user).order_by("username")
        if not access.can_configure_channels(user):
            del self.fields["create_channels"]
        choices = [
            (UNMAPPED, "— not mapped —"),
            *imports.FIELDS.items(),
            (ATTRIBUTE, "Custom attribute"),
            (IGNORE, "Don't import"),
        ]
        by_column = {column: name for name, column in job.mapping.items()}
        options = imports.ImportOptions.from_dict(job.options)
        by_column.update(dict.fromkeys(options.ignored, IGNORE))
        self.column_fields = []
        for i, column in enumerate(job.header):
            if not column:  # an unnamed column empty in every row
                continue
            guessed = by_column.get(column, UNMAPPED)
            if guessed.startswith(imports.ATTRIBUTE_PREFIX):
                guessed = ATTRIBUTE
            name = f"column_{i}"
            self.fields[name] = forms.ChoiceField(choices=choices, required=False, label=column, initial=guessed)
            self.column_fields.append(name)
        self.initial.update(
            on_duplicate=options.on_duplicate,
            unmapped_attributes=options.unmapped == "attributes",
            create_channels=options.create_channels,
            dry_run=options.dry_run,
            stage_values=",".join(f"{stage}={value}" for value, stage in options.stage_values.items()),
            channel=Channel.objects.filter(name=options.channel).first() if options.channel else None,
            owner=User.objects.filter(username=options.owner).first() if options.owner else None,
        )

    @property
    def columns(self):
        return [self[name] for name in self.column_fields]

    def clean_stage_values(self):
        try:
            return imports.parse_stage_values(self.cleaned_data["stage_values"])
        except imports.ImportFileError as error:
            raise forms.ValidationError(str(error)) from None

    def clean(self):
        cleaned = super().clean()
        mapping: dict[str, str] = {}
        ignored: list[str] = []
        for i, column in enumerate(self.job.header):
            name = f"column_{i}"
            target = cleaned.get(name) or UNMAPPED
            if target == UNMAPPED or not column:
                continue
            if target == IGNORE:
                ignored.append(column)
                continue
            if target == ATTRIBUTE:
                key = base = imports.attribute_key(column)
                n = 1
                while imports.ATTRIBUTE_PREFIX + key in mapping:
                    n += 1
                    key = f"{base}_{n}"
                target = imports.ATTRIBUTE_PREFIX + key
            if target in mapping:
                self.add_error(name, f"“{mapping[target]}” already fills {imports.FIELDS.get(target, target)}.")
                continue
            mapping[target] = column
        cleaned["mapping"] = mapping
        cleaned["ignored"] = ignored
        return cleaned

    def options(self) -> imports.ImportOptions:
        data = self.cleaned_data
        return imports.ImportOptions(
            channel=data["channel"].name if data.get("channel") else "",
            owner=data["owner"].username if data.get("owner") else "",
            on_duplicate=data["on_duplicate"],
            create_channels=data.get("create_channels", False),
            stage_values=data.get("stage_values") or {},
            dry_run=data["dry_run"],
            unmapped="attributes" if data.get("unmapped_attributes") else "ignore",
            ignored=data.get("ignored", []),
        )
