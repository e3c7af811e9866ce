"""Charts as SVG images, drawn on the server by pygal: no JavaScript, nothing fetched, works with `make run`.

Each chart goes into the page as an `<img>` with a `data:` URL: pygal's SVG styles itself with a `<style>` element,
which inside an image is the image's own business, so the pages' Content Security Policy needs no inline styles.

Readable without colour: every bar carries its value as text and its group as a label; line charts tell their
series apart by dash pattern and marker as well as colour. The numbers are always in the table beside a chart.
"""

import base64
import re

import pygal
from django.utils.html import format_html
from pygal.style import Style

_STYLE = Style(
    background="transparent",
    plot_background="transparent",
    foreground="#1d2433",
    foreground_strong="#1d2433",
    foreground_subtle="#667085",
    opacity=".9",
    opacity_hover="1",
    colors=("#3b5bdb", "#f08c00", "#2b8a3e", "#c92a2a", "#7048e8"),
    font_family="system-ui, -apple-system, Segoe UI, Roboto, Arial, sans-serif",
    label_font_size=12,
    major_label_font_size=12,
    value_font_size=12,
    value_label_font_size=12,
    legend_font_size=12,
    title_font_size=14,
    tooltip_font_size=12,
)
# Dash patterns for the second and later series of a line chart (the first is solid).
_DASHES = (None, "8, 4", "2, 4", "12, 4, 2, 4")


def _config(**extra) -> dict:
    return {
        "style": _STYLE,
        "js": [],  # pygal's tooltips load a script from the internet; the page works without them
        "disable_xml_declaration": True,
        "explicit_size": False,
        "show_legend": False,
        "print_values": True,
        "margin": 8,
        "spacing": 8,
        "truncate_label": -1,
        **extra,
    }


def _formatter(unit: str):
    """Values as the table shows them: rates and ratios with one decimal, counts and amounts whole."""
    decimals = 1 if unit in ("%", "×", " d") else 0
    return lambda v: "" if v is None else f"{v:,.{decimals}f}{unit}"


# pygal writes its tooltip configuration into the SVG as an inline script, which the pages' Content Security Policy
# refuses (and the tooltips are off, see `_config`): the charts go out without it.
_INLINE_SCRIPT = re.compile(r"<script\b.*?</script>", re.S)


def _svg(chart, title: str) -> str:
    svg = _INLINE_SCRIPT.sub("", chart.render(is_unicode=True))
    data = base64.b64encode(svg.encode()).decode("ascii")
    return format_html(
        '<img class="chart-image" src="data:image/svg+xml;base64,{}" width="{}" height="{}" alt="{}">',
        data,
        chart.config.width,
        chart.config.height,
        f"Chart: {title}. The numbers are in the table.",
    )


def has_data(values) -> bool:
    """Whether a chart of these values would show anything: all zeros or undefined draws a bare axis (pygal
    scales 0 to 0, with meaningless ticks), so the page shows an empty state instead of a chart."""
    return any(v not in (None, 0) for v in values)


# About how wide a character of the 12px labels is, and the room a chart keeps for its axis and margins (px).
_CHAR_PX = 7
_AXIS_PX = 70
MAX_LABEL_CHARS = 14


def _x_labels(labels: list[str], width: int) -> tuple[list[str], int]:
    """Labels under columns that stay apart: side by side while the longest fits its column, else turned 35° (and
    cut to MAX_LABEL_CHARS, the whole label staying in the table beside the chart)."""
    room = (width - _AXIS_PX) / max(1, len(labels))
    if max((len(label) for label in labels), default=0) * _CHAR_PX + 8 <= room:
        return labels, 0
    short = [label if len(label) <= MAX_LABEL_CHARS else label[: MAX_LABEL_CHARS - 1] + "…" for label in labels]
    return short, 35


def horizontal_bars(
    title: str, labels: list[str], values: list[float | None], *, unit: str = "", width: int = 520, titled: bool = True
) -> str:
    """One bar per group, top to bottom in the table's order, its value printed at its end ("" when undefined).
    "" when no value is above zero: the page shows an empty state instead."""
    if not has_data(values):
        return ""
    height = (50 if titled else 24) + 30 * max(1, len(labels))
    chart = pygal.HorizontalBar(
        **_config(width=width, height=height, title=title if titled else None, show_y_guides=False, show_x_labels=False)
    )
    # pygal stacks the first label at the bottom: reversed, the chart reads in the table's order.
    labels, values = list(reversed(labels)), list(reversed(values))
    chart.x_labels = labels
    chart.value_formatter = _formatter(unit)
    chart.add(title, [None if v is None else float(v) for v in values])
    return _svg(chart, title)


def vertical_bars(
    title: str, labels: list[str], values: list[float | None], *, unit: str = "", width: int = 520, titled: bool = True
) -> str:
    """One column per group, its value printed on it; "" when no value is above zero."""
    if not has_data(values):
        return ""
    labels, rotation = _x_labels(labels, width)
    chart = pygal.Bar(
        **_config(
            width=width,
            height=280 + (30 if rotation else 0),
            title=title if titled else None,
            x_label_rotation=rotation,
        )
    )
    chart.x_labels = labels
    chart.value_formatter = _formatter(unit)
    chart.add(title, [None if v is None else float(v) for v in values])
    return _svg(chart, title)


def lines(
    title: str,
    labels: list[str],
    series: dict[str, list[float | None]],
    *,
    unit: str = "",
    width: int = 520,
    titled: bool = True,
) -> str:
    """A trend over months; each series has its own dash pattern and a legend, values printed at the dots. "" when
    no series has a value above zero."""
    if not any(has_data(values) for values in series.values()):
        return ""
    labels, rotation = _x_labels(labels, width)
    chart = pygal.Line(
        **_config(
            width=width,
            height=280 + (30 if rotation else 0),
            title=title if titled else None,
            show_legend=len(series) > 1,
            legend_at_bottom=True,
            x_label_rotation=rotation,
            dots_size=4,
            print_values=len(labels) <= 12,
        )
    )
    chart.x_labels = labels
    chart.value_formatter = _formatter(unit)
    for index, (name, values) in enumerate(series.items()):
        dash = _DASHES[index % len(_DASHES)]
        options = {"stroke_style": {"width": 2, "dasharray": dash}} if dash else {"stroke_style": {"width": 2}}
        chart.add(name, [None if v is None else float(v) for v in values], **options)
    return _svg(chart, title)
