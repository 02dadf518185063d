"""The LLM providers of the WhatsApp bot, for the desk: the Voice Agent LLM Provider form's Test
connection button."""

from __future__ import annotations

from typing import Any

import frappe
from frappe import _

from voice_agent.conversations.access import is_manager
from voice_agent.integrations.llm import connect


@frappe.whitelist(methods=["POST"])
def test_provider_connection(provider: str) -> dict[str, Any]:
    if not is_manager():
        frappe.throw(_("Only a Voice Agent Manager can do this."), frappe.PermissionError)
    return connect.test_connection(provider)
