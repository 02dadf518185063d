"""Call durations, and the MOS-like score and label of the quality summary the sidecar reports."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

# The roles whose presence makes the call; a supervisor only listens in or helps.
PARTY_ROLES = frozenset({"agent", "customer", "whatsapp"})


@dataclass(frozen=True)
class Durations:
    ring: float
    talk: float
    total: float


@dataclass(frozen=True)
class Presence:
    """One participant of a call: their role, and when they left (None while in the call)."""

    role: str
    left_at: datetime | None


def everyone_left_at(participants: Iterable[Presence]) -> datetime | None:
    """When the last party left the call; None while a party is still in it, or when none ever joined."""
    parties = [p for p in participants if p.role in PARTY_ROLES]
    if not parties or any(p.left_at is None for p in parties):
        return None
    return max(p.left_at for p in parties if p.left_at is not None)


def _seconds(start: datetime | None, end: datetime | None) -> float:
    if start is None or end is None:
        return 0.0
    return max(0.0, (end - start).total_seconds())


def durations(
    started: datetime | None,
    connected: datetime | None,
    ended: datetime | None,
    now: datetime | None = None,
    everyone_left: datetime | None = None,
) -> Durations:
    """ring = started -> connected (-> end or now when never connected); talk = connected -> end;
    total = started -> end. A live call counts up to `now`; a call without `now` nor end counts 0.
    The call is over for its people when the last party left (`everyone_left`): the time the call
    server keeps an empty room open in case someone comes back counts in none of the three."""
    end = min((t for t in (ended or now, everyone_left) if t is not None), default=None)
    ring_end = connected if connected is not None else end
    return Durations(
        ring=round(_seconds(started, ring_end), 3),
        talk=round(_seconds(connected, end), 3),
        total=round(_seconds(started, end), 3),
    )


def mos_score(packet_loss_pct: float, jitter_ms: float, rtt_ms: float | None) -> float:
    """MOS-like score 1..4.5 from the simplified E-model (ITU-T G.107 R factor):
    effective latency = one-way delay + 2 x jitter + 10 ms codec delay."""
    one_way = (rtt_ms or 0.0) / 2
    effective_latency = one_way + 2 * jitter_ms + 10
    if effective_latency < 160:
        r = 93.2 - effective_latency / 40
    else:
        r = 93.2 - (effective_latency - 120) / 10
    r -= 2.5 * packet_loss_pct
    r = min(max(r, 0.0), 100.0)
    mos = 1 + 0.035 * r + 0.000007 * r * (r - 60) * (100 - r)
    return round(min(max(mos, 1.0), 4.5), 2)


QUALITY_LABELS = ((4.3, "Excellent"), (4.0, "Good"), (3.6, "Fair"), (3.1, "Poor"))


def quality_label(mos: float | None) -> str:
    if mos is None:
        return ""
    for threshold, label in QUALITY_LABELS:
        if mos >= threshold:
            return label
    return "Bad"
