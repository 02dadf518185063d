"""The script of the fake LLM: the steps a test queues (a reply, an error, a hang...) and the
provider-neutral view of a request that responders and assertions read."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Union

APIS = ("openai", "azure", "anthropic")

# What a Fail step can reproduce; each API renders it in its own documented shape (see _openai.py,
# _anthropic.py).
FAIL_KINDS = ("rate_limit", "quota", "overloaded", "server", "unavailable", "auth", "bad_request", "not_found",
              "context_length")
# Variants of "quota" on Anthropic: the usage tier's monthly cap (429 + details.error_code), a spend
# limit the organization or workspace set (400), an empty prepaid balance (400), billing (402).
QUOTA_VARIANTS = ("tier_cap", "workspace", "credit", "billing")


@dataclass(frozen=True)
class Call:
    """A tool call in a scripted reply. ``arguments`` as a string is sent verbatim (OpenAI sends
    arguments as a JSON string), so a test can script malformed JSON."""

    name: str
    arguments: Mapping[str, Any] | str = field(default_factory=dict)
    id: str | None = None


@dataclass(frozen=True)
class Reply:
    """A 200 answer. ``stop`` is ``end`` / ``tool_use`` / ``max_tokens`` (mapped to the API's word) or
    the API's own word (``content_filter``, ``refusal``...); by default it follows the tool calls.
    ``usage`` is ``(input, output)`` or a dict merged into the API's usage object."""

    text: str = ""
    tool_calls: Sequence[Call] = ()
    stop: str | None = None
    usage: tuple[int, int] | Mapping[str, Any] | None = None
    model: str | None = None
    delay_ms: float = 0.0


@dataclass(frozen=True)
class Fail:
    """An error answer of ``kind`` (FAIL_KINDS). ``retry_after`` is the ``retry-after`` header's value
    (plus each API's own rate-limit headers for it); ``headers`` are added as given."""

    kind: str
    retry_after: str | None = None
    message: str | None = None
    status: int | None = None
    variant: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_ms: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in FAIL_KINDS:
            raise ValueError(f"kind is one of {FAIL_KINDS}, not {self.kind!r}")
        if self.variant is not None and self.variant not in QUOTA_VARIANTS:
            raise ValueError(f"variant is one of {QUOTA_VARIANTS}")


@dataclass(frozen=True)
class Hang:
    """Accept the request and answer nothing for ``seconds`` (longer than the client's read timeout),
    then close the connection."""

    seconds: float = 30.0


@dataclass(frozen=True)
class Drop:
    """Close the connection without an answer at once (a reset)."""


@dataclass(frozen=True)
class Respond:
    """Compute the answer from the request (the conversation so far): ``fn(request)`` returns a Reply,
    Fail, Hang or Drop."""

    fn: Callable[[FakeRequest], Step]
    delay_ms: float = 0.0


Step = Union[Reply, Fail, Hang, Drop, Respond]  # noqa: UP007 -- a runtime alias, Respond refers to it


@dataclass
class FakeMessage:
    """One message of a request, whatever the API: ``user`` (text), ``assistant`` (text and
    tool_calls ``[{"id", "name", "arguments"}]``) or ``tool`` (a tool result: ``tool_call_id``,
    ``text``, ``is_error`` — Anthropic's flag; OpenAI has none)."""

    role: str
    text: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    tool_call_id: str | None = None
    is_error: bool = False


@dataclass
class FakeRequest:
    """A request as the fake received it. ``headers`` have their keys redacted; ``status`` and
    ``answered_by`` are filled in once answered (``answered_by``: ``reply``, ``fail:<kind>``,
    ``hang``, ``drop``, ``auth``, ``invalid``, ``unscripted``)."""

    api: str
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    at: float
    model: str | None = None
    system: str = ""
    messages: list[FakeMessage] = field(default_factory=list)
    tool_names: list[str] = field(default_factory=list)
    status: int = 0
    answered_by: str = ""

    @property
    def last_user_text(self) -> str:
        return next((m.text for m in reversed(self.messages) if m.role == "user"), "")

    @property
    def tool_results(self) -> list[FakeMessage]:
        """The tool results at the end of the conversation (the round being answered)."""
        results: list[FakeMessage] = []
        for message in reversed(self.messages):
            if message.role != "tool":
                break
            results.insert(0, message)
        return results

    def as_dict(self) -> dict[str, Any]:
        return {"api": self.api, "method": self.method, "path": self.path, "query": self.query,
                "headers": self.headers, "body": self.body, "at": self.at, "status": self.status,
                "answered_by": self.answered_by}


def step_from_json(data: Mapping[str, Any]) -> Step:
    """A step from the control API's JSON: ``{"reply": {...}}``, ``{"fail": {...}}``,
    ``{"hang": {"seconds"}}`` or ``{"drop": {}}``."""
    if "reply" in data:
        spec = dict(data["reply"] or {})
        calls = [Call(c["name"], c.get("arguments", {}), c.get("id")) for c in spec.pop("tool_calls", [])]
        usage = spec.pop("usage", None)
        return Reply(tool_calls=tuple(calls), usage=tuple(usage) if isinstance(usage, list) else usage, **spec)
    if "fail" in data:
        return Fail(**dict(data["fail"] or {}))
    if "hang" in data:
        return Hang(**dict(data["hang"] or {}))
    if "drop" in data:
        return Drop()
    raise ValueError("A step is {reply: {...}}, {fail: {...}}, {hang: {...}} or {drop: {}}.")


@dataclass
class Answer:
    """What the fake writes back: a status, a JSON body and headers."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


def estimate_tokens(value: Any) -> int:
    """About four characters a token, as the providers' own rough guide; at least one."""
    text = value if isinstance(value, str) else repr(value)
    return max(1, len(text) // 4)


def text_of(content: Any) -> str:
    """The text of a message's content in either API: a string, or a list of blocks / parts of which the
    "text" ones count."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text")
    return ""
