"""The durable send queue. A message to send is a WhatsApp Message in "Queued", committed before anything
reaches Meta; a background job sends it and records the outcome; a failure Meta says is temporary
(throughput, pair rate limit, 5xx, no answer) is retried with backoff, a final one gets its sentence for
the sender. Nothing is lost when Meta, Redis or a worker is down: the scheduler picks up whatever is
due. Nothing is sent twice on purpose: a send that may have reached Meta although no answer came is
matched by the status webhook (our message name travels as biz_opaque_callback_data) before a retry.
"""

from __future__ import annotations

import json
import mimetypes
from datetime import timedelta
from typing import Any

import frappe
from frappe import _
from frappe.utils import add_to_date, get_datetime, now_datetime

from voice_agent.integrations.whatsapp import graph as builders
from voice_agent.integrations.whatsapp import templates
from voice_agent.integrations.whatsapp.connect import graph_client, mark_token_expired
from voice_agent.integrations.whatsapp.errors import ErrorKind, Retry
from voice_agent.integrations.whatsapp.graph import GraphError
from voice_agent.integrations.whatsapp.statuses import apply_pending_statuses
from voice_agent.messaging.window import WindowClosed, check_can_send
from voice_agent.site_time import to_utc

MESSAGE = "WhatsApp Message"
MAX_ATTEMPTS = 8
MAX_BACKOFF_SEC = 15 * 60
# A send whose job died between "Sending" and the answer is looked at again after this long.
STALE_SENDING = timedelta(minutes=5)
# A desk send is tried right after the answer to the desk; the scheduler takes it if that never happens.
AFTER_RESPONSE_GRACE_SEC = 60
# ... and holds a web worker meanwhile: a Meta slower than this leaves it to the retry (uncertain delivery).
AFTER_RESPONSE_TIMEOUT_SEC = 4.0
# After a send that may have reached Meta, wait this long for its status webhook before resending.
UNCERTAIN_DELAY_SEC = 90
KINDS = ("text", "media", "template", "buttons", "list", "call_permission_request")


def queue_message(conversation: Any, kind: str, *, text: str | None = None, reply_to: str | None = None,
                  file_url: str | None = None, template: str | None = None,
                  template_values: dict[str, Any] | None = None, options: list[dict[str, str]] | None = None,
                  list_button: str | None = None, sent_by: str | None = None,
                  bot_reply: dict[str, Any] | None = None) -> Any:
    """A new outbound message of `conversation`, checked and queued (the caller commits); returns it.
    ``bot_reply``: the bot sends it, with these Bot fields (model, tokens, cost); the bot's job sends it
    itself right after its commit (``send``), and the scheduler takes it over if that never happens."""
    if kind not in KINDS:
        frappe.throw(_("Unknown message kind {0}.").format(kind))
    try:
        check_can_send("template" if kind == "template" else "text", _aware(conversation.last_inbound_at),
                       now_datetime_utc())
    except WindowClosed:
        frappe.throw(_("More than 24 hours have passed since the customer last wrote: only a template can be "
                       "sent until they write again."), title=_("Service window closed"))
    values: dict[str, Any] = {"doctype": MESSAGE, "conversation": conversation.name,
                              "account": conversation.account, "direction": "Outbound", "status": "Queued",
                              "party_doctype": conversation.party_doctype, "party_name": conversation.party_name,
                              "customer_email": conversation.customer_email,
                              "sent_by": None if bot_reply is not None else sent_by or frappe.session.user,
                              "next_attempt_at": now_datetime(), "attempts": 0}
    if bot_reply is not None:
        values.update(bot_reply, bot_reply=1,
                      next_attempt_at=add_to_date(now_datetime(), seconds=AFTER_RESPONSE_GRACE_SEC))
    if reply_to:
        values["reply_to"] = reply_to
        values["reply_to_wamid"] = frappe.db.get_value(MESSAGE, {"name": reply_to,
                                                                 "conversation": conversation.name}, "wamid")
        if not values["reply_to_wamid"]:
            frappe.throw(_("The message you reply to is not in this conversation or was never delivered."))
    if kind == "text":
        values.update(message_type="text", text=_required(text, _("Type a message.")))
        builders.text_message(values["text"])
    elif kind == "media":
        values.update(_media_values(file_url), text=(text or "").strip() or None)
    elif kind == "template":
        values.update(_template_values(template, template_values or {}))
    elif kind in ("buttons", "list"):
        values.update(_interactive_values(kind, _required(text, _("Type the question the options answer.")),
                                          options or [], list_button))
    elif kind == "call_permission_request":
        values.update(message_type="call_permission_request", text=(text or "").strip() or None)
    message = frappe.get_doc(values).insert(ignore_permissions=True)
    if message.media_file:
        # The user uploaded it as their own file; from now on it belongs to the message (and who sees it).
        frappe.db.set_value("File", {"file_url": message.media_file, "attached_to_name": ("is", "not set")},
                            {"attached_to_doctype": MESSAGE, "attached_to_name": message.name,
                             "attached_to_field": "media_file"})
    conversation.record_outbound(now_datetime(), message.preview())
    conversation.save_activity()
    if bot_reply is None:
        _send_soon(message)
    conversation.publish("message", message)
    return message


