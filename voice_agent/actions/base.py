from __future__ import annotations

from dataclasses import dataclass


class Refusal(Exception):
    """The request cannot be done as asked; the message is what the agent should say."""


@dataclass
class ToolResult:
    reply: str
    doctype: str
    name: str
    outcome: str
    party: tuple[str, str] | None = None
