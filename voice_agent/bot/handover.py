"""When the bot hands the conversation to a person, and to whom.

``decide(state, config)`` applies the rules below and returns the first that fires, as a
``HandOver(reason, detail)``: ``reason`` is a stable code the UI shows and filters on, ``detail`` an
English sentence for the conversation's history. The glue may call it before the model (the customer's
text, the turn count and the score are known then: no need to pay for a reply that will not be sent)
and again after the model and its tools (with the model's flags and the tool failures).

Precedence, highest first, and why:

1. ``customer_asked``: the customer asked for a person (the model says so, or the keyword floor
   ``asks_for_person`` matches). Their wish is the reason to show, whatever else is true.
2. ``tool_failures``: a tool failed ``tool_failure_limit`` times in a row. Something is broken, and the
   person taking over should know it before anything else.
3. ``model_unsure``: the model says it cannot help with confidence.
4. ``score_threshold``: the lead score crossed the profile's threshold during this turn (from below
   to at or above it: a conversation given back to the bot at a high score is not handed over again
   for the same score). Good news, so less urgent than the problems above.
5. ``max_turns``: the bot has already sent ``max_turns`` replies since it took the conversation. A
   budget, the last resort.

``pick_assignee`` chooses the person: the Lead owner when the profile prefers them and they are
available, else round robin among the available users.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, get_args

from voice_agent.bot.language import localized

Reason = Literal["customer_asked", "tool_failures", "model_unsure", "score_threshold", "max_turns"]
REASONS: tuple[Reason, ...] = get_args(Reason)  # in order of precedence

MAX_QUOTE = 80


@dataclass(frozen=True)
class HandOverState:
    """The conversation as the bot sees it at this turn. ``customer_text``: the customer's message(s)
    this turn answers. ``bot_replies``: replies the bot has sent since it took (or was given back) the
    conversation. ``previous_score``: the score before this turn."""

    customer_text: str = ""
    model_customer_asked: bool = False
    model_unsure: bool = False
    model_note: str = ""
    tool_failures_in_a_row: int = 0
    failing_tool: str | None = None
    score: int = 0
    previous_score: int = 0
    bot_replies: int = 0


@dataclass(frozen=True)
class HandOverConfig:
    """The profile's rules; ``None`` switches a rule off."""

    tool_failure_limit: int | None = 3
    score_threshold: int | None = None
    max_turns: int | None = None

    def __post_init__(self) -> None:
        for name in ("tool_failure_limit", "max_turns"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be a whole number of at least 1, or None, not {value!r}.")
        threshold = self.score_threshold
        if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, int)
                                      or not 1 <= threshold <= 100):
            raise ValueError(f"score_threshold must be a whole number from 1 to 100, or None, not {threshold!r}.")


@dataclass(frozen=True)
class HandOver:
    reason: Reason
    detail: str


def decide(state: HandOverState, config: HandOverConfig) -> HandOver | None:
    """The hand-over this turn calls for (the first rule that fires, in the order above), or None."""
    asked = asks_for_person(state.customer_text)
    if state.model_customer_asked or asked:
        detail = "The customer asked for a person" + (f' ("{_quote(asked)}")' if asked else "")
        return HandOver("customer_asked", detail + (f": {_quote(state.model_note)}" if state.model_note else "."))
    limit = config.tool_failure_limit
    if limit is not None and state.tool_failures_in_a_row >= limit:
        tool = state.failing_tool or "A tool"
        return HandOver("tool_failures", f"{tool} failed {state.tool_failures_in_a_row} times in a row "
                                         f"(limit {limit}).")
    if state.model_unsure:
        note = f": {_quote(state.model_note)}" if state.model_note else "."
        return HandOver("model_unsure", f"The bot was not sure how to help{note}")
    threshold = config.score_threshold
    if threshold is not None and state.previous_score < threshold <= state.score:
        return HandOver("score_threshold", f"The lead score rose from {state.previous_score} to {state.score}, "
                                           f"reaching the threshold of {threshold}.")
    if config.max_turns is not None and state.bot_replies >= config.max_turns:
        return HandOver("max_turns", f"The bot has replied {state.bot_replies} times (maximum {config.max_turns}).")
    return None


# -- the keyword floor ------------------------------------------------------------------------------

