import itertools

import pytest

from voice_agent.calling import states
from voice_agent.contracts import load

MACHINE = load("call-states.json")
PAIRS = list(itertools.product(MACHINE["states"], repeat=2))


@pytest.mark.parametrize(("src", "dst"), PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def test_every_transition_is_allowed_exactly_when_listed(src, dst):
    assert states.can_transition(src, dst) is (dst in MACHINE["transitions"][src])


def test_terminal_states_allow_nothing():
    terminal = [s for s, spec in MACHINE["states"].items() if spec["terminal"]]
    assert terminal == ["ended", "missed", "failed"]
    for src in terminal:
        assert states.is_terminal(src)
        assert not any(states.can_transition(src, dst) for dst in MACHINE["states"])


def test_initial_state_and_end_reasons_come_from_the_contract():
    assert states.initial_state() == "created"
    assert "ended_by_frappe" in states.end_reasons()


@pytest.mark.parametrize(("src", "dst"), [("created", "nonsense"), ("bogus", "ended")])
def test_unknown_states_are_an_error_not_a_refusal(src, dst):
    with pytest.raises(ValueError, match="unknown call state"):
        states.can_transition(src, dst)
    assert not states.is_state("nonsense")
