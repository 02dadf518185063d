"""Meta's calls into Frappe: the webhook of every WhatsApp Account, at the address the seed gave it
(/api/method/voice_agent.api.whatsapp.whatsapp_webhook, re-exported there)."""

from __future__ import annotations

import frappe
from werkzeug.wrappers import Response

from voice_agent.integrations.whatsapp import webhook


@frappe.whitelist(allow_guest=True, methods=["GET", "POST"])
def whatsapp_webhook() -> Response | dict[str, str]:
    if frappe.request.method == "GET":
        # Meta expects the challenge back as plain text.
        return Response(webhook.handshake(frappe.request.args), status=200, mimetype="text/plain")
    return webhook.receive()
