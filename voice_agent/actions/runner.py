"""Every tool call, whichever channel asks for it: is the tool offered to this agent, are the arguments
valid, has this very request been answered already (the same request retried or repeated maps to one
idempotency key, and waits for the first to finish), then the action once, logged as a Voice
Interaction in the same transaction as the document it made."""

from __future__ import annotations

import json
import time as clock
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import frappe
from frappe import _
from frappe.utils.caching import site_cache

from voice_agent.actions import appointments, orders, tickets
from voice_agent.actions.base import Refusal, ToolResult
from voice_agent.agent.tools import (
    ToolArgumentError,
    ToolOutcome,
    ToolTarget,
    available_tools,
    idempotency_key,
    validate_args,
)
from voice_agent.locks import read_committed, transaction_lock
from voice_agent.site_user import as_administrator

GENERIC_FAILURE = "Sorry, I could not do that right now. A colleague will follow up with you."

ACTIONS: dict[str, Callable[[dict[str, Any], Any, str], ToolResult]] = {
    "book_appointment": appointments.book_appointment,
    "place_restaurant_order": orders.place_order,
    "create_support_ticket": tickets.create_ticket,
}


# Prefixes the idempotency scope of a chat, so that no conversation shares keys with a voice session (or a
# conversation of another channel) of the same name.
WHATSAPP_SCOPE = "whatsapp:"


@dataclass(frozen=True)
class ToolCaller:
    """Who asks: the agent of a live voice session or of a WhatsApp conversation (exactly one), with its
    profile."""

    profile: str
    voice_session: str | None = None
    whatsapp_conversation: str | None = None

    def __post_init__(self) -> None:
        if bool(self.voice_session) == bool(self.whatsapp_conversation):
            raise ValueError("A tool caller is either a voice session or a WhatsApp conversation.")

    @property
    def scope(self) -> str:
        # A voice session's scope is its bare name, as before chats existed: the keys of calls already
        # logged stay valid.
        return self.voice_session or f"{WHATSAPP_SCOPE}{self.whatsapp_conversation}"


def offered_tools(agent: Any) -> list[ToolTarget]:
    return available_tools([row.tool for row in agent.tools], _doctype_exists)


@site_cache(ttl=300)
def _doctype_exists(doctype: str) -> bool:
    # Asked on every tool call; doctypes only come and go with app installs.
    return bool(frappe.db.exists("DocType", doctype))


def run_tool(caller: ToolCaller, tool: str, raw_args: dict[str, Any]) -> dict[str, Any]:
    """The answer for Ultravox's HTTP tools: ``result``, the sentence the agent says, and ``document``
    when one was made."""
    outcome = call_tool(caller, tool, raw_args)
    answer: dict[str, Any] = {"result": outcome.reply}
    if outcome.document:
        answer["document"] = {"doctype": outcome.document[0], "name": outcome.document[1]}
    return answer


def call_tool(caller: ToolCaller, tool: str, raw_args: dict[str, Any]) -> ToolOutcome:
    started = clock.monotonic()
    agent = frappe.get_cached_doc("Voice Agent Profile", caller.profile)
    target = next((t for t in offered_tools(agent) if t.tool == tool), None)
    if target is None:
        return _refuse(caller, tool, raw_args, _("I cannot do that in this conversation."), started)
    try:
        args = validate_args(tool, raw_args)
    except ToolArgumentError as exc:
        return _refuse(caller, tool, raw_args, str(exc), started)

    key = idempotency_key(caller.scope, tool, args)
    # Nothing is written yet. From here on reads see other requests' commits: a caller created by a
    # concurrent request (parties.find_or_create) is visible to ERPNext's own checks of the order.
    read_committed()
    # A retry or repeat of this request waits here until the first one commits, then answers as it did.
    transaction_lock(f"tool:{key}")
    previous = _previous_reply(key)
    if previous is not None:
        # Answered as before; the document was counted (and scored) when it was made.
        return ToolOutcome("success", previous)

    try:
        with as_administrator():
            result = ACTIONS[tool](args, agent, target.doctype)
    except Refusal as exc:
        frappe.db.rollback()
        return _refuse(caller, tool, args, str(exc), started)
    except Exception:
        frappe.db.rollback()
        frappe.log_error(title=f"Voice agent tool {tool} failed")
        _log(caller, tool, args, "Failed", GENERIC_FAILURE, started, error=frappe.get_traceback()[-2000:])
        return ToolOutcome("failed", _(GENERIC_FAILURE))

    try:
        # The unique key is written in the same transaction as the document: a writer that got past the
        # lock (none should) blocks on it until this one commits, then fails here and rolls back.
        _interaction(caller, tool, args, "Success", result.reply, started, key=key,
                     reference=(result.doctype, result.name)).db_insert()
    except frappe.UniqueValidationError:
        frappe.db.rollback()
        frappe.clear_messages()
        return ToolOutcome("success", frappe.db.get_value("Voice Interaction", {"idempotency_key": key}, "reply"))
    _record_outcome(caller, result, args.get("email"))
    frappe.db.commit()
    return ToolOutcome("success", result.reply, (result.doctype, result.name))


