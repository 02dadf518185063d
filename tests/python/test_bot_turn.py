"""The bot's turn (``voice_agent.bot.turn``) and its answer to a conversation (``voice_agent.bot.engine``)
against the loopback fake of both LLM APIs and the in-memory ERPNext of ``bot_world``: a booking, an
order with an unknown item, a ticket, hand-overs (on request, the model's own, tool failures, the score
threshold, maximum turns), a provider outage with fallback, bounded tool rounds, cut-off and malformed
answers, reply buttons, media, the reply language, the model's signal proposals and what never leaves
(``guard_reply``).

Context building, scoring, hand-over rules and language detection on their own are tested in
test_bot_{context,scoring,handover,language}.py; here they are seen working together."""

from __future__ import annotations

import ast
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tests.fakes.llm import Call, Fail, FakeLLM, FakeRequest, Reply, Respond
from tests.python.bot_world import GENERIC_FAILURE, ROOT, SENTENCES, World, client_for
from voice_agent.agent.tools import TOOLS
from voice_agent.bot.context import DEFAULT_CHANNEL_RULES, MEDIA_REPLIES, SAFETY_RULES, Message
from voice_agent.bot.engine import Answer, BotProfile, Memory, answer
from voice_agent.bot.handover import HAND_OVER_NOTICES, HandOverConfig
from voice_agent.bot.turn import (
    CONTROL_NAMES,
    HAND_OVER,
    NOTE_SIGNALS,
    REFUSAL,
    REPLY_WITH_CHOICES,
    ToolOutcome,
    guard_reply,
    run_turn,
)
from voice_agent.integrations.llm import FallbackClient, LLMError, ProvidersExhaustedError

NOW = datetime(2030, 5, 1, 9, 0, tzinfo=timezone(timedelta(hours=1), "WEST"))  # a Wednesday, in Lisbon
CUSTOMER_PHONE = "+351912345678"
HOURS = "We are open Monday to Saturday from 9:00 to 17:00, and closed on Sundays and public holidays."
SALON = BotProfile(prompt=f"You are the front desk of Studio Ana, a hair salon in Lisbon. {HOURS}",
                   tools=(TOOLS["book_appointment"],))
RESTAURANT = BotProfile(prompt="You take orders for Casa Nostra, a pizzeria.", tools=(TOOLS["place_restaurant_order"],))
SUPPORT = BotProfile(prompt="You help customers of Lumen Appliances with problems.",
                     tools=(TOOLS["create_support_ticket"],))
BOOKING = {"customer_name": "Ada Lovelace", "date": "2030-05-02", "time": "10:00", "email": "ada@example.com"}
INTENT = {"signals": [{"kind": "intent", "reason": "wants a haircut"}]}
APIS = ("openai", "anthropic")


@pytest.fixture
def fake():
    with FakeLLM() as server:
        yield server


@pytest.fixture(params=APIS)
def api(request) -> str:
    return request.param


@pytest.fixture
def client(fake, api):
    made = client_for(fake, api)
    yield made
    made.close()


@pytest.fixture
def world() -> World:
    return World(now=NOW.replace(tzinfo=None))


def cid(api: str, name: str) -> str:
    """A tool call id in the provider's own style."""
    return f"toolu_{name}" if api == "anthropic" else f"call_{name}"


def said(*texts: str, start: int = 1, kind: str = "text") -> list[Message]:
    return [Message("inbound", kind, text, NOW + timedelta(seconds=start + i), f"M{start + i}")
            for i, text in enumerate(texts)]


def ours(text: str, at: int) -> Message:
    return Message("outbound", "text", text, NOW + timedelta(seconds=at), f"M{at}")


def ask(profile: BotProfile, client: Any, world: World, messages: list[Message], memory: Memory | None = None,
        **kw: Any) -> Answer:
    return answer(profile, memory or Memory(), messages, client, world.run_tool, now=NOW + timedelta(minutes=1),
                  customer_phone=CUSTOMER_PHONE, **kw)


def results_in_body(request: FakeRequest) -> list[dict[str, Any]]:
    """The tool results of a request, in the provider's own shape."""
    if request.api == "anthropic":
        return [block for message in request.body["messages"] if message["role"] == "user"
                and isinstance(message["content"], list) for block in message["content"]
                if block.get("type") == "tool_result"]
    return [message for message in request.body["messages"] if message["role"] == "tool"]


