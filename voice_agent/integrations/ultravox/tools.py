"""The agent's tools as Ultravox temporary HTTP tools (pure: no frappe import)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from voice_agent.agent.tools import TOOLS, ToolTarget

# Ultravox sends it with every tool request: the per-session secret Frappe checks before acting.
TOOL_SECRET_HEADER = "X-Voice-Agent-Tool-Secret"


def _dynamic_parameters(schema: dict[str, Any]) -> list[dict[str, Any]]:
    required = set(schema.get("required", []))
    return [
        {"name": name, "location": "PARAMETER_LOCATION_BODY", "schema": prop, "required": name in required}
        for name, prop in schema["properties"].items()
    ]


def selected_tools(
    targets: Iterable[ToolTarget], tool_url: Callable[[str], str], session_name: str, tool_secret: str
) -> list[dict[str, Any]]:
    """Temporary HTTP tools; every request carries the session and its secret as static parameters."""
    selected = []
    for target in targets:
        tool = TOOLS[target.tool]
        selected.append(
            {
                "temporaryTool": {
                    "modelToolName": tool.name,
                    "description": tool.description,
                    "dynamicParameters": _dynamic_parameters(tool.parameters),
                    "staticParameters": [
                        {"name": "voice_session", "location": "PARAMETER_LOCATION_BODY", "value": session_name},
                        {"name": TOOL_SECRET_HEADER, "location": "PARAMETER_LOCATION_HEADER", "value": tool_secret},
                    ],
                    "http": {"baseUrlPattern": tool_url(tool.name), "httpMethod": "POST"},
                }
            }
        )
    return selected
