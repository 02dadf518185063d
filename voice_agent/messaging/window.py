"""The 24-hour customer service window of WhatsApp.

Each message (or call) from the customer opens or refreshes a 24-hour window. While it is open any
message may be sent; once it has closed only an approved template may be, and Meta refuses anything
else with error 131047. Messages the business sends do not refresh the window. The send path calls
`check_can_send` before it queues a message, so the sender learns at once instead of from a failed status.
"""

from __future__ import annotations

from datetime import datetime, timedelta

CUSTOMER_SERVICE_WINDOW = timedelta(hours=24)
TEMPLATE = "template"


class WindowClosed(Exception):
    """Only a template may be sent to this customer now; the message says why, for the sender."""

    def __init__(self, message: str, last_inbound_at: datetime | None, closed_at: datetime | None) -> None:
        super().__init__(message)
        self.last_inbound_at = last_inbound_at
        self.closed_at = closed_at


def _aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (a naive datetime has no instant to compare)")
    return moment


def window_end(last_inbound_at: datetime | None) -> datetime | None:
    """When the window closes: 24 hours after the customer's last message; None when they never wrote."""
    if last_inbound_at is None:
        return None
    return _aware(last_inbound_at, "last_inbound_at") + CUSTOMER_SERVICE_WINDOW


def is_open(last_inbound_at: datetime | None, now: datetime) -> bool:
    end = window_end(last_inbound_at)
    return end is not None and _aware(now, "now") < end


def remaining(last_inbound_at: datetime | None, now: datetime) -> timedelta:
    """Time left before the window closes; zero once it has closed (or never opened)."""
    end = window_end(last_inbound_at)
    if end is None:
        return timedelta(0)
    return max(end - _aware(now, "now"), timedelta(0))


def requires_open_window(kind: str) -> bool:
    """Every kind of message (text, media, interactive, reaction, location…) except a template."""
    return kind != TEMPLATE


def check_can_send(kind: str, last_inbound_at: datetime | None, now: datetime) -> None:
    """Raise WindowClosed when a message of `kind` cannot be sent to this customer now."""
    if not requires_open_window(kind) or is_open(last_inbound_at, now):
        return
    closed_at = window_end(last_inbound_at)
    if closed_at is None or last_inbound_at is None:
        message = (
            f"Cannot send a {kind} message: this customer has not written to this WhatsApp number yet, "
            "so only an approved template can start the conversation."
        )
    else:
        hours = int((_aware(now, "now") - last_inbound_at).total_seconds() // 3600)
        message = (
            f"Cannot send a {kind} message: the customer last wrote {hours} hours ago and WhatsApp allows "
            "free-form messages only within 24 hours of it. Send an approved template instead."
        )
    raise WindowClosed(message, last_inbound_at=last_inbound_at, closed_at=closed_at)
