"""Builders for every inbound WhatsApp webhook body, plus signing and posting them as Meta does.

Shapes follow pywa's recorded fixtures (tests/data/updates/*.json) and Meta's Cloud API and Calling
pages. Where no primary source settles a detail, the comment says "unconfirmed" and the builder uses
the most documented shape.

Three layers, composable into batches (several entries, changes, messages, statuses):
- item builders return one object of ``value.messages[]`` (``text``, ``image``, ``button_reply``...),
  ``value.statuses[]`` (``status``, ``failed_status``, ``call_status``), ``value.calls[]``
  (``call_connect``, ``call_terminate``) or ``value.errors[]`` (``error``);
- ``messages_value`` / ``calls_value`` build one ``value``; ``change`` / ``entry`` / ``envelope``
  wrap them;
- ``messages_webhook`` / ``calls_webhook`` do all of it for the common single-change case.
``encode`` gives the exact bytes, ``sign`` their ``X-Hub-Signature-256``, ``post_signed`` posts them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import requests

# Meta's own documentation examples.
DEFAULT_WABA_ID = "102290129340398"
DEFAULT_PHONE_NUMBER_ID = "106540352242922"
DEFAULT_DISPLAY_PHONE_NUMBER = "15550783881"
DEFAULT_CUSTOMER = "16505551234"
ERROR_CODES_HREF = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"

Json = dict[str, Any]


def now() -> str:
    return str(int(time.time()))


def new_wamid() -> str:
    return "wamid.HBgL" + base64.b64encode(secrets.token_bytes(27)).decode()


def new_wacid() -> str:
    return "wacid.HBgL" + base64.urlsafe_b64encode(secrets.token_bytes(21)).decode().rstrip("=")


def sha256_b64(data: bytes) -> str:
    """The ``sha256`` of inbound media in webhooks: base64 in every sample (the media query's is hex)."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


# -- envelope ---------------------------------------------------------------------------------------


def envelope(*entries: Json) -> Json:
    return {"object": "whatsapp_business_account", "entry": list(entries)}


def entry(*changes: Json, waba_id: str = DEFAULT_WABA_ID) -> Json:
    return {"id": waba_id, "changes": list(changes)}


def change(field: str, value: Json) -> Json:
    return {"value": value, "field": field}


def metadata(phone_number_id: str = DEFAULT_PHONE_NUMBER_ID,
             display_phone_number: str = DEFAULT_DISPLAY_PHONE_NUMBER) -> Json:
    return {"display_phone_number": display_phone_number, "phone_number_id": phone_number_id}


def contact(wa_id: str = DEFAULT_CUSTOMER, name: str = "Test Customer", *, user_id: str | None = None,
            parent_user_id: str | None = None) -> Json:
    """``value.contacts[]``; ``user_id`` / ``parent_user_id`` are the newer business-scoped ids."""
    item: Json = {"profile": {"name": name}, "wa_id": wa_id}
    if user_id is not None:
        item["user_id"] = user_id
    if parent_user_id is not None:
        item["parent_user_id"] = parent_user_id
    return item


def _value(phone_number_id: str, display_phone_number: str, **lists: Sequence[Json]) -> Json:
    value: Json = {"messaging_product": "whatsapp", "metadata": metadata(phone_number_id, display_phone_number)}
    value.update({key: list(items) for key, items in lists.items() if items})
    return value


def messages_value(*, phone_number_id: str = DEFAULT_PHONE_NUMBER_ID,
                   display_phone_number: str = DEFAULT_DISPLAY_PHONE_NUMBER, contacts: Sequence[Json] = (),
                   messages: Sequence[Json] = (), statuses: Sequence[Json] = (),
                   errors: Sequence[Json] = ()) -> Json:
    return _value(phone_number_id, display_phone_number, contacts=contacts, messages=messages, statuses=statuses,
                  errors=errors)


def calls_value(*, phone_number_id: str = DEFAULT_PHONE_NUMBER_ID,
                display_phone_number: str = DEFAULT_DISPLAY_PHONE_NUMBER, contacts: Sequence[Json] = (),
                calls: Sequence[Json] = (), statuses: Sequence[Json] = (), errors: Sequence[Json] = ()) -> Json:
    return _value(phone_number_id, display_phone_number, contacts=contacts, calls=calls, statuses=statuses,
                  errors=errors)


def messages_webhook(*, waba_id: str = DEFAULT_WABA_ID, phone_number_id: str = DEFAULT_PHONE_NUMBER_ID,
                     display_phone_number: str = DEFAULT_DISPLAY_PHONE_NUMBER, contacts: Sequence[Json] = (),
                     messages: Sequence[Json] = (), statuses: Sequence[Json] = (),
                     errors: Sequence[Json] = ()) -> Json:
    """One entry, one ``messages`` change. Inbound messages get a contact for their sender by default."""
    if messages and not contacts:
        contacts = [contact(m["from"]) for m in _unique_senders(messages)]
    value = messages_value(phone_number_id=phone_number_id, display_phone_number=display_phone_number,
                           contacts=contacts, messages=messages, statuses=statuses, errors=errors)
    return envelope(entry(change("messages", value), waba_id=waba_id))


def calls_webhook(*, waba_id: str = DEFAULT_WABA_ID, phone_number_id: str = DEFAULT_PHONE_NUMBER_ID,
                  display_phone_number: str = DEFAULT_DISPLAY_PHONE_NUMBER, contacts: Sequence[Json] = (),
                  calls: Sequence[Json] = (), statuses: Sequence[Json] = (), errors: Sequence[Json] = ()) -> Json:
    value = calls_value(phone_number_id=phone_number_id, display_phone_number=display_phone_number,
                        contacts=contacts, calls=calls, statuses=statuses, errors=errors)
    return envelope(entry(change("calls", value), waba_id=waba_id))


def _unique_senders(messages: Iterable[Json]) -> list[Json]:
    seen: dict[str, Json] = {}
    for message in messages:
        seen.setdefault(message["from"], message)
    return list(seen.values())


# -- value.messages[] -------------------------------------------------------------------------------


def _message(type_: str, from_: str, *, wamid: str | None, timestamp: str | None, context: Json | None,
             **fields: Any) -> Json:
    message: Json = {"from": from_, "id": wamid or new_wamid(), "timestamp": timestamp or now(), "type": type_}
    if context is not None:
        message["context"] = context
    message.update(fields)
    return message


def reply_context(message_id: str, from_: str = DEFAULT_DISPLAY_PHONE_NUMBER) -> Json:
    """``context`` of a reply: the message replied to and who sent it."""
    return {"from": from_, "id": message_id}


def forwarded_context(frequently: bool = False) -> Json:
    return {"frequently_forwarded": True} if frequently else {"forwarded": True}


def text(from_: str, body: str, *, wamid: str | None = None, timestamp: str | None = None,
         context: Json | None = None) -> Json:
    return _message("text", from_, wamid=wamid, timestamp=timestamp, context=context, text={"body": body})


def media(kind: str, from_: str, media_id: str, *, mime_type: str, sha256: str, caption: str | None = None,
          filename: str | None = None, url: str | None = None, voice: bool | None = None,
          animated: bool | None = None, wamid: str | None = None, timestamp: str | None = None,
          context: Json | None = None) -> Json:
    """image / audio / video / document / sticker. ``url`` is the newer inline media URL (Meta: rolled
    out from November 2025); ``voice`` marks a voice note, ``animated`` an animated sticker."""
    if kind not in ("image", "audio", "video", "document", "sticker"):
        raise ValueError(f"not a media kind: {kind}")
    obj: Json = {"mime_type": mime_type, "sha256": sha256, "id": media_id}
    for key, value in (("caption", caption), ("filename", filename), ("url", url), ("voice", voice),
                       ("animated", animated)):
        if value is not None:
            obj[key] = value
    return _message(kind, from_, wamid=wamid, timestamp=timestamp, context=context, **{kind: obj})


def image(from_: str, media_id: str, *, mime_type: str = "image/jpeg", sha256: str = "", **kw: Any) -> Json:
    return media("image", from_, media_id, mime_type=mime_type, sha256=sha256, **kw)


def audio(from_: str, media_id: str, *, mime_type: str = "audio/ogg; codecs=opus", sha256: str = "",
          voice: bool = True, **kw: Any) -> Json:
    return media("audio", from_, media_id, mime_type=mime_type, sha256=sha256, voice=voice, **kw)


def video(from_: str, media_id: str, *, mime_type: str = "video/mp4", sha256: str = "", **kw: Any) -> Json:
    return media("video", from_, media_id, mime_type=mime_type, sha256=sha256, **kw)


def document(from_: str, media_id: str, *, filename: str = "file.pdf", mime_type: str = "application/pdf",
             sha256: str = "", **kw: Any) -> Json:
    return media("document", from_, media_id, mime_type=mime_type, sha256=sha256, filename=filename, **kw)


def sticker(from_: str, media_id: str, *, animated: bool = False, sha256: str = "", **kw: Any) -> Json:
    return media("sticker", from_, media_id, mime_type="image/webp", sha256=sha256, animated=animated, **kw)


def reaction(from_: str, message_id: str, emoji: str, **kw: Any) -> Json:
    return _message("reaction", from_, wamid=kw.get("wamid"), timestamp=kw.get("timestamp"), context=None,
                    reaction={"message_id": message_id, "emoji": emoji})


def reaction_removed(from_: str, message_id: str, *, omit_emoji: bool = False, **kw: Any) -> Json:
    """A removed reaction: an empty emoji (pywa also records the emoji key missing altogether)."""
    body: Json = {"message_id": message_id} if omit_emoji else {"message_id": message_id, "emoji": ""}
    return _message("reaction", from_, wamid=kw.get("wamid"), timestamp=kw.get("timestamp"), context=None,
                    reaction=body)


def button_reply(from_: str, button_id: str, title: str, *, context_id: str, **kw: Any) -> Json:
    return _message("interactive", from_, wamid=kw.get("wamid"), timestamp=kw.get("timestamp"),
                    context=reply_context(context_id, kw.get("business_number", DEFAULT_DISPLAY_PHONE_NUMBER)),
                    interactive={"type": "button_reply", "button_reply": {"id": button_id, "title": title}})


def list_reply(from_: str, row_id: str, title: str, *, context_id: str, description: str | None = None,
               **kw: Any) -> Json:
    reply: Json = {"id": row_id, "title": title}
    if description is not None:
        reply["description"] = description
    return _message("interactive", from_, wamid=kw.get("wamid"), timestamp=kw.get("timestamp"),
                    context=reply_context(context_id, kw.get("business_number", DEFAULT_DISPLAY_PHONE_NUMBER)),
                    interactive={"type": "list_reply", "list_reply": reply})


def call_permission_reply(from_: str, response: str, *, context_id: str, expiration_timestamp: int | None = None,
                          response_source: str = "user_action", is_permanent: bool | None = None,
                          **kw: Any) -> Json:
    """The customer's answer to a call permission request. ``context.id`` is the request's wamid, or the
    wacid of a missed business call when the permission came from a callback. ``expiration_timestamp``
    is an integer in pywa's sample and a string placeholder in Meta's (unconfirmed); omitted on reject."""
    if response not in ("accept", "reject"):
        raise ValueError("response is accept or reject")
    reply: Json = {"response": response}
    if is_permanent is not None:
        reply["is_permanent"] = is_permanent
    if response == "accept":
        reply["expiration_timestamp"] = expiration_timestamp or int(time.time()) + 7 * 24 * 3600
    reply["response_source"] = response_source
    return _message("interactive", from_, wamid=kw.get("wamid"), timestamp=kw.get("timestamp"),
                    context=reply_context(context_id, kw.get("business_number", DEFAULT_DISPLAY_PHONE_NUMBER)),
                    interactive={"type": "call_permission_reply", "call_permission_reply": reply})


def quick_reply_button(from_: str, text_: str, payload: str, *, context_id: str | None = None,
                       **kw: Any) -> Json:
    """A template's quick-reply button pressed: ``type: button`` with ``button {text, payload}``."""
    context = reply_context(context_id, kw.get("business_number", DEFAULT_DISPLAY_PHONE_NUMBER)) \
        if context_id else None
    return _message("button", from_, wamid=kw.get("wamid"), timestamp=kw.get("timestamp"), context=context,
                    button={"payload": payload, "text": text_})


def location(from_: str, latitude: float, longitude: float, *, name: str | None = None,
             address: str | None = None, url: str | None = None, **kw: Any) -> Json:
    """Shape from pywa's recorded samples; Meta's own reference for it is unconfirmed."""
    body: Json = {"latitude": latitude, "longitude": longitude}
    for key, value in (("name", name), ("address", address), ("url", url)):
        if value is not None:
            body[key] = value
    return _message("location", from_, wamid=kw.get("wamid"), timestamp=kw.get("timestamp"),
                    context=kw.get("context"), location=body)


def contact_card(formatted_name: str, phone: str, *, first_name: str | None = None, last_name: str | None = None,
                 wa_id: str | None = None, phone_type: str = "CELL") -> Json:
    """One card of a shared contacts message (pywa's sample shape; Meta's is unconfirmed)."""
    name: Json = {"formatted_name": formatted_name, "first_name": first_name or formatted_name.split(" ")[0]}
    if last_name is not None:
        name["last_name"] = last_name
    number: Json = {"phone": phone, "type": phone_type}
    if wa_id is not None:
        number["wa_id"] = wa_id
    return {"name": name, "phones": [number]}


def contacts(from_: str, cards: Sequence[Json], **kw: Any) -> Json:
    return _message("contacts", from_, wamid=kw.get("wamid"), timestamp=kw.get("timestamp"),
                    context=kw.get("context"), contacts=list(cards))


def order(from_: str, catalog_id: str, items: Sequence[Mapping[str, Any]], *, text_: str = "", **kw: Any) -> Json:
    """Items as ``{product_retailer_id, quantity, item_price, currency}``."""
    return _message("order", from_, wamid=kw.get("wamid"), timestamp=kw.get("timestamp"), context=kw.get("context"),
                    order={"catalog_id": catalog_id, "text": text_, "product_items": [dict(i) for i in items]})


def user_changed_number(from_: str, new_wa_id: str, **kw: Any) -> Json:
    body = kw.get("body") or f"User {from_} changed from {from_} to {new_wa_id}"
    return _message("system", from_, wamid=kw.get("wamid"), timestamp=kw.get("timestamp"), context=None,
                    system={"body": body, "wa_id": new_wa_id, "type": "user_changed_number"})


def unsupported(from_: str, *, code: int = 131051, title: str = "Message type unknown",
                details: str = "Message type is currently not supported.", unsupported_type: str | None = None,
                **kw: Any) -> Json:
    fields: Json = {"errors": [error(code, title, details, href=None)]}
    if unsupported_type is not None:
        fields["unsupported"] = {"type": unsupported_type}
    return _message("unsupported", from_, wamid=kw.get("wamid"), timestamp=kw.get("timestamp"), context=None,
                    **fields)


# -- errors -----------------------------------------------------------------------------------------


def error(code: int, title: str, details: str, *, message: str | None = None,
          href: str | None = ERROR_CODES_HREF) -> Json:
    """An error object of ``value.errors[]``, ``statuses[].errors[]`` or ``messages[].errors[]``."""
    item: Json = {"code": code, "title": title, "message": message or title, "error_data": {"details": details}}
    if href is not None:
        item["href"] = href
    return item


def value_errors_webhook(errors: Sequence[Json], **kw: Any) -> Json:
    """Errors at value level, e.g. 130429 raised asynchronously."""
    return messages_webhook(errors=errors, **kw)


# -- value.statuses[] -------------------------------------------------------------------------------

PRICING_CATEGORIES = ("service", "marketing", "utility", "authentication", "authentication_international")


def status(wamid: str, status_: str, recipient_id: str = DEFAULT_CUSTOMER, *, timestamp: str | None = None,
           conversation_id: str | None = None, origin: str = "service", category: str = "service",
           pricing_model: str = "CBP", billable: bool = True, expiration_timestamp: str | None = None,
           biz_opaque_callback_data: str | None = None, errors: Sequence[Json] | None = None) -> Json:
    """A message status. ``conversation`` and ``pricing`` as in pywa's samples (pricing_model "CBP");
    Meta's per-message pricing shape ("PMP") is unconfirmed here, so pass it explicitly if needed."""
    if status_ not in ("sent", "delivered", "read", "failed", "played", "deleted"):
        raise ValueError(f"unknown message status {status_}")
    item: Json = {"id": wamid, "status": status_, "timestamp": timestamp or now(), "recipient_id": recipient_id}
    if biz_opaque_callback_data is not None:
        item["biz_opaque_callback_data"] = biz_opaque_callback_data
    if status_ != "failed":
        conversation: Json = {"id": conversation_id or secrets.token_hex(15)}
        if expiration_timestamp is not None:
            conversation["expiration_timestamp"] = expiration_timestamp
        conversation["origin"] = {"type": origin}
        item["conversation"] = conversation
        item["pricing"] = {"billable": billable, "pricing_model": pricing_model, "category": category}
    if errors:
        item["errors"] = list(errors)
    return item


def failed_status(wamid: str, recipient_id: str = DEFAULT_CUSTOMER, *, code: int = 131026,
                  title: str = "Message undeliverable", details: str = "Message failed to send because of an unknown error.",
                  timestamp: str | None = None) -> Json:
    return status(wamid, "failed", recipient_id, timestamp=timestamp, errors=[error(code, title, details)])


def statuses_webhook(statuses: Sequence[Json], **kw: Any) -> Json:
    return messages_webhook(statuses=statuses, **kw)


# -- calls ------------------------------------------------------------------------------------------

SAMPLE_OFFER_SDP = (
    "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=ice-lite\r\na=group:BUNDLE audio\r\n"
    "m=audio 3480 UDP/TLS/RTP/SAVPF 111 126\r\nc=IN IP4 127.0.0.1\r\na=mid:audio\r\na=sendrecv\r\n"
    "a=rtcp-mux\r\na=setup:actpass\r\na=ice-ufrag:fake\r\na=ice-pwd:fakefakefakefakefakefake\r\n"
    "a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n"
    "a=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\na=rtpmap:126 telephone-event/8000\r\n"
    "a=candidate:1 1 udp 2113937151 127.0.0.1 3480 typ host\r\n"
)
SAMPLE_ANSWER_SDP = SAMPLE_OFFER_SDP.replace("a=setup:actpass", "a=setup:passive")


def call_connect(call_id: str, *, from_: str, to: str, direction: str, sdp: str, sdp_type: str | None = None,
                 timestamp: str | None = None, biz_opaque_callback_data: str | None = None) -> Json:
    """``connect``: an SDP offer for a user-initiated call, an answer for a business-initiated one."""
    if direction not in ("USER_INITIATED", "BUSINESS_INITIATED"):
        raise ValueError("direction is USER_INITIATED or BUSINESS_INITIATED")
    kind = sdp_type or ("offer" if direction == "USER_INITIATED" else "answer")
    item: Json = {"id": call_id, "from": from_, "to": to, "event": "connect", "timestamp": timestamp or now(),
                  "direction": direction, "session": {"sdp_type": kind, "sdp": sdp}}
    if biz_opaque_callback_data is not None:
        item["biz_opaque_callback_data"] = biz_opaque_callback_data
    return item


def call_terminate(call_id: str, *, from_: str, to: str, direction: str, status_: str = "COMPLETED",
                   start_time: int | None = None, end_time: int | None = None, timestamp: str | None = None,
                   biz_opaque_callback_data: str | None = None, errors: Sequence[Json] | None = None) -> Json:
    """``terminate``: start/end/duration only when the call was picked up. ``errors`` go in the call
    object (as seen live for 138021); put them in ``calls_value(errors=...)`` too for value level."""
    if status_ not in ("COMPLETED", "FAILED"):
        raise ValueError("status is COMPLETED or FAILED")
    item: Json = {"id": call_id, "from": from_, "to": to, "event": "terminate", "direction": direction,
                  "timestamp": timestamp or now(), "status": status_}
    if biz_opaque_callback_data is not None:
        item["biz_opaque_callback_data"] = biz_opaque_callback_data
    if start_time is not None and end_time is not None:
        item.update(start_time=str(start_time), end_time=str(end_time), duration=int(end_time - start_time))
    if errors:
        item["errors"] = list(errors)
    return item


def call_status(call_id: str, status_: str, recipient_id: str = DEFAULT_CUSTOMER, *, timestamp: str | None = None,
                biz_opaque_callback_data: str | None = None) -> Json:
    """Business-initiated calls only: RINGING, ACCEPTED (may come after media is up), REJECTED."""
    if status_ not in ("RINGING", "ACCEPTED", "REJECTED"):
        raise ValueError("call status is RINGING, ACCEPTED or REJECTED")
    item: Json = {"id": call_id, "timestamp": timestamp or now(), "type": "call", "status": status_,
                  "recipient_id": recipient_id}
    if biz_opaque_callback_data is not None:
        item["biz_opaque_callback_data"] = biz_opaque_callback_data
    return item


# -- signing and posting ----------------------------------------------------------------------------


def encode(body: Json | bytes) -> bytes:
    """The exact bytes to post: Meta escapes non-ASCII (``\\ud83d\\ude2e``), as ``json.dumps`` does."""
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    return json.dumps(body, separators=(",", ":")).encode()


def sign(app_secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def post_signed(url: str, body: Json | bytes, app_secret: str, *, timeout: float = 5.0,
                session: requests.Session | None = None, signature: str | None = None) -> requests.Response:
    """POST as Meta does: JSON body, ``X-Hub-Signature-256`` over the exact bytes (``signature``
    overrides it, to test a forged or stale one)."""
    raw = encode(body)
    headers = {"Content-Type": "application/json", "User-Agent": "facebookexternalua",
               "X-Hub-Signature-256": signature or sign(app_secret, raw)}
    return (session or requests).post(url, data=raw, headers=headers, timeout=timeout)


# Builders the fake's /_fake/inbound may call by name with keyword arguments.
INBOUND_BUILDERS = {
    "text": text, "image": image, "audio": audio, "video": video, "document": document, "sticker": sticker,
    "reaction": reaction, "reaction_removed": reaction_removed, "button_reply": button_reply,
    "list_reply": list_reply, "call_permission_reply": call_permission_reply,
    "quick_reply_button": quick_reply_button, "location": location, "contacts": contacts, "order": order,
    "user_changed_number": user_changed_number, "unsupported": unsupported,
}
