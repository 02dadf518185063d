"""Rate and cost caps: may the bot reply now, or must it pause, and until when.

The glue passes the bot's recent replies (when, and what each cost) for the conversation and for the
whole WhatsApp account, and the profile's caps; ``check`` answers ``Allowed`` or ``Paused``. Caps are
rolling windows (``per``: the last minute, hour, day) or, with ``per=None``, the conversation's whole
life. A reply is allowed while the spend so far is below the cap, so one reply can overshoot a cost cap
by its own cost: what a reply will cost is only known once the model has answered.

When several caps are reached the pause reported is the one that ends last (a cap over the whole
life never ends: a person must take over or raise the cap), because the bot may reply only once every
cap allows it; ties go to the first in ``CAP_ORDER``.

Cost comes from the token ``Usage`` of each reply and a price per model. ``DEFAULT_PRICES`` are the
providers' published list prices when this was written, in USD per million tokens, as a starting point
only: prices change, and the profile's own prices (in its currency) override them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, get_args

from voice_agent.integrations.llm.base import Usage

CapName = Literal["conversation_cost", "account_cost", "conversation_rate", "account_rate"]
CAP_ORDER: tuple[CapName, ...] = get_args(CapName)


@dataclass(frozen=True)
class ModelPrice:
    """Prices per million tokens. Cached input read or written is priced apart by some providers;
    left out, it costs what other input costs."""

    input: float
    output: float
    cache_read: float | None = None
    cache_write: float | None = None

    def __post_init__(self) -> None:
        for name in ("input", "output", "cache_read", "cache_write"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)
                                      or not math.isfinite(value) or value < 0):
                raise ValueError(f"The {name} price must be a number of at least 0, not {value!r}.")


# Labelled defaults, not the truth: USD list prices per million tokens published by OpenAI and Anthropic
# in 2025. Profiles set their own.
DEFAULT_PRICES: Mapping[str, ModelPrice] = {
    "gpt-4o-mini": ModelPrice(0.15, 0.60, cache_read=0.075),
    "gpt-4o": ModelPrice(2.50, 10.00, cache_read=1.25),
    "gpt-4.1-nano": ModelPrice(0.10, 0.40, cache_read=0.025),
    "gpt-4.1-mini": ModelPrice(0.40, 1.60, cache_read=0.10),
    "gpt-4.1": ModelPrice(2.00, 8.00, cache_read=0.50),
    "claude-3-5-haiku": ModelPrice(0.80, 4.00, cache_read=0.08, cache_write=1.00),
    "claude-haiku-4-5": ModelPrice(1.00, 5.00, cache_read=0.10, cache_write=1.25),
    "claude-sonnet-4": ModelPrice(3.00, 15.00, cache_read=0.30, cache_write=3.75),
}


def price_for(model: str, prices: Mapping[str, ModelPrice] | None = None) -> ModelPrice | None:
    """The price of ``model``: from ``prices`` (the profile's), else ``DEFAULT_PRICES``; an exact name
    first, else the longest name the model's id starts with ("gpt-4o-mini-2024-07-18" is priced as
    "gpt-4o-mini", not "gpt-4o"). None when neither knows the model: its replies then cost nothing
    against the cost caps, so a profile using another model should set its price."""
    for table in (prices or {}, DEFAULT_PRICES):
        if model in table:
            return table[model]
        prefixes = [name for name in table if model.startswith(name + "-")]
        if prefixes:
            return table[max(prefixes, key=len)]
    return None


def cost(usage: Usage, price: ModelPrice) -> float:
    """What one request cost. ``usage.input_tokens`` counts every prompt token, cached ones included
    (see ``Usage``): the cached ones are taken out and priced at their own rates."""
    cached = usage.cache_read_tokens + usage.cache_write_tokens
    uncached = max(0, usage.input_tokens - cached)
    read = price.input if price.cache_read is None else price.cache_read
    write = price.input if price.cache_write is None else price.cache_write
    return (uncached * price.input + usage.cache_read_tokens * read + usage.cache_write_tokens * write
            + usage.output_tokens * price.output) / 1_000_000


@dataclass(frozen=True)
class Spend:
    """One reply the bot sent (with every model request it took, tool rounds and fallbacks included)."""

    at: datetime
    cost: float = 0.0


@dataclass(frozen=True)
class RateCap:
    """At most ``replies`` replies in any ``per``."""

    replies: int
    per: timedelta

    def __post_init__(self) -> None:
        if isinstance(self.replies, bool) or not isinstance(self.replies, int) or self.replies < 1:
            raise ValueError(f"A rate cap needs at least 1 reply, not {self.replies!r}.")
        if self.per <= timedelta(0):
            raise ValueError("A rate cap's period must be positive.")


@dataclass(frozen=True)
class CostCap:
    """At most ``amount`` spent in any ``per`` (None: over the whole conversation or account history
    passed in)."""

    amount: float
    per: timedelta | None = None

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int | float) \
                or not math.isfinite(self.amount) or self.amount <= 0:
            raise ValueError(f"A cost cap must be a positive amount, not {self.amount!r}.")
        if self.per is not None and self.per <= timedelta(0):
            raise ValueError("A cost cap's period must be positive.")


@dataclass(frozen=True)
class Caps:
    conversation_rate: tuple[RateCap, ...] = (RateCap(6, timedelta(minutes=1)), RateCap(60, timedelta(hours=1)))
    conversation_cost: CostCap | None = None
    account_rate: tuple[RateCap, ...] = ()
    account_cost: CostCap | None = None


@dataclass(frozen=True)
class Allowed:
    allowed: Literal[True] = True


@dataclass(frozen=True)
class Paused:
    """``until``: when the bot may reply again (None: not by waiting). ``cap``: the cap that holds it
    longest, a stable code for the UI."""

    cap: CapName
    detail: str
    until: datetime | None
    allowed: Literal[False] = False


Verdict = Allowed | Paused


def check(conversation: Sequence[Spend], account: Sequence[Spend], caps: Caps, now: datetime) -> Verdict:
    """Whether the bot may reply now. ``conversation`` and ``account``: the bot's replies (at least those
    within the longest period; all of them for a cap over the whole history). Times must be aware."""
    _aware(now)
    for spend in (*conversation, *account):
        _aware(spend.at)
    found: list[Paused] = []
    for cap in caps.conversation_rate:
        found += _rate("conversation_rate", "this conversation", conversation, cap, now)
    for cap in caps.account_rate:
        found += _rate("account_rate", "this WhatsApp account", account, cap, now)
    if caps.conversation_cost:
        found += _cost("conversation_cost", "this conversation", conversation, caps.conversation_cost, now)
    if caps.account_cost:
        found += _cost("account_cost", "this WhatsApp account", account, caps.account_cost, now)
    if not found:
        return Allowed()
    # The latest end wins (never = latest of all); ties: CAP_ORDER.
    return max(found, key=lambda p: (p.until is None, p.until or now, -CAP_ORDER.index(p.cap)))


def _rate(name: CapName, scope: str, spends: Sequence[Spend], cap: RateCap, now: datetime) -> list[Paused]:
    recent = sorted(s.at for s in spends if now - cap.per < s.at <= now)
    if len(recent) < cap.replies:
        return []
    # Room for one more reply once all but replies-1 of the recent ones have left the window.
    until = recent[len(recent) - cap.replies] + cap.per
    return [Paused(name, f"The bot sent {len(recent)} replies in {scope} within {_period(cap.per)} "
                         f"(at most {cap.replies}).", until)]


def _cost(name: CapName, scope: str, spends: Sequence[Spend], cap: CostCap, now: datetime) -> list[Paused]:
    window = sorted((s for s in spends if s.at <= now and (cap.per is None or now - cap.per < s.at)),
                    key=lambda s: s.at)
    spent = sum(s.cost for s in window)
    if spent < cap.amount:
        return []
    until: datetime | None = None
    if cap.per is not None:
        # The spend drops below the cap once enough of the oldest replies have left the window.
        remaining = spent
        for spend in window:
            remaining -= spend.cost
            if remaining < cap.amount:
                until = spend.at + cap.per
                break
    over = "in total" if cap.per is None else f"within {_period(cap.per)}"
    return [Paused(name, f"The bot spent {spent:.4f} in {scope} {over} (cap {cap.amount:g}).", until)]


def _period(period: timedelta) -> str:
    seconds = int(period.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}" + ("s" if count != 1 else "")
    return f"{seconds} seconds"


def _aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("Times must be timezone-aware (a naive datetime has no instant to compare).")
