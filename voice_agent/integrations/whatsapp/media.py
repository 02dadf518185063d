"""Inbound media, fetched in a background job: Graph's media query, then the short-lived URL with the
token, with a size limit per type and the SHA-256 Meta announced checked; kept as a private File on the
message (only desk users who may see the conversation can open it)."""

from __future__ import annotations

import base64
import hashlib
import mimetypes

import frappe
from frappe import _
from frappe.utils import flt

from voice_agent.integrations.whatsapp.connect import graph_client, mark_token_expired
from voice_agent.integrations.whatsapp.errors import ErrorKind
from voice_agent.integrations.whatsapp.graph import MEDIA_LIMITS, GraphError, MediaRejected, media_kind

MESSAGE = "WhatsApp Message"


def download(message_name: str) -> None:
    message = frappe.get_doc(MESSAGE, message_name)
    if message.media_state not in ("Pending", "Failed") or not message.media_id:
        return
    account = frappe.get_cached_doc("WhatsApp Account", message.account)
    limit = _limit(message.mime_type)
    try:
        with graph_client(account, timeout=30) as client:
            info = client.media_info(message.media_id, phone_number_id=account.phone_number_id)
            if info.file_size and info.file_size > limit:
                return _done(message, "Too large", size=info.file_size)
            content = client.download_media(info.url, limit)
    except MediaRejected as exc:
        return _done(message, "Too large" if "large" in exc.message.lower() else "Failed", error=exc.message)
    except GraphError as exc:
        if exc.kind is ErrorKind.AUTH_EXPIRED:
            mark_token_expired(account.name, exc.message)
        if exc.retryable:
            raise  # the job fails and RQ/the scheduler try again; the media id lives about 7 days
        return _done(message, "Failed", error=exc.user_message)
    if message.media_sha256 and not _sha256_matches(content, message.media_sha256):
        return _done(message, "Failed", error="The file's checksum does not match what WhatsApp announced.")
    extension = mimetypes.guess_extension(message.mime_type or "") or ""
    try:
        file_doc = frappe.get_doc({
            "doctype": "File", "file_name": message.filename or f"whatsapp-{message.name}{extension}",
            "attached_to_doctype": MESSAGE, "attached_to_name": message.name, "attached_to_field": "media_file",
            "is_private": 1, "content": content,
        }).insert(ignore_permissions=True)
    except OSError:
        # Frappe re-encodes a JPEG to strip its EXIF data (a System Setting); PIL cannot read a damaged one.
        if message.mime_type != "image/jpeg":
            raise
        return _done(message, "Failed", error=_("The customer's photo cannot be read: it is damaged or not an image."))
    _done(message, "Downloaded", size=len(content), file_url=file_doc.file_url)


def _done(message, state: str, *, size: int | None = None, file_url: str | None = None, error: str | None = None) -> None:
    values = {"media_state": state}
    if size is not None:
        values["media_size"] = size
    if file_url:
        values["media_file"] = file_url
    if error:
        values["error_message"] = error
    message.db_set(values)
    message.reload()
    frappe.get_doc("WhatsApp Conversation", message.conversation).publish("status", message)
    frappe.db.commit()


def _limit(mime_type: str | None) -> int:
    configured = int(flt(frappe.get_cached_doc("WhatsApp Settings").media_download_limit_mb or 100) * 1024 * 1024)
    kind = media_kind(mime_type or "")
    return min(configured, MEDIA_LIMITS[kind][1]) if kind else configured


def _sha256_matches(content: bytes, announced: str) -> bool:
    digest = hashlib.sha256(content).digest()
    # Meta's webhooks carry it base64-encoded, its media query hex-encoded.
    return announced.strip().lower() == digest.hex() or announced.strip() == base64.b64encode(digest).decode()
