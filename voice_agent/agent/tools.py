"""The AI agent's tools, written once for every channel: name, description and JSON Schema of the
arguments, which doctypes each needs, argument checks that answer in words the agent can say, and
idempotency keys. Providers turn the definitions into their own format (Ultravox temporary tools,
LLM function definitions); the implementations in ERPNext are in voice_agent/actions/."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Literal

import jsonschema

PHONE_RE = r"^\+?[0-9 ()./-]{5,24}$"

_PARAMETERS: dict[str, dict[str, Any]] = {
    "book_appointment": {
        "type": "object",
        "additionalProperties": False,
        "required": ["customer_name", "date", "time"],
        "properties": {
            "customer_name": {"type": "string", "minLength": 1, "maxLength": 140},
            "phone": {"type": "string", "pattern": PHONE_RE},
            "email": {"type": "string", "maxLength": 140, "pattern": r"^[^@\s]+@[^@\s]+\.[^@\s]+$"},
            "date": {"type": "string", "description": "YYYY-MM-DD", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
            "time": {"type": "string", "description": "HH:MM, 24-hour", "pattern": r"^\d{1,2}:\d{2}$"},
            "service": {"type": "string", "maxLength": 140},
            "notes": {"type": "string", "maxLength": 1000},
        },
    },
    "place_restaurant_order": {
        "type": "object",
        "additionalProperties": False,
        "required": ["customer_name", "phone", "items"],
        "properties": {
            "customer_name": {"type": "string", "minLength": 1, "maxLength": 140},
            "phone": {"type": "string", "pattern": PHONE_RE},
            "items": {
                "type": "array",
                "minItems": 1,
                "maxItems": 30,
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["item", "qty"],
                    "properties": {
                        "item": {"type": "string", "minLength": 1, "maxLength": 140},
                        "qty": {"type": "number", "exclusiveMinimum": 0, "maximum": 1000},
                    },
                },
            },
            "delivery_date": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
            "notes": {"type": "string", "maxLength": 1000},
        },
    },
    "create_support_ticket": {
        "type": "object",
        "additionalProperties": False,
        "required": ["customer_name", "subject", "description"],
        "properties": {
            "customer_name": {"type": "string", "minLength": 1, "maxLength": 140},
            "phone": {"type": "string", "pattern": PHONE_RE},
            "email": {"type": "string", "maxLength": 140, "pattern": r"^[^@\s]+@[^@\s]+\.[^@\s]+$"},
            "subject": {"type": "string", "minLength": 3, "maxLength": 140},
            "description": {"type": "string", "minLength": 1, "maxLength": 5000},
            "priority": {"type": "string", "maxLength": 60},
            "category": {"type": "string", "maxLength": 140},
        },
    },
}



@dataclass(frozen=True)
class ToolDefinition:
    name: str
    description: str
    parameters: dict[str, Any]
    # The tool acts on the first of these doctypes the site has; without any it is not offered.
    target_doctypes: tuple[str, ...]
    required_doctypes: tuple[str, ...] = ()


TOOLS: dict[str, ToolDefinition] = {
    "book_appointment": ToolDefinition(
        "book_appointment",
        "Book an appointment for the caller at a date and time. Ask for name, date, time and a phone number "
        "or email first. If the slot is taken, offer the free slots the tool returns.",
        _PARAMETERS["book_appointment"],
        ("Appointment", "Event"),
    ),
    "place_restaurant_order": ToolDefinition(
        "place_restaurant_order",
        "Place a food order for the caller. Ask for name, phone and every item with its quantity. Read back "
        "the total the tool returns.",
        _PARAMETERS["place_restaurant_order"],
        ("Sales Order",),
        ("Customer", "Item", "Item Price"),
    ),
    "create_support_ticket": ToolDefinition(
        "create_support_ticket",
        "Open a support ticket for the caller's problem with a short subject and a description.",
        _PARAMETERS["create_support_ticket"],
        ("HD Ticket", "Issue"),
    ),
}


ToolStatus = Literal["success", "refused", "failed"]


@dataclass(frozen=True)
class ToolOutcome:
    """What a tool call did, whichever channel asked: ``reply`` is the sentence the agent reads (and may
    pass on); ``document`` what it made (not on a repeat: that was counted when it was made)."""

    status: ToolStatus
    reply: str
    document: tuple[str, str] | None = None


class ToolArgumentError(ValueError):
    """Invalid tool arguments; the message is a sentence the agent can say."""


@dataclass(frozen=True)
class ToolTarget:
    tool: str
    doctype: str


def available_tools(enabled: Iterable[str], doctype_exists: Callable[[str], bool]) -> list[ToolTarget]:
    targets = []
    for name in enabled:
        tool = TOOLS.get(name)
        if tool is None or not all(doctype_exists(d) for d in tool.required_doctypes):
            continue
        doctype = next((d for d in tool.target_doctypes if doctype_exists(d)), None)
        if doctype:
            targets.append(ToolTarget(name, doctype))
    return targets


_FIELD_WORDS = {
    "customer_name": "your name",
    "phone": "a phone number",
    "email": "an email address",
    "date": "the date",
    "time": "the time",
    "items": "what you would like to order",
    "subject": "a short subject",
    "description": "a description of the problem",
    "delivery_date": "the delivery date",
}


def validate_args(tool: str, args: Any) -> dict[str, Any]:
    """Return the arguments stripped of blanks, or raise ToolArgumentError with a speakable reason."""
    if tool not in TOOLS:
        raise ToolArgumentError("That tool is not available.")
    if not isinstance(args, dict):
        raise ToolArgumentError("I could not read the details, please repeat them.")
    cleaned = {k: (v.strip() if isinstance(v, str) else v) for k, v in args.items() if v not in (None, "")}
    validator = jsonschema.Draft202012Validator(TOOLS[tool].parameters)
    error = next(iter(sorted(validator.iter_errors(cleaned), key=lambda e: list(e.path))), None)
    if error is not None:
        field = error.path[0] if error.path else None
        if error.validator == "required":
            missing = re.findall(r"'([^']+)' is a required property", error.message)
            field = missing[0] if missing else None
        if error.validator == "additionalProperties":
            raise ToolArgumentError("I received details I do not understand, please try again.")
        raise ToolArgumentError(f"I need {_FIELD_WORDS.get(str(field), 'the details')} in a valid form.")
    for key in ("date", "delivery_date"):
        if key in cleaned:
            try:
                date.fromisoformat(cleaned[key])
            except ValueError as exc:
                raise ToolArgumentError(f"{cleaned[key]} is not a valid date.") from exc
    if "time" in cleaned:
        hour, minute = (int(p) for p in cleaned["time"].split(":"))
        if hour > 23 or minute > 59:
            raise ToolArgumentError(f"{cleaned['time']} is not a valid time.")
        cleaned["time"] = time(hour, minute).strftime("%H:%M")
    if tool == "book_appointment" and not (cleaned.get("phone") or cleaned.get("email")):
        raise ToolArgumentError("I need a phone number or an email address to confirm the booking.")
    return cleaned


def normalize_for_key(value: Any) -> Any:
    if isinstance(value, str):
        return " ".join(value.lower().split())
    if isinstance(value, dict):
        return {k: normalize_for_key(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [normalize_for_key(v) for v in value]
    return value


def idempotency_key(session: str, tool: str, args: dict[str, Any]) -> str:
    """The same request retried by Ultravox (or repeated by the model) maps to the same key."""
    blob = json.dumps([session, tool, normalize_for_key(args)], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:40]


def parse_local_datetime(day: str, at: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), time.fromisoformat(at))
