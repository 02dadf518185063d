"""Analytics periods."""

from __future__ import annotations

from datetime import date, timedelta

PERIODS = ("today", "week", "month", "quarter", "year")
GRAINS = ("day", "week", "month", "year")
# A chart of a period has at most this many points: more do not leave room for a readable date under each
# (Frappe's report chart shortens every label to its share of the width and cuts the rest to "...").
MAX_CHART_POINTS = 12


def resolve_period(period: str, today: date, from_date: str | None = None, to_date: str | None = None) -> tuple[date, date]:
    if period == "custom" or (from_date and to_date):
        try:
            start, end = date.fromisoformat(str(from_date)), date.fromisoformat(str(to_date))
        except ValueError as exc:
            raise ValueError("from_date and to_date must be YYYY-MM-DD") from exc
        if start > end:
            raise ValueError("from_date is after to_date")
        if (end - start).days > 3660:
            raise ValueError("period longer than ten years")
        return start, end
    if period == "today":
        return today, today
    if period == "week":
        return today - timedelta(days=today.weekday()), today
    if period == "month":
        return today.replace(day=1), today
    if period == "quarter":
        return today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1), today
    if period == "year":
        return today.replace(month=1, day=1), today
    raise ValueError(f"period must be one of {', '.join(PERIODS)} or custom with from_date and to_date")


def chart_grain(start: date, end: date, max_points: int = MAX_CHART_POINTS) -> str:
    """The finest grain (day, week from Monday, month, year) that shows `start`..`end` in at most
    `max_points` points."""
    for grain in GRAINS[:-1]:
        if len(chart_buckets(start, end, grain)) <= max_points:
            return grain
    return GRAINS[-1]


def bucket_of(day: date, grain: str) -> date:
    """The first day of the day, week (Monday), month or year that `day` falls in."""
    if grain == "day":
        return day
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    if grain == "year":
        return day.replace(month=1, day=1)
    raise ValueError(f"grain must be one of {', '.join(GRAINS)}")


def chart_buckets(start: date, end: date, grain: str) -> list[date]:
    """The first day of every bucket that `start`..`end` touches, in order."""
    buckets = [bucket_of(start, grain)]
    while True:
        following = _next_bucket(buckets[-1], grain)
        if following > end:
            return buckets
        buckets.append(following)


def _next_bucket(first: date, grain: str) -> date:
    if grain == "day":
        return first + timedelta(days=1)
    if grain == "week":
        return first + timedelta(days=7)
    if grain == "month":
        return (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first.replace(year=first.year + 1)