# Words that ask for a person on their own. "Mitarbeiter" praised in passing also matches: the floor
# errs towards a person, and the model's flag is the main signal.
_PERSON_WORDS = {
    "en": "human|humans|real person|live person|real human|live agent|real agent|representative",
    "de": "mensch|menschen|echte person|echten person|echter person|mitarbeiter|mitarbeiterin|mitarbeitende",
    "fr": "humain|humaine|vraie personne|personne reelle|conseiller|conseillere",
    "es": "humano|humana|persona real|agente humano",
    "it": "umano|umana|persona reale|persona vera|operatore|operatrice",
    "pt": "humano|humana|pessoa real|atendente",
    "nl": "mens|medewerker|medewerkster|echt persoon|echte persoon",
}
# Words that ask for a person only next to a verb of talking or calling ("speak to someone"), or as
# (nearly) the whole message ("agent please"): "a table for one person" asks for no one.
_PERSON_NOUNS = {
    "en": "person|someone|somebody|agent|operator|staff|employee|manager|colleague|advisor|adviser",
    "de": "person|jemand|jemandem|jemanden|kollege|kollegen|kollegin|berater|beraterin|chef|chefin|personal",
    "fr": "personne|quelqu'un|agent|operateur|operatrice|collegue|responsable",
    "es": "persona|alguien|agente|asesor|asesora|operador|operadora|encargado|encargada|responsable",
    "it": "persona|qualcuno|agente|collega|responsabile|consulente",
    "pt": "pessoa|alguem|agente|operador|operadora|colega|responsavel",
    "nl": "persoon|iemand|agent|collega|adviseur",
}
_CONTACT_VERBS = {
    "en": r"talk\w*|speak\w*|spoke|chat\w*|connect\w*|transfer\w*|contact\w*|call\w*|put me through",
    "de": r"sprechen|spreche|sprich\w*|reden|rede|verbind\w*|kontakt\w*|anruf\w*|rufen|ruft|zuruckruf\w*|"
          r"schreiben",
    "fr": r"parler|parle|parlez|joindre|contacter|contactez|appeler|appelez|appelle|passer|passez|transferer",
    "es": r"hablar|hable|hablo|habla|comunicar\w*|contactar\w*|llamar\w*|llame|llameme|pasame|paseme|atienda|"
          r"atender|atendido",
    "it": r"parlare|parlo|parli|contattare|contattar\w*|chiamare|chiamami|chiamatemi|passare|passami|passi",
    "pt": r"falar|falo|fale|conversar|contatar|contactar|ligar|ligue|ligem|atender|atendido|atendida|transferir",
    "nl": r"spreken|spreek|praten|praat|chatten|bellen|bel|belt|contact\w*|doorverbind\w*|verbinden|verbind",
}
# Words that may stand beside the noun in a message that is nothing else ("an agent, please").
_FILLER = frozenset(
    "a an the please pls plz now real live ein eine einen einem bitte jetzt un une svp stp plait s'il vous "
    "una por favor favore per il lo la uma um o een graag alstublieft aub".split())

_STRONG = re.compile(r"\b(?:" + "|".join(_PERSON_WORDS.values()) + r")\b")
_NOUN = re.compile(r"\b(?:" + "|".join(_PERSON_NOUNS.values()) + r")\b")
_VERB = re.compile(r"\b(?:" + "|".join(_CONTACT_VERBS.values()) + r")\b")
_WORD = re.compile(r"[\w']+")


def asks_for_person(text: str) -> str | None:
    """The words with which the customer asks for a person, or None: a small multilingual floor
    (en, de, fr, es, it, pt, nl) under the model's own judgement, matched without case or accents."""
    folded = _fold(text)
    strong = _STRONG.search(folded)
    if strong:
        return strong.group(0)
    noun = _NOUN.search(folded)
    if noun is None:
        return None
    verb = _VERB.search(folded)
    if verb:
        return f"{verb.group(0)} ... {noun.group(0)}" if verb.start() < noun.start() else \
            f"{noun.group(0)} ... {verb.group(0)}"
    words = [w for w in _WORD.findall(folded) if w not in _FILLER]
    if words and all(_NOUN.fullmatch(w) for w in words):
        return noun.group(0)
    return None


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold().replace("\u2019", "'"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _quote(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= MAX_QUOTE else flat[:MAX_QUOTE - 1].rstrip() + "\u2026"


# -- what the customer is told ----------------------------------------------------------------------

HAND_OVER_NOTICES: Mapping[str, str] = {
    "en": "I'm passing you to a colleague, who will reply here as soon as possible.",
    "de": "Ich leite Sie an ein Teammitglied weiter, das Ihnen hier so bald wie möglich antwortet.",
    "fr": "Je vous transmets à un collègue, qui vous répondra ici dès que possible.",
    "es": "Le paso con un compañero, que le responderá aquí lo antes posible.",
    "it": "La passo a un collega, che le risponderà qui il prima possibile.",
    "pt": "Vou passar a conversa a um colega, que responderá aqui o mais breve possível.",
    "nl": "Ik geef u door aan een collega, die u hier zo snel mogelijk antwoordt.",
}


def hand_over_notice(language: str | None) -> str:
    """What the bot says as it hands over, in the customer's language (English when it has none)."""
    return localized(HAND_OVER_NOTICES, language)


# -- who takes over ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Assignee:
    user: str
    via: Literal["lead_owner", "round_robin"]


def pick_assignee(candidates: Iterable[str], last_assigned: str | None, lead_owner: str | None = None,
                  prefer_lead_owner: bool = False) -> Assignee | None:
    """The person to assign. ``candidates``: the account's users available now (any order).

    - ``prefer_lead_owner`` and the Lead owner is among them: the Lead owner.
    - Otherwise round robin: the first candidate after ``last_assigned`` in sorted order, wrapping
      around. Ordering by name rather than by position keeps the turn fair when users come and go:
      when ``last_assigned`` is no longer available the next name after theirs is still next.
    - No candidate: None (the glue leaves the conversation unassigned and tells the managers).

    The same inputs always give the same person."""
    available = sorted({c for c in candidates if c})
    if not available:
        return None
    if prefer_lead_owner and lead_owner is not None and lead_owner in available:
        return Assignee(lead_owner, "lead_owner")
    if last_assigned is None:
        return Assignee(available[0], "round_robin")
    following = next((user for user in available if user > last_assigned), available[0])
    return Assignee(following, "round_robin")
