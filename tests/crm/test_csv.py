"""crm.csv: the formula-safe rule for CSV cells, in Python and in SQL, gives the same cell for the same text."""

import csv
import io

import pytest
from django.db.models import TextField, Value
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm.csv import FORMULA_STARTS, csv_safe, csv_safe_sql, csv_unquote, csv_writer
from leads.models import Channel

# (what a person typed, the cell a spreadsheet gets)
TRICKY = [
    ('=HYPERLINK("http://evil","x")', '\'=HYPERLINK("http://evil","x")'),
    ("+1+1", "'+1+1"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"),
    ("=", "'="),
    ("\t", "'\t"),
    ("+49 30 1234567", "'+49 30 1234567"),  # a phone is text: shown as text, never added up
    ("'=already safe", "'=already safe"),  # applying the rule twice changes nothing
    ("Anne-Marie", "Anne-Marie"),
    ("ada@example.com", "ada@example.com"),
    (" =1", " =1"),  # OWASP's list: a leading space is not one of its characters
    ("\n=1", "\n=1"),
    ("", ""),
    ("Zoë ≠ =", "Zoë ≠ ="),
]


@pytest.mark.parametrize(("typed", "cell"), TRICKY)
def test_a_text_cell_starting_a_formula_gets_a_leading_quote_and_others_stay(typed, cell):
    assert csv_safe(typed) == cell


@pytest.mark.parametrize("number", [-5, 0, 12, -0.5, None])
def test_numbers_and_empty_cells_are_not_text_and_stay_as_they_are(number):
    assert csv_safe(number) is number


@pytest.mark.parametrize(("typed", "cell"), TRICKY)
def test_the_import_reads_a_safe_cell_as_the_value_it_stands_for(typed, cell):
    if not typed.startswith("'"):
        assert csv_unquote(cell) == typed


def test_the_writer_makes_text_cells_safe_and_writes_numbers_as_numbers():
    out = io.StringIO()
    csv_writer(out).writerow(["=1+1", "Anne-Marie", -5, 3, None])
    assert next(csv.reader(io.StringIO(out.getvalue()))) == ["'=1+1", "Anne-Marie", "-5", "3", ""]


def _in_sql(channel: Channel, value: str | None) -> str | None:
    safe = csv_safe_sql(Value(value, output_field=TextField()))
    return Channel.objects.filter(pk=channel.pk).annotate(safe=safe).values_list("safe", flat=True).get()


@pytest.mark.django_db
@pytest.mark.parametrize(("typed", "cell"), TRICKY)
def test_the_sql_rule_gives_the_same_cell_as_the_python_rule(channel, typed, cell):
    assert _in_sql(channel, typed) == cell


@pytest.mark.django_db
def test_the_sql_rule_leaves_null_null(channel):
    assert _in_sql(channel, None) is None


@pytest.mark.django_db
def test_the_sql_rule_reads_a_column_too(channel):
    Channel.objects.filter(pk=channel.pk).update(name="-2+3")
    cell = Channel.objects.filter(pk=channel.pk).values_list(csv_safe_sql("name"), flat=True).get()
    assert cell == "'-2+3"


# Any text PostgreSQL stores (no NUL, no lone surrogates), often starting with a formula character or a quote.
_TEXT = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=12)
_TEXTS = st.one_of(_TEXT, st.builds(str.__add__, st.sampled_from([*FORMULA_STARTS, "'", " "]), _TEXT))


@pytest.mark.django_db
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(typed=_TEXTS)
def test_python_and_sql_agree_on_any_text(channel, typed):
    assert _in_sql(channel, typed) == csv_safe(typed)
