"""Form widgets drawn by Python instead of the form renderer's templates, for the forms of the busiest pages.

Django draws a `<select>` by rendering `django/forms/widgets/select.html`, which includes a template for each
option and one more for each option's attributes: on the leads list, whose filter bar and bulk bar hold a dozen
selects, that was some eight milliseconds of every request (`python -m bench leads_pages`). `PlainSelect` writes
the same HTML, character for character (tests/crm/test_widgets.py compares the two), in a tenth of the time. It
ignores a project's own overrides of those templates (this project has none).
"""

from django import forms
from django.forms.models import ModelChoiceIterator
from django.utils.formats import localize
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe


def _text(value) -> str:
    """A value as `{{ value }}` shows it in a template (a choice's label, an optgroup's name)."""
    return conditional_escape(localize(value))


def _attribute_value(value) -> str:
    """A value as `{{ value|stringformat:'s' }}` shows it (an option's value, an attribute's); `str()` keeps text
    already marked safe as it is."""
    return conditional_escape(str(value))


def _attributes(attrs: dict) -> str:
    """`django/forms/widgets/attrs.html`: False leaves an attribute out, True writes its name alone."""
    return "".join(
        f" {conditional_escape(name)}" if value is True else f' {conditional_escape(name)}="{_attribute_value(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


class PlainSelect(forms.Select):
    """`forms.Select`, drawn without templates: `select.html`, and `select_option.html` for each option."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        html = [f'<select name="{_text(widget["name"])}"{_attributes(widget["attrs"])}>']
        for group_name, options, _ in widget["optgroups"]:
            if group_name:
                html.append(f'\n  <optgroup label="{_text(group_name)}">')
            # Each option's template ends with a new line, and the loop puts another before the next.
            html.extend(
                f'\n  <option value="{_attribute_value(option["value"])}"{_attributes(option["attrs"])}>'
                f"{_text(option['label'])}</option>\n"
                for option in options
            )
            if group_name:
                html.append("\n  </optgroup>")
        html.append("\n</select>")
        return mark_safe("".join(html))


class OneQueryChoiceIterator(ModelChoiceIterator):
    """A model choice field's options read in one statement. Django's own iterator reads them through
    `QuerySet.iterator()`, a server-side cursor on PostgreSQL (declare, fetch, close: three round trips, about half
    a millisecond more) for the dozen channels or users of a select."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.queryset:
            yield self.choice(obj)


class OneQueryModelChoiceField(forms.ModelChoiceField):
    """A model choice field drawn as a `PlainSelect`, its options read in one statement (`OneQueryChoiceIterator`)."""

    iterator = OneQueryChoiceIterator
    widget = PlainSelect
