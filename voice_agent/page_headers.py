"""Response headers for our public pages: who may put them in a frame."""

from __future__ import annotations

import frappe

from voice_agent.web.origins import frame_ancestors_policy, parse_allowed_origins

# The widget embeds /voice-agent on the listed websites; the call invite page is never embedded.
_EMBEDDABLE = "/voice-agent"
_NEVER_EMBEDDED = "/call"


def add_frame_ancestors(response, request) -> None:
    path = request.path.rstrip("/")
    if path == _EMBEDDABLE:
        allowed = parse_allowed_origins(frappe.get_cached_doc("Voice Agent Settings").allowed_origins)
    elif path == _NEVER_EMBEDDED:
        allowed = []
    else:
        return
    response.headers.setdefault("Content-Security-Policy", frame_ancestors_policy(allowed))
