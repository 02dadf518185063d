"""WhatsApp Cloud API webhook payloads, parsed into frozen dataclasses (no frappe import).

Envelope: `{"object": "whatsapp_business_account", "entry": [{"id": WABA_ID, "changes": [{"field": ...,
"value": {...}}]}]}`. Every entry and every change is kept, in order. `parse_messages_change` and
`parse_calls_change` read the `messages` and `calls` fields.

Meta adds message types and fields without notice, so nothing is dropped: every item keeps its raw dict,
an unknown message type becomes an `UnknownBody`, and one malformed item inside a valid change comes back
as a `MalformedItem` (with the reason) while its neighbours are parsed as usual. A malformed envelope or
change raises `WebhookPayloadError`.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, TypeVar

MAX_BODY_BYTES = 1024 * 1024
WHATSAPP_OBJECT = "whatsapp_business_account"
MESSAGES_FIELD = "messages"
CALLS_FIELD = "calls"
MEDIA_TYPES = ("image", "audio", "video", "document", "sticker")
CALL_STATUS_TYPE = "call"
# Unix seconds up to 9999-12-31T23:59:59Z: beyond that datetime cannot represent the instant.
_MAX_UNIX_SECONDS = 253402300799
_DECIMAL = re.compile(r"[0-9]{1,12}")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_MAX_MIME_LENGTH = 255
_MAX_INTEGER_ID = 10**30

_T = TypeVar("_T")


class WebhookPayloadError(ValueError):
    """The body or one change is not a WhatsApp webhook we can read; the message says where and why."""


class _ItemError(ValueError):
    """One item (message, status, call…) is malformed; it is reported, its neighbours are still parsed."""


# --- small typed readers -------------------------------------------------------------------------


def _text(obj: Mapping[str, Any], key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) else None


def _ident(obj: Mapping[str, Any], key: str) -> str | None:
    """Ids are strings in Meta's payloads; an integer id is read as its decimal string."""
    value = obj.get(key)
    if isinstance(value, str):
        return value or None
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < _MAX_INTEGER_ID:
        return str(value)
    return None


def _object(obj: Mapping[str, Any], key: str) -> dict[str, Any] | None:
    value = obj.get(key)
    return value if isinstance(value, dict) else None


def _bool(obj: Mapping[str, Any], key: str) -> bool | None:
    value = obj.get(key)
    return value if isinstance(value, bool) else None


def _list(obj: Mapping[str, Any], key: str, where: str) -> list[tuple[int, Any]]:
    """The items of an optional list with their positions; a present non-list is a malformed change."""
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise WebhookPayloadError(f"{where}.{key} must be a list, not {type(value).__name__}")
    return list(enumerate(value))


def parse_unix_seconds(value: Any) -> datetime | None:
    """Meta's timestamps are unix seconds as a decimal string (sometimes a JSON integer): aware UTC, or None."""
    if isinstance(value, str) and _DECIMAL.fullmatch(value):
        seconds = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    else:
        return None
    if not 0 <= seconds <= _MAX_UNIX_SECONDS:
        return None
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


def _required_timestamp(obj: Mapping[str, Any], what: str) -> datetime:
    parsed = parse_unix_seconds(obj.get("timestamp"))
    if parsed is None:
        raise _ItemError(f"{what} has no valid timestamp (unix seconds)")
    return parsed


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _digest(*parts: Any) -> str:
    # ASCII JSON: unambiguous between parts, and lone surrogates (valid in JSON strings) stay encodable.
    return hashlib.sha256(json.dumps(parts, separators=(",", ":")).encode()).hexdigest()


def _unix(moment: datetime) -> int:
    return int(moment.timestamp())


# --- MIME types ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MimeType:
    """A media type with its parameters: `audio/ogg; codecs=opus` is essence `audio/ogg`, codecs `opus`."""

    essence: str
    params: tuple[tuple[str, str], ...] = ()

    @property
    def type(self) -> str:
        return self.essence.partition("/")[0]

    @property
    def subtype(self) -> str:
        return self.essence.partition("/")[2]

    def param(self, name: str) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self.params if key == wanted), None)

    def __str__(self) -> str:
        rendered = [self.essence]
        for key, value in self.params:
            quoted = (
                value
                if _TOKEN.fullmatch(value)
                else '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
            )
            rendered.append(f"{key}={quoted}")
        return "; ".join(rendered)