def _previous_reply(key: str) -> str | None:
    # A locking read: it sees what the previous holder of the lock committed.
    return frappe.db.get_value("Voice Interaction", {"idempotency_key": key}, "reply", for_update=True)


def _refuse(caller: ToolCaller, tool: str, args: dict[str, Any], reply: str, started: float) -> ToolOutcome:
    _log(caller, tool, args, "Refused", reply, started)
    return ToolOutcome("refused", reply)


def _log(caller: ToolCaller, tool: str, args: dict[str, Any], status: str, reply: str, started: float,
         error: str | None = None) -> None:
    _interaction(caller, tool, args, status, reply, started, error=error).db_insert()
    frappe.db.commit()


def _interaction(caller: ToolCaller, tool: str, args: dict[str, Any], status: str, reply: str, started: float,
                 key: str | None = None, reference: tuple[str, str] | None = None, error: str | None = None):
    # Written with db_insert (one INSERT, no document hooks): it is the agent's log, built complete
    # here, and the caller is a live conversation waiting on the reply.
    return frappe.get_doc({
        "doctype": "Voice Interaction", "voice_session": caller.voice_session,
        "whatsapp_conversation": caller.whatsapp_conversation, "tool": tool, "status": status,
        "idempotency_key": key, "inputs": json.dumps(args, sort_keys=True, default=str)[:10000],
        "reply": reply, "error": error, "duration_ms": round((clock.monotonic() - started) * 1000, 1),
        "reference_doctype": reference[0] if reference else None,
        "reference_name": reference[1] if reference else None,
        "customer_email": args.get("email") if isinstance(args.get("email"), str) else None,
    })


def _record_outcome(caller: ToolCaller, result: ToolResult, email: str | None) -> None:
    if caller.whatsapp_conversation:
        return  # the Voice Interaction linked to the conversation is the chat's record of what it made
    _record_session_outcome(caller, result, email)


def _record_session_outcome(caller: ToolCaller, result: ToolResult, email: str | None) -> None:
    # One statement: two tools finishing at once in the same session cannot drop each other's document.
    # The caller's email (when given) lets personal data requests find the session.
    # party_type is assigned before party, so both read the party the session had before.
    party_type, party = result.party or (None, None)
    frappe.db.sql(
        """UPDATE `tabVoice Session`
        SET documents_created = CONCAT_WS(%(newline)s, NULLIF(documents_created, ''), %(document)s),
            outcome = %(outcome)s,
            party_type = CASE WHEN COALESCE(party, '') = '' THEN %(party_type)s ELSE party_type END,
            party = CASE WHEN COALESCE(party, '') = '' THEN %(party)s ELSE party END,
            customer_email = COALESCE(customer_email, %(email)s)
        WHERE name = %(session)s""",
        {"newline": "\n", "document": f"{result.doctype}: {result.name}", "outcome": result.outcome,
         "party_type": party_type, "party": party, "session": caller.voice_session, "email": email},
    )
