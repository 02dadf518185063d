"""WhatsApp Accounts as the Graph client and the webhook need them: the account of a phone number id,
its Graph client, the App Secrets and verify tokens to check webhooks against, and what happens when
Meta says the token has expired."""

from __future__ import annotations

from typing import Any

import frappe
from frappe import _
from frappe.utils import now_datetime
from frappe.utils.caching import site_cache

from voice_agent.integrations.whatsapp.graph import DEFAULT_BASE_URL, GraphClient

ACCOUNT = "WhatsApp Account"
# Where Meta serves media downloads; a test server's own host is allowed with its base URL.
META_MEDIA_HOSTS = ("lookaside.fbsbx.com",)


def account_for_phone_number(phone_number_id: str) -> str | None:
    return frappe.db.get_value(ACCOUNT, {"phone_number_id": phone_number_id}, "name")


def graph_client(account: Any, timeout: float = 10.0) -> GraphClient:
    """The client of an account (a WhatsApp Account document or its name)."""
    doc = frappe.get_cached_doc(ACCOUNT, account) if isinstance(account, str) else account
    token = doc.get_password("access_token", raise_exception=False)
    if not token:
        frappe.throw(_("WhatsApp Account {0} has no access token.").format(doc.name))
    base_url = doc.graph_base_url or DEFAULT_BASE_URL
    media_hosts = list(META_MEDIA_HOSTS)
    if base_url.rstrip("/") != DEFAULT_BASE_URL:
        # Only a developer points an account at another server (a test fake); its media are local.
        media_hosts += ["localhost", "127.0.0.1"]
    return GraphClient(token, base_url=base_url, api_version=doc.graph_api_version or "v23.0", timeout=timeout,
                       media_hosts=media_hosts)


def webhook_secrets() -> dict[str, tuple[str, ...]]:
    """{account: (App Secret, previous App Secret while it is still accepted)} of the enabled accounts."""
    state = frappe.get_all(ACCOUNT, filters={"enabled": 1}, fields=["name", "modified"], order_by="name")
    return _decrypted_secrets(tuple((row.name, str(row.modified)) for row in state))


@site_cache(maxsize=8)
def _decrypted_secrets(accounts: tuple[tuple[str, str], ...]) -> dict[str, tuple[str, ...]]:
    # Keyed on the accounts and their modified stamps: decrypted once per process per change.
    secrets: dict[str, tuple[str, ...]] = {}
    now = now_datetime()
    for name, _modified in accounts:
        doc = frappe.get_doc(ACCOUNT, name)
        current = doc.get_password("app_secret", raise_exception=False)
        previous = None
        if doc.previous_app_secret and doc.previous_app_secret_until and doc.previous_app_secret_until > now:
            previous = doc.get_password("previous_app_secret", raise_exception=False)
        secrets[name] = tuple(s for s in (current, previous) if s)
    return secrets


def verify_tokens() -> list[str]:
    names = frappe.get_all(ACCOUNT, filters={"enabled": 1}, pluck="name")
    tokens = []
    for name in names:
        token = frappe.get_doc(ACCOUNT, name).get_password("verify_token", raise_exception=False)
        if token:
            tokens.append(token)
    return tokens


def mark_token_expired(account: str, message: str) -> None:
    """Meta refused the account's token (190): say so on the account, once, and tell its managers."""
    status = frappe.db.get_value(ACCOUNT, account, "status")
    frappe.db.set_value(ACCOUNT, account, {"status": "Token expired", "token_expired_at": now_datetime(),
                                           "last_error": message[:1000]}, update_modified=False)
    if status == "Token expired":
        return
    subject = _("WhatsApp Account {0}: the access token has expired").format(account)
    for user in _managers():
        frappe.get_doc({
            "doctype": "Notification Log", "for_user": user, "type": "Alert", "document_type": ACCOUNT,
            "document_name": account, "subject": subject,
            "email_content": _("Messages to customers are held until a new token is saved. Meta said: {0}").format(
                frappe.utils.escape_html(message)),
        }).insert(ignore_permissions=True)


def _managers() -> list[str]:
    users = frappe.get_all("Has Role", filters={"role": "Voice Agent Manager", "parenttype": "User"}, pluck="parent")
    return [u for u in set(users) if frappe.db.get_value("User", u, "enabled") and u != "Guest"]
