"""The sidecar's HTTP client from MediaSoup WebRTC Settings, and its errors in words for the desk."""

from __future__ import annotations

from typing import Any

import frappe
from frappe import _

from voice_agent.integrations.sidecar.client import SidecarClient, SidecarError, SidecarUnreachable

SETTINGS = "MediaSoup WebRTC Settings"
TIMEOUT_SEC = 5


def sidecar_base_url(settings: Any) -> str:
    if not settings.server_host:
        frappe.throw(_("Set the call server's host in {0}.").format(_(SETTINGS)))
    scheme = "https" if settings.use_https else "http"
    return f"{scheme}://{settings.server_host}:{int(settings.server_port or 3210)}"


def shared_secret(settings: Any) -> str:
    secret = settings.get_password("shared_secret", raise_exception=False) if settings.shared_secret else None
    if not secret:
        frappe.throw(_("The shared secret of the call server is not set in {0}.").format(_(SETTINGS)))
    return secret


def sidecar_client(settings: Any, *, authenticated: bool = True) -> SidecarClient:
    return SidecarClient(sidecar_base_url(settings), shared_secret(settings) if authenticated else "",
                         timeout=TIMEOUT_SEC)


def describe_error(exc: Exception) -> str:
    if isinstance(exc, SidecarUnreachable):
        return _(
            "The call server is not reachable ({0}). Check that the sidecar runs and {1} points to it."
        ).format(exc, _(SETTINGS))
    if isinstance(exc, SidecarError) and exc.code == "unauthorized":
        return _(
            "The call server refused Frappe's shared secret: it must equal the sidecar's SIDECAR_SECRET."
        )
    return _("The call server answered with an error: {0}").format(exc)
