"""Lead scoring: every signal kind and its default weight, weights from a profile, each kind counted
once (sentiment: the latest; engagement: capped), clamping, explanations that account for every point,
and the checks on the model's proposals (it cannot set a weight, a score or a booking)."""

from __future__ import annotations

import json
import math
import re

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import voice_agent.bot.scoring as scoring_module
from voice_agent.agent.tools import TOOLS
from voice_agent.bot.scoring import (
    DEFAULT_WEIGHTS,
    ENGAGEMENT_CAP,
    KINDS,
    MAX_PROPOSALS,
    MAX_REASON_CHARS,
    MODEL_KINDS,
    SIGNAL_PROPOSAL_SCHEMA,
    SIGNAL_PROPOSALS_SCHEMA,
    TOOL_KINDS,
    Signal,
    engagement_signals,
    resolve_weights,
    score,
    signals_from_model,
    signals_from_text,
    signals_from_tool,
)

EVENT_KINDS = [k for k in KINDS if k not in ("engagement", "sentiment")]
BOOKED = {"result": "Booked for 10:00.", "document": {"doctype": "Appointment", "name": "APP-0001"}}


def sig(kind, ref="M1", source="model", polarity=1, reason=None):
    return Signal(kind, source, reason or f"{kind} seen", ref, polarity=polarity)


# --- weights ---------------------------------------------------------------------------------------


def test_the_documented_weight_table_is_the_one_in_force():
    doc = scoring_module.__doc__
    table = dict(re.findall(r"^(\w+)\s{2,}(\d+)\s{2,}", doc, re.MULTILINE))
    assert {k: int(v) for k, v in table.items()} == dict(DEFAULT_WEIGHTS)
    assert set(DEFAULT_WEIGHTS) == set(KINDS)


@pytest.mark.parametrize("kind", EVENT_KINDS)
def test_each_event_signal_alone_scores_its_default_weight(kind):
    result = score([sig(kind)])
    assert result.value == DEFAULT_WEIGHTS[kind]
    [contribution] = result.contributions
    assert (contribution.kind, contribution.points, contribution.weight) == (kind, DEFAULT_WEIGHTS[kind],
                                                                            DEFAULT_WEIGHTS[kind])
    assert contribution.signals == (sig(kind),)
    assert f"{DEFAULT_WEIGHTS[kind]:+d}" in contribution.explanation


def test_a_support_ticket_is_shown_but_adds_nothing_by_default():
    result = score([sig("support_ticket", source="tool")])
    assert result.value == 0
    [contribution] = result.contributions
    assert contribution.points == 0
    assert "not a buying signal" in contribution.explanation


def test_a_profile_can_weigh_a_support_ticket():
    result = score([sig("support_ticket", source="tool")], {"support_ticket": 5})
    assert result.value == 5
    assert "not a buying signal" not in result.contributions[0].explanation


def test_weights_from_the_profile_replace_the_defaults_kind_by_kind():
    signals = [sig("intent"), sig("budget"), sig("booking", source="tool")]
    result = score(signals, {"budget": 40, "booking": 0})
    assert {c.kind: c.points for c in result.contributions} == {"intent": DEFAULT_WEIGHTS["intent"],
                                                                "budget": 40, "booking": 0}
    assert result.value == DEFAULT_WEIGHTS["intent"] + 40


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"loyalty": 10}, "Unknown signal kind 'loyalty'"),
        ({"budget": -1}, "from 0 to 100"),
        ({"budget": 101}, "from 0 to 100"),
        ({"budget": 2.5}, "whole number"),
        ({"budget": "10"}, "whole number"),
        ({"budget": True}, "whole number"),
    ],
)
def test_bad_weights_are_refused_with_the_reason(overrides, message):
    with pytest.raises(ValueError, match=message):
        resolve_weights(overrides)
    with pytest.raises(ValueError, match=message):
        score([sig("budget")], overrides)


def test_resolve_weights_without_overrides_is_the_defaults():
    assert resolve_weights() == dict(DEFAULT_WEIGHTS)
    assert resolve_weights({}) == dict(DEFAULT_WEIGHTS)


# --- counting --------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", EVENT_KINDS)
def test_each_kind_counts_once_for_its_first_signal(kind):
    first, repeat = sig(kind, "M1", reason="first"), sig(kind, "M7", reason="again")
    result = score([first, repeat])
    assert result.value == DEFAULT_WEIGHTS[kind]
    assert result.contributions[0].signals == (first,)
    [ignored] = result.ignored
    assert ignored.signal == repeat
    assert "already counted" in ignored.why


