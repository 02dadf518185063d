"""Analytics periods."""

from __future__ import annotations

from datetime import date, timedelta

PERIODS = ("today", "week", "month", "quarter", "year")


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