def parse_mime_type(value: Any) -> MimeType | None:
    """Parse `type/subtype; name=value; name="quoted value"` (RFC 9110 §8.3.1); None when not a media type."""
    if not isinstance(value, str) or len(value) > _MAX_MIME_LENGTH:
        return None
    head, _, rest = value.partition(";")
    essence = head.strip().lower()
    main, slash, sub = essence.partition("/")
    if not slash or not _TOKEN.fullmatch(main) or not _TOKEN.fullmatch(sub):
        return None
    params: list[tuple[str, str]] = []
    position = 0
    while position < len(rest):
        while position < len(rest) and rest[position] in " \t;":
            position += 1
        name_end = position
        while name_end < len(rest) and rest[name_end] not in "=;":
            name_end += 1
        name = rest[position:name_end].strip().lower()
        if name_end >= len(rest) or rest[name_end] == ";":
            position = name_end
            continue
        position = name_end + 1
        if position < len(rest) and rest[position] == '"':
            chars: list[str] = []
            position += 1
            while position < len(rest) and rest[position] != '"':
                if rest[position] == "\\" and position + 1 < len(rest):
                    position += 1
                chars.append(rest[position])
                position += 1
            param_value = "".join(chars)
            position = rest.find(";", position)
            position = len(rest) if position < 0 else position
        else:
            value_end = rest.find(";", position)
            value_end = len(rest) if value_end < 0 else value_end
            param_value = rest[position:value_end].strip()
            position = value_end
        if _TOKEN.fullmatch(name) and all(existing != name for existing, _ in params):
            params.append((name, param_value))
    return MimeType(essence=essence, params=tuple(params))


# --- shared objects ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErrorDetail:
    """An error object: `{code, title, message, error_data: {details}, href}`."""

    code: int | None
    title: str | None
    message: str | None
    details: str | None
    href: str | None
    raw: dict[str, Any] = field(repr=False)


def _parse_error(raw: Any) -> ErrorDetail:
    if not isinstance(raw, dict):
        raise _ItemError("error is not an object")
    code_value = raw.get("code")
    code: int | None = None
    if isinstance(code_value, int) and not isinstance(code_value, bool):
        code = code_value
    elif isinstance(code_value, str) and _DECIMAL.fullmatch(code_value):
        code = int(code_value)
    error_data = _object(raw, "error_data") or {}
    return ErrorDetail(
        code=code,
        title=_text(raw, "title"),
        message=_text(raw, "message"),
        details=_text(error_data, "details"),
        href=_text(raw, "href"),
        raw=raw,
    )


@dataclass(frozen=True)
class Contact:
    """One `value.contacts[]` entry: who a message or status is about."""

    wa_id: str | None
    user_id: str | None
    parent_user_id: str | None
    profile_name: str | None
    username: str | None
    raw: dict[str, Any] = field(repr=False)


def _parse_contact(raw: Any) -> Contact:
    if not isinstance(raw, dict):
        raise _ItemError("contact is not an object")
    profile = _object(raw, "profile") or {}
    return Contact(
        wa_id=_ident(raw, "wa_id"),
        user_id=_ident(raw, "user_id"),
        parent_user_id=_ident(raw, "parent_user_id"),
        profile_name=_text(profile, "name"),
        username=_text(profile, "username"),
        raw=raw,
    )


@dataclass(frozen=True)
class MalformedItem:
    """An item that could not be read. Store it and report it: it is never silently dropped."""

    kind: str
    index: int
    reason: str
    raw: Any = field(repr=False)
    dedupe_key: str = ""


def _malformed(kind: str, index: int, reason: str, raw: Any) -> MalformedItem:
    try:
        key = _digest("malformed", kind, json.dumps(raw, sort_keys=True, default=repr))
    except (RecursionError, ValueError, TypeError):
        key = _digest("malformed", kind, index, reason)
    return MalformedItem(kind=kind, index=index, reason=reason, raw=raw, dedupe_key=key)


