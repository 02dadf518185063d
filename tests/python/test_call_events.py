import copy
import uuid

import pytest

from voice_agent.calling.events import InvalidEventBatch, validate_batch


def event(type_, payload, sequence=1, call="VC-2026-00001"):
    return {
        "eventId": str(uuid.uuid4()),
        "callId": call,
        "sequence": sequence,
        "occurredAt": "2026-11-23T03:00:00.123Z",
        "sidecarId": "sidecar-1",
        "type": type_,
        "payload": copy.deepcopy(payload),
    }


QUALITY = {"samples": 12, "packetLossPct": 0.5, "jitterMs": 3.2, "rttMs": 41.0, "bitrateKbps": 31.5, "final": True}


def valid_batch():
    return {
        "events": [
            event("call.state_changed", {"from": "created", "to": "ringing"}, 1),
            event("participant.joined", {"participantId": "agent@example.com", "role": "agent"}, 2),
            event(
                "participant.left", {"participantId": "INV-7f3a", "role": "customer", "reason": "hangup"}, 3
            ),
            event("quality.summary", QUALITY, 4),
            event("call.state_changed", {"from": "connected", "to": "ended", "reason": "hangup"}, 5),
        ]
    }


def test_a_valid_batch_returns_its_events_in_order():
    batch = valid_batch()
    assert [e["sequence"] for e in validate_batch(batch)] == [1, 2, 3, 4, 5]


def test_rtt_may_be_null():
    batch = {"events": [event("quality.summary", {**QUALITY, "rttMs": None})]}
    assert validate_batch(batch)


PER_PARTICIPANT = {
    "agent@example.com": {"role": "agent", "samples": 6, "packetLossPct": 0.1, "jitterMs": 2.0, "rttMs": 30.0,
                          "bitrateKbps": 32.0},
    "wa-15550100": {"role": "whatsapp", "samples": 6, "packetLossPct": 0.9, "jitterMs": 4.4, "rttMs": None,
                    "bitrateKbps": 31.0},
}


def test_a_summary_may_carry_per_participant_figures_and_need_not():
    assert validate_batch({"events": [event("quality.summary", {**QUALITY, "participants": PER_PARTICIPANT})]})
    assert validate_batch({"events": [event("quality.summary", {**QUALITY, "participants": {}})]})
    assert validate_batch({"events": [event("quality.summary", QUALITY)]})  # a sidecar before them


@pytest.mark.parametrize(
    "change",
    [
        {"role": "robot"},
        {"samples": 0},
        {"packetLossPct": 101},
        {"jitterMs": -1},
        {"rttMs": "fast"},
        {"extra": 1},
    ],
)
def test_bad_per_participant_figures_are_refused(change):
    participants = {**PER_PARTICIPANT, "wa-15550100": {**PER_PARTICIPANT["wa-15550100"], **change}}
    with pytest.raises(InvalidEventBatch):
        validate_batch({"events": [event("quality.summary", {**QUALITY, "participants": participants})]})


def test_per_participant_figures_need_every_field_and_a_valid_participant_id():
    figures = {k: v for k, v in PER_PARTICIPANT["wa-15550100"].items() if k != "rttMs"}
    for participants in ({"wa-1": figures}, {"../etc": PER_PARTICIPANT["wa-15550100"]}):
        with pytest.raises(InvalidEventBatch):
            validate_batch({"events": [event("quality.summary", {**QUALITY, "participants": participants})]})


def test_per_sample_reports_are_no_longer_accepted():
    """Quality reaches Frappe as per-call summaries; the browsers get the samples over socket.io."""
    sample = {"participantId": "a@example.com", "role": "agent", "direction": "inbound", "packetLossPct": 0,
              "jitterMs": 1, "bitrateKbps": 30, "packets": 10}
    with pytest.raises(InvalidEventBatch):
        validate_batch({"events": [event("quality.sample", sample)]})


def mutate(fn):
    batch = valid_batch()
    fn(batch)
    return batch


INVALID = {
    "not an object": lambda b: None,
    "no events": lambda b: b.update(events=[]),
    "extra top-level key": lambda b: b.update(extra=1),
    "unknown type": lambda b: b["events"][0].update(type="call.exploded"),
    "unknown state": lambda b: b["events"][0]["payload"].update(to="party"),
    "unknown end reason": lambda b: b["events"][4]["payload"].update(reason="bored"),
    "eventId not a uuid": lambda b: b["events"][1].update(eventId="123"),
    "sequence 0": lambda b: b["events"][1].update(sequence=0),
    "sequence as string": lambda b: b["events"][1].update(sequence="2"),
    "occurredAt not a date": lambda b: b["events"][2].update(occurredAt="yesterday"),
    "occurredAt without zone": lambda b: b["events"][2].update(occurredAt="2026-11-23T03:00:00"),
    "bad call id": lambda b: b["events"][2].update(callId="../etc/passwd"),
    "payload of another type": lambda b: b["events"][1].update(payload={"from": "created", "to": "ringing"}),
    "extra event field": lambda b: b["events"][0].update(admin=True),
    "negative loss": lambda b: b["events"][3]["payload"].update(packetLossPct=-1),
    "loss over 100": lambda b: b["events"][3]["payload"].update(packetLossPct=101),
    "missing payload": lambda b: b["events"][3].pop("payload"),
    "no samples in a summary": lambda b: b["events"][3]["payload"].update(samples=0),
    "over 100 events": lambda b: b.update(events=[copy.deepcopy(b["events"][0]) for _ in range(101)]),
}


@pytest.mark.parametrize("name", list(INVALID))
def test_invalid_batches_are_refused_with_the_location(name):
    body = "garbage" if name == "not an object" else mutate(INVALID[name])
    with pytest.raises(InvalidEventBatch) as excinfo:
        validate_batch(body)
    assert excinfo.value.problems
    assert str(excinfo.value)


def test_the_problem_names_the_field_of_the_events_own_type():
    batch = mutate(INVALID["unknown state"])
    with pytest.raises(InvalidEventBatch) as excinfo:
        validate_batch(batch)
    assert excinfo.value.problems == [f"events/0/payload/to: 'party' is not one of {list(_states())}"]


def _states():
    from voice_agent.contracts import load

    return load("sidecar-http.schema.json")["$defs"]["CallState"]["enum"]