def is_error(result: Any) -> bool:
    """A tool result the model reads as an error: Anthropic's flag, OpenAI's prefix."""
    return result.is_error or result.text.startswith("ERROR: ")


def on_results(reply: Callable[[list[Any]], Reply]) -> Respond:
    """A model that answers a round of tool results."""
    def respond(request: FakeRequest) -> Reply:
        assert request.tool_results, "the model was asked again without the tool results"
        return reply(request.tool_results)
    return Respond(respond)


def kinds(result: Answer) -> set[str]:
    return {c.kind for c in result.score.contributions}


# -- the booking, the order, the ticket -----------------------------------------------------------


def test_a_booking_runs_the_tool_feeds_the_result_back_and_scores_it(api, fake, client, world):
    fake.script(Reply("", tool_calls=[Call("book_appointment", BOOKING, id=cid(api, "book")),
                                      Call(NOTE_SIGNALS, INTENT, id=cid(api, "note"))]),
                on_results(lambda results: Reply(f"All set! {results[0].text}")))
    result = ask(SALON, client, world, said("Hi, I'm Ada Lovelace. A haircut tomorrow at 10:00 please, "
                                             "my email is ada@example.com"))

    assert [(d.doctype, d.name, d.fields["start"]) for d in world.documents] == \
        [("Appointment", "APMT-2030-00001", datetime(2030, 5, 2, 10, 0))]
    reply = "You are booked for Thursday 02 May at 10:00 until 10:30 (Europe/Lisbon time). Your reference is " \
            "APMT-2030-00001."
    assert (result.action, result.text) == ("reply", f"All set! {reply}")
    first, second = fake.requests
    # The results go back in the provider's own shape, one per call.
    expected = [{"type": "tool_result", "tool_use_id": cid(api, "book"), "content": reply, "is_error": False},
                {"type": "tool_result", "tool_use_id": cid(api, "note"), "content": "Noted.", "is_error": False}] \
        if api == "anthropic" else \
        [{"role": "tool", "tool_call_id": cid(api, "book"), "content": reply},
         {"role": "tool", "tool_call_id": cid(api, "note"), "content": "Noted."}]
    assert results_in_body(second) == expected
    # The score rose from nothing, each point with its reason.
    assert (result.previous_score, result.score.value) == (0, 60)
    assert kinds(result) == {"intent", "date", "contact", "booking"}
    assert "Booking made +25: Appointment APMT-2030-00001 made by book_appointment [tool]" in result.score.explanation()
    assert "Intent expressed +15: wants a haircut [model]" in result.score.explanation()
    assert {s.kind for s in result.new_signals} == {"intent", "date", "contact", "booking"}
    assert result.memory.answered_upto == "M1" and result.memory.bot_replies == 1
    assert result.turn.rounds == 2 and result.turn.usage.input_tokens > 0


def test_the_request_offers_the_profiles_tools_and_its_settings(api, fake, client, world):
    fake.script(Reply("Hello! How can I help?"))
    profile = BotProfile(prompt=SALON.prompt, tools=SALON.tools, temperature=0.3, max_tokens=300)
    ask(profile, client, world, said("Hello"))
    (request,) = fake.requests
    assert set(request.tool_names) == {"book_appointment", *CONTROL_NAMES}
    assert request.body["temperature"] == 0.3
    assert request.body["max_tokens"] == 300
    assert HOURS in request.system and SAFETY_RULES in request.system
    assert request.last_user_text == "Hello"


