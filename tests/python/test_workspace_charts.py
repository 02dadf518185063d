"""The workspace charts keep their x-axis labels readable: frappe-charts (2.0.0-rc27, what Frappe 15 ships)
shortens them with getShortenedLabels, re-implemented below. On a time series it keeps every n-th date and
always the last one, which then overlapped the one before it ("11-27-202611-28-2026"); elsewhere it cuts
labels to their share of the width ("create_s ..."). A fixture's seriesLabelSpaceRatio sets the share, but
Frappe's make_chart forces 0.9 on a chart of more than 10 labels (frappe.utils.set_space_label_ratio): the
sessions chart shows the last week by day (8 labels), so that its own ratio holds."""

import json
import math
from pathlib import Path

FIXTURE = Path(__file__).resolve().parents[2] / "voice_agent" / "fixtures" / "dashboard_chart.json"
CHARTS = {chart["name"]: chart for chart in json.loads(FIXTURE.read_text())}
CHAR_WIDTH = 7  # frappe-charts' DEFAULT_CHAR_WIDTH; an 11 px axis label is about 6 px a character


def shortened_labels(width: float, labels: list[str], is_series: bool, ratio: float = 0.6) -> list[str]:
    """frappe-charts src/js/utils/axis-chart-utils.js getShortenedLabels (0.6 is its default ratio)."""
    allowed_letters = max(width / len(labels) * ratio, 1) / CHAR_WIDTH
    multiple = math.ceil(max(len(label) for label in labels) / allowed_letters) if is_series else 1
    shown = []
    for i, label in enumerate(labels):
        if len(label) > allowed_letters:
            if not is_series:
                keep = int(allowed_letters - 3) if allowed_letters - 3 > 0 else int(allowed_letters)
                label = label[:keep] + (" ..." if allowed_letters - 3 > 0 else "..")
            elif i % multiple != 0:
                label = label if i == len(labels) - 1 else ""
            elif i > len(labels) - multiple / 2:
                label = ""
        shown.append(label)
    return shown


# Labels of a daily chart over each timespan (from the day the span goes back to, through today).
DAILY_POINTS = {"Last Week": 8, "Last Month": 32, "Last Quarter": 93, "Last Year": 366}


def ratio_of(chart: dict, labels: int) -> float:
    """The ratio frappe-charts gets: Frappe's 0.9 over more than 10 labels, else the fixture's (or 0.6)."""
    if labels > 10:
        return 0.9
    return json.loads(chart.get("custom_options") or "{}").get("axisOptions", {}).get("seriesLabelSpaceRatio", 0.6)


def closest_gap(width: float, labels: list[str], ratio: float) -> float:
    """Pixels between the centres of the two closest labels left on the axis."""
    slot = width / len(labels)
    kept = [i for i, label in enumerate(shortened_labels(width, labels, True, ratio)) if label]
    return min(((b - a) * slot for a, b in zip(kept, kept[1:], strict=False)), default=math.inf)


def test_a_month_by_day_overlapped_the_last_two_dates():
    """What the workspace showed: a month of days (32 dates, Frappe's ratio 0.9), every third one and the
    last, one day (28 px) after the one before it."""
    labels = [f"{m:02d}-{d:02d}-2026" for m, d in [(10, d) for d in range(28, 32)] + [(11, d) for d in range(1, 29)]]
    assert closest_gap(896, labels, ratio_of(CHARTS["Voice Sessions per Day"], len(labels))) < CHAR_WIDTH * 10


def test_sessions_per_day_never_overlaps_two_dates():
    chart = CHARTS["Voice Sessions per Day"]
    assert (chart["time_interval"], chart["timeseries"]) == ("Daily", 1)
    points = DAILY_POINTS[chart["timespan"]]
    labels = [f"11-{d:02d}-2026" for d in range(1, points + 1)]
    ratio = ratio_of(chart, points)
    touching = [width for width in range(250, 1801, 5) if closest_gap(width, labels, ratio) < CHAR_WIDTH * 10]
    assert touching == []


def test_tool_names_are_cut_only_where_they_would_touch():
    tools = ["book_appointment", "place_restaurant_order", "create_support_ticket"]
    ratio = ratio_of(CHARTS["Voice Agent Tool Use"], len(tools))
    for width in range(300, 1201, 10):
        slot = width / len(tools)
        shown = shortened_labels(width, tools, False, ratio)
        assert all(len(label) * 6 < slot for label in shown), width  # about 6 px a character at 11 px
        if slot * ratio / CHAR_WIDTH >= 22:
            assert shown == tools, width
    assert shortened_labels(460, tools, False) != tools  # the default cut them on the half-width chart
    assert shortened_labels(460, tools, False, ratio) == tools
