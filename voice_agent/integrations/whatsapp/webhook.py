"""Meta's webhooks for every WhatsApp Account: the GET subscription handshake, and POSTs verified with
X-Hub-Signature-256 over the raw body, stored raw in one INSERT and acknowledged at once, then processed
in a background job — every entry, change, message and status of the batch. A failure keeps the event
for the scheduler to retry; processed events are deleted after the retention period (personal data)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import frappe
from frappe import _
from frappe.utils import add_days, add_to_date, now_datetime

from voice_agent.integrations.webhook_inbox import store_once
from voice_agent.integrations.whatsapp import payloads as p
from voice_agent.integrations.whatsapp.connect import account_for_phone_number, verify_tokens, webhook_secrets
from voice_agent.integrations.whatsapp.inbound import apply_message
from voice_agent.integrations.whatsapp.signature import (
    SIGNATURE_HEADER,
    HandshakeRefused,
    WebhookSignatureError,
    answer_handshake,
    verify,
)
from voice_agent.integrations.whatsapp.statuses import apply_status
from voice_agent.locks import read_committed

EVENT = "WhatsApp Webhook Event"
MAX_ATTEMPTS = 8
RETRY_AFTER_MIN = 2


class InvalidWebhook(frappe.ValidationError):
    http_status_code = 400


def handshake(args: dict[str, Any]) -> str:
    try:
        return answer_handshake(args.get("hub.mode"), args.get("hub.verify_token"), args.get("hub.challenge"),
                                verify_tokens())
    except HandshakeRefused:
        frappe.throw(_("Webhook verification refused."), frappe.PermissionError)


def receive() -> dict[str, str]:
    raw = frappe.request.get_data(cache=True)
    header = frappe.get_request_header(SIGNATURE_HEADER)
    signers = [account for account, secrets in webhook_secrets().items() if _signed(raw, header, secrets)]
    if not signers:
        frappe.throw(_("Invalid webhook signature"), frappe.AuthenticationError)
    try:
        batch = p.parse_webhook(raw)
    except p.WebhookPayloadError as exc:
        frappe.throw(_("Invalid webhook payload: {0}").format(str(exc)[:200]), InvalidWebhook)
    stored = store_once({
        "doctype": EVENT, "name": batch.dedupe_key, "dedupe_key": batch.dedupe_key, "account": signers[0],
        "fields": ",".join(sorted({change.field for change in batch.changes}))[:140], "status": "Received",
        "attempts": 0, "payload": raw.decode(), "signed_by": ",".join(signers),
    })
    if not stored:
        return {"status": "duplicate"}
    _enqueue(batch.dedupe_key)
    return {"status": "accepted"}


def process_event(event_name: str) -> None:
    # Conversations, Leads and Contacts for new numbers may be created by a concurrent job: see them.
    read_committed()
    record = frappe.get_doc(EVENT, event_name, for_update=True)
    if record.status == "Processed":
        return
    signers = set((record.signed_by or record.account or "").split(","))
    notes: list[str] = []  # items that cannot be processed and never will be: kept in the payload
    failures: list[str] = []  # items whose processing raised: the event is retried
    items = 0
    for change in p.parse_webhook(record.payload.encode()).changes:
        parsed = change.parse()
        if not isinstance(parsed, p.MessagesChange):
            continue  # calls and fields we do not handle yet stay in the stored payload
        account = account_for_phone_number(parsed.phone_number_id)
        if account not in signers:
            notes.append(f"phone number {parsed.phone_number_id}: no account that signed this delivery has it")
            continue
        notes += [f"{item.kind} {item.index}: {item.reason}" for item in parsed.malformed]
        for message in parsed.messages:
            items += 1
            failures += _isolated(f"message {message.wamid}", apply_message, account, parsed, message)
        for status in parsed.statuses:
            items += 1
            failures += _isolated(f"status {status.wamid}", apply_status, account, status)
        for error in parsed.errors:
            frappe.db.set_value("WhatsApp Account", account, "last_error",
                                f"{error.code}: {error.title or error.message}"[:1000], update_modified=False)
    record.db_set({"status": "Failed" if failures else "Processed", "attempts": (record.attempts or 0) + 1,
                   "items": items, "processed_at": now_datetime(),
                   "error": "\n".join(failures + notes)[-4000:] or None})
    frappe.db.commit()


def retry_failed_events() -> None:
    """Scheduler: events that failed, or whose job never ran, are processed again (it is idempotent)."""
    stale = add_to_date(now_datetime(), minutes=-RETRY_AFTER_MIN)
    for name in frappe.get_all(EVENT, filters={"status": ("in", ("Received", "Failed")),
                                               "attempts": ("<", MAX_ATTEMPTS), "modified": ("<", stale)},
                               pluck="name", order_by="creation asc", limit_page_length=200):
        try:
            process_event(name)
        except Exception:
            frappe.db.rollback()
            frappe.db.set_value(EVENT, name, {"status": "Failed", "error": frappe.get_traceback()[-4000:]})
            frappe.db.commit()


def delete_old_events() -> None:
    """Scheduler: raw payloads are personal data; processed ones go after the retention period."""
    days = max(1, frappe.get_cached_doc("WhatsApp Settings").raw_payload_retention_days or 30)
    frappe.db.delete(EVENT, {"status": "Processed", "creation": ("<", add_days(now_datetime(), -days))})
    frappe.db.delete("WhatsApp Pending Status", {"creation": ("<", add_days(now_datetime(), -7))})
    # Media of messages whose file a personal data request redacted.
    for file_name in frappe.db.sql_list("""SELECT f.name FROM `tabFile` f
            JOIN `tabWhatsApp Message` m ON m.name = f.attached_to_name
            WHERE f.attached_to_doctype = 'WhatsApp Message' AND IFNULL(m.media_file, '') != f.file_url"""):
        frappe.delete_doc("File", file_name, ignore_permissions=True, force=True)


def _isolated(what: str, apply: Callable[..., None], *args: Any) -> list[str]:
    """One item in a savepoint: a bad one is reported (and retried with the event) without undoing the rest."""
    savepoint = "whatsapp_item"
    frappe.db.savepoint(savepoint)
    try:
        apply(*args)
    except Exception:
        frappe.db.rollback(save_point=savepoint)
        frappe.log_error(title=f"WhatsApp webhook: {what} failed")
        return [f"{what}: {frappe.get_traceback()[-1500:]}"]
    frappe.db.release_savepoint(savepoint)
    return []


def _signed(raw: bytes, header: str | None, secrets: tuple[str, ...]) -> bool:
    try:
        verify(raw, header, secrets)
    except WebhookSignatureError:
        return False
    return True


def _enqueue(event_name: str) -> None:
    frappe.enqueue("voice_agent.integrations.whatsapp.webhook.process_event", queue="short",
                   event_name=event_name, enqueue_after_commit=True)