def test_the_latest_sentiment_counts_with_its_sign():
    happy, angry = sig("sentiment", "M1"), sig("sentiment", "M2", polarity=-1)
    assert score([happy, angry]).total == -DEFAULT_WEIGHTS["sentiment"]
    assert score([angry, happy]).total == DEFAULT_WEIGHTS["sentiment"]
    result = score([angry, happy])
    assert result.contributions[0].signals == (happy,)
    assert [i.signal for i in result.ignored] == [angry]
    assert "Positive sentiment" in result.contributions[0].explanation
    assert "Negative sentiment" in score([angry]).contributions[0].explanation


def test_negative_sentiment_subtracts_from_the_other_signals():
    result = score([sig("intent"), sig("budget"), sig("sentiment", polarity=-1)])
    assert result.value == DEFAULT_WEIGHTS["intent"] + DEFAULT_WEIGHTS["budget"] - DEFAULT_WEIGHTS["sentiment"]


def test_engagement_counts_each_customer_message_after_the_first():
    refs = ["M1", "M2", "M3", "M4"]
    signals = engagement_signals(refs)
    assert [s.message_ref for s in signals] == ["M2", "M3", "M4"]
    assert all(s.kind == "engagement" and s.source == "rule" for s in signals)
    assert score(signals).value == 3 * DEFAULT_WEIGHTS["engagement"]
    assert engagement_signals(["M1"]) == []


def test_engagement_is_capped():
    signals = engagement_signals([f"M{i}" for i in range(1, 20)])
    result = score(signals)
    assert result.value == ENGAGEMENT_CAP * DEFAULT_WEIGHTS["engagement"]
    assert len(result.contributions[0].signals) == ENGAGEMENT_CAP
    assert len(result.ignored) == 18 - ENGAGEMENT_CAP
    assert all(f"at most {ENGAGEMENT_CAP}" in i.why for i in result.ignored)
    assert score(signals, engagement_cap=2).value == 2 * DEFAULT_WEIGHTS["engagement"]
    assert score(signals, engagement_cap=0).contributions == ()


def test_the_same_message_adds_engagement_once():
    signals = engagement_signals(["M1", "M2"]) * 3
    result = score(signals)
    assert result.value == DEFAULT_WEIGHTS["engagement"]
    assert all("already counted" in i.why for i in result.ignored)


def test_a_negative_engagement_cap_is_refused():
    with pytest.raises(ValueError):
        score([], engagement_cap=-1)


def test_the_score_is_clamped_to_100_and_says_so():
    every = [sig(k, polarity=1) for k in EVENT_KINDS] + [sig("sentiment")] + engagement_signals(
        [f"M{i}" for i in range(10)])
    result = score(every)
    expected_total = sum(DEFAULT_WEIGHTS[k] for k in KINDS) + (ENGAGEMENT_CAP - 1) * DEFAULT_WEIGHTS["engagement"]
    assert result.total == expected_total > 100
    assert result.value == 100
    assert result.clamped
    assert result.explanation()[-1] == f"Total {expected_total:+d}, kept within 0..100: 100"


def test_the_score_never_goes_below_zero():
    result = score([sig("sentiment", polarity=-1)])
    assert (result.value, result.total, result.clamped) == (0, -DEFAULT_WEIGHTS["sentiment"], True)


def test_no_signals_score_zero():
    result = score([])
    assert (result.value, result.total, result.contributions, result.ignored) == (0, 0, (), ())
    assert result.explanation() == []


def test_a_booking_conversation_scores_as_documented():
    signals = [
        *signals_from_text("I'd like to book a haircut tomorrow at 10", "M1"),
        sig("intent", "M1"),
        *signals_from_text("ada@example.com", "M2"),
        *signals_from_tool("book_appointment", BOOKED, "M4"),
        *engagement_signals(["M1", "M2", "M3", "M4"]),
    ]
    result = score(signals)
    assert result.value == 15 + 10 + 10 + 25 + 2 * 3 == 66
    lines = result.explanation()
    assert "Booking made +25: Appointment APP-0001 made by book_appointment [tool]" in lines
    assert "Date or time given +10: a date or time in the message (tomorrow) [rule]" in lines


