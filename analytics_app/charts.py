"""Geometry for the analytics page's inline SVG charts: the server draws them, so they need no JavaScript.

Each function turns numbers into coordinates inside a fixed viewBox; templates/analytics/_*.html draw them.
"""

from datetime import date

WIDTH, HEIGHT = 960, 260  # time charts span the page; ranked bars are narrower
BARS_WIDTH = 480
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 28  # room for the axis labels
ROLE_ORDER = ("user", "assistant", "tool", "system")
MAX_X_LABELS = 8


def _nice_ceiling(value: float) -> float:
    """The next 1, 2 or 5 times a power of ten at or above `value` (an axis maximum)."""
    if value <= 0:
        return 1
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def _label(period: date, granularity: str) -> str:
    return period.strftime("%b %Y") if granularity == "month" else period.strftime("%b %-d")


def _axis(maximum: float) -> list[dict]:
    plot_height = HEIGHT - TOP - BOTTOM
    return [
        {"y": round(TOP + plot_height * (1 - fraction), 1), "label": f"{maximum * fraction:,.10g}"}
        for fraction in (0, 0.5, 1)
    ]


def _x_labels(periods: list[date], granularity: str, slot: float) -> list[dict]:
    every = max(1, -(-len(periods) // MAX_X_LABELS))
    return [
        {"x": round(LEFT + slot * (index + 0.5), 1), "label": _label(period, granularity)}
        for index, period in enumerate(periods)
        if index % every == 0
    ]


def messages_over_time(series: list[dict], granularity: str) -> dict:
    """Columns per period, stacked by role."""
    periods = [point["period"] for point in series]
    roles = [role for role in ROLE_ORDER if any(point["by_role"].get(role) for point in series)]
    maximum = _nice_ceiling(max((point["messages"] for point in series), default=0))
    plot_height = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / max(len(series), 1)
    columns = []
    for index, point in enumerate(series):
        baseline = HEIGHT - BOTTOM
        segments = []
        for role in roles:
            count = point["by_role"].get(role, {}).get("messages", 0)
            if not count:
                continue
            height = plot_height * count / maximum
            baseline -= height
            segments.append({"y": round(baseline, 2), "height": round(height, 2), "role": role, "count": count})
        columns.append(
            {
                "x": round(LEFT + slot * index + slot * 0.1, 2),
                "width": round(max(slot * 0.8, 1), 2),
                "label": _label(point["period"], granularity),
                "total": point["messages"],
                "segments": segments,
            }
        )
    return {
        "width": WIDTH, "height": HEIGHT, "left": LEFT, "right": WIDTH - RIGHT, "bottom": HEIGHT - BOTTOM,
        "columns": columns, "axis": _axis(maximum), "x_labels": _x_labels(periods, granularity, slot),
        "roles": roles, "is_empty": not any(point["messages"] for point in series),
    }


def latency_over_time(performance: dict, granularity: str) -> dict:
    """Mean reply latency per period as a line, with the window's p50 and p95 as reference lines."""
    series = performance["series"]
    periods = [point["period"] for point in series]
    values = [point["latency_ms_mean"] for point in series]
    p50, p95 = performance["latency_ms"]["p50"], performance["latency_ms"]["p95"]
    maximum = _nice_ceiling(max([value for value in values if value is not None] + [p95 or 0, 0]))
    plot_height = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / max(len(series), 1)

    def y_of(value: float) -> float:
        return round(HEIGHT - BOTTOM - plot_height * value / maximum, 2)

    points = [
        {"x": round(LEFT + slot * (index + 0.5), 2), "y": y_of(value), "label": _label(period, granularity),
         "value": value}
        for index, (period, value) in enumerate(zip(periods, values))
        if value is not None
    ]
    references = [
        # p50 is labelled at the left end, p95 at the right, so equal values do not overprint.
        {"name": name, "value": value, "y": y_of(value), "x": x, "anchor": anchor}
        for name, value, x, anchor in (("p50", p50, LEFT + 4, "start"), ("p95", p95, WIDTH - RIGHT, "end"))
        if value
    ]
    return {
        "width": WIDTH, "height": HEIGHT, "left": LEFT, "right": WIDTH - RIGHT, "bottom": HEIGHT - BOTTOM,
        "points": points, "polyline": " ".join(f"{point['x']},{point['y']}" for point in points),
        "references": references, "axis": _axis(maximum), "x_labels": _x_labels(periods, granularity, slot),
        "is_empty": not points,
    }


def ranked_bars(items: list[tuple[str, float]], *, value_format: str = "{:,.0f}") -> dict:
    """Horizontal bars, longest first, for counts or scores by name."""
    row_height, label_width, width = 26, 150, BARS_WIDTH
    maximum = max((value for _, value in items), default=0) or 1
    bar_room = width - label_width - 70
    rows = [
        {
            "y": index * row_height,
            "text_y": index * row_height + 17,
            "label": name,
            "value": value_format.format(value),
            "width": round(max(bar_room * value / maximum, 2), 2),
        }
        for index, (name, value) in enumerate(items)
    ]
    return {
        "width": width, "height": max(len(rows) * row_height, row_height), "label_width": label_width,
        "bar_x": label_width + 8, "rows": rows, "is_empty": not rows,
    }


def summary_charts(summary: dict) -> dict:
    granularity = summary["granularity"]
    return {
        "messages": messages_over_time(summary["series"], granularity),
        "tools": ranked_bars([(tool["name"], tool["count"]) for tool in summary["tools"]]),
        "latency": latency_over_time(summary["performance"], granularity),
        "topics": ranked_bars([(topic["term"], topic["score"]) for topic in summary["topics"]], value_format="{:.1f}"),
    }