def _send_soon(message: Any) -> None:
    """In a desk request, the first attempt runs right after Frappe has answered, in this (warm) web process:
    a job is a new process, whose start alone took about half a second before Meta was asked
    (docs/benchmarks.md, WhatsApp messaging). The message is committed as Queued first, as ever; its next
    attempt is set a minute ahead, so that the scheduler's sweep does not send it alongside, and takes it
    over if this process dies first. Elsewhere (no request), and for what first uploads a file to Meta (media,
    templates, which may have a media header), a job: that may take long, and must not hold a web worker."""
    after_response = getattr(getattr(frappe.local, "request", None), "after_response", None)
    if after_response is None or message.media_file or message.message_type == "template":
        _enqueue_send(message.name)
        return
    message.db_set("next_attempt_at", add_to_date(now_datetime(), seconds=AFTER_RESPONSE_GRACE_SEC),
                   update_modified=False)
    after_response.add(lambda: _send_after_response(message.name))


def _send_after_response(message_name: str) -> None:
    try:
        if frappe.db.exists(MESSAGE, message_name):  # the request may have rolled back after queueing it
            send(message_name, timeout=AFTER_RESPONSE_TIMEOUT_SEC)
    except Exception:
        frappe.db.rollback()
        frappe.log_error(title=f"WhatsApp send of {message_name} after the response failed")
        frappe.db.commit()


def send(message_name: str, timeout: float = 10.0) -> None:
    """The send job: one attempt at a queued message."""
    message = frappe.get_doc(MESSAGE, message_name, for_update=True)
    if message.status not in ("Queued", "Sending") or message.wamid:
        return
    account = frappe.get_cached_doc("WhatsApp Account", message.account)
    if account.status == "Token expired" or not account.enabled:
        return  # held: sent when a manager saves a new token (WhatsApp Account.on_update)
    message.db_set({"status": "Sending", "attempts": (message.attempts or 0) + 1}, update_modified=False)
    frappe.db.commit()
    conversation = frappe.get_doc("WhatsApp Conversation", message.conversation)
    try:
        with graph_client(account, timeout=timeout) as client:
            payload = _graph_message(message, client, account.phone_number_id)
            result = client.send_message(account.phone_number_id, conversation.wa_id, payload,
                                         reply_to=message.reply_to_wamid or None,
                                         biz_opaque_callback_data=message.name)
    except GraphError as exc:
        frappe.db.rollback()
        _record_failure(message_name, exc)
        return
    except (ValueError, templates.TemplateParameterError) as exc:
        frappe.db.rollback()
        _finish(message_name, "Failed", error={"code": None, "title": "", "message": str(exc)})
        return
    _record_sent(message_name, result.wamid)


def queue_read_receipt(inbound_message: str, typing: bool = False) -> None:
    frappe.enqueue("voice_agent.integrations.whatsapp.outbound.send_read_receipt", queue="short",
                   message_name=inbound_message, typing=typing, enqueue_after_commit=True)


def send_read_receipt(message_name: str, typing: bool = False) -> None:
    """Blue ticks on the customer's phone (and "typing…" while a person writes); best effort."""
    row = frappe.db.get_value(MESSAGE, message_name, ["account", "wamid"], as_dict=True)
    if not row or not row.wamid:
        return
    account = frappe.get_cached_doc("WhatsApp Account", row.account)
    try:
        with graph_client(account) as client:
            client.mark_read(account.phone_number_id, row.wamid, typing_indicator=typing)
    except GraphError as exc:
        if exc.kind is ErrorKind.AUTH_EXPIRED:
            mark_token_expired(account.name, exc.message)


def send_due_messages() -> None:
    """Scheduler: queued messages whose next attempt is due (their job was lost, or a retry is due), and
    sends whose job died while waiting for Meta."""
    due = frappe.get_all(MESSAGE, filters={"status": "Queued", "direction": "Outbound",
                                           "next_attempt_at": ("<=", now_datetime())},
                         pluck="name", order_by="next_attempt_at asc", limit_page_length=500)
    stale = frappe.get_all(MESSAGE, filters={"status": "Sending", "direction": "Outbound",
                                             "modified": ("<", now_datetime() - STALE_SENDING)},
                           pluck="name", limit_page_length=500)
    for name in due + stale:
        _enqueue_send(name, after_commit=False)