_signal = st.builds(
    Signal,
    kind=st.sampled_from([k for k in KINDS if k != "sentiment"]),
    source=st.sampled_from(["model", "tool", "rule"]),
    reason=st.just("seen"),
    message_ref=st.sampled_from(["M1", "M2", "M3", "M4", "M5", "M6", "M7"]),
) | st.builds(Signal, kind=st.just("sentiment"), source=st.just("model"), reason=st.just("mood"),
              message_ref=st.sampled_from(["M1", "M2"]), polarity=st.sampled_from([1, -1]))


@settings(max_examples=200, deadline=None)
@given(signals=st.lists(_signal, max_size=40),
       weights=st.dictionaries(st.sampled_from(KINDS), st.integers(0, 100), max_size=4))
def test_contributions_account_for_every_point_and_every_signal(signals, weights):
    result = score(signals, weights)
    assert sum(c.points for c in result.contributions) == result.total
    assert result.value == max(0, min(100, result.total))
    used = [s for c in result.contributions for s in c.signals] + [i.signal for i in result.ignored]
    assert sorted(map(repr, used)) == sorted(map(repr, signals))
    assert len({c.kind for c in result.contributions}) == len(result.contributions)
    json.dumps(result.as_dict())


# --- signals ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "loyalty"}, "Unknown signal kind"),
        ({"source": "customer"}, "Unknown signal source"),
        ({"polarity": -1}, "only a sentiment may be negative"),
        ({"polarity": 0}, "polarity"),
        ({"reason": "  "}, "needs a reason"),
    ],
)
def test_a_signal_is_checked_when_made(kwargs, message):
    fields = {"kind": "budget", "source": "rule", "reason": "x", **kwargs}
    with pytest.raises(ValueError, match=message):
        Signal(**fields)


def test_signals_round_trip_through_their_stored_form():
    for signal in [sig("sentiment", polarity=-1), Signal("date", "rule", "a date", "M3", value="10:30"),
                   Signal("order", "tool", "made", None)]:
        assert Signal.from_dict(json.loads(json.dumps(signal.as_dict()))) == signal


@pytest.mark.parametrize(("tool", "kind"), sorted(TOOL_KINDS.items()))
def test_a_document_made_by_a_tool_is_its_signal(tool, kind):
    assert tool in TOOLS
    outcome = {"result": "Done.", "document": {"doctype": "X", "name": "X-1"}}
    [signal] = signals_from_tool(tool, outcome, "M4")
    assert (signal.kind, signal.source, signal.message_ref) == (kind, "tool", "M4")
    assert signal.reason == f"X X-1 made by {tool}"


def test_every_tool_maps_to_a_signal_kind():
    assert set(TOOL_KINDS) == set(TOOLS)


@pytest.mark.parametrize(
    ("tool", "outcome"),
    [
        ("book_appointment", {"result": "That slot is taken."}),  # refused, failed or a repeat
        ("book_appointment", {"result": "x", "document": None}),
        ("book_appointment", {"result": "x", "document": {"doctype": "Appointment"}}),
        ("book_appointment", {"result": "x", "document": {"doctype": "", "name": "A"}}),
        ("book_appointment", "Booked"),
        ("send_invoice", {"result": "x", "document": {"doctype": "Sales Invoice", "name": "SINV-1"}}),
    ],
)
def test_no_tool_signal_without_a_document_made_by_a_known_tool(tool, outcome):
    assert signals_from_tool(tool, outcome) == []


def kinds(signals):
    return [s.kind for s in signals]


@pytest.mark.parametrize("text", [
    "my email is ada.lovelace+salon@example.co.uk",
    "ADA@EXAMPLE.COM",
    "mail: ada@mail.example.org, thanks",
])
def test_an_email_address_is_a_contact_signal(text):
    [signal] = signals_from_text(text, "M2")
    assert (signal.kind, signal.source, signal.message_ref) == ("contact", "rule", "M2")
    assert "email" in signal.reason


def test_another_phone_number_is_a_contact_signal_but_their_own_is_not():
    own = "+447911123456"
    assert kinds(signals_from_text("call my wife on +44 7400 123456", customer_phone=own)) == ["contact"]
    assert signals_from_text("my number is +44 7911 123456", customer_phone=own) == []
    assert signals_from_text("my number is 07911 123456", customer_phone=own, default_region="GB") == []
    assert kinds(signals_from_text("or 07400 123456", customer_phone=own, default_region="GB")) == ["contact"]
    # Written nationally without a country to read it in, a number cannot be told apart from others.
    assert signals_from_text("or 07400 123456", customer_phone=own) == []


def test_one_contact_signal_per_message():
    assert kinds(signals_from_text("ada@example.com or +44 7400 123456", customer_phone="+447911123456")) \
        == ["contact"]