def test_an_order_with_an_unknown_item_is_refused_and_the_model_says_so(api, fake, client, world):
    order = {"customer_name": "Gil", "phone": "+351 911 111 111", "items": [{"item": "calzone", "qty": 1}]}
    seen: list[Any] = []

    def tell(results: list[Any]) -> Reply:
        seen.extend(results)
        return Reply("Sorry, we have no calzone. Would a Margherita Pizza or a Pepperoni Pizza do?")

    fake.script(Reply("", tool_calls=[Call("place_restaurant_order", order, id=cid(api, "order"))]), on_results(tell))
    result = ask(RESTAURANT, client, world, said("One calzone please, I'm Gil, +351 911 111 111"))

    (run,) = result.turn.tool_runs
    assert run.outcome == ToolOutcome("refused", "Sorry, calzone is not on our menu.")
    assert is_error(seen[0]) and "calzone is not on our menu" in seen[0].text
    assert world.documents == []
    assert result.action == "reply" and "calzone" in result.text
    assert "order" not in kinds(result)
    assert result.memory.tool_failures_in_a_row == 0  # a refusal is an answer, not a failure


def test_a_support_ticket_is_opened_and_shown_in_the_score_without_points(api, fake, client, world):
    ticket = {"customer_name": "Hana", "email": "hana@example.com", "subject": "Hair dryer stopped working",
              "description": "The hair dryer bought last week stopped working."}
    fake.script(Reply("", tool_calls=[Call("create_support_ticket", ticket, id=cid(api, "ticket"))]),
                on_results(lambda results: Reply(f"Sorry about that. {results[0].text}")))
    result = ask(SUPPORT, client, world, said("My hair dryer from last week stopped working. Hana, hana@example.com"))

    assert [(d.doctype, d.name, d.fields["subject"]) for d in world.documents] == \
        [("HD Ticket", "1", "Hair dryer stopped working")]
    assert result.text == "Sorry about that. I have opened ticket 1 about Hair dryer stopped working. Our team " \
                          "will contact you."
    (ticket_points,) = [c for c in result.score.contributions if c.kind == "support_ticket"]
    assert ticket_points.points == 0
    assert ticket_points.explanation == "Support ticket opened +0: HD Ticket 1 made by create_support_ticket [tool] " \
                                        "- not a buying signal"


def test_the_same_request_twice_makes_one_document(api, fake, client, world):
    # The model repeats its call in the next turn (it did not see the first result any more): the
    # runner's idempotency answers as the first time.
    step = Reply("", tool_calls=[Call("book_appointment", BOOKING)])
    fake.script(step, on_results(lambda r: Reply(r[0].text)), step, on_results(lambda r: Reply(r[0].text)))
    first = ask(SALON, client, world, said("Haircut tomorrow at 10:00, Ada Lovelace, ada@example.com"))
    messages = [*said("Haircut tomorrow at 10:00, Ada Lovelace, ada@example.com"), ours(first.text, 2),
                *said("Did that work?", start=3)]
    second = ask(SALON, client, world, messages, first.memory)
    assert len(world.documents) == 1
    assert second.text == first.text
    assert [c.outcome.status for c in world.calls] == ["success", "success"]
    assert second.score.value == first.score.value + 2  # one more message; the booking counts once


# -- hand-overs ------------------------------------------------------------------------------------


def test_asking_for_a_person_hands_over_without_asking_the_model(api, fake, client, world):
    result = ask(SALON, client, world, said("Can I talk to a real person, please?"))
    assert result.action == "hand_over"
    assert result.hand_over.reason == "customer_asked"
    assert result.text == HAND_OVER_NOTICES["en"]
    assert fake.requests == []
    assert result.memory.answered_upto == "M1" and result.memory.bot_replies == 0


@pytest.mark.parametrize(("model_reason", "code"), [("customer_asked", "customer_asked"), ("unsure", "model_unsure")])
def test_the_model_hands_over(api, fake, client, world, model_reason, code):
    note = "Wants to know if the dye is safe with a scalp allergy."
    fake.script(Reply("", tool_calls=[Call(HAND_OVER, {"reason": model_reason, "note": note})]))
    # No keyword of the floor: only the model sees that this needs a colleague.
    result = ask(SALON, client, world, said("My scalp reacts to some dyes. Could your colourist tell me which "
                                             "one is safe for me?"))
    assert result.action == "hand_over"
    assert result.hand_over.reason == code
    assert note in result.hand_over.detail
    assert result.text == HAND_OVER_NOTICES["en"]
    assert len(fake.requests) == 1 and world.calls == []


