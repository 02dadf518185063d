"""The agent's tools, called by Ultravox over HTTP during a session (the addresses Ultravox is given:
voice_agent.integrations.ultravox.calls.tool_url).

`allow_guest=True` only because Ultravox cannot log in: each request is first checked for its session's
tool secret and a live session (integrations/ultravox/tool_requests.py); then voice_agent/actions/runner.py
validates, acts once per idempotency key and logs.
"""

from __future__ import annotations

from typing import Any

import frappe

from voice_agent.actions.runner import run_tool
from voice_agent.integrations.ultravox.tool_requests import authorize_tool_request


@frappe.whitelist(allow_guest=True, methods=["POST"])
def book_appointment(
    voice_session: str,
    customer_name: str | None = None,
    date: str | None = None,
    time: str | None = None,
    phone: str | None = None,
    email: str | None = None,
    service: str | None = None,
    notes: str | None = None,
) -> dict[str, Any]:
    caller = authorize_tool_request(voice_session)
    return run_tool(caller, "book_appointment", {
        "customer_name": customer_name, "date": date, "time": time, "phone": phone, "email": email,
        "service": service, "notes": notes,
    })


@frappe.whitelist(allow_guest=True, methods=["POST"])
def place_restaurant_order(
    voice_session: str,
    customer_name: str | None = None,
    phone: str | None = None,
    items: list | None = None,
    delivery_date: str | None = None,
    notes: str | None = None,
) -> dict[str, Any]:
    caller = authorize_tool_request(voice_session)
    return run_tool(caller, "place_restaurant_order", {
        "customer_name": customer_name, "phone": phone, "items": items, "delivery_date": delivery_date,
        "notes": notes,
    })


@frappe.whitelist(allow_guest=True, methods=["POST"])
def create_support_ticket(
    voice_session: str,
    customer_name: str | None = None,
    subject: str | None = None,
    description: str | None = None,
    phone: str | None = None,
    email: str | None = None,
    priority: str | None = None,
    category: str | None = None,
) -> dict[str, Any]:
    caller = authorize_tool_request(voice_session)
    return run_tool(caller, "create_support_ticket", {
        "customer_name": customer_name, "subject": subject, "description": description, "phone": phone,
        "email": email, "priority": priority, "category": category,
    })
