"""Appointment slots: clash detection and the nearest free slots within opening hours."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time, timedelta

Interval = tuple[datetime, datetime]


def overlaps(start: datetime, end: datetime, busy: Iterable[Interval]) -> bool:
    return any(start < b_end and b_start < end for b_start, b_end in busy)


def nearest_free_slots(
    requested: datetime,
    duration: timedelta,
    busy: Iterable[Interval],
    opens: time,
    closes: time,
    not_before: datetime,
    step: timedelta = timedelta(minutes=15),
    count: int = 3,
    search_days: int = 7,
) -> list[datetime]:
    """Free starts ordered by distance from the requested time (earlier or later), never before not_before."""
    if duration <= timedelta(0) or step <= timedelta(0):
        raise ValueError("duration and step must be positive")
    busy = list(busy)
    candidates: list[datetime] = []
    first_day = requested.date() - timedelta(days=1)
    for offset in range(search_days + 2):
        day = first_day + timedelta(days=offset)
        start = datetime.combine(day, opens)
        day_end = datetime.combine(day, closes)
        while start + duration <= day_end:
            if start >= not_before and not overlaps(start, start + duration, busy):
                candidates.append(start)
            start += step
    candidates.sort(key=lambda s: (abs((s - requested).total_seconds()), s))
    return sorted(candidates[:count])


def within_hours(start: datetime, duration: timedelta, opens: time, closes: time) -> bool:
    end = start + duration
    return start.date() == end.date() and opens <= start.time() and end.time() <= closes


def describe_slot(slot: datetime) -> str:
    return slot.strftime("%A %d %B at %H:%M")
