"""Explainable lead scoring: a score from 0 to 100 computed by our code from observed signals.

A ``Signal`` is something that happened in the conversation: the customer said what they want, gave a
budget, a quantity, a date or their contact details, a tool booked or ordered something, and so on.
Signals come from three sources, each with its own entry point:

- ``"rule"``: ``signals_from_text`` (an email address, another phone number, a date or a time in the
  customer's text; no model needed) and ``engagement_signals`` (one per customer message after the first);
- ``"tool"``: ``signals_from_tool`` (a document a tool made: a booking, an order, a ticket);
- ``"model"``: ``signals_from_model`` validates what the model proposes. The model names a kind and a
  reason, nothing else: it cannot set a weight or a score, and it cannot claim a booking, an order or a
  ticket (only a tool that made one can).

``score(signals, weights)`` turns the conversation's signals into a ``Score`` whose contributions
explain every point. A signal carries no weight of its own: the weights are applied when scoring, so
a profile that changes its weights re-scores the whole history the same way. How signals count:

- Each kind counts once, for its *first* signal: the message that first showed a budget is the one
  shown, and saying it again changes nothing (repeats are listed as ignored, with the reason).
- Sentiment counts its *latest* signal, with its sign: it is the customer's mood now, and an angry
  customer who has been helped is no longer angry.
- Engagement counts one weight per customer message after the first, up to ``engagement_cap`` messages.
- The score is the sum of the contributions, clamped to 0..100.

Default weights, and why (``DEFAULT_WEIGHTS``; a profile overrides any of them, 0..100 each):

==================  ====  ===========================================================================
intent              15    the customer says what they want (to buy, to book, a price for something)
budget              15    a budget is the strongest verbal buying signal
quantity            10    how many, how much
date                10    a date or time for the visit or delivery
contact             10    an email address or another phone number (their WhatsApp number is known)
booking             25    a tool booked an appointment: the lead converted
order               25    a tool placed an order: the lead converted
support_ticket       0    a support ticket is service, not a buying signal; it is still shown (+0) so
                          the history says it happened, and a profile that sells upgrades may weigh it
engagement           2    per customer message after the first, at most 5 messages (+10)
sentiment            5    positive adds, negative subtracts
==================  ====  ===========================================================================

With these weights a customer who books after a few messages ("a haircut tomorrow at 10", gives an
email) scores about 15 + 10 + 10 + 25 + 2 x 3 = 66; all signals together add up to 125 and clamp to 100.

Reasons may quote the customer or the model: the UI shows them as text, never as HTML.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, get_args

import phonenumbers

from voice_agent.messaging.phones import same_number

SignalKind = Literal["intent", "budget", "quantity", "date", "contact", "booking", "order", "support_ticket",
                     "engagement", "sentiment"]
Source = Literal["model", "tool", "rule"]

KINDS: tuple[SignalKind, ...] = get_args(SignalKind)
SOURCES: tuple[Source, ...] = get_args(Source)

DEFAULT_WEIGHTS: Mapping[SignalKind, int] = {
    "intent": 15,
    "budget": 15,
    "quantity": 10,
    "date": 10,
    "contact": 10,
    "booking": 25,
    "order": 25,
    "support_ticket": 0,
    "engagement": 2,
    "sentiment": 5,
}
ENGAGEMENT_CAP = 5
MAX_SCORE = 100

LABELS: Mapping[SignalKind, str] = {
    "intent": "Intent expressed",
    "budget": "Budget given",
    "quantity": "Quantity given",
    "date": "Date or time given",
    "contact": "Contact details given",
    "booking": "Booking made",
    "order": "Order placed",
    "support_ticket": "Support ticket opened",
    "engagement": "Engagement",
    "sentiment": "Sentiment",
}

# What a document made by a tool says about the lead (tool names: voice_agent.agent.tools.TOOLS).
TOOL_KINDS: Mapping[str, SignalKind] = {
    "book_appointment": "booking",
    "place_restaurant_order": "order",
    "create_support_ticket": "support_ticket",
}

# The kinds the model may propose. Bookings, orders and tickets are facts only a tool that made the
# document can state; engagement is counted from the messages.
MODEL_KINDS: tuple[SignalKind, ...] = ("intent", "budget", "quantity", "date", "contact", "sentiment")
MAX_PROPOSALS = 10
MAX_REASON_CHARS = 500
MAX_BUDGET = 1_000_000_000
MAX_QUANTITY = 100_000
_PROPOSAL_KEYS = frozenset({"kind", "reason", "polarity", "value"})
_SCORE_KEYS = frozenset({"weight", "weights", "score", "points"})

# The shape of one proposal, for the model (a tool's parameters or a structured answer); the checks of
# ``signals_from_model`` are the same, with reasons the history can show.
SIGNAL_PROPOSAL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["kind", "reason"],
    "properties": {
        "kind": {"type": "string", "enum": list(MODEL_KINDS)},
        "reason": {"type": "string", "minLength": 1, "maxLength": MAX_REASON_CHARS,
                   "description": "What the customer said that shows it, in a few words."},
        "polarity": {"type": "string", "enum": ["positive", "negative"],
                     "description": "Only for kind sentiment, and required there."},
        "value": {"type": ["number", "string"],
                  "description": "Optional: the budget or quantity (a number), or the date (YYYY-MM-DD)."},
    },
}
SIGNAL_PROPOSALS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["signals"],
    "properties": {"signals": {"type": "array", "maxItems": MAX_PROPOSALS, "items": SIGNAL_PROPOSAL_SCHEMA}},
}


@dataclass(frozen=True)
class Signal:
    """One observation. ``polarity`` is -1 only for a negative sentiment; ``value`` is the evidence
    worth showing (a budget, a quantity, a date), as text."""

    kind: SignalKind
    source: Source
    reason: str
    message_ref: str | None = None
    polarity: Literal[1, -1] = 1
    value: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Unknown signal kind {self.kind!r} (known: {', '.join(KINDS)}).")
        if self.source not in SOURCES:
            raise ValueError(f"Unknown signal source {self.source!r} (known: {', '.join(SOURCES)}).")
        if self.polarity not in (1, -1) or (self.polarity == -1 and self.kind != "sentiment"):
            raise ValueError(f"A {self.kind} signal cannot have polarity {self.polarity!r}; only a sentiment "
                             "may be negative.")
        if not isinstance(self.reason, str) or not self.reason.strip():
            raise ValueError("A signal needs a reason.")

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "source": self.source, "reason": self.reason, "message_ref": self.message_ref,
                "polarity": self.polarity, "value": self.value}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Signal:
        """A signal stored with ``as_dict`` (our own record, not a model's proposal)."""
        return cls(kind=data["kind"], source=data["source"], reason=data["reason"],
                   message_ref=data.get("message_ref"), polarity=data.get("polarity", 1), value=data.get("value"))


@dataclass(frozen=True)
class Contribution:
    """The points one kind added (negative for a negative sentiment) and the signals that earned them."""

    kind: SignalKind
    points: int
    weight: int
    signals: tuple[Signal, ...]
    explanation: str


@dataclass(frozen=True)
class Ignored:
    signal: Signal
    why: str


@dataclass(frozen=True)
class Score:
    """``value`` is ``total`` clamped to 0..100; ``total`` is the sum of the contributions' points."""

    value: int
    total: int
    contributions: tuple[Contribution, ...]
    ignored: tuple[Ignored, ...] = ()

    @property
    def clamped(self) -> bool:
        return self.value != self.total

    def explanation(self) -> list[str]:
        lines = [c.explanation for c in self.contributions]
        if self.clamped:
            lines.append(f"Total {self.total:+d}, kept within 0..{MAX_SCORE}: {self.value}")
        return lines

    def as_dict(self) -> dict[str, Any]:
        return {
            "value": self.value, "total": self.total,
            "contributions": [{"kind": c.kind, "points": c.points, "weight": c.weight,
                               "explanation": c.explanation, "signals": [s.as_dict() for s in c.signals]}
                              for c in self.contributions],
            "ignored": [{"why": i.why, "signal": i.signal.as_dict()} for i in self.ignored],
        }


@dataclass(frozen=True)
class Rejection:
    """A proposal of the model that was dropped, and why (kept for the history, never scored)."""

    proposal: Any
    reason: str


def resolve_weights(overrides: Mapping[str, Any] | None = None) -> dict[SignalKind, int]:
    """The default weights with a profile's overrides; ``ValueError`` names a bad one (for the
    profile's validation)."""
    weights: dict[SignalKind, int] = dict(DEFAULT_WEIGHTS)
    for kind, weight in (overrides or {}).items():
        if kind not in KINDS:
            raise ValueError(f"Unknown signal kind {kind!r} in the weights (known: {', '.join(KINDS)}).")
        if isinstance(weight, bool) or not isinstance(weight, int) or not 0 <= weight <= MAX_SCORE:
            raise ValueError(f"The weight of {kind} must be a whole number from 0 to {MAX_SCORE}, not {weight!r}.")
        weights[kind] = weight
    return weights


def score(signals: Iterable[Signal], weights: Mapping[str, Any] | None = None, *,
          engagement_cap: int = ENGAGEMENT_CAP) -> Score:
    """The score of a conversation from its signals, oldest first. ``weights`` overrides
    ``DEFAULT_WEIGHTS`` (see ``resolve_weights``)."""
    if engagement_cap < 0:
        raise ValueError("The engagement cap cannot be negative.")
    resolved = resolve_weights(weights)
    counted: dict[SignalKind, list[Signal]] = {}
    ignored: list[Ignored] = []
    engaged_messages: set[str | None] = set()
    for signal in signals:
        kept = counted.setdefault(signal.kind, [])
        if signal.kind == "sentiment":
            if kept:
                ignored.append(Ignored(kept.pop(), "a later sentiment replaces it"))
            kept.append(signal)
        elif signal.kind == "engagement":
            if signal.message_ref in engaged_messages:
                ignored.append(Ignored(signal, "this message was already counted"))
            elif len(kept) >= engagement_cap:
                ignored.append(Ignored(signal, f"engagement counts at most {engagement_cap} messages"))
            else:
                engaged_messages.add(signal.message_ref)
                kept.append(signal)
        elif kept:
            ignored.append(Ignored(signal, f"{LABELS[signal.kind].lower()} already counted"))
        else:
            kept.append(signal)
    contributions = tuple(_contribution(kind, counted[kind], resolved[kind])
                          for kind in KINDS if counted.get(kind))
    total = sum(c.points for c in contributions)
    return Score(max(0, min(MAX_SCORE, total)), total, contributions, tuple(ignored))


def _contribution(kind: SignalKind, signals: list[Signal], weight: int) -> Contribution:
    if kind == "engagement":
        points = weight * len(signals)
        explanation = (f"{LABELS[kind]} {points:+d}: {len(signals)} message(s) after the first "
                       f"x {weight}")
        return Contribution(kind, points, weight, tuple(signals), explanation)
    signal = signals[0]
    points = weight * signal.polarity
    label = LABELS[kind] if kind != "sentiment" else ("Positive sentiment" if points >= 0 else "Negative sentiment")
    evidence = f"{signal.reason} ({signal.value})" if signal.value else signal.reason
    explanation = f"{label} {points:+d}: {evidence} [{signal.source}]"
    if kind == "support_ticket" and weight == 0:
        explanation += " - not a buying signal"
    return Contribution(kind, points, weight, (signal,), explanation)


# -- signals from tools -----------------------------------------------------------------------------

def signals_from_tool(tool_name: str, outcome: Mapping[str, Any], message_ref: str | None = None) -> list[Signal]:
    """The signal of a tool call's outcome (``voice_agent.actions.runner.run_tool``'s answer): a
    booking, an order or a ticket when the tool made a document, nothing when it refused, failed or
    only repeated an earlier answer (that one was counted when it made the document)."""
    kind = TOOL_KINDS.get(tool_name)
    document = outcome.get("document") if isinstance(outcome, Mapping) else None
    if kind is None or not isinstance(document, Mapping):
        return []
    doctype, name = document.get("doctype"), document.get("name")
    if not (isinstance(doctype, str) and doctype and isinstance(name, str) and name):
        return []
    return [Signal(kind, "tool", f"{doctype} {name} made by {tool_name}", message_ref)]


def engagement_signals(customer_message_refs: Sequence[str]) -> list[Signal]:
    """One engagement signal per customer message after the first (refs oldest first)."""
    return [Signal("engagement", "rule", f"customer message {index}", ref)
            for index, ref in enumerate(customer_message_refs, start=1) if index > 1]


# -- signals from the text (rules) ------------------------------------------------------------------

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}(?![\w-])", re.IGNORECASE)
# Dates and times written with digits read the same in every language; fractions ("1/2"), decimals
# ("1.5") and prices ("12.50") do not count: a date needs its year or, written with dots, its final dot.
_NUMERIC_DATE_TIME = re.compile(
    r"(?<![\d.:/])(?:"
    r"\d{4}-\d{1,2}-\d{1,2}"  # 2030-05-01
    r"|\d{1,2}[./-]\d{1,2}[./-](?:\d{4}|\d{2})"  # 1.5.2030, 01/05/30
    r"|(?:0?[1-9]|[12]\d|3[01])\.(?:0?[1-9]|1[0-2])\.(?!\d)"  # 1.5.
    r"|(?:[01]?\d|2[0-3])(?::|h)[0-5]\d"  # 10:30, 10h30
    r"|(?:[01]?\d|2[0-3]) ?(?:h|uhr|uur)(?![a-z])"  # 10h, 10 Uhr, 10 uur
    r"|(?:1[0-2]|0?[1-9]) ?(?:am|pm|a\.m\.|p\.m\.)(?![a-z])"  # 10am, 3 p.m.
    r")(?![\d/])",
    re.IGNORECASE,
)
# Days named in words, in the languages the bot meets most (matched without accents, lower case).
_DAY_WORDS = {
    "en": "today tomorrow tonight monday tuesday wednesday thursday friday saturday sunday",
    "de": "heute morgen ubermorgen montag dienstag mittwoch donnerstag freitag samstag sonnabend sonntag",
    "fr": "aujourd'hui demain apres-demain lundi mardi mercredi jeudi vendredi samedi dimanche",
    "es": "hoy manana pasado lunes martes miercoles jueves viernes sabado domingo",
    "it": "oggi domani dopodomani lunedi martedi mercoledi giovedi venerdi sabato domenica",
    "pt": "hoje amanha segunda-feira terca-feira quarta-feira quinta-feira sexta-feira sabado domingo",
    "nl": "vandaag morgen overmorgen maandag dinsdag woensdag donderdag vrijdag zaterdag zondag",
}
# Words from the lists that are dates only with a neighbour: "pasado manana", not "pasado" alone.
_NOT_ALONE = frozenset({"pasado"})
# Greetings that contain a day word but name no day.
_GREETINGS = re.compile(r"\b(?:guten|gute|goede|schonen|schoenen)\s+morgen\b")
_WORD = re.compile(r"[\w'-]+")
_DAY_WORD_SET = frozenset(word for words in _DAY_WORDS.values() for word in words.split())


