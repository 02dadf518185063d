"""The body of an Ultravox call for one Voice Session (POST /api/calls)."""

from __future__ import annotations

from typing import Any

import frappe
from frappe import _
from frappe.utils import get_url, now_datetime

from voice_agent.actions.runner import offered_tools
from voice_agent.integrations.ultravox.tools import selected_tools

# The agent's tools are Frappe endpoints Ultravox calls over HTTP, under their seed names.
TOOL_METHOD_PREFIX = "voice_agent.api.business_logic."


def tool_url(tool: str) -> str:
    base = (frappe.get_cached_doc("Voice Agent Settings").tool_base_url or get_url()).rstrip("/")
    return f"{base}/api/method/{TOOL_METHOD_PREFIX}{tool}"


def call_body(agent: Any, session_name: str, tool_secret: str, max_duration: int) -> dict[str, Any]:
    prompt = agent.system_prompt
    prompt += "\n\n" + _("Today is {0}; times are in the {1} time zone.").format(
        now_datetime().strftime("%A %Y-%m-%d %H:%M"), frappe.utils.get_system_timezone()
    )
    body: dict[str, Any] = {
        "systemPrompt": prompt,
        "temperature": agent.temperature or 0,
        "languageHint": agent.language_hint or "en",
        "medium": {"webRtc": {}},
        "maxDuration": f"{int(max_duration)}s",
        "recordingEnabled": bool(agent.recording_enabled),
        "metadata": {"voice_session": session_name, "site": frappe.local.site},
        "selectedTools": selected_tools(offered_tools(agent), tool_url, session_name, tool_secret),
    }
    if agent.voice:
        body["voice"] = agent.voice
    if agent.first_speaker == "User":
        body["firstSpeakerSettings"] = {"user": {}}
    else:
        agent_settings: dict[str, Any] = {}
        if agent.greeting:
            agent_settings["text"] = agent.greeting
        body["firstSpeakerSettings"] = {"agent": agent_settings}
    return body
