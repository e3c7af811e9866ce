"""Charts: labels that stay apart, and no chart at all (an empty state) when there is nothing to draw."""

import base64
import re

from leads.filters import RESPONSE_BUCKETS
from reports import charts

BUCKETS = [label.split(" (")[0] for _, label, *_ in RESPONSE_BUCKETS]
MONTHS = ["Jan 2026", "Feb 2026", "Mar 2026", "Apr 2026", "May 2026", "Jun 2026", "Jul 2026", "Aug 2026"]


def _rotations(chart: str) -> set[str]:
    # A chart is an <img> whose data: URL holds the SVG.
    svg = base64.b64decode(re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', chart).group(1)).decode()
    return set(re.findall(r'transform="rotate\((-?\d+)', svg))


def test_labels_that_would_run_into_each_other_are_turned():
    # "5–30 min30–60 min": six bucket labels side by side do not fit a 400 px dashboard panel.
    svg = charts.vertical_bars("Leads by first response time", BUCKETS, [3, 5, 8, 13, 2, 1], width=400, titled=False)
    assert "35" in _rotations(svg)
    line = charts.lines("Leads per month", MONTHS, {"Leads": [1, 2, 3, 4, 5, 6, 7, 8]}, width=400, titled=False)
    assert "35" in _rotations(line)


def test_labels_that_fit_stay_level():
    svg = charts.vertical_bars("By grade", ["A", "B", "C", "D"], [1, 2, 3, 4], width=520)
    assert not _rotations(svg)


def test_nothing_to_draw_gives_no_chart():
    assert charts.vertical_bars("Empty", BUCKETS, [0, 0, 0, 0, 0, 0]) == ""
    assert charts.horizontal_bars("Empty", ["New", "Won"], [None, 0]) == ""
    assert charts.lines("Empty", MONTHS, {"Leads": [0] * 8, "Won": [None] * 8}) == ""
