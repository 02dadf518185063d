"""Frappe glue for the Ultravox client: credentials from Voice Agent Settings."""

from __future__ import annotations

import frappe
from frappe import _
from frappe.utils.caching import site_cache

from voice_agent.integrations.ultravox.client import DEFAULT_BASE_URL, UltravoxClient


def connect() -> UltravoxClient | None:
    """The client, or None when the agent is switched off or has no API key."""
    settings = frappe.get_cached_doc("Voice Agent Settings")
    if not settings.enabled:
        return None
    api_key = settings.get_password("ultravox_api_key", raise_exception=False)
    if not api_key:
        return None
    base_url = DEFAULT_BASE_URL
    if settings.api_base_url and settings.api_base_url != DEFAULT_BASE_URL:
        if not frappe.conf.developer_mode and not frappe.flags.in_test:
            frappe.throw(_("A custom Ultravox API base URL is only allowed in developer mode."))
        base_url = settings.api_base_url
    return UltravoxClient(api_key, base_url)


def webhook_secrets(settings) -> list[str]:
    """The current and the previous webhook secret, decrypted once per process per settings change."""
    return list(_decrypted_webhook_secrets(str(settings.modified)))


@site_cache(maxsize=4)
def _decrypted_webhook_secrets(settings_modified: str) -> tuple[str, ...]:
    settings = frappe.get_cached_doc("Voice Agent Settings")
    secrets = (
        settings.get_password("webhook_secret", raise_exception=False),
        settings.get_password("previous_webhook_secret", raise_exception=False),
    )
    return tuple(s for s in secrets if s)
