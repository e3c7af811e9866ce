"""`crm.widgets`: selects drawn in Python write exactly what Django's templates write."""

import pytest
from django import forms
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from crm.models import User
from crm.widgets import OneQueryModelChoiceField, PlainSelect
from tests.factories import UserFactory

CHOICES = [
    ("", "Any"),
    ("a", "Plain"),
    ("b&c", 'Quotes " and <tags> & ampersands'),
    (3, 3),
    ("lazy", gettext_lazy("Lazy label")),
    ("safe", mark_safe("<b>already safe</b>")),
    ("Group", [("g1", "In a group"), ("g2", "Also <grouped>")]),
]


@pytest.mark.parametrize("value", [None, "", "a", "b&c", 3, "3", "g2", "missing"])
@pytest.mark.parametrize(
    "attrs",
    [None, {"id": "id_x"}, {"id": "id_x", "required": True, "disabled": False, "data-x": 'say "hi" & <go>'}],
)
def test_a_plain_select_writes_what_djangos_templates_write(value, attrs):
    expected = forms.Select(choices=CHOICES).render("field", value, attrs=attrs)
    assert PlainSelect(choices=CHOICES).render("field", value, attrs=attrs) == expected


def test_a_plain_select_in_a_form_keeps_the_fields_attributes_and_errors():
    class Form(forms.Form):
        plain = forms.ChoiceField(choices=CHOICES[1:], widget=PlainSelect)
        django = forms.ChoiceField(choices=CHOICES[1:])

    form = Form({"plain": "nonsense", "django": "nonsense"})
    assert not form.is_valid()
    assert str(form["plain"]).replace("plain", "django") == str(form["django"])


@pytest.mark.django_db
def test_model_choices_are_read_in_one_query_and_match_djangos(django_assert_num_queries):
    UserFactory(username="ada", first_name="Ada", last_name="Lovelace")
    UserFactory(username="bob", first_name="", last_name="")

    class Form(forms.Form):
        user = forms.ModelChoiceField(queryset=User.objects.order_by("username"), empty_label="Anyone")

    class OurForm(forms.Form):
        user = OneQueryModelChoiceField(queryset=User.objects.order_by("username"), empty_label="Anyone")

    ours, theirs = OurForm(), Form()
    with django_assert_num_queries(1):
        choices = [(str(value), label) for value, label in ours.fields["user"].choices]
    assert choices == [(str(value), label) for value, label in theirs.fields["user"].choices]
    assert choices[0] == ("", "Anyone") and [label for _, label in choices[1:]] == ["Ada Lovelace", "bob"]