@pytest.mark.parametrize(("text", "value"), [
    ("on 2030-05-01 please", "2030-05-01"),
    ("am 1.5.2030", "1.5.2030"),
    ("le 01/05/30", "01/05/30"),
    ("am 3.5. um", "3.5."),
    ("at 10:30", "10:30"),
    ("à 10h30", "10h30"),
    ("vers 10h", "10h"),
    ("um 10 Uhr", "10 Uhr"),
    ("om 10 uur", "10 uur"),
    ("at 10am", "10am"),
    ("around 3 p.m.", "3 p.m."),
    ("10:30-11:00 works", "10:30"),
    ("a haircut tomorrow", "tomorrow"),
    ("Geht es morgen?", "morgen"),
    ("Guten Morgen, geht es morgen?", "morgen"),
    ("demain matin", "demain"),
    ("¿Mañana por la tarde?", "manana"),
    ("pasado mañana", "pasado manana"),
    ("domani sera", "domani"),
    ("Pode ser amanhã?", "amanha"),
    ("Kan het vandaag?", "vandaag"),
    ("next Saturday", "saturday"),
    ("am Samstag", "samstag"),
    ("aujourd’hui", "aujourd'hui"),
])
def test_a_date_or_time_in_any_of_the_languages_is_a_date_signal(text, value):
    [signal] = signals_from_text(text, "M1")
    assert (signal.kind, signal.value) == ("date", value)


@pytest.mark.parametrize("text", [
    "Guten Morgen!",
    "Goede morgen",
    "It costs 12.50.",
    "half 1/2 a pizza",
    "1.5 kg of flour",
    "we are 3 amigos",
    "version 1.2.3",
    "I have 2 kids",
    "room 1204",
    "hello there",
    "el pasado año",
])
def test_numbers_and_words_that_are_no_date_are_not_date_signals(text):
    assert signals_from_text(text, "M1") == []


# --- proposals of the model ------------------------------------------------------------------------


@pytest.mark.parametrize("proposal", [
    {"kind": "intent", "reason": "wants a haircut"},
    {"kind": "budget", "reason": "up to 500 euros", "value": 500},
    {"kind": "budget", "reason": "about 49.90", "value": 49.9},
    {"kind": "quantity", "reason": "two pizzas", "value": 2},
    {"kind": "date", "reason": "next Friday", "value": "2030-05-03"},
    {"kind": "date", "reason": "Friday at 10", "value": "2030-05-03T10:00"},
    {"kind": "contact", "reason": "gave an email"},
    {"kind": "sentiment", "reason": "thanked us warmly", "polarity": "positive"},
    {"kind": "sentiment", "reason": "angry about the wait", "polarity": "negative"},
])
def test_a_well_formed_proposal_becomes_a_model_signal(proposal):
    [signal], rejected = signals_from_model([proposal], "M5")
    assert rejected == []
    assert (signal.kind, signal.source, signal.message_ref) == (proposal["kind"], "model", "M5")
    assert signal.reason == proposal["reason"]
    assert signal.polarity == (-1 if proposal.get("polarity") == "negative" else 1)
    jsonschema.validate(proposal, SIGNAL_PROPOSAL_SCHEMA)


def test_proposed_values_are_kept_as_evidence():
    accepted, _ = signals_from_model([{"kind": "budget", "reason": "budget", "value": 500},
                                      {"kind": "quantity", "reason": "qty", "value": 2.5},
                                      {"kind": "date", "reason": "d", "value": "2030-05-03T10:00"}], "M1")
    assert [s.value for s in accepted] == ["500", "2.5", "2030-05-03"]
    assert "(500)" in score(accepted).contributions[0].explanation