def release_held_messages(account: str) -> None:
    """A manager saved a new token: send what was held while the old one was expired."""
    for name in frappe.get_all(MESSAGE, filters={"account": account, "status": "Queued"}, pluck="name"):
        _enqueue_send(name)


def now_datetime_utc():
    return to_utc(now_datetime())


# --- the attempt's outcome ---------------------------------------------------------------------------


def _record_sent(message_name: str, wamid: str) -> None:
    message = frappe.get_doc(MESSAGE, message_name, for_update=True)
    message.wamid = wamid
    message.error_code = message.error_title = message.error_message = message.error_details = None
    message.apply_delivery_status("sent", now_datetime())
    message.next_attempt_at = None
    message.save(ignore_permissions=True)
    apply_pending_statuses(message)
    _publish(message)
    frappe.db.commit()


def _record_failure(message_name: str, exc: GraphError) -> None:
    message = frappe.get_doc(MESSAGE, message_name, for_update=True)
    if message.status not in ("Queued", "Sending"):
        return  # a status webhook got there first (the send did reach Meta)
    error = {"code": exc.code, "title": exc.title, "message": _(exc.user_message), "details": exc.details}
    if exc.kind is ErrorKind.AUTH_EXPIRED:
        mark_token_expired(message.account, exc.message)
        _finish(message_name, "Queued", error={**error, "message": _(
            "Held: the WhatsApp access token has expired. It is sent once a manager saves a new one.")},
            retry_in=None)
        return
    if exc.maybe_delivered and message.attempts < MAX_ATTEMPTS:
        _finish(message_name, "Queued", error=error, retry_in=UNCERTAIN_DELAY_SEC)
        return
    if exc.retryable and message.attempts < MAX_ATTEMPTS:
        backoff = exc.retry_after or (exc.info.backoff_seconds or 30)
        factor = 2 ** (message.attempts - 1) * (2 if exc.info.retry is Retry.SLOWER else 1)
        _finish(message_name, "Queued", error=error, retry_in=min(backoff * factor, MAX_BACKOFF_SEC))
        return
    _finish(message_name, "Failed", error=error)


def _finish(message_name: str, status: str, *, error: dict[str, Any], retry_in: float | None = None) -> None:
    message = frappe.get_doc(MESSAGE, message_name, for_update=True)
    message.status = status
    message.error_code = error.get("code")
    message.error_title = (error.get("title") or "")[:140]
    message.error_message = error.get("message")
    message.error_details = error.get("details")
    if status == "Failed":
        message.failed_at = now_datetime()
        message.next_attempt_at = None
    else:
        message.next_attempt_at = add_to_date(now_datetime(), seconds=retry_in) if retry_in else None
    message.save(ignore_permissions=True)
    _publish(message)
    frappe.db.commit()


def _publish(message: Any) -> None:
    frappe.get_doc("WhatsApp Conversation", message.conversation).publish("status", message)


def _enqueue_send(message_name: str, after_commit: bool = True) -> None:
    frappe.enqueue("voice_agent.integrations.whatsapp.outbound.send", queue="short", message_name=message_name,
                   job_id=f"whatsapp-send:{message_name}", deduplicate=True, enqueue_after_commit=after_commit)


# --- building the Graph message -----------------------------------------------------------------------


def _graph_message(message: Any, client: Any, phone_number_id: str) -> dict[str, Any]:
    kind = message.message_type
    if kind == "text":
        return builders.text_message(message.text, preview_url="http" in (message.text or ""))
    if kind in ("image", "audio", "video", "document", "sticker"):
        media_id = message.media_id or _upload(message, client, phone_number_id)
        caption = message.text if kind in ("image", "video", "document") else None
        return builders.media_message(kind, media_id, caption=caption,
                                      filename=message.filename if kind == "document" else None)
    if kind == "template":
        template = frappe.get_doc("WhatsApp Template", message.template)
        values = json.loads(message.template_parameters or "{}")
        components = json.loads(template.components or "[]")
        header_media = None
        media_url = (values.get("header") or {}).get("media")
        if media_url:
            header_media = message.media_id or _upload(message, client, phone_number_id, media_url)
        return builders.template_message(template.template_name, template.language,
                                         templates.send_components(components, values, header_media))
    if kind == "interactive":
        spec = json.loads(message.interactive or "{}")
        options = [(o["id"], o["title"]) for o in spec.get("options") or []]
        if spec.get("list_button"):
            rows = [{"id": o["id"], "title": o["title"], **({"description": o["description"]}
                     if o.get("description") else {})} for o in spec["options"]]
            return builders.list_message(message.text, spec["list_button"], [{"title": spec["list_button"], "rows": rows}])
        return builders.reply_buttons_message(message.text, options)
    if kind == "call_permission_request":
        return builders.call_permission_request_message(message.text)
    raise ValueError(_("Messages of kind {0} cannot be sent.").format(kind))