def test_a_tool_failing_again_and_again_hands_over(api, fake, client, world):
    world.broken.add("book_appointment")

    def model(request: FakeRequest) -> Reply:
        if request.tool_results:
            return Reply("Sorry, our booking system is not answering. Shall I try again?")
        return Reply("", tool_calls=[Call("book_appointment", BOOKING)])

    fake.set_default(Respond(model))
    profile = BotProfile(prompt=SALON.prompt, tools=SALON.tools, handover=HandOverConfig(tool_failure_limit=2))
    messages = said("Haircut tomorrow at 10:00, Ada Lovelace, ada@example.com")
    first = ask(profile, client, world, messages)
    assert first.action == "reply"
    assert (first.memory.tool_failures_in_a_row, first.memory.failing_tool) == (1, "book_appointment")
    assert first.turn.tool_runs[0].outcome == ToolOutcome("failed", GENERIC_FAILURE)

    messages += [ours(first.text, 2), *said("Yes, please try again", start=3)]
    second = ask(profile, client, world, messages, first.memory)
    assert second.action == "hand_over"
    assert second.hand_over.reason == "tool_failures"
    assert second.hand_over.detail == "book_appointment failed 2 times in a row (limit 2)."
    assert world.documents == []


def test_crossing_the_score_threshold_hands_over_after_the_booking(api, fake, client, world):
    fake.script(Reply("", tool_calls=[Call("book_appointment", BOOKING), Call(NOTE_SIGNALS, INTENT)]),
                on_results(lambda results: Reply(f"Done! {results[0].text}")))
    profile = BotProfile(prompt=SALON.prompt, tools=SALON.tools, handover=HandOverConfig(score_threshold=50))
    result = ask(profile, client, world, said("Hi, I'm Ada Lovelace. A haircut tomorrow at 10:00 please, "
                                               "my email is ada@example.com"))
    assert result.action == "hand_over"
    assert result.hand_over.reason == "score_threshold"
    assert result.hand_over.detail == "The lead score rose from 0 to 60, reaching the threshold of 50."
    assert len(world.documents) == 1
    assert HAND_OVER_NOTICES["en"] in result.text
    assert "APMT-2030-00001" in result.turn.text  # the confirmation the model wrote


def test_the_maximum_turns_hand_over_without_asking_the_model(api, fake, client, world):
    profile = BotProfile(prompt=SALON.prompt, tools=SALON.tools, handover=HandOverConfig(max_turns=2))
    messages = [*said("Hi"), ours("Hello! How can I help?", 2), *said("What do you do?", start=3),
                ours("We cut and colour hair.", 4), *said("And do you do beards?", start=5)]
    result = ask(profile, client, world, messages, Memory(bot_replies=2, answered_upto="M3"))
    assert result.action == "hand_over"
    assert result.hand_over.reason == "max_turns"
    assert fake.requests == []

    fake.script(Reply("Yes, beard trims too."))
    below = ask(profile, client, world, messages, Memory(bot_replies=1, answered_upto="M3"))
    assert below.action == "reply" and below.memory.bot_replies == 2


# -- providers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "statuses"), [("overloaded", {"openai": 503, "anthropic": 529}),
                                                ("server", {"openai": 500, "anthropic": 500})])
@pytest.mark.parametrize("primary", APIS)
def test_a_provider_outage_falls_back_to_the_other_provider(fake, world, primary, kind, statuses):
    backup = next(a for a in APIS if a != primary)
    client = FallbackClient([client_for(fake, primary), client_for(fake, backup)])
    fake.script(Fail(kind), api=primary, times=3)
    fake.script(Reply("Hello! How can I help?"), api=backup)
    result = ask(SALON, client, world, said("Hello"))

    assert (result.action, result.text) == ("reply", "Hello! How can I help?")
    (reply,) = result.turn.replies
    assert reply.provider == backup
    (failure,) = reply.failed_over
    assert (failure.provider, failure.http_status) == (primary, statuses[primary])
    assert len(fake.requests_to(primary)) == 3  # retried before giving up on it
    assert len(fake.requests_to(backup)) == 1


