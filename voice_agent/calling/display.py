"""How a duration is shown, the same everywhere: the call panel's clock (frontend/shared/duration.ts),
the Voice Call form and list, the party's timeline. Whole seconds, rounded down as a clock counts them
(38.6 s of talk is 0:38, as the panel showed when the call ended); m:ss, or h:mm:ss from one hour.
Both sides are tested against contracts/vectors/durations.json."""

from __future__ import annotations

import math


def whole_seconds(seconds: float | None) -> int:
    """The whole seconds elapsed; nothing (None, negative, not a number) is 0."""
    if seconds is None or not math.isfinite(seconds) or seconds <= 0:
        return 0
    return math.floor(seconds)


def format_duration(seconds: float | None) -> str:
    total = whole_seconds(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
