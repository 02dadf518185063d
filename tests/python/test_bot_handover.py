"""Hand-over to a person: every rule with its reason code, their documented precedence, the rules a
profile switches off, the multilingual keyword floor (and what must not trip it), the notice to the
customer, and the round-robin choice of the person."""

from __future__ import annotations

import itertools
import random
import re

import pytest

import voice_agent.bot.handover as handover_module
from voice_agent.bot.handover import (
    REASONS,
    Assignee,
    HandOver,
    HandOverConfig,
    HandOverState,
    asks_for_person,
    decide,
    hand_over_notice,
    pick_assignee,
)

CONFIG = HandOverConfig(tool_failure_limit=3, score_threshold=70, max_turns=10)

# A state in which exactly one rule fires, per reason.
TRIGGERS = {
    "customer_asked": {"customer_text": "Can I talk to a person?"},
    "tool_failures": {"tool_failures_in_a_row": 3, "failing_tool": "book_appointment"},
    "model_unsure": {"model_unsure": True},
    "score_threshold": {"previous_score": 60, "score": 75},
    "max_turns": {"bot_replies": 10},
}


def test_a_quiet_conversation_stays_with_the_bot():
    assert decide(HandOverState(customer_text="I'd like a haircut tomorrow", score=40, previous_score=30,
                                bot_replies=3, tool_failures_in_a_row=1), CONFIG) is None


@pytest.mark.parametrize("reason", REASONS)
def test_each_rule_hands_over_with_its_reason_code(reason):
    result = decide(HandOverState(**TRIGGERS[reason]), CONFIG)
    assert isinstance(result, HandOver)
    assert result.reason == reason
    assert result.detail


def test_the_details_say_what_happened():
    assert decide(HandOverState(**TRIGGERS["customer_asked"]), CONFIG).detail == \
        'The customer asked for a person ("talk ... person").'
    assert decide(HandOverState(**TRIGGERS["tool_failures"]), CONFIG).detail == \
        "book_appointment failed 3 times in a row (limit 3)."
    assert decide(HandOverState(**TRIGGERS["score_threshold"]), CONFIG).detail == \
        "The lead score rose from 60 to 75, reaching the threshold of 70."
    assert decide(HandOverState(**TRIGGERS["max_turns"]), CONFIG).detail == \
        "The bot has replied 10 times (maximum 10)."
    unsure = decide(HandOverState(model_unsure=True, model_note="asks about a medical question"), CONFIG)
    assert unsure.detail == "The bot was not sure how to help: asks about a medical question"


def test_the_documented_precedence_is_the_order_applied():
    doc = handover_module.__doc__
    documented = re.findall(r"^\d\. ``(\w+)``", doc, re.MULTILINE)
    assert documented == list(REASONS)


@pytest.mark.parametrize(
    "combination",
    [c for size in range(2, len(REASONS) + 1) for c in itertools.combinations(REASONS, size)],
    ids=lambda c: "+".join(c),
)
def test_when_several_rules_fire_the_highest_in_precedence_wins(combination):
    fields = {}
    for reason in combination:
        fields.update(TRIGGERS[reason])
    assert decide(HandOverState(**fields), CONFIG).reason == combination[0]


def test_the_model_flag_alone_is_a_request_for_a_person():
    result = decide(HandOverState(customer_text="hmm", model_customer_asked=True,
                                  model_note="wants to discuss a complaint with the owner"), CONFIG)
    assert result == HandOver("customer_asked",
                              "The customer asked for a person: wants to discuss a complaint with the owner")


def test_a_long_model_note_is_shortened():
    result = decide(HandOverState(model_unsure=True, model_note="word " * 100), CONFIG)
    assert len(result.detail) < 140 and result.detail.endswith("\u2026")


@pytest.mark.parametrize(("failures", "fires"), [(0, False), (2, False), (3, True), (7, True)])
def test_tool_failures_hand_over_from_the_limit(failures, fires):
    result = decide(HandOverState(tool_failures_in_a_row=failures), CONFIG)
    assert (result is not None and result.reason == "tool_failures") is fires


def test_an_unnamed_failing_tool_is_still_reported():
    assert decide(HandOverState(tool_failures_in_a_row=3), CONFIG).detail.startswith("A tool failed 3 times")


@pytest.mark.parametrize(("previous", "current", "fires"), [
    (60, 69, False),  # below
    (60, 70, True),  # reaches it
    (0, 100, True),
    (70, 90, False),  # was already there: given back to the bot at this score
    (75, 72, False),
    (80, 40, False),
])
def test_the_score_hands_over_when_it_crosses_the_threshold(previous, current, fires):
    result = decide(HandOverState(previous_score=previous, score=current), CONFIG)
    assert (result is not None and result.reason == "score_threshold") is fires


@pytest.mark.parametrize(("replies", "fires"), [(0, False), (9, False), (10, True), (11, True)])
def test_the_maximum_turns_hand_over_once_reached(replies, fires):
    result = decide(HandOverState(bot_replies=replies), CONFIG)
    assert (result is not None and result.reason == "max_turns") is fires


def test_rules_switched_off_never_fire():
    off = HandOverConfig(tool_failure_limit=None, score_threshold=None, max_turns=None)
    state = HandOverState(tool_failures_in_a_row=99, previous_score=0, score=100, bot_replies=999)
    assert decide(state, off) is None
    # The customer's request and the model's doubt cannot be switched off.
    assert decide(HandOverState(customer_text="human please"), off).reason == "customer_asked"
    assert decide(HandOverState(model_unsure=True), off).reason == "model_unsure"