def test_both_providers_down_raise_for_the_glue(fake, world):
    client = FallbackClient([client_for(fake, "openai"), client_for(fake, "anthropic")])
    fake.script(Fail("server"), api="openai", times=3)
    fake.script(Fail("overloaded"), api="anthropic", times=3)
    with pytest.raises(ProvidersExhaustedError) as raised:
        ask(SALON, client, world, said("Hello"))
    assert isinstance(raised.value, LLMError)
    assert [type(e).__name__ for e in raised.value.failures] == ["ServerError", "OverloadedError"]
    assert raised.value.retryable
    assert world.calls == []


# -- rounds, cut-offs, malformed answers -----------------------------------------------------------


def test_several_tool_rounds_in_one_turn(api, fake, client, world):
    world.add_booking(datetime(2030, 5, 2, 10, 0))

    def model(request: FakeRequest) -> Reply:
        results = request.tool_results
        if not results:
            return Reply("", tool_calls=[Call("book_appointment", BOOKING)])
        if is_error(results[0]) and "already booked" in results[0].text:
            return Reply("", tool_calls=[Call("book_appointment", {**BOOKING, "time": "10:30"})])
        return Reply(f"10:00 was taken, so I booked 10:30. {results[0].text}")

    fake.set_default(Respond(model))
    result = ask(SALON, client, world, said("Haircut tomorrow at 10:00, Ada Lovelace, ada@example.com"))

    assert [c.outcome.status for c in world.calls] == ["refused", "success"]
    assert world.calls[0].outcome.reply == "That time is already booked. The nearest free times are Thursday 02 May " \
                                           "at 09:15, Thursday 02 May at 09:30, Thursday 02 May at 10:30."
    assert [d.fields["start"] for d in world.documents] == [datetime(2030, 5, 2, 10, 30)]
    assert len(fake.requests) == 3
    assert len(results_in_body(fake.requests[2])) == 2  # the whole turn so far goes back each round
    assert result.action == "reply" and "10:30" in result.text


def test_the_rounds_are_bounded_and_a_turn_that_does_not_settle_hands_over(api, fake, client, world):
    fake.set_default(Respond(lambda request: Reply("", tool_calls=[Call("create_support_ticket",
                                                                        {"customer_name": "Ann"})])))
    profile = BotProfile(prompt=SUPPORT.prompt, tools=SUPPORT.tools, max_rounds=3)
    result = ask(profile, client, world, said("It does not work"))
    assert len(fake.requests) == 3 and len(world.calls) == 3
    assert result.turn.ending == "unsure"
    assert result.action == "hand_over" and result.hand_over.reason == "model_unsure"
    assert world.documents == []


def test_max_rounds_must_be_positive(client, world):
    with pytest.raises(ValueError, match="max_rounds"):
        run_turn(client, None, (), world.run_tool, max_rounds=0)  # type: ignore[arg-type]


def test_a_reply_cut_off_is_not_sent(api, fake, client, world):
    fake.script(Reply("Sure, your appointment tomorrow is", stop="max_tokens"))
    result = ask(SALON, client, world, said("When is my appointment?"))
    assert result.turn.ending == "unsure"
    assert result.action == "hand_over" and result.hand_over.reason == "model_unsure"
    assert result.text == HAND_OVER_NOTICES["en"]


def test_a_tool_call_cut_off_is_not_run(api, fake, client, world):
    fake.script(Reply("", tool_calls=[Call("book_appointment", BOOKING)], stop="max_tokens"))
    result = ask(SALON, client, world, said("Haircut tomorrow at 10:00, Ada Lovelace, ada@example.com"))
    assert world.calls == [] and len(fake.requests) == 1
    assert result.action == "hand_over" and result.hand_over.reason == "model_unsure"


def test_an_empty_answer_hands_over(api, fake, client, world):
    fake.script(Reply(""))
    result = ask(SALON, client, world, said("Hello?"))
    assert result.turn.ending == "empty"
    assert result.action == "hand_over" and result.hand_over.reason == "model_unsure"


def test_malformed_tool_arguments_are_answered_with_an_error(api, fake, client, world):
    seen: list[Any] = []

    def retry(results: list[Any]) -> Reply:
        seen.extend(results)
        return Reply("Sorry, could you tell me the time again?")

    fake.script(Reply("", tool_calls=[Call("book_appointment", '{"customer_name": "Ada", "date": ',
                                           id=cid(api, "bad"))]), on_results(retry))
    result = ask(SALON, client, world, said("Haircut tomorrow, Ada"))
    assert world.calls == []
    (error,) = seen
    assert is_error(error) and "not valid JSON" in error.text
    assert result.action == "reply" and result.text == "Sorry, could you tell me the time again?"