def signals_from_text(text: str, message_ref: str | None = None, *, customer_phone: str | None = None,
                      default_region: str | None = None) -> list[Signal]:
    """Signals a customer message shows without any model: contact details (an email address, or a
    phone number other than ``customer_phone``, the number they write from) and a date or time
    (written with digits, or a day named in en/de/fr/es/it/pt/nl). ``default_region`` (ISO country)
    lets numbers written without ``+`` be read. At most one signal of each kind."""
    signals: list[Signal] = []
    if _EMAIL.search(text):
        signals.append(Signal("contact", "rule", "an email address in the message", message_ref))
    elif _other_phone(text, customer_phone, default_region):
        signals.append(Signal("contact", "rule", "another phone number in the message", message_ref))
    when = _date_or_time(text)
    if when:
        signals.append(Signal("date", "rule", "a date or time in the message", message_ref, value=when))
    return signals


def _other_phone(text: str, customer_phone: str | None, region: str | None) -> bool:
    for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
        e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
        if not customer_phone or not same_number(e164, customer_phone, region):
            return True
    return False


def _date_or_time(text: str) -> str | None:
    numeric = _NUMERIC_DATE_TIME.search(text)
    if numeric:
        return numeric.group(0)
    folded = _GREETINGS.sub(" ", _fold(text))
    words: list[str] = _WORD.findall(folded)
    for index, word in enumerate(words):
        if word in _DAY_WORD_SET and word not in _NOT_ALONE:
            return word
        if word in _NOT_ALONE and index + 1 < len(words) and words[index + 1] in _DAY_WORD_SET:
            return f"{word} {words[index + 1]}"
    return None