@pytest.mark.parametrize(("proposal", "why"), [
    ("budget", "must be an object"),
    ({"reason": "no kind"}, "unknown kind None"),
    ({"kind": "vip", "reason": "x"}, "unknown kind 'vip'"),
    ({"kind": "booking", "reason": "booked"}, "only a tool that made the document can record a booking"),
    ({"kind": "order", "reason": "ordered"}, "record a order"),
    ({"kind": "support_ticket", "reason": "x"}, "record a support ticket"),
    ({"kind": "engagement", "reason": "chatty"}, "counted by our code"),
    ({"kind": "intent", "reason": "x", "weight": 100}, "cannot set weight"),
    ({"kind": "intent", "reason": "x", "score": 100}, "cannot set score"),
    ({"kind": "intent", "reason": "x", "points": 50}, "cannot set points"),
    ({"kind": "intent", "reason": "x", "confidence": 0.9}, "unknown field(s) confidence"),
    ({"kind": "intent"}, "needs a reason"),
    ({"kind": "intent", "reason": "  "}, "needs a reason"),
    ({"kind": "intent", "reason": 42}, "needs a reason"),
    ({"kind": "intent", "reason": "x" * (MAX_REASON_CHARS + 1)}, "longer than"),
    ({"kind": "sentiment", "reason": "x"}, "needs polarity"),
    ({"kind": "sentiment", "reason": "x", "polarity": "furious"}, "needs polarity"),
    ({"kind": "intent", "reason": "x", "polarity": "negative"}, "only a sentiment has a polarity"),
    ({"kind": "budget", "reason": "x", "value": "500"}, "must be a number"),
    ({"kind": "budget", "reason": "x", "value": True}, "must be a number"),
    ({"kind": "budget", "reason": "x", "value": math.nan}, "must be a number"),
    ({"kind": "budget", "reason": "x", "value": math.inf}, "must be a number"),
    ({"kind": "budget", "reason": "x", "value": -5}, "not plausible"),
    ({"kind": "budget", "reason": "x", "value": 10**12}, "not plausible"),
    ({"kind": "quantity", "reason": "x", "value": 0}, "not plausible"),
    ({"kind": "quantity", "reason": "x", "value": 10**6}, "not plausible"),
    ({"kind": "date", "reason": "x", "value": "next friday"}, "is not a date"),
    ({"kind": "date", "reason": "x", "value": 20300503}, "must be text"),
    ({"kind": "date", "reason": "x", "value": "1850-01-01"}, "not a plausible date"),
    ({"kind": "intent", "reason": "x", "value": "big"}, "takes no value"),
    ({"kind": "contact", "reason": "x", "value": "ada@example.com"}, "takes no value"),
])
def test_a_bad_proposal_is_dropped_with_its_reason(proposal, why):
    accepted, [rejection] = signals_from_model([proposal], "M5")
    assert accepted == []
    assert rejection.proposal == proposal
    assert why in rejection.reason


@pytest.mark.parametrize("proposed", [None, "intent", {"kind": "intent", "reason": "x"}, 3])
def test_proposals_that_are_not_a_list_are_dropped_whole(proposed):
    accepted, [rejection] = signals_from_model(proposed, "M5")
    assert accepted == []
    assert "must be a list" in rejection.reason


def test_a_flood_of_proposals_is_cut_at_the_maximum():
    proposals = [{"kind": "intent", "reason": f"r{i}"} for i in range(MAX_PROPOSALS + 3)]
    accepted, rejected = signals_from_model(proposals, "M5")
    assert len(accepted) == MAX_PROPOSALS
    assert len(rejected) == 3 and all(f"more than {MAX_PROPOSALS}" in r.reason for r in rejected)


def test_good_proposals_survive_bad_neighbours_and_the_model_cannot_raise_the_score():
    proposals = [{"kind": "booking", "reason": "booked"}, {"kind": "intent", "reason": "x", "score": 100},
                 {"kind": "budget", "reason": "500 euros", "value": 500}]
    accepted, rejected = signals_from_model(proposals, "M5")
    assert kinds(accepted) == ["budget"]
    assert len(rejected) == 2
    assert score(accepted).value == DEFAULT_WEIGHTS["budget"]


def test_reasons_are_flattened_to_one_line():
    [signal], _ = signals_from_model([{"kind": "intent", "reason": "wants\n\n  a   haircut"}], "M1")
    assert signal.reason == "wants a haircut"


def test_the_proposal_schema_offers_exactly_the_kinds_the_model_may_propose():
    assert SIGNAL_PROPOSAL_SCHEMA["properties"]["kind"]["enum"] == list(MODEL_KINDS)
    assert not {"booking", "order", "support_ticket", "engagement"} & set(MODEL_KINDS)
    jsonschema.Draft202012Validator.check_schema(SIGNAL_PROPOSALS_SCHEMA)
    valid = {"signals": [{"kind": "intent", "reason": "x"}]}
    jsonschema.validate(valid, SIGNAL_PROPOSALS_SCHEMA)
    for bad in ({"kind": "booking", "reason": "x"}, {"kind": "intent", "reason": "x", "weight": 9}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({"signals": [bad]}, SIGNAL_PROPOSALS_SCHEMA)