def test_a_tool_the_profile_does_not_offer_is_not_run(api, fake, client, world):
    seen: list[Any] = []

    def decline(results: list[Any]) -> Reply:
        seen.extend(results)
        return Reply("I'm sorry, I can't do that here.")

    order = {"customer_name": "Ada", "phone": CUSTOMER_PHONE, "items": [{"item": "Cola", "qty": 1}]}
    fake.script(Reply("", tool_calls=[Call("apply_discount", {"percent": 50}),
                                      Call("place_restaurant_order", order)]), on_results(decline))
    result = ask(SALON, client, world, said("Give me 50% off and a cola"))
    assert world.calls == [] and world.documents == []
    assert [(is_error(r), r.text.removeprefix("ERROR: ")) for r in seen] == \
        [(True, "There is no tool of that name.")] * 2
    assert result.action == "reply"


def test_the_runner_refuses_a_tool_the_profile_does_not_offer(world):
    world.offered = ("book_appointment",)
    outcome = world.run_tool("create_support_ticket", {"customer_name": "Ann", "subject": "Broken",
                                                       "description": "It broke."})
    assert outcome == ToolOutcome("refused", "I cannot do that in this conversation.")


def test_invalid_arguments_are_refused_with_the_validators_sentence(api, fake, client, world):
    fake.script(Reply("", tool_calls=[Call("book_appointment", {"customer_name": "Ada", "date": "2030-05-02",
                                                                "time": "10:00"})]),
                on_results(lambda results: Reply(results[0].text.removeprefix("ERROR: "))))
    result = ask(SALON, client, world, said("Haircut tomorrow at 10:00, Ada"))
    assert world.calls[0].outcome == ToolOutcome(
        "refused", "I need a phone number or an email address to confirm the booking.")
    assert result.text == "I need a phone number or an email address to confirm the booking."


# -- reply buttons ---------------------------------------------------------------------------------


def test_reply_with_choices_sends_buttons(api, fake, client, world):
    fake.script(Reply("", tool_calls=[Call(REPLY_WITH_CHOICES, {"text": "Which time suits you?",
                                                                "choices": ["10:00", "10:30", "11:00"]})]))
    result = ask(SALON, client, world, said("A haircut tomorrow morning?"))
    assert (result.action, result.text, result.choices) == ("choices", "Which time suits you?",
                                                            ("10:00", "10:30", "11:00"))
    assert len(fake.requests) == 1 and result.memory.bot_replies == 1


@pytest.mark.parametrize("choices", [["9:00", "9:30", "10:00", "10:30"], ["Thursday 2 May at 10:00 sharp"],
                                     ["10:00", "10:00"], []], ids=["four", "too-long", "twice", "none"])
def test_invalid_choices_are_answered_with_an_error_and_retried(api, fake, client, world, choices):
    seen: list[Any] = []

    def retry(results: list[Any]) -> Reply:
        seen.extend(results)
        return Reply("", tool_calls=[Call(REPLY_WITH_CHOICES, {"text": "Which time?", "choices": ["10:00", "11:00"]})])

    fake.script(Reply("", tool_calls=[Call(REPLY_WITH_CHOICES, {"text": "Which time?", "choices": choices})]),
                on_results(retry))
    result = ask(SALON, client, world, said("A haircut tomorrow morning?"))
    (error,) = seen
    assert is_error(error) and "one to 3 choices of at most 20 characters" in error.text
    assert (result.action, result.choices) == ("choices", ("10:00", "11:00"))


# -- media, nothing to answer ----------------------------------------------------------------------


def test_an_image_alone_gets_the_polite_answer_without_the_model(api, fake, client, world):
    result = ask(SALON, client, world, said("", kind="image"))
    assert (result.action, result.text) == ("media_reply", MEDIA_REPLIES["en"])
    assert fake.requests == []
    assert result.memory.bot_replies == 1 and result.memory.answered_upto == "M1"

    german = ask(SALON, client, world, said("", kind="image"), Memory(language="de"))
    assert german.text == MEDIA_REPLIES["de"]


