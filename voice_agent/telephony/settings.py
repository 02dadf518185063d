"""Calling settings (MediaSoup WebRTC Settings) as the desk and the browser need them."""

from __future__ import annotations

from typing import Any

import frappe
from frappe import _

from voice_agent.calling.turn import turn_rest_credentials
from voice_agent.integrations.sidecar.connect import SETTINGS, sidecar_base_url

CALLER_ROLES = ("Voice Agent User", "Voice Agent Manager")


def callable_doctypes() -> list[str]:
    """The doctypes whose records can be called (hooks: voice_agent_callable_doctypes) that this site has."""
    return [dt for dt in frappe.get_hooks("voice_agent_callable_doctypes") if frappe.db.exists("DocType", dt)]


def unreadable_doctypes(user: str | None = None) -> list[str]:
    """The callable doctypes `user` may not read. Calling a record needs read access to it: without it
    the desk cannot open the record (Frappe answers "No permission for Page") and shows no Call button."""
    return [dt for dt in callable_doctypes() if not frappe.has_permission(dt, "read", user=user)]


def missing_read_access_message(doctypes: list[str]) -> str:
    names = ", ".join(_(dt) for dt in doctypes)
    return _(
        "Calling a record needs read access to it, and your roles do not give read access to {0}: you can "
        "neither open these records nor call them. Ask your System Manager for a role that can read {0}."
    ).format(names)


def reference_access_message(doctype: str | None, name: str | None) -> str | None:
    """Why the record a call was made from does not open for the session user, if it does not."""
    if not doctype or not name or not frappe.db.exists(doctype, name):
        return None
    if frappe.has_permission(doctype, "read", doc=name):
        return None
    return _(
        "You cannot open {0} {1}, the record this call was made from, nor call it again: your roles do not "
        "give you read access to it. Ask your System Manager for a role that can read {0}."
    ).format(_(doctype), name)


def enabled_settings() -> Any:
    settings = frappe.get_cached_doc(SETTINGS)
    if not settings.enabled:
        frappe.throw(
            _("Calling is not enabled. A Voice Agent Manager can enable it in {0}.").format(_(SETTINGS))
        )
    return settings


def signaling_url(settings: Any) -> str:
    return settings.public_signaling_url or (sidecar_base_url(settings) if settings.server_host else "")


def ice_servers(settings: Any, user: str) -> list[dict[str, Any]]:
    turn_secret = (
        settings.get_password("turn_rest_secret", raise_exception=False) if settings.turn_rest_secret else None
    )
    servers = []
    for row in settings.ice_servers:
        urls = [u.strip() for u in (row.urls or "").replace("\n", ",").split(",") if u.strip()]
        if not urls:
            continue
        entry: dict[str, Any] = {"urls": urls}
        is_turn = any(u.lower().startswith("turn") for u in urls)
        if is_turn and turn_secret:
            entry["username"], entry["credential"] = turn_rest_credentials(turn_secret, user)
        elif row.username:
            entry["username"] = row.username
            entry["credential"] = row.get_password("credential", raise_exception=False) or ""
        servers.append(entry)
    return servers


def browser_config(user: str) -> dict[str, Any]:
    settings = frappe.get_cached_doc(SETTINGS)
    return {
        "enabled": bool(settings.enabled),
        "signaling_url": signaling_url(settings),
        "ice_servers": ice_servers(settings, user),
    }


def boot_session(bootinfo: Any) -> None:
    """What the desk's Call buttons need to know before loading anything (hooks: boot_session)."""
    if frappe.session.user == "Guest":
        return
    unreadable = unreadable_doctypes()
    bootinfo.voice_agent = {
        "callable_doctypes": callable_doctypes(),
        "caller_roles": list(CALLER_ROLES),
        "missing_read_access": missing_read_access_message(unreadable) if unreadable else None,
        "whatsapp_calling_accounts": whatsapp_calling_accounts(),
    }


def whatsapp_calling_accounts() -> list[dict[str, str]]:
    """The WhatsApp numbers with calling on that the session user may call from (the Call button offers
    WhatsApp only with one)."""
    roles = set(frappe.get_roles())
    if not set(CALLER_ROLES) & roles:
        return []
    filters: dict[str, Any] = {"enabled": 1, "calling_enabled": 1}
    if frappe.session.user != "Administrator" and not {"Voice Agent Manager", "System Manager"} & roles:
        team = frappe.get_all("WhatsApp Account Member", filters={"user": frappe.session.user,
                                                                  "parenttype": "WhatsApp Account"}, pluck="parent")
        filters["name"] = ("in", team or [""])
    return frappe.get_all("WhatsApp Account", filters=filters, fields=["name", "title"], order_by="title")
