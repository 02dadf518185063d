"""Who sees which conversation: Voice Agent Managers (and System Managers) see all; a Voice Agent User
sees the conversations of the numbers whose team they are in, and those assigned to them."""

from __future__ import annotations

from typing import Any

import frappe
from frappe import _
from frappe.utils.caching import redis_cache

from voice_agent.voice_agent.doctype.voice_call.voice_call import is_call_manager as is_manager

CONVERSATION = "WhatsApp Conversation"


def team_accounts(user: str) -> list[str]:
    return frappe.get_all("WhatsApp Account Member", filters={"user": user, "parenttype": "WhatsApp Account"},
                          pluck="parent", distinct=True)


def _condition(user: str, table: str) -> str:
    accounts = team_accounts(user)
    clauses = [f"{table}.`assigned_to` = {frappe.db.escape(user)}"]
    if accounts:
        clauses.append(f"{table}.`account` in ({', '.join(frappe.db.escape(a) for a in accounts)})")
    return "(" + " or ".join(clauses) + ")"


def conversation_query_conditions(user: str | None = None) -> str:
    user = user or frappe.session.user
    return "" if is_manager(user) else _condition(user, "`tabWhatsApp Conversation`")


def message_query_conditions(user: str | None = None) -> str:
    user = user or frappe.session.user
    if is_manager(user):
        return ""
    visible = _condition(user, "c")
    return (f"`tabWhatsApp Message`.`conversation` in "
            f"(select c.name from `tabWhatsApp Conversation` c where {visible})")


def score_change_query_conditions(user: str | None = None) -> str:
    user = user or frappe.session.user
    if is_manager(user):
        return ""
    return (f"`tabLead Score Change`.`conversation` in "
            f"(select c.name from `tabWhatsApp Conversation` c where {_condition(user, 'c')})")


def interaction_query_conditions(user: str | None = None) -> str:
    """The agent's tool calls: a Voice Agent User sees those of voice sessions, and a chat's only where
    they see its conversation."""
    user = user or frappe.session.user
    if is_manager(user):
        return ""
    column = "`tabVoice Interaction`.`whatsapp_conversation`"
    return (f"(coalesce({column}, '') = '' or {column} in "
            f"(select c.name from `tabWhatsApp Conversation` c where {_condition(user, 'c')}))")


def may_see(conversation: Any, user: str | None = None) -> bool:
    user = user or frappe.session.user
    if is_manager(user):
        return True
    return conversation.assigned_to == user or conversation.account in team_accounts(user)


def has_conversation_permission(doc: Any, ptype: str = "read", user: str | None = None) -> bool:
    return may_see(doc, user)


def has_message_permission(doc: Any, ptype: str = "read", user: str | None = None) -> bool:
    conversation = frappe.db.get_value(CONVERSATION, doc.conversation, ["account", "assigned_to"], as_dict=True)
    return bool(conversation) and may_see(conversation, user)


def has_score_change_permission(doc: Any, ptype: str = "read", user: str | None = None) -> bool:
    conversation = frappe.db.get_value(CONVERSATION, doc.conversation, ["account", "assigned_to"], as_dict=True)
    return bool(conversation) and may_see(conversation, user)


def has_interaction_permission(doc: Any, ptype: str = "read", user: str | None = None) -> bool:
    if not doc.get("whatsapp_conversation"):
        return True
    conversation = frappe.db.get_value(CONVERSATION, doc.whatsapp_conversation, ["account", "assigned_to"],
                                       as_dict=True)
    return bool(conversation) and may_see(conversation, user)


def conversation_for(name: str) -> Any:
    """The conversation, if the session user may see it (else a permission error that names no detail)."""
    if not frappe.db.exists(CONVERSATION, name):
        frappe.throw(_("WhatsApp Conversation {0} does not exist.").format(name), frappe.DoesNotExistError)
    doc = frappe.get_doc(CONVERSATION, name)
    if not may_see(doc):
        frappe.throw(_("You cannot see this WhatsApp conversation."), frappe.PermissionError)
    return doc


def require_chat_user() -> None:
    if frappe.session.user == "Guest" or not {"Voice Agent User", "Voice Agent Manager", "System Manager"} & set(
        frappe.get_roles()
    ):
        frappe.throw(_("You need the role Voice Agent User to use WhatsApp."), frappe.PermissionError)


def users_who_see(conversation: Any) -> set[str]:
    """The desk users to push this conversation's updates to. The team comes from the cached account
    (cleared when it is saved): a query per pushed message was a sixth of an inbound message's cost."""
    team = frappe.get_cached_doc("WhatsApp Account", conversation.account).get("team") or []
    users = {member.user for member in team}
    if conversation.assigned_to:
        users.add(conversation.assigned_to)
    users.update(_managers())
    return {u for u in users if u and u != "Guest"}


@redis_cache(ttl=60)
def _managers() -> list[str]:
    rows = frappe.get_all("Has Role", filters={"role": ("in", ("Voice Agent Manager", "System Manager")),
                                               "parenttype": "User"}, pluck="parent")
    enabled = frappe.get_all("User", filters={"name": ("in", list(set(rows))), "enabled": 1,
                                              "user_type": "System User"}, pluck="name")
    return sorted(set(enabled) - {"Administrator", "Guest"}) + ["Administrator"]