def test_an_image_with_a_caption_goes_to_the_model(api, fake, client, world):
    fake.script(Reply("Nice cut! Would you like to book it?"))
    result = ask(SALON, client, world, said("This haircut please", kind="image"))
    assert result.action == "reply"
    assert fake.requests[0].last_user_text == "[The customer sent an image. You cannot see images.]\n" \
                                              "This haircut please"


def test_nothing_to_answer_when_we_wrote_last_or_it_was_answered(api, fake, client, world):
    messages = [*said("Hi"), ours("Hello! How can I help?", 2)]
    assert ask(SALON, client, world, messages).action == "nothing"
    assert ask(SALON, client, world, said("Hi"), Memory(answered_upto="M1")).action == "nothing"
    assert fake.requests == []


# -- language --------------------------------------------------------------------------------------


def test_a_german_customer_is_answered_in_german(api, fake, client, world):
    def model(request: FakeRequest) -> Reply:
        assert "Reply in German (de)." in request.system
        return Reply("Sehr gerne! Wie ist Ihr Name und Ihre E-Mail-Adresse?")

    fake.script(Respond(model))
    result = ask(SALON, client, world, said("Guten Tag! Ich hätte gerne morgen um 10 Uhr einen Termin zum "
                                             "Haareschneiden."))
    assert result.language == "de" and result.memory.language == "de"
    assert result.text.startswith("Sehr gerne")


def test_the_hand_over_notice_is_in_the_customers_language(api, fake, client, world):
    result = ask(SALON, client, world, said("Guten Tag, kann ich bitte mit einem Mitarbeiter sprechen?"))
    assert result.action == "hand_over" and result.language == "de"
    assert result.text == HAND_OVER_NOTICES["de"]


def test_a_profile_restricting_languages_answers_in_an_allowed_one(api, fake, client, world):
    fake.script(Reply("Happy to help! What is your name?"))
    profile = BotProfile(prompt=SALON.prompt, tools=SALON.tools, allowed_languages=("en", "pt"))
    result = ask(profile, client, world, said("Guten Tag! Ich hätte gerne morgen um 10 Uhr einen Termin zum "
                                               "Haareschneiden."))
    assert result.language == "en"
    assert result.memory.language == "de"  # what the customer writes, kept for when the profile changes
    assert "Reply in English (en)." in fake.requests[0].system


# -- the model's signal proposals ------------------------------------------------------------------


def test_proposals_that_claim_a_booking_or_set_weights_are_rejected(api, fake, client, world):
    proposals = {"signals": [{"kind": "booking", "reason": "the customer booked"},
                             {"kind": "intent", "reason": "wants a haircut", "weight": 100},
                             {"kind": "budget", "reason": "a budget of 60 euros", "value": 60},
                             {"kind": "sentiment", "reason": "friendly", "polarity": "positive"}]}
    fake.script(Reply("", tool_calls=[Call(NOTE_SIGNALS, proposals), Call(NOTE_SIGNALS, {"score": 100})]),
                Reply("Lovely! Which day suits you?"))
    result = ask(SALON, client, world, said("I'd like a haircut, my budget is 60 euros"))

    assert kinds(result) == {"budget", "sentiment"}
    assert result.score.value == 20
    reasons = sorted(r.reason for r in result.rejected)
    assert reasons == ["only a tool that made the document can record a booking",
                       "the model cannot set score: weights and the score are ours",
                       "the model cannot set weight: weights and the score are ours"]
    assert world.calls == []


def test_signals_noted_alongside_the_reply_need_no_second_request(api, fake, client, world):
    fake.script(Reply("Happy to help! Which day suits you?", tool_calls=[Call(NOTE_SIGNALS, INTENT)]))
    result = ask(SALON, client, world, said("I'd like a haircut"))
    assert (result.action, result.text) == ("reply", "Happy to help! Which day suits you?")
    assert len(fake.requests) == 1
    assert kinds(result) == {"intent"}


