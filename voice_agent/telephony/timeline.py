"""Calls on the timeline of the record they were made from (hooks: additional_timeline_content)."""

from __future__ import annotations

from typing import Any

import frappe
from frappe import _

from voice_agent.calling.display import format_duration
from voice_agent.telephony.settings import callable_doctypes


def timeline_content(doctype: str, docname: str) -> list[dict[str, Any]]:
    if doctype not in callable_doctypes() or not frappe.has_permission("Voice Call", "read"):
        return []
    calls = frappe.get_list(
        "Voice Call",
        filters={"reference_doctype": doctype, "reference_name": docname},
        fields=[
            "name",
            "creation",
            "state",
            "end_reason",
            "ended_by",
            "agent",
            "channel",
            "direction",
            "talk_duration",
            "ring_duration",
            "quality_label",
            "mos",
        ],
        order_by="creation desc",
        limit_page_length=100,
    )
    return [
        {"icon": "call", "is_card": True, "creation": call.creation, "content": _timeline_html(call)}
        for call in calls
    ]


def _timeline_html(call: Any) -> str:
    escape = frappe.utils.escape_html
    parts = [
        f'<a href="/app/voice-call/{escape(call.name)}">{escape(call.name)}</a>',
        escape(_describe(call)),
        f"<b>{escape(_(call.state))}</b>" + (f" ({escape(_end(call))})" if call.end_reason else ""),
    ]
    if call.talk_duration:
        parts.append(escape(_("talk {0}").format(format_duration(call.talk_duration))))
    elif call.ring_duration:
        parts.append(escape(_("rang {0}").format(format_duration(call.ring_duration))))
    if call.quality_label:
        parts.append(escape(_("quality {0} (MOS {1})").format(_(call.quality_label), call.mos)))
    return " · ".join(parts)


def _describe(call: Any) -> str:
    if call.direction == "Inbound":
        if call.agent:
            return _("{0} call from the customer, taken by {1}").format(_(call.channel), frappe.utils.get_fullname(call.agent))
        return _("{0} call from the customer").format(_(call.channel))
    return _("{0} call by {1}").format(_(call.channel), frappe.utils.get_fullname(call.agent))


def _end(call: Any) -> str:
    """The end reason, and who hung up when a person did ("hangup by customer")."""
    if call.ended_by:
        return _("{0} by {1}").format(_(call.end_reason), _(call.ended_by))
    return _(call.end_reason)