def _fold(text: str) -> str:
    """Lower case without accents: "Mañana" -> "manana", "übermorgen" -> "ubermorgen"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).replace("\u2019", "'")


# -- signals proposed by the model ------------------------------------------------------------------

def signals_from_model(proposed: Any, message_ref: str | None) -> tuple[list[Signal], list[Rejection]]:
    """The model's proposals for the customer message ``message_ref`` (a list of objects shaped like
    ``SIGNAL_PROPOSAL_SCHEMA``), checked: accepted signals, and every dropped proposal with its reason.
    Nothing the model says sets a weight or the score."""
    if not isinstance(proposed, list):
        return [], [Rejection(proposed, f"signals must be a list, not {type(proposed).__name__}")]
    accepted: list[Signal] = []
    rejected: list[Rejection] = []
    for index, proposal in enumerate(proposed):
        if index >= MAX_PROPOSALS:
            rejected.append(Rejection(proposal, f"more than {MAX_PROPOSALS} signals for one message"))
            continue
        signal_or_reason = _proposal_signal(proposal, message_ref)
        if isinstance(signal_or_reason, Signal):
            accepted.append(signal_or_reason)
        else:
            rejected.append(Rejection(proposal, signal_or_reason))
    return accepted, rejected


def _proposal_signal(proposal: Any, message_ref: str | None) -> Signal | str:
    if not isinstance(proposal, Mapping):
        return f"a signal must be an object, not {type(proposal).__name__}"
    keys = set(proposal)
    if keys & _SCORE_KEYS:
        return f"the model cannot set {', '.join(sorted(keys & _SCORE_KEYS))}: weights and the score are ours"
    if keys - _PROPOSAL_KEYS:
        return f"unknown field(s) {', '.join(sorted(map(str, keys - _PROPOSAL_KEYS)))}"
    kind = proposal.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        return f"unknown kind {kind!r}"
    if kind not in MODEL_KINDS:
        return (f"{kind} is counted by our code, not proposed" if kind == "engagement"
                else f"only a tool that made the document can record a {kind.replace('_', ' ')}")
    reason = proposal.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        return "a signal needs a reason"
    if len(reason) > MAX_REASON_CHARS:
        return f"the reason is longer than {MAX_REASON_CHARS} characters"
    polarity = proposal.get("polarity")
    if kind == "sentiment":
        if polarity not in ("positive", "negative"):
            return "a sentiment needs polarity 'positive' or 'negative'"
    elif polarity is not None:
        return f"only a sentiment has a polarity, not {kind}"
    value = _proposal_value(kind, proposal.get("value")) if "value" in proposal else None
    if isinstance(value, _Invalid):
        return value.reason
    return Signal(kind, "model", " ".join(reason.split()), message_ref,
                  polarity=-1 if polarity == "negative" else 1, value=value)


@dataclass(frozen=True)
class _Invalid:
    reason: str


def _proposal_value(kind: str, value: Any) -> str | None | _Invalid:
    if value is None:
        return None
    if kind in ("budget", "quantity"):
        limit = MAX_BUDGET if kind == "budget" else MAX_QUANTITY
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            return _Invalid(f"the {kind} must be a number, not {value!r}")
        if not 0 < value <= limit:
            return _Invalid(f"a {kind} of {value!r} is not plausible (above 0, at most {limit:,})")
        return f"{value:g}" if isinstance(value, float) else str(value)
    if kind == "date":
        if not isinstance(value, str):
            return _Invalid(f"the date must be text (YYYY-MM-DD), not {value!r}")
        try:
            when = datetime.fromisoformat(value.strip()).date() if "T" in value else date.fromisoformat(value.strip())
        except ValueError:
            return _Invalid(f"{value!r} is not a date (YYYY-MM-DD)")
        if not 2000 <= when.year <= 2100:
            return _Invalid(f"{value!r} is not a plausible date")
        return when.isoformat()
    return _Invalid(f"a {kind} signal takes no value")