def test_the_defaults_hand_over_only_on_request_doubt_or_failing_tools():
    default = HandOverConfig()
    assert decide(HandOverState(previous_score=0, score=100, bot_replies=500), default) is None
    assert decide(HandOverState(tool_failures_in_a_row=3), default).reason == "tool_failures"


@pytest.mark.parametrize("kwargs", [
    {"tool_failure_limit": 0}, {"tool_failure_limit": -1}, {"tool_failure_limit": True},
    {"tool_failure_limit": 2.5}, {"max_turns": 0}, {"max_turns": "10"}, {"score_threshold": 0},
    {"score_threshold": 101}, {"score_threshold": 50.5},
])
def test_bad_rules_are_refused(kwargs):
    with pytest.raises(ValueError):
        HandOverConfig(**kwargs)


# --- the keyword floor -----------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    # en
    "Can I talk to a person?", "I want to speak with someone", "human please", "HUMAN", "agent",
    "an agent, please", "Is there a real person there?", "connect me to an operator",
    "Can someone call me back?", "let me talk to your manager",
    # de
    "Kann ich mit einem Mitarbeiter sprechen?", "Ich möchte mit einem Menschen reden", "Mitarbeiter bitte",
    "Bitte verbinden Sie mich mit jemandem", "Ich will eine echte Person",
    # fr
    "Je voudrais parler à quelqu'un", "Je veux parler à quelqu’un", "un conseiller svp",
    "Puis-je parler à un humain ?", "Passez-moi une personne",
    # es
    "Quiero hablar con una persona", "¿Puedo hablar con un humano?", "Pásame con un agente",
    "Necesito que me atienda una persona real",
    # it
    "Vorrei parlare con un operatore", "Posso parlare con una persona?", "Mi passi un collega",
    "voglio un umano",
    # pt
    "Posso falar com um atendente?", "Quero falar com uma pessoa", "Gostaria de falar com alguém",
    "Preciso de um humano",
    # nl
    "Mag ik een medewerker spreken?", "Ik wil een mens spreken", "Kan ik iemand bellen?",
    "Kan ik met een persoon praten?",
])
def test_the_keyword_floor_hears_a_request_for_a_person(text):
    assert asks_for_person(text)
    assert decide(HandOverState(customer_text=text), HandOverConfig()).reason == "customer_asked"


@pytest.mark.parametrize("text", [
    "A table for one person, please",
    "Pizza für eine Person bitte",
    "Mesa para una persona",
    "Une table pour deux personnes",
    "Un tavolo per una persona",
    "Uma mesa para uma pessoa",
    "Een tafel voor één persoon",
    "I'd like to book a haircut tomorrow at 10",
    "Guten Morgen, ich hätte gern einen Termin",
    "Personne ne répond au téléphone",
    "How much per person?",
    "Thanks, that is all",
    "",
])
def test_the_keyword_floor_does_not_hear_one_where_there_is_none(text):
    assert asks_for_person(text) is None


# --- the notice ------------------------------------------------------------------------------------


def test_the_customer_is_told_in_their_language():
    assert hand_over_notice("de") == handover_module.HAND_OVER_NOTICES["de"]
    assert hand_over_notice("pt-BR") == handover_module.HAND_OVER_NOTICES["pt"]
    assert hand_over_notice("ja") == handover_module.HAND_OVER_NOTICES["en"]
    assert hand_over_notice(None) == handover_module.HAND_OVER_NOTICES["en"]
    assert set(handover_module.HAND_OVER_NOTICES) >= {"en", "de", "fr", "es", "it", "pt", "nl"}


# --- who takes over --------------------------------------------------------------------------------


def test_round_robin_takes_turns_in_name_order():
    users = ["carol@x.com", "alice@x.com", "bob@x.com"]
    last = None
    picked = []
    for _ in range(6):
        assignee = pick_assignee(users, last)
        picked.append(assignee.user)
        last = assignee.user
    assert picked == ["alice@x.com", "bob@x.com", "carol@x.com"] * 2


def test_round_robin_continues_after_someone_left():
    assert pick_assignee(["alice", "carol", "dave"], "bob") == Assignee("carol", "round_robin")
    assert pick_assignee(["alice", "carol"], "zoe") == Assignee("alice", "round_robin")


def test_the_lead_owner_is_preferred_when_the_profile_says_so_and_they_are_available():
    users = ["alice", "bob", "carol"]
    assert pick_assignee(users, "alice", lead_owner="carol", prefer_lead_owner=True) == Assignee("carol", "lead_owner")
    assert pick_assignee(users, "alice", lead_owner="carol", prefer_lead_owner=False) == \
        Assignee("bob", "round_robin")
    assert pick_assignee(users, "alice", lead_owner="dave", prefer_lead_owner=True) == Assignee("bob", "round_robin")
    assert pick_assignee(users, "alice", lead_owner=None, prefer_lead_owner=True) == Assignee("bob", "round_robin")


def test_nobody_available_means_no_assignee():
    assert pick_assignee([], "alice") is None
    assert pick_assignee(["", ""], None, lead_owner="alice", prefer_lead_owner=True) is None


def test_the_choice_depends_only_on_the_inputs():
    users = [f"user{i}@x.com" for i in range(8)] * 2
    expected = pick_assignee(users, "user3@x.com")
    rng = random.Random(7)
    for _ in range(20):
        rng.shuffle(users)
        assert pick_assignee(users, "user3@x.com") == expected == Assignee("user4@x.com", "round_robin")
