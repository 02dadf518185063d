"""The call state machine of contracts/call-states.json."""

from __future__ import annotations

from voice_agent.contracts import load


def _machine() -> dict:
    return load("call-states.json")


def initial_state() -> str:
    return _machine()["initial"]


def end_reasons() -> list[str]:
    return list(_machine()["endReasons"])


def live_states() -> list[str]:
    """The states a call is in until it ends."""
    return [state for state, spec in _machine()["states"].items() if not spec["terminal"]]


def is_state(state: str) -> bool:
    return state in _machine()["states"]


def is_terminal(state: str) -> bool:
    states = _machine()["states"]
    if state not in states:
        raise ValueError(f"unknown call state {state!r}")
    return bool(states[state]["terminal"])


def can_transition(from_state: str, to_state: str) -> bool:
    transitions = _machine()["transitions"]
    if from_state not in transitions or to_state not in transitions:
        raise ValueError(f"unknown call state in {from_state!r} -> {to_state!r}")
    return to_state in transitions[from_state]