def _collect(
    kind: str, raw_items: list[tuple[int, Any]], parse: Callable[[Any], _T], malformed: list[MalformedItem]
) -> list[_T]:
    """Parse (index, item) pairs; an item that cannot be read becomes a MalformedItem with its index."""
    parsed: list[_T] = []
    for index, raw in raw_items:
        try:
            parsed.append(parse(raw))
        except _ItemError as exc:
            malformed.append(_malformed(kind, index, str(exc), raw))
    return parsed


# --- message bodies ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TextBody:
    text: str


@dataclass(frozen=True)
class MediaBody:
    """image, audio, video, document or sticker: download it by `media_id` through the Graph API."""

    kind: str
    media_id: str
    mime_type: MimeType | None
    mime_type_raw: str | None
    sha256: str | None
    caption: str | None
    filename: str | None
    voice: bool
    animated: bool
    url: str | None


@dataclass(frozen=True)
class ReactionBody:
    message_id: str
    emoji: str | None

    @property
    def removed(self) -> bool:
        """Meta sends an empty (or no) emoji when the user takes a reaction back."""
        return self.emoji is None


@dataclass(frozen=True)
class InteractiveReplyBody:
    """The user tapped a reply button (`button_reply`) or picked a list row (`list_reply`)."""

    kind: str
    reply_id: str
    title: str | None
    description: str | None


@dataclass(frozen=True)
class FlowReplyBody:
    """`nfm_reply`: a WhatsApp Flow was completed; `response` is `response_json` decoded when it is an object."""

    name: str | None
    body: str | None
    response_json: str | None
    response: dict[str, Any] | None


@dataclass(frozen=True)
class CallPermissionReplyBody:
    response: str
    expiration: datetime | None
    response_source: str | None
    is_permanent: bool | None

    @property
    def accepted(self) -> bool:
        return self.response == "accept"


@dataclass(frozen=True)
class TemplateButtonBody:
    """`button`: the user tapped a quick-reply button of a template we sent."""

    text: str | None
    payload: str | None


@dataclass(frozen=True)
class LocationBody:
    latitude: float
    longitude: float
    name: str | None
    address: str | None
    url: str | None


@dataclass(frozen=True)
class ContactsBody:
    """Shared contact cards, kept whole (name, phones, emails, addresses, org, urls…)."""

    contacts: tuple[Any, ...]

    @property
    def phones(self) -> tuple[str, ...]:
        """Every phone of every card: the WhatsApp id when Meta gives one, else the number as typed."""
        found: list[str] = []
        for card in self.contacts:
            phones = card.get("phones") if isinstance(card, dict) else None
            for phone in phones if isinstance(phones, list) else []:
                if isinstance(phone, dict):
                    number = _ident(phone, "wa_id") or _text(phone, "phone")
                    if number:
                        found.append(number)
        return tuple(found)


@dataclass(frozen=True)
class OrderItem:
    product_retailer_id: str | None
    quantity: float | None
    item_price: float | None
    currency: str | None


@dataclass(frozen=True)
class OrderBody:
    catalog_id: str | None
    text: str | None
    items: tuple[OrderItem, ...]


@dataclass(frozen=True)
class SystemBody:
    """`system`, e.g. kind `user_changed_number` with the user's `new_wa_id`."""

    kind: str | None
    body: str | None
    new_wa_id: str | None


@dataclass(frozen=True)
class UnsupportedBody:
    """A type Meta cannot deliver through the API; the reason is in the message's `errors` (131051)."""

    unsupported_type: str | None


@dataclass(frozen=True)
class UnknownBody:
    """A type (or interactive sub-type) this code does not know yet; `content` is its object as received."""

    type: str
    content: Any


MessageBody = (
    TextBody
    | MediaBody
    | ReactionBody
    | InteractiveReplyBody
    | FlowReplyBody
    | CallPermissionReplyBody
    | TemplateButtonBody
    | LocationBody
    | ContactsBody
    | OrderBody
    | SystemBody
    | UnsupportedBody
    | UnknownBody
)


def _type_object(message: Mapping[str, Any], name: str) -> dict[str, Any]:
    content = _object(message, name)
    if content is None:
        raise _ItemError(f"{name} message without a {name!r} object")
    return content


def _text_body(message: Mapping[str, Any]) -> TextBody:
    text = _text(_type_object(message, "text"), "body")
    if text is None:
        raise _ItemError("text message without text.body")
    return TextBody(text=text)


