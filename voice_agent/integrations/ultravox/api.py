"""Ultravox's calls into Frappe. Its webhook URL is configured at Ultravox as
/api/method/voice_agent.api.webhook_handlers.ultravox_webhook (re-exported there)."""

from __future__ import annotations

import frappe

from voice_agent.integrations.ultravox import webhook


@frappe.whitelist(allow_guest=True, methods=["POST"])
def ultravox_webhook() -> dict[str, str]:
    return webhook.receive()
