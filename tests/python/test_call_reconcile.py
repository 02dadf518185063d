"""Which live calls the scheduled reconciliation closes, given the sidecar's answer and the clock."""

from datetime import datetime, timedelta

from voice_agent.calling import states
from voice_agent.calling.reconcile import (
    GRACE,
    LOST_REASON,
    LOST_STATE,
    LostCall,
    OpenCall,
    known_call_ids,
    lost_calls,
)
from voice_agent.contracts import definition_validator

ASKED = datetime(2026, 11, 29, 10, 0, 0)
SIDECAR_UP_SINCE = ASKED - timedelta(hours=3)


def ago(**delta) -> datetime:
    return ASKED - timedelta(**delta)


def call(name: str, state: str = "ringing", started: datetime | None = None, report: datetime | None = None):
    return OpenCall(name, state, started or ago(minutes=16), report)


def answer(rooms=(), unreported=(), started_at="2026-11-29T07:00:00Z") -> dict:
    body = {
        "sidecarId": "sidecar-1",
        "startedAt": started_at,
        "rooms": [{"callId": c, "state": "connected", "createdAt": "2026-11-29T09:00:00Z"} for c in rooms],
        "unreportedCallIds": list(unreported),
    }
    assert not list(definition_validator("sidecar-http.schema.json", "RoomList").iter_errors(body))
    return body


def test_the_end_reason_and_state_are_the_contracts():
    assert LOST_REASON in states.end_reasons()
    assert states.is_terminal(LOST_STATE)
    assert all(states.can_transition(state, LOST_STATE) for state in states.live_states())


def test_known_calls_are_the_live_rooms_and_the_calls_with_undelivered_events():
    assert known_call_ids(answer(rooms=["VC-1", "VC-2"], unreported=["VC-2", "VC-3"])) == {"VC-1", "VC-2", "VC-3"}
    assert known_call_ids(answer()) == set()


def test_calls_the_sidecar_does_not_know_are_lost_in_every_live_state():
    calls = [call(f"VC-{state}", state) for state in states.live_states()]
    lost = lost_calls(calls, set(), SIDECAR_UP_SINCE, ASKED)
    assert [c.name for c in lost] == [c.name for c in calls]


def test_calls_the_sidecar_knows_are_left_alone():
    calls = [call("VC-live", "connected"), call("VC-ending", "reconnecting"), call("VC-gone")]
    known = known_call_ids(answer(rooms=["VC-live"], unreported=["VC-ending"]))
    assert [c.name for c in lost_calls(calls, known, SIDECAR_UP_SINCE, ASKED)] == ["VC-gone"]


def test_a_call_younger_than_the_grace_period_is_left_alone():
    young = call("VC-young", "created", started=ASKED - GRACE + timedelta(seconds=1))
    old_enough = call("VC-old", "created", started=ASKED - GRACE)
    assert [c.name for c in lost_calls([young, old_enough], set(), SIDECAR_UP_SINCE, ASKED)] == ["VC-old"]
    assert lost_calls([old_enough], set(), SIDECAR_UP_SINCE, ASKED, grace=timedelta(minutes=5)) == []


def test_ended_calls_are_never_closed_again():
    ended = [call("VC-a", "ended"), call("VC-b", "missed"), call("VC-c", "failed")]
    assert lost_calls(ended, set(), SIDECAR_UP_SINCE, ASKED) == []


def test_a_call_lost_with_the_previous_sidecar_process_ends_when_the_new_one_started():
    restarted = ago(minutes=10)
    ringing = call("VC-1", "ringing", started=ago(minutes=16), report=ago(minutes=15, seconds=58))
    assert lost_calls([ringing], set(), restarted, ASKED) == [LostCall("VC-1", restarted)]


def test_a_call_lost_by_the_running_sidecar_ends_at_its_last_report():
    connected = call("VC-1", "connected", started=ago(minutes=30), report=ago(minutes=20))
    never_reported = call("VC-2", "created", started=ago(minutes=30))
    lost = lost_calls([connected, never_reported], set(), ago(hours=1), ASKED)
    assert lost == [LostCall("VC-1", ago(minutes=20)), LostCall("VC-2", ago(minutes=30))]


def test_the_end_is_never_after_the_question_when_the_sidecars_clock_is_ahead():
    ahead = ASKED + timedelta(minutes=1)
    skewed = call("VC-1", "connected", started=ago(minutes=30), report=ahead)
    assert lost_calls([skewed], set(), ahead, ASKED) == [LostCall("VC-1", ASKED)]
