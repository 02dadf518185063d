"""Which live calls the call server has lost: the decision of the scheduled reconciliation
(voice_agent/integrations/sidecar/reconcile.py asks the sidecar and closes them).

A room lives only in the memory of the sidecar process that holds it: after a crash, a kill or a
lost worker that went unreported, nobody reports on its call again and the Voice Call would stay
ringing (or live) for ever. Only the sidecar's definite answer closes a call, never its silence."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from voice_agent.calling import states

LOST_STATE = "failed"
LOST_REASON = "call_lost"
# A call this young may not have reached the sidecar yet (its room is created right after the Voice
# Call is committed), or its first events may still be on their way.
GRACE = timedelta(minutes=2)


@dataclass(frozen=True)
class OpenCall:
    """A Voice Call in a live state, as Frappe has it (naive site datetimes)."""

    name: str
    state: str
    started_at: datetime
    last_report_at: datetime | None  # when the sidecar's latest event about it happened


@dataclass(frozen=True)
class LostCall:
    name: str
    lost_at: datetime  # the latest moment the call is known to have run: where its durations end


def known_call_ids(room_list: dict[str, Any]) -> set[str]:
    """The calls a sidecar answer (contracts sidecar-http RoomList) still knows: its live rooms, and the
    calls whose events wait in its outbox (their end may be among them)."""
    return {room["callId"] for room in room_list["rooms"]} | set(room_list["unreportedCallIds"])


def lost_calls(
    calls: Iterable[OpenCall],
    known: set[str],
    sidecar_started_at: datetime,
    asked_at: datetime,
    grace: timedelta = GRACE,
) -> list[LostCall]:
    """The calls to close as lost: live here, unknown to the sidecar, and started at least `grace`
    before the sidecar was asked (`asked_at`, just before the request)."""
    lost = []
    for call in calls:
        if call.name in known or states.is_terminal(call.state):
            continue
        if asked_at - call.started_at < grace or not states.can_transition(call.state, LOST_STATE):
            continue
        lost.append(LostCall(call.name, lost_at(call, sidecar_started_at, asked_at)))
    return lost


def lost_at(call: OpenCall, sidecar_started_at: datetime, asked_at: datetime) -> datetime:
    """A call older than the running sidecar process was lost with the process before it, no later than
    this one's start (a restart under pm2 takes seconds); otherwise the call's last report is the last
    sign of it. Never before that report, never after the question."""
    seen = max(t for t in (call.started_at, call.last_report_at) if t is not None)
    if call.started_at < sidecar_started_at:
        seen = max(seen, sidecar_started_at)
    return min(seen, asked_at)
