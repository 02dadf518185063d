"""Ultravox webhook payloads: `{"event": "call.ended", "call": {...}}`."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

KNOWN_EVENTS = ("call.started", "call.joined", "call.ended", "call.billed")
MAX_BODY_BYTES = 256 * 1024


class WebhookPayloadError(ValueError):
    pass


@dataclass(frozen=True)
class WebhookEvent:
    event: str
    call_id: str
    call: dict[str, Any]

    @property
    def dedupe_key(self) -> str:
        # Ultravox sends each event once per call (retries repeat it), so event+call is the identity.
        return hashlib.sha256(f"{self.event}:{self.call_id}".encode()).hexdigest()[:40]


def parse_event(raw_body: bytes) -> WebhookEvent:
    if len(raw_body) > MAX_BODY_BYTES:
        raise WebhookPayloadError("body too large")
    try:
        payload = json.loads(raw_body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise WebhookPayloadError("body is not JSON") from exc
    if not isinstance(payload, dict):
        raise WebhookPayloadError("body is not a JSON object")
    event = payload.get("event")
    if event not in KNOWN_EVENTS:
        raise WebhookPayloadError(f"unknown event {str(event)[:40]!r}")
    call = payload.get("call")
    if not isinstance(call, dict):
        raise WebhookPayloadError("call object missing")
    call_id = call.get("callId")
    if not isinstance(call_id, str) or not 0 < len(call_id) <= 64:
        raise WebhookPayloadError("callId missing")
    return WebhookEvent(event=event, call_id=call_id, call=call)


def parse_duration_seconds(value: Any) -> float | None:
    """Ultravox durations are protobuf Duration strings like "123.456s"."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) if value >= 0 else None
    if isinstance(value, str) and value.endswith("s"):
        try:
            seconds = float(value[:-1])
        except ValueError:
            return None
        return seconds if seconds >= 0 else None
    return None


ROLE_LABELS = {
    "MESSAGE_ROLE_USER": "User",
    "MESSAGE_ROLE_AGENT": "Agent",
    "MESSAGE_ROLE_TOOL_CALL": "Tool call",
    "MESSAGE_ROLE_TOOL_RESULT": "Tool result",
}


def format_transcript(messages: list[dict[str, Any]]) -> str:
    lines = []
    for message in messages:
        if not isinstance(message, dict):
            continue
        label = ROLE_LABELS.get(message.get("role"), None)
        if label is None:
            continue
        text = message.get("text") or message.get("toolName") or ""
        if label == "Tool call" and message.get("toolName"):
            text = f"{message['toolName']} {message.get('text') or ''}".strip()
        if text:
            lines.append(f"{label}: {text}")
    return "\n".join(lines)