def _media_body(kind: str) -> Callable[[Mapping[str, Any]], MediaBody]:
    def parse(message: Mapping[str, Any]) -> MediaBody:
        media = _type_object(message, kind)
        media_id = _ident(media, "id")
        if media_id is None:
            raise _ItemError(f"{kind} message without {kind}.id")
        mime_raw = _text(media, "mime_type")
        return MediaBody(
            kind=kind,
            media_id=media_id,
            mime_type=parse_mime_type(mime_raw),
            mime_type_raw=mime_raw,
            sha256=_text(media, "sha256"),
            caption=_text(media, "caption"),
            filename=_text(media, "filename"),
            voice=_bool(media, "voice") is True,
            animated=_bool(media, "animated") is True,
            url=_text(media, "url"),
        )

    return parse


def _reaction_body(message: Mapping[str, Any]) -> ReactionBody:
    reaction = _type_object(message, "reaction")
    message_id = _ident(reaction, "message_id")
    if message_id is None:
        raise _ItemError("reaction without reaction.message_id")
    return ReactionBody(message_id=message_id, emoji=_text(reaction, "emoji") or None)


def _interactive_body(message: Mapping[str, Any]) -> MessageBody:
    interactive = _object(message, "interactive")
    sub_type = _text(interactive, "type") if interactive is not None else None
    content = _object(interactive, sub_type) if interactive is not None and sub_type else None
    if interactive is None or sub_type is None or content is None:
        # Meta sends `type: interactive` with no object when it could not render the reply (value errors say why).
        return UnknownBody(type="interactive", content=interactive)
    if sub_type in ("button_reply", "list_reply"):
        reply_id = _ident(content, "id")
        if reply_id is None:
            raise _ItemError(f"interactive {sub_type} without an id")
        return InteractiveReplyBody(
            kind=sub_type,
            reply_id=reply_id,
            title=_text(content, "title"),
            description=_text(content, "description"),
        )
    if sub_type == "nfm_reply":
        response_json = _text(content, "response_json")
        response: dict[str, Any] | None = None
        if response_json is not None:
            try:
                decoded = json.loads(response_json)
            except (ValueError, RecursionError):
                decoded = None
            response = decoded if isinstance(decoded, dict) else None
        return FlowReplyBody(
            name=_text(content, "name"),
            body=_text(content, "body"),
            response_json=response_json,
            response=response,
        )
    if sub_type == "call_permission_reply":
        answer = _text(content, "response")
        if not answer:
            raise _ItemError("call_permission_reply without a response")
        return CallPermissionReplyBody(
            response=answer,
            expiration=parse_unix_seconds(content.get("expiration_timestamp")),
            response_source=_text(content, "response_source"),
            is_permanent=_bool(content, "is_permanent"),
        )
    return UnknownBody(type=f"interactive.{sub_type}", content=interactive)


def _button_body(message: Mapping[str, Any]) -> TemplateButtonBody:
    button = _type_object(message, "button")
    return TemplateButtonBody(text=_text(button, "text"), payload=_text(button, "payload"))


def _location_body(message: Mapping[str, Any]) -> LocationBody:
    location = _type_object(message, "location")
    latitude = _number(location.get("latitude"))
    longitude = _number(location.get("longitude"))
    if latitude is None or longitude is None or not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise _ItemError("location without a valid latitude and longitude")
    return LocationBody(
        latitude=latitude,
        longitude=longitude,
        name=_text(location, "name"),
        address=_text(location, "address"),
        url=_text(location, "url"),
    )


def _contacts_body(message: Mapping[str, Any]) -> ContactsBody:
    cards = message.get("contacts")
    if not isinstance(cards, list):
        raise _ItemError("contacts message without a contacts list")
    return ContactsBody(contacts=tuple(cards))


def _order_item(raw: Any) -> OrderItem:
    item = raw if isinstance(raw, dict) else {}
    return OrderItem(
        product_retailer_id=_ident(item, "product_retailer_id"),
        quantity=_number(item.get("quantity")),
        item_price=_number(item.get("item_price")),
        currency=_text(item, "currency"),
    )


def _order_body(message: Mapping[str, Any]) -> OrderBody:
    order = _type_object(message, "order")
    items = order.get("product_items")
    return OrderBody(
        catalog_id=_ident(order, "catalog_id"),
        text=_text(order, "text") or None,
        items=tuple(_order_item(item) for item in items) if isinstance(items, list) else (),
    )


