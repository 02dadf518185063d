"""The WhatsApp bot for the desk: take a conversation from the bot, give it back, its score's history, and
a manual run (seed names: ``escalate_conversation``, ``process_message``). The bot itself runs in the
background (voice_agent.conversations.bot). Answers: contracts/whatsapp-api.schema.json."""

from __future__ import annotations

from typing import Any

import frappe
from frappe import _

from voice_agent.bot.handover import HandOver
from voice_agent.conversations import bot, scores
from voice_agent.conversations.access import conversation_for, is_manager, require_chat_user, team_accounts

CONVERSATION = "WhatsApp Conversation"


@frappe.whitelist(methods=["POST"])
def escalate_conversation(conversation: str, to_user: str | None = None, note: str | None = None) -> dict[str, Any]:
    """Hand the conversation to a person now: ``to_user`` (a manager may pick anyone in the number's team),
    else the caller. The bot stops answering until someone gives the conversation back."""
    require_chat_user()
    doc = conversation_for(conversation)
    user = to_user or frappe.session.user
    if user != frappe.session.user:
        if not is_manager():
            frappe.throw(_("Only a Voice Agent Manager can hand a conversation to someone else."),
                         frappe.PermissionError)
        if not frappe.db.get_value("User", user, "enabled"):
            frappe.throw(_("User {0} does not exist or is disabled.").format(user))
        if doc.account not in team_accounts(user) and not is_manager(user):
            frappe.throw(_("{0} is not in the team of {1}.").format(user, doc.account))
    if doc.bot_state == "Handed over" and doc.assigned_to == user:
        return doc.view()
    detail = (note or "").strip()[:300] or _("{0} took the conversation over.").format(frappe.session.user)
    bot.hand_over(doc, HandOver("person_took_over", detail), to_user=user)
    return doc.view()


@frappe.whitelist(methods=["POST"])
def give_back_to_bot(conversation: str) -> dict[str, Any]:
    """The bot answers this conversation again, from the customer's next message (and any waiting)."""
    require_chat_user()
    doc = conversation_for(conversation)
    if not frappe.get_cached_doc("WhatsApp Account", doc.account).bot_enabled:
        frappe.throw(_("The bot is not switched on for {0}.").format(doc.account))
    if doc.bot_state == "Active":
        return doc.view()
    bot.give_back(doc)
    return doc.view()


@frappe.whitelist(methods=["GET", "POST"])
def get_score_history(conversation: str) -> dict[str, Any]:
    require_chat_user()
    return scores.history(conversation_for(conversation))


@frappe.whitelist(methods=["POST"])
def process_message(message: str) -> dict[str, Any]:
    """Run the bot now on the conversation of an inbound message and say what it did (managers; for a
    message whose job was lost, or to try a profile). The same turn as the background job, under the
    same per-conversation lock."""
    if not is_manager():
        frappe.throw(_("Only a Voice Agent Manager can run the bot by hand."), frappe.PermissionError)
    row = frappe.db.get_value("WhatsApp Message", message, ["conversation", "direction"], as_dict=True)
    if not row:
        frappe.throw(_("WhatsApp Message {0} does not exist.").format(message), frappe.DoesNotExistError)
    if row.direction != "Inbound":
        frappe.throw(_("The bot answers customer messages; {0} is one we sent.").format(message))
    doc = frappe.get_doc(CONVERSATION, row.conversation)
    if not bot.bot_profile_for(doc.account):
        frappe.throw(_("The bot is not switched on for {0}.").format(doc.account))
    if doc.bot_state in ("Handed over", "Off"):
        frappe.throw(_("A person handles this conversation; give it back to the bot first."))
    result = bot.answer_now(doc.name)
    doc.reload()
    return {"action": result.action if result else "nothing", "text": result.text if result else None,
            "hand_over": {"reason": result.hand_over.reason, "detail": result.hand_over.detail}
            if result and result.hand_over else None, "conversation": doc.view()}
