"""The call-channel seam: what a way of reaching the customer provides to a Voice Call.

The desk side is the same for every channel (the agent and supervisors join the call's room in the
browser with a call token, service.py). A channel sets up the customer's side: a browser invite link
today, a WhatsApp call through the sidecar's WhatsApp leg next. Channels are registered in the hooks
(`voice_agent_call_channels`) under their Voice Call `channel` value; registry.py finds them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar


class CallChannel(ABC):
    channel: ClassVar[str]  # the Voice Call's `channel` value

    def prepare(self, reference: Any, **options: Any) -> dict[str, Any]:
        """Before the Voice Call exists: check the customer can be reached this way (raise with a clear
        message if not) and return the channel's own Voice Call fields."""
        return {}

    @abstractmethod
    def start(self, call: Any, reference: Any) -> None:
        """Set up the customer's side of a new outbound call (the call is inserted and committed: the
        call server may report on it at once). Raise with a clear message if it cannot start."""

    @abstractmethod
    def ring(self, call: Any, **options: Any) -> dict[str, Any]:
        """Reach the customer (again): an invite link, a WhatsApp ring. Returns what the desk shows."""

    @abstractmethod
    def answer(self, call: Any, user: str) -> None:
        """A desk user takes an inbound call of this channel."""

    @abstractmethod
    def end(self, call: Any, reason: str) -> str:
        """Hang up the customer's side and free the room; returns a note for the state history."""

    @abstractmethod
    def participants(self, call: Any) -> list[dict[str, Any]]:
        """The customer's side of the call: who was reached and how ({name, how, joined_at})."""