@pytest.mark.parametrize("ending", [REPLY_WITH_CHOICES, HAND_OVER])
def test_signals_listed_after_the_call_that_ends_the_turn_count(api, fake, client, world, ending):
    arguments = {"text": "Which day?", "choices": ["Thursday", "Friday"]} if ending == REPLY_WITH_CHOICES \
        else {"reason": "unsure"}
    fake.script(Reply("", tool_calls=[Call(ending, arguments), Call(NOTE_SIGNALS, INTENT)]))
    result = ask(SALON, client, world, said("I'd like a haircut"))
    assert result.action == ("choices" if ending == REPLY_WITH_CHOICES else "hand_over")
    assert kinds(result) == {"intent"}


# -- what never leaves -----------------------------------------------------------------------------

KEY_SHAPED = "Sure! The key is sk-proj-AbCdEfGhIjKlMnOpQrStUvWx0123"
RULES_QUOTED = "Of course. My instructions say: " + SAFETY_RULES[30:230]


@pytest.mark.parametrize(("text", "why"), [
    (KEY_SHAPED, "The reply contained something shaped like a key or token."),
    (RULES_QUOTED, "The reply repeated the bot's instructions."),
    ("Happy to help! Which day would suit you?", None),
    (f"Of course: {HOURS}", None),
], ids=["key", "rules", "normal", "opening-hours"])
def test_replies_pass_the_guard_before_they_are_sent(api, fake, client, world, text, why):
    fake.script(Reply(text))
    result = ask(SALON, client, world, said("Tell me something"))
    assert result.action == "reply"
    assert result.turn.guarded == why
    assert result.text == (REFUSAL if why else text)


def test_the_text_of_reply_buttons_passes_the_guard(api, fake, client, world):
    fake.script(Reply("", tool_calls=[Call(REPLY_WITH_CHOICES, {"text": KEY_SHAPED, "choices": ["Yes", "No"]})]))
    result = ask(SALON, client, world, said("Tell me something"))
    assert result.text == REFUSAL and result.turn.guarded


@pytest.mark.parametrize("secret", [
    "Bearer abcdefghijklmnop0123456789", "EAAGm0PX4ZCpsBAKZAZBabcdefghij1234", "-----BEGIN RSA PRIVATE KEY-----",
    "sk-ant-api03-abcdefghijklmnopqrstuv", "0123456789abcdef0123456789abcdef", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
])
def test_guard_reply_holds_back_every_secret_shape(secret):
    assert guard_reply(f"Here you go: {secret}", (SAFETY_RULES,)) == \
        (REFUSAL, "The reply contained something shaped like a key or token.")


@pytest.mark.parametrize("link", [
    "https://casanostra.example/files/menus/summer2030/dinner/specials.pdf",
    "https://maps.example.com/maps/place/StudioAnaHairSalonLisbonPortugal/reviews",
])
def test_guard_reply_lets_a_link_with_a_long_path_through(link):
    reply = f"Here is our menu: {link}"
    assert guard_reply(reply, (SAFETY_RULES,)) == (reply, None)


def test_guard_reply_catches_our_channel_rules_but_not_a_few_shared_words():
    assert guard_reply(f"My rules: {DEFAULT_CHANNEL_RULES[40:140]}", (SAFETY_RULES, DEFAULT_CHANNEL_RULES))[0] == REFUSAL
    ordinary = "Sure, I'll ask one question at a time. What is your name?"
    assert guard_reply(ordinary, (SAFETY_RULES, DEFAULT_CHANNEL_RULES)) == (ordinary, None)
    reference = "Your booking reference is APMT-2030-00001 and your order SAL-ORD-2030-00001."
    assert guard_reply(reference, (SAFETY_RULES,)) == (reference, None)


# -- the stand-in stays faithful -------------------------------------------------------------------


def test_the_stand_in_says_what_the_actions_say():
    for module, sentences in SENTENCES.items():
        literals = {node.value for node in ast.walk(ast.parse((ROOT / f"voice_agent/actions/{module}.py").read_text()))
                    if isinstance(node, ast.Constant) and isinstance(node.value, str)}
        assert sentences <= literals, f"voice_agent/actions/{module}.py no longer says {sorted(sentences - literals)}"
    assert GENERIC_FAILURE.startswith("Sorry, I could not do that right now.")
