"""The bot's answer to a conversation, from the conversation and what the bot remembers of it, without
Frappe: the glue (``voice_agent.conversations.bot``) loads a ``Memory`` and the messages, calls
``answer`` and stores what it returns; the conversation suite in CI calls the same function.

In order, for the customer's new messages (those after ``Memory.answered_upto``):

1. Signals the rules see in the new messages (contact details, a date), the language they are in.
2. Hand-over rules that need no model (the customer asks for a person in words the keyword floor
   knows, the score crossed the threshold, the bot's maximum turns): no reply is paid for that will
   not be sent.
3. Media only, which the bot cannot read: the polite answer, without the model.
4. The model's turn (``turn.run_turn``) with the profile's tools; the documents the tools made and the
   signals the model proposes (checked) join the signals.
5. The hand-over rules again, with the model's flags, the tool failures and the new score; else the
   reply.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from voice_agent.agent.tools import ToolDefinition
from voice_agent.bot.context import (
    DEFAULT_CHANNEL_RULES,
    ContextLimits,
    Message,
    PartyFacts,
    awaiting_reply,
    build_context,
    unreadable_media_reply,
)
from voice_agent.bot.handover import HandOver, HandOverConfig, HandOverState, decide, hand_over_notice
from voice_agent.bot.language import customer_language, reply_language
from voice_agent.bot.scoring import (
    Rejection,
    Score,
    Signal,
    engagement_signals,
    score,
    signals_from_model,
    signals_from_text,
    signals_from_tool,
)
from voice_agent.bot.turn import MAX_ROUNDS, ToolRunner, TurnResult, run_turn
from voice_agent.integrations.llm.base import LLMClient

Action = Literal["reply", "choices", "media_reply", "hand_over", "nothing"]


@dataclass(frozen=True)
class BotProfile:
    """What the bot is, from a Voice Agent Profile."""

    prompt: str
    tools: tuple[ToolDefinition, ...]
    handover: HandOverConfig = field(default_factory=HandOverConfig)
    weights: Mapping[str, int] | None = None
    allowed_languages: tuple[str, ...] = ()
    default_language: str = "en"
    temperature: float | None = None
    max_tokens: int = 1024
    max_rounds: int = MAX_ROUNDS
    channel_rules: str = DEFAULT_CHANNEL_RULES
    limits: ContextLimits = field(default_factory=ContextLimits)
    phone_region: str | None = None


@dataclass(frozen=True)
class Memory:
    """What the conversation keeps between turns. ``signals``: every signal but engagement (counted
    from the messages each time), oldest first. ``bot_replies``: replies since the bot took (or was
    given back) the conversation. ``answered_upto``: the ref of the last customer message answered."""

    signals: tuple[Signal, ...] = ()
    language: str | None = None
    summary: str | None = None
    bot_replies: int = 0
    tool_failures_in_a_row: int = 0
    failing_tool: str | None = None
    answered_upto: str | None = None


@dataclass(frozen=True)
class Answer:
    """``action``: what to send. ``text`` (and ``choices``) for ``reply`` / ``choices`` /
    ``media_reply``; for ``hand_over`` ``text`` is the notice and ``hand_over`` why. ``nothing``: the
    customer did not write anything new. ``score`` / ``previous_score``: after and before this turn;
    ``new_signals`` the signals this turn added (for the score's history)."""

    action: Action
    memory: Memory
    score: Score
    previous_score: int
    language: str
    text: str = ""
    choices: tuple[str, ...] = ()
    hand_over: HandOver | None = None
    new_signals: tuple[Signal, ...] = ()
    rejected: tuple[Rejection, ...] = ()
    turn: TurnResult | None = None
    answered: tuple[str, ...] = ()  # refs of the customer messages this answer covers


def answer(profile: BotProfile, memory: Memory, messages: Sequence[Message], client: LLMClient,
           run_tool: ToolRunner, *, now: datetime, party_facts: PartyFacts | None = None,
           customer_phone: str | None = None, timeout: float | None = None) -> Answer:
    """``messages``: the conversation's latest messages (any order; the window the context may show).
    Raises ``LLMError`` when no provider answered (the glue hands over)."""
    ordered = sorted(messages, key=lambda m: (m.created_at, m.ref))
    customer = [m for m in ordered if m.direction == "inbound" and m.kind not in ("reaction", "system")]
    new = _after(customer, memory.answered_upto)
    weights = profile.weights
    before = score([*memory.signals, *engagement_signals([m.ref for m in customer if m not in new])], weights)
    engagement = engagement_signals([m.ref for m in customer])
    if not new or not awaiting_reply(ordered):
        return Answer("nothing", memory, score([*memory.signals, *engagement], weights), before.value,
                      memory.language or profile.default_language)

    rule_signals = [s for m in new for s in signals_from_text(m.text or "", m.ref, customer_phone=customer_phone,
                                                              default_region=profile.phone_region)]
    detected = customer_language([m.text for m in customer if m.kind in ("text", "interactive", "button")],
                                 memory.language)
    language = reply_language(detected, profile.allowed_languages, profile.default_language)
    signals = (*memory.signals, *rule_signals)
    current = score([*signals, *engagement], weights)
    customer_text = "\n".join(m.text for m in new if m.text)
    remembered = replace(memory, signals=signals, language=detected or memory.language,
                         answered_upto=new[-1].ref)
    answered = tuple(m.ref for m in new)

    def done(action: Action, mem: Memory, result: Score, **kw: Any) -> Answer:
        added = tuple(s for s in mem.signals if s not in memory.signals)
        return Answer(action, mem, result, before.value, language, new_signals=added, answered=answered, **kw)

    early = decide(HandOverState(customer_text=customer_text, score=current.value, previous_score=before.value,
                                 bot_replies=memory.bot_replies), profile.handover)
    if early is not None:
        return done("hand_over", remembered, current, text=hand_over_notice(language), hand_over=early)

    media_reply = unreadable_media_reply(new, language)
    if media_reply:
        return done("media_reply", replace(remembered, bot_replies=memory.bot_replies + 1), current,
                    text=media_reply)

    context = build_context(profile.prompt, profile.channel_rules, party_facts, memory.summary, ordered,
                            profile.limits, language=language, now=now)
    turn = run_turn(client, context, profile.tools, run_tool, temperature=profile.temperature,
                    max_tokens=profile.max_tokens, max_rounds=profile.max_rounds, timeout=timeout)

    last_ref = new[-1].ref
    tool_signals = [s for run in turn.tool_runs for s in signals_from_tool(
        run.call.name, {"document": {"doctype": run.outcome.document[0], "name": run.outcome.document[1]}}
        if run.outcome.document else {}, last_ref)]
    proposed, rejected = signals_from_model(turn.proposals, last_ref) if turn.proposals else ([], [])
    failures, failing = memory.tool_failures_in_a_row, memory.failing_tool
    for run in turn.tool_runs:
        if run.outcome.status == "failed":
            failures, failing = failures + 1, run.call.name
        elif run.outcome.status == "success":
            failures, failing = 0, None
    signals = (*signals, *tool_signals, *proposed)
    final = score([*signals, *engagement], weights)
    remembered = replace(remembered, signals=signals, tool_failures_in_a_row=failures, failing_tool=failing)

    late = decide(HandOverState(
        customer_text=customer_text, model_customer_asked=turn.hand_over_reason == "customer_asked",
        model_unsure=turn.ending in ("unsure", "empty") or turn.hand_over_reason == "unsure",
        model_note=turn.hand_over_note, tool_failures_in_a_row=failures, failing_tool=failing,
        score=final.value, previous_score=before.value, bot_replies=memory.bot_replies), profile.handover)
    if late is not None:
        notice = hand_over_notice(language)
        # A good answer that also crossed a line (the score, the turn budget) still reaches the customer:
        # a booking's confirmation, then the notice.
        if late.reason in ("score_threshold", "max_turns") and turn.ending in ("reply", "choices") and turn.text:
            notice = f"{turn.text}\n\n{notice}"
        return done("hand_over", remembered, final, text=notice, hand_over=late, turn=turn,
                    rejected=tuple(rejected))
    return done(turn.ending if turn.ending == "choices" else "reply",
                replace(remembered, bot_replies=memory.bot_replies + 1), final,
                text=turn.text, choices=turn.choices, turn=turn, rejected=tuple(rejected))


def _after(customer: list[Message], ref: str | None) -> list[Message]:
    if ref is None:
        return customer
    index = next((i for i, m in enumerate(customer) if m.ref == ref), None)
    # The message answered last is older than the window: everything shown is newer.
    return customer if index is None else customer[index + 1:]
