"""Delivery statuses of the messages we send, kept monotonic.

Meta sends statuses at least once, batched and out of order, so a stored status only moves forward:

    queued / accepted  <  sent  <  failed  <  delivered  <  read  <  played

- `read` never goes back to `delivered` or `sent`; a late `sent` after `delivered` is ignored.
- `failed` wins over queued, accepted and sent (the message never reached the phone), but not over
  delivered, read or played: a device did get the message, so a failure reported for it afterwards (another
  of the user's devices, a retry) does not undo that. A `delivered` arriving after `failed` wins for the
  same reason: proof of delivery beats the failure report.
- `played` (a voice message was listened to) implies read.
- A status this code does not know is kept in the history (`record_time`) but never replaces a known one;
  it replaces nothing at all or another unknown status, and any known status replaces it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

STATUS_RANK: dict[str, int] = {
    "queued": 0,
    "accepted": 0,
    "sent": 1,
    "failed": 2,
    "delivered": 3,
    "read": 4,
    "played": 5,
}
KNOWN_STATUSES = tuple(STATUS_RANK)


def normalise(status: str) -> str:
    """Known statuses in their canonical lower case; anything else as received (trimmed)."""
    trimmed = status.strip()
    return trimmed.lower() if trimmed.lower() in STATUS_RANK else trimmed


def rank(status: str | None) -> int | None:
    """Position in the order above; None for no status or one this code does not know."""
    if status is None:
        return None
    return STATUS_RANK.get(status.strip().lower())


def apply_status(current: str | None, incoming: str) -> str:
    """The status to store after `incoming` arrives for a message whose stored status is `current`."""
    incoming_status = normalise(incoming)
    if not incoming_status:
        return current if current is not None else incoming_status
    if current is None or not current.strip():
        return incoming_status
    current_rank, incoming_rank = rank(current), rank(incoming_status)
    if incoming_rank is None:
        return normalise(current) if current_rank is not None else incoming_status
    if current_rank is None or incoming_rank > current_rank:
        return incoming_status
    return normalise(current)


def record_time(times: Mapping[str, datetime], status: str, at: datetime) -> dict[str, datetime]:
    """Per-status timestamps: each status keeps the earliest time it was reported (retries repeat it)."""
    updated = dict(times)
    key = normalise(status)
    if key and (key not in updated or at < updated[key]):
        updated[key] = at
    return updated
