"""Inbound media, fetched in a background job: Graph's media query, then the short-lived URL with the
token, with a size limit per type and the SHA-256 Meta announced checked; kept as a private File on the
message (only desk users who may see the conversation can open it).

One job downloads every pending file, rather than a job per file: each job is a new process that imports
ERPNext and this app again (about a second of a core), which at busy times cost more than the webhooks'
own work. A message queues a job after its commit unless one is queued that has not started yet (that
one will see it); Meta being down leaves the file pending with a next attempt, and the scheduler looks
every minute, so no file is forgotten."""

from __future__ import annotations

import base64
import hashlib
import mimetypes
import time

import frappe
from frappe import _
from frappe.utils import add_to_date, flt, now_datetime

from voice_agent.integrations.whatsapp.connect import graph_client, mark_token_expired
from voice_agent.integrations.whatsapp.errors import ErrorKind
from voice_agent.integrations.whatsapp.graph import MEDIA_LIMITS, GraphError, MediaRejected, media_kind

MESSAGE = "WhatsApp Message"
DRAIN = "voice_agent.integrations.whatsapp.media.download_due"
DRAIN_SECONDS = 120
MAX_ATTEMPTS = 8  # over about four hours (2, 4, … 128 minutes apart); Meta keeps a media id for weeks
MAX_BACKOFF_MIN = 6 * 60
QUEUED_FOR_SECONDS = 30


def queue_download() -> None:
    """A download job once the current transaction (which stored a message with media) has committed."""
    frappe.db.after_commit.add(_ensure_drain)


def _ensure_drain() -> None:
    token = frappe.generate_hash(length=12)
    # Set while a job is queued and has not started. It expires soon, in case that job is lost with a worker
    # killed mid-job (then the scheduler's run may wait too, for RQ to give the job up): at worst a busy
    # queue gets a second job, which finds nothing left.
    if not frappe.flags.in_test and not frappe.cache.set(_queued_key(), token, nx=True, ex=QUEUED_FOR_SECONDS):
        return
    frappe.enqueue(DRAIN, queue="long", job_id=f"whatsapp-media-drain:{token}")


def download_due() -> None:
    """The download job (and the scheduler, every minute): every inbound file due, oldest first."""
    frappe.cache.delete(_queued_key())  # from now on, a new file queues another job
    deadline = time.monotonic() + DRAIN_SECONDS
    while time.monotonic() < deadline:
        name = _claim()
        if not name:
            return
        try:
            download(name)
        except Exception:
            frappe.db.rollback()
            frappe.log_error(title=f"WhatsApp media of {name} failed")
            _retry_later(name, _("The file could not be fetched; it is tried again later."))
    _ensure_drain()  # out of time: the next job goes on


def _claim() -> str | None:
    rows = frappe.db.sql(f"""SELECT name FROM `tab{MESSAGE}` WHERE media_state = 'Pending' AND direction = 'Inbound'
        AND (next_attempt_at IS NULL OR next_attempt_at <= %s) ORDER BY creation LIMIT 1 FOR UPDATE SKIP LOCKED""",
                         now_datetime())
    return rows[0][0] if rows else None


def _queued_key() -> str:
    return frappe.cache.make_key("whatsapp-media:drain-queued")


def download(message_name: str) -> None:
    """One attempt at one message's file."""
    message = frappe.get_doc(MESSAGE, message_name, for_update=True)
    if message.media_state not in ("Pending", "Failed") or not message.media_id:
        frappe.db.commit()
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
        if exc.retryable or exc.kind is ErrorKind.AUTH_EXPIRED:
            return _retry_later(message.name, exc.user_message)  # a new token lets it through
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


def _retry_later(message_name: str, error: str) -> None:
    attempts = (frappe.db.get_value(MESSAGE, message_name, "attempts") or 0) + 1
    if attempts >= MAX_ATTEMPTS:
        return _done(frappe.get_doc(MESSAGE, message_name), "Failed", error=error)
    frappe.db.set_value(MESSAGE, message_name, {
        "media_state": "Pending", "attempts": attempts, "error_message": error,
        "next_attempt_at": add_to_date(now_datetime(), minutes=min(2 ** attempts, MAX_BACKOFF_MIN))})
    frappe.db.commit()


def _limit(mime_type: str | None) -> int:
    configured = int(flt(frappe.get_cached_doc("WhatsApp Settings").media_download_limit_mb or 100) * 1024 * 1024)
    kind = media_kind(mime_type or "")
    return min(configured, MEDIA_LIMITS[kind][1]) if kind else configured


def _sha256_matches(content: bytes, announced: str) -> bool:
    digest = hashlib.sha256(content).digest()
    # Meta's webhooks carry it base64-encoded, its media query hex-encoded.
    return announced.strip().lower() == digest.hex() or announced.strip() == base64.b64encode(digest).decode()
