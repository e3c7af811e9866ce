"""Whatever a file's cells hold, an import never fails: each row is imported (maybe with warnings) or rejected with
a reason, so no chunk is rolled back by a value the database cannot hold."""

import csv
import io
import string

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from leads.models import Lead
from tests.imports.conftest import run_import

HEADER = [
    "name", "email", "phone", "company", "company_size", "country", "city", "created_at", "stage", "won_at",
    "deal_value", "lost_reason", "budget", "budget_amount", "external_id", "utm_source", "Notes",
]  # fmt: skip

# Cells as files hold them: empty, short words, numbers of any size, dates of any shape, long texts, odd characters.
cells = st.one_of(
    st.just(""),
    st.text(alphabet=string.ascii_letters + string.digits + " @.-+/:,'\"=", max_size=12),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.decimals(allow_nan=True, allow_infinity=True, places=3).map(str),
    st.dates().map(lambda d: d.isoformat()),
    st.dates().map(lambda d: f"{d.month}/{d.day}/{d.year}"),
    st.sampled_from(["0001-01-01", "9999-12-31 23:59", "2024-02-30", "13/13/2024", "won", "lost", "Closed Won",
                     "josé@bücher.de", "用户@例子.广告", "a@b", "+49 30 1234567", "p:+1555", "51-200", "1e400",
                     "Germany", "x" * 300, "🙂" * 70, "\u0301", "NaN", "-0", "１２３"]),
    # Any text a decoded upload can hold (an upload with a NUL byte is refused whole, `decode_upload`).
    st.text(alphabet=st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), max_size=260),
)  # fmt: skip


@pytest.mark.django_db
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
# Found by this test: an amount of 1E30 overflowed Decimal.quantize and crashed its chunk.
@example(rows=[["Ada", "", "", "", "", "", "", "", "", "", "1E30", "", "", "1E30", "", "", ""]])
@example(rows=[["Ada", "", "", "", "", "", "", "0001-01-01", "won", "9999-12-31 23:59", "", "", "", "", "", "", ""]])
@given(rows=st.lists(st.lists(cells, min_size=len(HEADER), max_size=len(HEADER)), min_size=1, max_size=6))
def test_every_row_is_imported_or_rejected_whatever_its_cells(rows):
    Lead.objects.all().delete()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(rows)
    result = run_import(out.getvalue(), create_channels=True, on_duplicate="create")
    assert result.created + result.rejected + result.skipped == result.rows
    assert Lead.objects.count() == result.created
    assert all(r.reason for r in result.rejections)