def _system_body(message: Mapping[str, Any]) -> SystemBody:
    system = _type_object(message, "system")
    return SystemBody(
        kind=_text(system, "type"), body=_text(system, "body"), new_wa_id=_ident(system, "wa_id")
    )


def _unsupported_body(message: Mapping[str, Any]) -> UnsupportedBody:
    details = _object(message, "unsupported") or {}
    return UnsupportedBody(unsupported_type=_text(details, "type"))


_BODY_PARSERS: dict[str, Callable[[Mapping[str, Any]], MessageBody]] = {
    "text": _text_body,
    **{kind: _media_body(kind) for kind in MEDIA_TYPES},
    "reaction": _reaction_body,
    "interactive": _interactive_body,
    "button": _button_body,
    "location": _location_body,
    "contacts": _contacts_body,
    "order": _order_body,
    "system": _system_body,
    "unsupported": _unsupported_body,
}


# --- messages field ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplyContext:
    """`context`: the message this one replies to (`id`, `from`), or forwarding flags."""

    message_id: str | None
    sender: str | None
    forwarded: bool
    frequently_forwarded: bool


@dataclass(frozen=True)
class InboundMessage:
    wamid: str
    from_wa_id: str | None
    from_user_id: str | None
    timestamp: datetime
    type: str
    context: ReplyContext | None
    body: MessageBody
    errors: tuple[ErrorDetail, ...]
    referral: dict[str, Any] | None
    raw: dict[str, Any] = field(repr=False)

    @property
    def dedupe_key(self) -> str:
        return self.wamid


def _parse_context(raw: Any) -> ReplyContext | None:
    if not isinstance(raw, dict):
        return None
    return ReplyContext(
        message_id=_ident(raw, "id"),
        sender=_ident(raw, "from"),
        forwarded=_bool(raw, "forwarded") is True,
        frequently_forwarded=_bool(raw, "frequently_forwarded") is True,
    )


def _parse_errors(raw_errors: Any) -> tuple[ErrorDetail, ...]:
    if not isinstance(raw_errors, list):
        return ()
    parsed = []
    for raw in raw_errors:
        try:
            parsed.append(_parse_error(raw))
        except _ItemError:
            continue
    return tuple(parsed)


def _parse_message(raw: Any) -> InboundMessage:
    if not isinstance(raw, dict):
        raise _ItemError("message is not an object")
    wamid = _ident(raw, "id")
    if wamid is None:
        raise _ItemError("message without an id (wamid)")
    from_wa_id = _ident(raw, "from")
    from_user_id = _ident(raw, "from_user_id")
    if from_wa_id is None and from_user_id is None:
        raise _ItemError(f"message {wamid} has neither from nor from_user_id")
    message_type = _text(raw, "type")
    if not message_type:
        raise _ItemError(f"message {wamid} without a type")
    timestamp = _required_timestamp(raw, f"message {wamid}")
    parse_body = _BODY_PARSERS.get(message_type)
    try:
        body = (
            parse_body(raw) if parse_body else UnknownBody(type=message_type, content=raw.get(message_type))
        )
    except _ItemError as exc:
        raise _ItemError(f"message {wamid}: {exc}") from exc
    return InboundMessage(
        wamid=wamid,
        from_wa_id=from_wa_id,
        from_user_id=from_user_id,
        timestamp=timestamp,
        type=message_type,
        context=_parse_context(raw.get("context")),
        body=body,
        errors=_parse_errors(raw.get("errors")),
        referral=_object(raw, "referral"),
        raw=raw,
    )


@dataclass(frozen=True)
class Conversation:
    id: str | None
    expiration: datetime | None
    origin_type: str | None


@dataclass(frozen=True)
class Pricing:
    billable: bool | None
    pricing_model: str | None
    category: str | None
    type: str | None


@dataclass(frozen=True)
class StatusUpdate:
    """A `statuses[]` item about a message we sent: sent, delivered, read, played, failed, or a newer one."""

    wamid: str
    status: str
    timestamp: datetime
    recipient_id: str | None
    recipient_user_id: str | None
    biz_opaque_callback_data: str | None
    conversation: Conversation | None
    pricing: Pricing | None
    errors: tuple[ErrorDetail, ...]
    raw: dict[str, Any] = field(repr=False)

    @property
    def dedupe_key(self) -> str:
        return _digest("status", self.wamid, self.status, _unix(self.timestamp))


