"""The rules of WhatsApp calls that need no database (no frappe import): call hours, the customer's call
permission as Graph reports it, and how a call ends for each thing Meta can tell us (a terminate, a
status, an error code of the Business Calling API).

Limits are read from Graph's `call_permissions` answer, never assumed: Meta documents them differently
in different places (permission requests 1 a day / 2 a week; connected calls 5 or 100 a day).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timezone
from typing import Any

from voice_agent.integrations.whatsapp.errors import describe

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# Graph's permission.status -> the conversation's Call Permission.
PERMISSION_STATES = {"no_permission": "No permission", "temporary": "Temporary", "permanent": "Permanent"}
REQUEST_ACTION = "send_call_permission_request"
CALL_ACTION = "start_call"
WHATSAPP_PARTICIPANT_PREFIX = "whatsapp:"


# --- call hours ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallHours:
    """One opening span: a weekday (0 = Monday) from `start` to `end` (exclusive), site time."""

    weekday: int
    start: time
    end: time


def call_hours(rows: Iterable[tuple[str, Any, Any]]) -> list[CallHours]:
    """(weekday name, from, to) rows of the account's table; times as `time`, `timedelta` or "HH:MM[:SS]".
    Raises ValueError naming the row that is wrong."""
    spans = []
    for index, (weekday, start, end) in enumerate(rows, start=1):
        if weekday not in WEEKDAYS:
            raise ValueError(f"row {index}: {weekday!r} is not a weekday")
        begin, finish = _time(start, index), _time(end, index)
        if finish <= begin and finish != time(0):
            raise ValueError(f"row {index}: {weekday} ends ({finish:%H:%M}) before it starts ({begin:%H:%M})")
        spans.append(CallHours(WEEKDAYS.index(weekday), begin, finish))
    return spans


def _time(value: Any, index: int) -> time:
    if isinstance(value, time):
        return value
    if hasattr(value, "total_seconds"):  # MariaDB's TIME comes back as a timedelta
        seconds = int(value.total_seconds())
        if not 0 <= seconds < 24 * 3600:
            raise ValueError(f"row {index}: {value} is not a time of day")
        return time(seconds // 3600, seconds % 3600 // 60, seconds % 60)
    if isinstance(value, str) and value.strip():
        try:
            return time.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"row {index}: {value!r} is not a time of day")


def within_call_hours(spans: Sequence[CallHours], moment: datetime) -> bool:
    """True when `moment` (site time) falls in a span; no spans at all means always open. A span ending
    at 00:00 runs to midnight."""
    if not spans:
        return True
    now = moment.time()
    for span in spans:
        if span.weekday != moment.weekday():
            continue
        if span.start <= now and (span.end == time(0) or now < span.end):
            return True
    return False


# --- call permission -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Limit:
    """One of Graph's limits: `max_allowed` in `time_period` (ISO 8601, e.g. PT24H), `current_usage` used,
    and when the oldest use stops counting once it is reached."""

    time_period: str
    max_allowed: int
    current_usage: int
    expires_at: datetime | None

    @property
    def remaining(self) -> int:
        return max(0, self.max_allowed - self.current_usage)

    def as_dict(self) -> dict[str, Any]:
        return {"time_period": self.time_period, "max_allowed": self.max_allowed,
                "current_usage": self.current_usage, "remaining": self.remaining,
                "limit_expiration_time": self.expires_at.isoformat() if self.expires_at else None}


@dataclass(frozen=True)
class Permission:
    """The customer's call permission and what the business may do now, from Graph's call_permissions."""

    state: str  # a value of PERMISSION_STATES
    expires_at: datetime | None
    can_call: bool
    can_request: bool
    call_limits: tuple[Limit, ...] = ()
    request_limits: tuple[Limit, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def calls_remaining(self) -> int | None:
        """The fewest calls any of Graph's call limits still allows; None when Graph gave none."""
        return min((limit.remaining for limit in self.call_limits), default=None)

    @property
    def requests_remaining(self) -> int | None:
        return min((limit.remaining for limit in self.request_limits), default=None)

    @property
    def next_request_at(self) -> datetime | None:
        """When a permission request is allowed again, if a limit blocks it now."""
        return _latest_expiry(self.request_limits) if not self.can_request else None

    def after_request(self) -> Permission:
        """As it stands once our permission request is sent: one more use of every request limit (Graph
        counts it when the message goes out; the desk should not offer a request the limits no longer allow)."""
        limits = tuple(replace(limit, current_usage=limit.current_usage + 1) for limit in self.request_limits)
        return replace(self, request_limits=limits,
                       can_request=self.can_request and all(limit.remaining > 0 for limit in limits))

    @property
    def next_call_at(self) -> datetime | None:
        return _latest_expiry(self.call_limits) if not self.can_call and self.state != "No permission" else None


