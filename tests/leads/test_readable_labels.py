"""Item 9 of issue 15: labels and reasons people read as words (custom attributes, scoring help, import reasons)."""

import pytest
from django.template import Context, Template

from leads.imports.rows import NameResolver
from leads.imports.services import ImportOptions
from leads.templatetags.leads_tags import attribute_label, attribute_value
from scoring.forms import RuleForm

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("key", "label"),
    [("utm_source", "UTM source"), ("newsletter", "Newsletter"), ("crm-id", "CRM ID"), ("Shoe size", "Shoe size")],
)
def test_attribute_keys_read_as_words(key, label):
    assert attribute_label(key) == label


@pytest.mark.parametrize(
    ("value", "shown"), [(True, "Yes"), (False, "No"), (None, "–"), (["a", "b"], "a, b"), (3, "3")]
)
def test_attribute_values_read_as_words(value, shown):
    assert attribute_value(value) == shown


def test_the_scoring_field_help_shows_the_attribute_syntax_once_escaped():
    field = next(f for f in RuleForm.base_fields.items() if f[0] == "field")[1]
    html = Template("{{ help }}").render(Context({"help": field.help_text}))
    assert "attributes.&lt;key&gt;" in html and "&amp;lt;" not in html


def test_an_unknown_channel_is_explained_in_the_words_of_where_the_import_runs(admin_user, manager):
    options = ImportOptions()
    with pytest.raises(ValueError, match="use --create-channels"):
        NameResolver(user=None, options=options).channel("TikTok")
    with pytest.raises(ValueError, match="tick “Create missing channels”"):
        NameResolver(user=admin_user, options=options).channel("TikTok")
    with pytest.raises(ValueError, match="an admin can add it") as refused:
        NameResolver(user=manager, options=options).channel("TikTok")
    assert "--" not in str(refused.value)