@dataclass(frozen=True)
class CallStatusUpdate:
    """A `statuses[]` item with `type: call`: RINGING, ACCEPTED or REJECTED for a business-initiated call."""

    wacid: str
    status: str
    timestamp: datetime
    recipient_id: str | None
    biz_opaque_callback_data: str | None
    errors: tuple[ErrorDetail, ...]
    raw: dict[str, Any] = field(repr=False)

    @property
    def dedupe_key(self) -> str:
        return _digest("call-status", self.wacid, self.status)


def _status_head(raw: Any) -> tuple[dict[str, Any], str, str, datetime]:
    if not isinstance(raw, dict):
        raise _ItemError("status is not an object")
    item_id = _ident(raw, "id")
    if item_id is None:
        raise _ItemError("status without an id")
    status = _text(raw, "status")
    if not status or not status.strip():
        raise _ItemError(f"status for {item_id} without a status value")
    return raw, item_id, status.strip(), _required_timestamp(raw, f"status for {item_id}")


def _is_call_status(raw: Any) -> bool:
    return (
        isinstance(raw, dict) and isinstance(raw.get("type"), str) and raw["type"].lower() == CALL_STATUS_TYPE
    )


def _parse_status(raw: Any) -> StatusUpdate:
    raw, wamid, status, timestamp = _status_head(raw)
    conversation_raw = _object(raw, "conversation")
    conversation = None
    if conversation_raw is not None:
        origin = _object(conversation_raw, "origin") or {}
        conversation = Conversation(
            id=_ident(conversation_raw, "id"),
            expiration=parse_unix_seconds(conversation_raw.get("expiration_timestamp")),
            origin_type=_text(origin, "type"),
        )
    pricing_raw = _object(raw, "pricing")
    pricing = None
    if pricing_raw is not None:
        pricing = Pricing(
            billable=_bool(pricing_raw, "billable"),
            pricing_model=_text(pricing_raw, "pricing_model"),
            category=_text(pricing_raw, "category"),
            type=_text(pricing_raw, "type"),
        )
    return StatusUpdate(
        wamid=wamid,
        status=status,
        timestamp=timestamp,
        recipient_id=_ident(raw, "recipient_id"),
        recipient_user_id=_ident(raw, "recipient_user_id"),
        biz_opaque_callback_data=_text(raw, "biz_opaque_callback_data"),
        conversation=conversation,
        pricing=pricing,
        errors=_parse_errors(raw.get("errors")),
        raw=raw,
    )


def _parse_call_status(raw: Any) -> CallStatusUpdate:
    raw, wacid, status, timestamp = _status_head(raw)
    return CallStatusUpdate(
        wacid=wacid,
        status=status,
        timestamp=timestamp,
        recipient_id=_ident(raw, "recipient_id"),
        biz_opaque_callback_data=_text(raw, "biz_opaque_callback_data"),
        errors=_parse_errors(raw.get("errors")),
        raw=raw,
    )


@dataclass(frozen=True)
class MessagesChange:
    phone_number_id: str
    display_phone_number: str | None
    contacts: tuple[Contact, ...]
    messages: tuple[InboundMessage, ...]
    statuses: tuple[StatusUpdate, ...]
    call_statuses: tuple[CallStatusUpdate, ...]
    errors: tuple[ErrorDetail, ...]
    malformed: tuple[MalformedItem, ...]
    raw: dict[str, Any] = field(repr=False)

    def contact_for(self, wa_id: str | None = None, user_id: str | None = None) -> Contact | None:
        """The `contacts[]` entry for a sender (matched on its business-scoped user id first)."""
        for contact in self.contacts:
            if user_id and contact.user_id == user_id:
                return contact
        for contact in self.contacts:
            if wa_id and contact.wa_id == wa_id:
                return contact
        return None