def _latest_expiry(limits: Sequence[Limit]) -> datetime | None:
    reached = [limit.expires_at for limit in limits if limit.remaining == 0 and limit.expires_at]
    return max(reached) if reached else None


def permission_from_graph(answer: Mapping[str, Any], now: datetime) -> Permission:
    """Graph's `{"permission": {"status", "expiration_time"?}, "actions": [...]}` (aware UTC datetimes).
    A temporary permission whose expiry has passed counts as none. Raises ValueError on an answer
    without a known status."""
    permission = answer.get("permission")
    status = permission.get("status") if isinstance(permission, Mapping) else None
    if status not in PERMISSION_STATES:
        raise ValueError(f"WhatsApp answered an unknown call permission status {status!r}")
    expires_at = _unix(permission.get("expiration_time")) if status == "temporary" else None
    state = PERMISSION_STATES[status]
    if state == "Temporary" and expires_at is not None and expires_at <= now:
        state, expires_at = "No permission", None
    actions = {a.get("action_name"): a for a in answer.get("actions") or [] if isinstance(a, Mapping)}
    call_action, request_action = actions.get(CALL_ACTION) or {}, actions.get(REQUEST_ACTION) or {}
    call_limits, request_limits = _limits(call_action), _limits(request_action)
    can_call = state != "No permission" and _can(call_action, call_limits)
    can_request = _can(request_action, request_limits)
    return Permission(state, expires_at, can_call, can_request, call_limits, request_limits, dict(answer))


def permission_from_reply(accepted: bool, expiration: datetime | None, is_permanent: bool | None,
                          now: datetime) -> tuple[str, datetime | None]:
    """The permission a `call_permission_reply` gives: (state, expiry)."""
    if not accepted:
        return "No permission", None
    if is_permanent:
        return "Permanent", None
    if expiration is not None and expiration <= now:
        return "No permission", None
    return "Temporary", expiration


def _can(action: Mapping[str, Any], limits: Sequence[Limit]) -> bool:
    stated = action.get("can_perform_action")
    if isinstance(stated, bool):
        return stated
    return all(limit.remaining > 0 for limit in limits)


def _limits(action: Mapping[str, Any]) -> tuple[Limit, ...]:
    found = []
    for raw in action.get("limits") or []:
        if not isinstance(raw, Mapping):
            continue
        allowed, used = _int(raw.get("max_allowed")), _int(raw.get("current_usage"))
        if allowed is None or used is None:
            continue
        found.append(Limit(str(raw.get("time_period") or ""), allowed, used, _unix(raw.get("limit_expiration_time"))))
    return tuple(found)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _unix(value: Any) -> datetime | None:
    seconds = _int(value)
    if seconds is None or not 0 < seconds < 253402300799:
        return None
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


# --- how a call ends -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ending:
    """The Voice Call's terminal state, end reason (contracts/call-states.json), who ended it (a role, or
    "" for nobody in particular), the error code Meta gave, and a sentence for the desk."""

    state: str
    reason: str
    ended_by: str
    error_code: int | None = None
    message: str = ""


def error_ending(code: int | None, title: str | None = None) -> Ending:
    """Graph refused an action, or a webhook carried an error: the call fails with Meta's reason."""
    info = describe(code, title=title)
    return Ending("failed", "whatsapp_error", "", code, info.message)


def terminate_ending(*, inbound: bool, answered: bool, status: str | None = None,
                     error_codes: Sequence[int | None] = (), error_title: str | None = None) -> Ending:
    """Meta's `terminate` for a call that has not ended on our side: an error fails it; a call nobody
    took (inbound: no desk user accepted; outbound: the customer never picked up) is missed; else the
    customer hung up."""
    codes = [code for code in error_codes if code is not None]
    if codes:
        return error_ending(codes[0], error_title)
    if not answered:
        if inbound:
            return Ending("missed", "no_answer", "whatsapp", None, "The customer hung up before anyone answered.")
        return Ending("missed", "no_answer", "", None, "The customer did not answer the WhatsApp call.")
    return Ending("ended", "remote_hangup", "whatsapp", None, "The customer hung up.")


def rejected_ending() -> Ending:
    """A REJECTED status: the customer declined our call."""
    return Ending("ended", "rejected", "whatsapp", None, "The customer declined the WhatsApp call.")


def whatsapp_participant_id(wa_id: str) -> str:
    """The sidecar participant id of the customer's WhatsApp leg."""
    return WHATSAPP_PARTICIPANT_PREFIX + "".join(ch for ch in wa_id if ch.isalnum() or ch in "._-")[:120]
