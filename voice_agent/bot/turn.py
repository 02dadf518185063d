"""One turn of the bot: ask the model, run the tools it calls (several rounds, bounded), and end with what
to send — a reply, a reply with buttons, or a hand-over — without Frappe.

The model gets the profile's business tools (the same definitions, arguments and code as the voice
agent's: ``run_tool`` is the glue's ``actions.runner.call_tool``) and three of ours, which act only on
the turn itself:

- ``note_lead_signals``: what the customer's messages show about their interest. Only proposals:
  ``scoring.signals_from_model`` checks them and our code computes the score.
- ``hand_over_to_person``: the customer asks for a person, or the model is unsure. Ends the turn; the
  glue sends the hand-over notice in the customer's language (the model's own words are not sent).
- ``reply_with_choices``: the reply, with up to three buttons. Ends the turn.

A turn that does not settle in ``max_rounds`` model calls ends as "unsure": the model was going round in
circles, and a person is better placed. Provider failures are raised (``LLMError``) for the glue to
decide; a ``FallbackClient`` has already tried the fallback provider.

The reply passes ``guard_reply`` before it is sent: a reply that quotes our rules or carries
something shaped like a secret is not sent as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from voice_agent.agent.tools import ToolDefinition, ToolOutcome
from voice_agent.bot.context import DEFAULT_CHANNEL_RULES, SAFETY_RULES, Context
from voice_agent.bot.scoring import SIGNAL_PROPOSALS_SCHEMA
from voice_agent.integrations.llm.base import ChatReply, LLMClient, ToolCall, ToolResultTurn, Turn, Usage

NOTE_SIGNALS = "note_lead_signals"
HAND_OVER = "hand_over_to_person"
REPLY_WITH_CHOICES = "reply_with_choices"
CHOICES_MAX = 3
CHOICE_TITLE_MAX = 20  # WhatsApp's reply button title
CHOICES_TEXT_MAX = 1024  # WhatsApp's interactive body
TEXT_MAX = 4096  # WhatsApp's text body
MAX_ROUNDS = 4

CONTROL_TOOLS: tuple[ToolDefinition, ...] = (
    ToolDefinition(
        NOTE_SIGNALS,
        "Record what the customer's latest messages show about their interest in buying: intent, a budget, "
        "a quantity, a date, contact details, their mood. Call it alongside your reply whenever one shows; "
        "it is not shown to the customer.",
        SIGNAL_PROPOSALS_SCHEMA,
        (),
    ),
    ToolDefinition(
        HAND_OVER,
        "Hand the conversation to a colleague. Call it when the customer asks for a person, or when you "
        "cannot help them with confidence. The customer is told that a colleague takes over.",
        {"type": "object", "additionalProperties": False, "required": ["reason"],
         "properties": {"reason": {"type": "string", "enum": ["customer_asked", "unsure"]},
                        "note": {"type": "string", "maxLength": 300,
                                 "description": "For the colleague: what the customer needs, in one sentence."}}},
        (),
    ),
    ToolDefinition(
        REPLY_WITH_CHOICES,
        "Send your reply with buttons the customer can tap, when they should choose between two or three "
        "short options (for example free time slots). Use it instead of a plain reply.",
        {"type": "object", "additionalProperties": False, "required": ["text", "choices"],
         "properties": {"text": {"type": "string", "minLength": 1, "maxLength": CHOICES_TEXT_MAX},
                        "choices": {"type": "array", "minItems": 1, "maxItems": CHOICES_MAX,
                                    "items": {"type": "string", "minLength": 1, "maxLength": CHOICE_TITLE_MAX}}}},
        (),
    ),
)
CONTROL_NAMES = frozenset(t.name for t in CONTROL_TOOLS)

ToolRunner = Callable[[str, dict[str, Any]], ToolOutcome]


@dataclass(frozen=True)
class ToolRun:
    call: ToolCall
    outcome: ToolOutcome


Ending = Literal["reply", "choices", "hand_over", "unsure", "empty"]


@dataclass
class TurnResult:
    """``ending``: ``reply`` (send ``text``), ``choices`` (send ``text`` with ``choices`` as buttons),
    ``hand_over`` (the model called ``hand_over_to_person``: ``hand_over_reason`` is ``customer_asked``
    or ``unsure``, ``hand_over_note`` its note), ``unsure`` (no settled answer: the rounds ran out or the
    answer was cut off), ``empty`` (the model answered nothing)."""

    ending: Ending = "empty"
    text: str = ""
    choices: tuple[str, ...] = ()
    hand_over_reason: str | None = None
    hand_over_note: str = ""
    tool_runs: list[ToolRun] = field(default_factory=list)
    proposals: list[Any] = field(default_factory=list)
    replies: list[ChatReply] = field(default_factory=list)
    guarded: str | None = None  # why guard_reply replaced the reply

    @property
    def usage(self) -> Usage:
        total = Usage()
        for reply in self.replies:
            total = total + reply.usage
        return total

    @property
    def model_ms(self) -> float:
        return sum(reply.duration_ms for reply in self.replies)

    @property
    def rounds(self) -> int:
        return len(self.replies)


def offered(business_tools: Sequence[ToolDefinition]) -> list[ToolDefinition]:
    return [*business_tools, *CONTROL_TOOLS]


def run_turn(client: LLMClient, context: Context, business_tools: Sequence[ToolDefinition], run_tool: ToolRunner,
             *, temperature: float | None = None, max_tokens: int = 1024, max_rounds: int = MAX_ROUNDS,
             timeout: float | None = None) -> TurnResult:
    if max_rounds < 1:
        raise ValueError("max_rounds must be at least 1.")
    tools = offered(business_tools)
    business = {t.name for t in business_tools}
    turns: list[Turn] = list(context.turns)
    # Our hidden rules, never to be quoted. Not the profile's prompt: it holds what the business wants
    # customers told (opening hours, prices), which the model may well repeat word for word.
    ours = (SAFETY_RULES, DEFAULT_CHANNEL_RULES)
    result = TurnResult()
    for _ in range(max_rounds):
        reply = client.chat(context.system, turns, tools, temperature=temperature, max_tokens=max_tokens,
                            timeout=timeout)
        result.replies.append(reply)
        if reply.stop_reason == "max_tokens":
            # Cut off: its tool calls may be truncated and its text unfinished.
            result.ending = "unsure"
            return result
        if not reply.tool_calls:
            _settle_text(result, reply.text, ours)
            return result
        turns.append(reply.as_turn())
        # Proposals first: a model may list them after the call that ends the turn.
        for call in reply.tool_calls:
            if call.ok and call.name == NOTE_SIGNALS:
                signals = call.arguments.get("signals")
                result.proposals.extend(signals if isinstance(signals, list) else [call.arguments])
        for call in reply.tool_calls:
            if not call.ok:
                turns.append(call.error_result())
            elif call.name == NOTE_SIGNALS:
                turns.append(ToolResultTurn(call.id, call.name, "Noted."))
            elif call.name == HAND_OVER:
                reason = call.arguments.get("reason")
                result.ending = "hand_over"
                result.hand_over_reason = reason if reason in ("customer_asked", "unsure") else "unsure"
                note = call.arguments.get("note")
                result.hand_over_note = note[:300] if isinstance(note, str) else ""
                return result
            elif call.name == REPLY_WITH_CHOICES:
                choices = _choices(call.arguments)
                if choices is None:
                    turns.append(ToolResultTurn(call.id, call.name, (
                        f"Give a text and one to {CHOICES_MAX} choices of at most {CHOICE_TITLE_MAX} characters "
                        "each, all different."), is_error=True))
                    continue
                _settle_text(result, str(call.arguments["text"]), ours)
                if result.ending == "reply" and not result.guarded:
                    result.ending, result.choices = "choices", choices
                return result
            elif call.name in business:
                outcome = run_tool(call.name, call.arguments)
                result.tool_runs.append(ToolRun(call, outcome))
                turns.append(ToolResultTurn(call.id, call.name, outcome.reply, is_error=outcome.status != "success"))
            else:
                turns.append(ToolResultTurn(call.id, call.name, "There is no tool of that name.", is_error=True))
        if reply.text.strip() and all(call.name == NOTE_SIGNALS for call in reply.tool_calls):
            # The reply with its signals noted alongside, as the tool asks: asking again would pay for a
            # second answer, and a model that has said its piece often answers the "Noted." with nothing.
            _settle_text(result, reply.text, ours)
            return result
    result.ending = "unsure"
    return result


def _settle_text(result: TurnResult, text: str, guard_texts: Sequence[str]) -> None:
    text = text.strip()
    if not text:
        result.ending = "empty"
        return
    safe, why = guard_reply(text, guard_texts)
    result.ending, result.text, result.guarded = "reply", safe[:TEXT_MAX], why


def _choices(arguments: dict[str, Any]) -> tuple[str, ...] | None:
    text, raw = arguments.get("text"), arguments.get("choices")
    if not isinstance(text, str) or not text.strip() or len(text) > CHOICES_TEXT_MAX or not isinstance(raw, list):
        return None
    choices = tuple(c.strip() for c in raw if isinstance(c, str))
    if not 1 <= len(choices) <= CHOICES_MAX or len(choices) != len(raw) \
            or any(not c or len(c) > CHOICE_TITLE_MAX for c in choices) \
            or len({c.casefold() for c in choices}) != len(choices):
        return None
    return choices


# -- what never leaves ----------------------------------------------------------------------------

# Shapes of credentials: provider keys (OpenAI sk-, Anthropic sk-ant-), Meta access tokens (EAA...),
# bearer tokens, private keys, and long hex or base64 runs such as secrets and hashes.
_SECRET_SHAPES = re.compile(
    r"(?:\bsk-(?:ant-)?[A-Za-z0-9_-]{16,}|\bEAA[A-Za-z0-9]{20,}|\bBearer\s+[A-Za-z0-9._~+/-]{16,}"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----|\b[0-9a-fA-F]{32,}\b)")
# A base64 run counts only with digits, lower and upper case letters, as random bytes almost always
# have: a link's long path ("example/files/menus/summer2030/dinner/specials") is letters and slashes too.
_BASE64_RUN = re.compile(r"\b[A-Za-z0-9+/]{40,}={0,2}")
QUOTE_WINDOW = 60  # characters of our instructions a reply may not repeat verbatim
REFUSAL = "Sorry, I can't share that. How else can I help you?"


def guard_reply(text: str, our_texts: Sequence[str]) -> tuple[str, str | None]:
    """``(text, None)`` when the reply may be sent; else a safe sentence and why the reply was held
    back (for the conversation's history, never for the customer)."""
    if _SECRET_SHAPES.search(text) or any(_mixed(run.group(0)) for run in _BASE64_RUN.finditer(text)):
        return REFUSAL, "The reply contained something shaped like a key or token."
    folded = _fold(text)
    for ours in our_texts:
        if _quotes(folded, _fold(ours)):
            return REFUSAL, "The reply repeated the bot's instructions."
    return text, None


def _mixed(run: str) -> bool:
    return any(c.isdigit() for c in run) and any(c.islower() for c in run) and any(c.isupper() for c in run)


def _fold(text: str) -> str:
    return " ".join(text.lower().split())


def _quotes(reply: str, ours: str) -> bool:
    if len(ours) < QUOTE_WINDOW or len(reply) < QUOTE_WINDOW:
        return False
    # Any window of our text found in the reply; stepping by half a window finds every quote at least
    # a window and a half long, at a cost linear in our text's length.
    step = QUOTE_WINDOW // 2
    return any(ours[i:i + QUOTE_WINDOW] in reply for i in range(0, len(ours) - QUOTE_WINDOW + 1, step))