def _change_value(value: Any, field_name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise WebhookPayloadError(f"{field_name} change value must be an object, not {type(value).__name__}")
    return value


def _metadata(value: Mapping[str, Any], field_name: str) -> tuple[str, str | None]:
    metadata = _object(value, "metadata")
    phone_number_id = _ident(metadata, "phone_number_id") if metadata is not None else None
    if phone_number_id is None:
        raise WebhookPayloadError(f"{field_name} change without metadata.phone_number_id")
    return phone_number_id, _ident(metadata, "display_phone_number") if metadata is not None else None


def parse_messages_change(value: Any) -> MessagesChange:
    """The `value` of a `messages` change: contacts, inbound messages, statuses and value-level errors."""
    value = _change_value(value, MESSAGES_FIELD)
    phone_number_id, display_phone_number = _metadata(value, MESSAGES_FIELD)
    malformed: list[MalformedItem] = []
    contacts = _collect("contact", _list(value, "contacts", "value"), _parse_contact, malformed)
    messages = _collect("message", _list(value, "messages", "value"), _parse_message, malformed)
    raw_statuses = _list(value, "statuses", "value")
    statuses = _collect(
        "status", [(i, s) for i, s in raw_statuses if not _is_call_status(s)], _parse_status, malformed
    )
    call_statuses = _collect(
        "call_status", [(i, s) for i, s in raw_statuses if _is_call_status(s)], _parse_call_status, malformed
    )
    errors = _collect("error", _list(value, "errors", "value"), _parse_error, malformed)
    return MessagesChange(
        phone_number_id=phone_number_id,
        display_phone_number=display_phone_number,
        contacts=tuple(contacts),
        messages=tuple(messages),
        statuses=tuple(statuses),
        call_statuses=tuple(call_statuses),
        errors=tuple(errors),
        malformed=tuple(malformed),
        raw=value,
    )


# --- calls field ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallSession:
    sdp_type: str
    sdp: str


@dataclass(frozen=True)
class CallEvent:
    """A `calls[]` item: `connect` (with an SDP offer or answer) or `terminate` (with status and times)."""

    wacid: str
    event: str
    from_number: str | None
    to_number: str | None
    timestamp: datetime
    direction: str | None
    session: CallSession | None
    status: str | None
    start_time: datetime | None
    end_time: datetime | None
    duration_seconds: int | None
    errors: tuple[ErrorDetail, ...]
    biz_opaque_callback_data: str | None
    raw: dict[str, Any] = field(repr=False)

    @property
    def dedupe_key(self) -> str:
        return _digest("call", self.wacid, self.event)


def _duration(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value >= 0 else None
    if isinstance(value, str) and _DECIMAL.fullmatch(value):
        return int(value)
    return None


def _parse_call(raw: Any) -> CallEvent:
    if not isinstance(raw, dict):
        raise _ItemError("call is not an object")
    wacid = _ident(raw, "id")
    if wacid is None:
        raise _ItemError("call without an id (wacid)")
    event = _text(raw, "event")
    if not event:
        raise _ItemError(f"call {wacid} without an event")
    session_raw = _object(raw, "session")
    session = None
    if session_raw is not None:
        sdp_type, sdp = _text(session_raw, "sdp_type"), _text(session_raw, "sdp")
        if sdp_type is None or sdp is None:
            raise _ItemError(f"call {wacid}: session without sdp_type and sdp")
        session = CallSession(sdp_type=sdp_type, sdp=sdp)
    return CallEvent(
        wacid=wacid,
        event=event,
        from_number=_ident(raw, "from"),
        to_number=_ident(raw, "to"),
        timestamp=_required_timestamp(raw, f"call {wacid}"),
        direction=_text(raw, "direction"),
        session=session,
        status=_text(raw, "status"),
        start_time=parse_unix_seconds(raw.get("start_time")),
        end_time=parse_unix_seconds(raw.get("end_time")),
        duration_seconds=_duration(raw.get("duration")),
        errors=_parse_errors(raw.get("errors")),
        biz_opaque_callback_data=_text(raw, "biz_opaque_callback_data"),
        raw=raw,
    )


@dataclass(frozen=True)
class CallsChange:
    phone_number_id: str
    display_phone_number: str | None
    contacts: tuple[Contact, ...]
    calls: tuple[CallEvent, ...]
    statuses: tuple[CallStatusUpdate, ...]
    errors: tuple[ErrorDetail, ...]
    malformed: tuple[MalformedItem, ...]
    raw: dict[str, Any] = field(repr=False)

    def contact_for(self, wa_id: str | None = None) -> Contact | None:
        """The `contacts[]` entry of a caller (their profile name), if Meta sent one."""
        return next((contact for contact in self.contacts if wa_id and contact.wa_id == wa_id), None)


def parse_calls_change(value: Any) -> CallsChange:
    """The `value` of a `calls` change: call events, call statuses and value-level errors."""
    value = _change_value(value, CALLS_FIELD)
    phone_number_id, display_phone_number = _metadata(value, CALLS_FIELD)
    malformed: list[MalformedItem] = []
    contacts = _collect("contact", _list(value, "contacts", "value"), _parse_contact, malformed)
    calls = _collect("call", _list(value, "calls", "value"), _parse_call, malformed)
    # Everything under `statuses` of the calls field is about a call, whatever its `type` says.
    statuses = _collect("call_status", _list(value, "statuses", "value"), _parse_call_status, malformed)
    errors = _collect("error", _list(value, "errors", "value"), _parse_error, malformed)
    return CallsChange(
        phone_number_id=phone_number_id,
        display_phone_number=display_phone_number,
        contacts=tuple(contacts),
        calls=tuple(calls),
        statuses=tuple(statuses),
        errors=tuple(errors),
        malformed=tuple(malformed),
        raw=value,
    )


# --- envelope ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookChange:
    waba_id: str
    field: str
    value: dict[str, Any] = field(repr=False)

    def parse(self) -> MessagesChange | CallsChange | None:
        """The typed change for the `messages` and `calls` fields; None for other fields (kept raw)."""
        if self.field == MESSAGES_FIELD:
            return parse_messages_change(self.value)
        if self.field == CALLS_FIELD:
            return parse_calls_change(self.value)
        return None


@dataclass(frozen=True)
class WebhookBatch:
    """One POST from Meta. `dedupe_key` identifies the delivery: Meta's retries repeat the same body."""

    dedupe_key: str
    changes: tuple[WebhookChange, ...]


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_webhook(raw_body: bytes) -> WebhookBatch:
    """Read the envelope of a (signature-checked) webhook POST body: every entry, every change, in order."""
    if not isinstance(raw_body, bytes | bytearray):
        raise WebhookPayloadError("body must be bytes")
    if len(raw_body) > MAX_BODY_BYTES:
        raise WebhookPayloadError(f"body larger than {MAX_BODY_BYTES} bytes")
    try:
        payload = json.loads(raw_body, parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise WebhookPayloadError("body is not valid JSON") from exc
    if not isinstance(payload, dict):
        raise WebhookPayloadError("body is not a JSON object")
    if payload.get("object") != WHATSAPP_OBJECT:
        raise WebhookPayloadError(
            f"object must be {WHATSAPP_OBJECT!r}, got {str(payload.get('object'))[:60]!r}"
        )
    entries = payload.get("entry")
    if not isinstance(entries, list):
        raise WebhookPayloadError("entry must be a list")
    changes: list[WebhookChange] = []
    for entry_index, entry in enumerate(entries):
        where = f"entry[{entry_index}]"
        if not isinstance(entry, dict):
            raise WebhookPayloadError(f"{where} must be an object")
        waba_id = _ident(entry, "id")
        if waba_id is None:
            raise WebhookPayloadError(f"{where}.id (the WhatsApp Business Account id) is missing")
        entry_changes = entry.get("changes")
        if not isinstance(entry_changes, list):
            raise WebhookPayloadError(f"{where}.changes must be a list")
        for change_index, change in enumerate(entry_changes):
            change_where = f"{where}.changes[{change_index}]"
            if not isinstance(change, dict):
                raise WebhookPayloadError(f"{change_where} must be an object")
            field_name = _text(change, "field")
            if not field_name:
                raise WebhookPayloadError(f"{change_where}.field is missing")
            value = change.get("value")
            if not isinstance(value, dict):
                raise WebhookPayloadError(f"{change_where}.value must be an object")
            changes.append(WebhookChange(waba_id=waba_id, field=field_name, value=value))
    return WebhookBatch(dedupe_key=hashlib.sha256(bytes(raw_body)).hexdigest(), changes=tuple(changes))