def _upload(message: Any, client: Any, phone_number_id: str, file_url: str | None = None) -> str:
    """Meta cannot fetch our private files: upload the bytes and send by media id (kept for retries)."""
    file_doc = frappe.get_doc("File", {"file_url": file_url or message.media_file})
    with open(file_doc.get_full_path(), "rb") as handle:  # get_content() decodes what looks like text
        content = handle.read()
    media_id = client.upload_media(phone_number_id, content, message.mime_type or _mime_type(file_doc),
                                   file_doc.file_name)
    frappe.db.set_value(MESSAGE, message.name, {"media_id": media_id, "media_state": "Uploaded"},
                        update_modified=False)
    return media_id


def _media_values(file_url: str | None) -> dict[str, Any]:
    if not file_url:
        frappe.throw(_("Attach a file to send."))
    file_doc = frappe.get_doc("File", {"file_url": file_url})
    if not file_doc.has_permission("read"):
        frappe.throw(_("You cannot send this file."), frappe.PermissionError)
    mime_type = _mime_type(file_doc)
    kind = builders.media_kind(mime_type)
    if kind is None:
        frappe.throw(_("WhatsApp does not accept {0} files.").format(mime_type or _("these")))
    limit = builders.MEDIA_LIMITS[kind][1]
    if (file_doc.file_size or 0) > limit:
        frappe.throw(_("The file is {0} MB; WhatsApp accepts {1} files up to {2} MB.").format(
            round((file_doc.file_size or 0) / 1e6, 1), _(kind), round(limit / 1e6, 1)))
    return {"message_type": kind, "media_file": file_doc.file_url, "mime_type": mime_type,
            "filename": file_doc.file_name, "media_size": file_doc.file_size, "media_state": "Pending"}


def _template_values(template: str | None, values: dict[str, Any]) -> dict[str, Any]:
    if not template or not frappe.db.exists("WhatsApp Template", template):
        frappe.throw(_("Choose a template."))
    doc = frappe.get_doc("WhatsApp Template", template)
    if (doc.status or "").upper() != "APPROVED":
        frappe.throw(_("Template {0} is {1} at Meta: only approved templates can be sent.").format(
            doc.template_name, (doc.status or "").lower()))
    components = json.loads(doc.components or "[]")
    try:
        cleaned = templates.check_values(components, values)
    except templates.TemplateParameterError as exc:
        frappe.throw(str(exc), title=_("Template values"))
    text, _missing = templates.render(components, cleaned)
    result = {"message_type": "template", "template": doc.name, "template_parameters": json.dumps(cleaned),
              "text": text}
    media_url = (cleaned.get("header") or {}).get("media")
    if media_url:
        result.update(_media_values(media_url), message_type="template", text=text)
    return result


def _interactive_values(kind: str, text: str, options: list[dict[str, str]], list_button: str | None) -> dict[str, Any]:
    cleaned = [{"id": str(o.get("id") or i + 1)[:200], "title": str(o.get("title") or "").strip(),
                **({"description": str(o["description"])[:72]} if o.get("description") else {})}
               for i, o in enumerate(options)]
    try:
        if kind == "buttons":
            builders.reply_buttons_message(text, [(o["id"], o["title"]) for o in cleaned])
        else:
            button = _required(list_button, _("Name the button that opens the list."))
            builders.list_message(text, button, [{"title": button, "rows": cleaned}])
    except ValueError as exc:
        frappe.throw(str(exc), title=_("Options"))
    spec: dict[str, Any] = {"options": cleaned}
    if kind == "list":
        spec["list_button"] = list_button
    return {"message_type": "interactive", "text": text, "interactive": json.dumps(spec)}


def _mime_type(file_doc: Any) -> str:
    guessed = mimetypes.guess_type(file_doc.file_name or file_doc.file_url or "")[0]
    return guessed or "application/octet-stream"


def _required(value: str | None, message: str) -> str:
    if not value or not str(value).strip():
        frappe.throw(message)
    return str(value).strip()


def _aware(value: Any):
    return to_utc(get_datetime(value)) if value else None
