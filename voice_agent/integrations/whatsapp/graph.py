"""Meta Graph API client for WhatsApp (no frappe import).

Messages, media, templates, the phone number's profile and the Business Calling API. Every error
answer becomes a ``GraphError`` described by ``errors.describe`` (branch on ``code``, not on the
HTTP status). The client never sleeps or retries by itself: the app's durable send queue does, from
``GraphError.retryable`` / ``retry_after``.

The access token travels only in the ``Authorization`` header of requests to the Graph base URL and
to the allowed media hosts; it never appears in an exception, a repr or a log line.

The builders (``text_message``, ``reply_buttons_message``...) are pure functions returning
``{"type": T, T: {...}}`` for ``send_message``; they check Meta's documented limits and raise
``ValueError``.
"""

from __future__ import annotations

import email.utils
import ipaddress
import json
import logging
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import requests

from voice_agent.integrations.whatsapp.errors import ErrorInfo, ErrorKind, Retry, describe, describe_transport

DEFAULT_BASE_URL = "https://graph.facebook.com"
DEFAULT_API_VERSION = "v23.0"
DEFAULT_MEDIA_HOSTS = ("lookaside.fbsbx.com",)
MAX_REDIRECTS = 3
_CHUNK = 64 * 1024

logger = logging.getLogger(__name__)


# -- errors -----------------------------------------------------------------------------------------


class GraphError(Exception):
    """A failed Graph API request. ``message`` is Meta's (or ours), safe to log; ``user_message`` is
    the sentence for the sender; neither contains the access token."""

    def __init__(self, message: str, *, info: ErrorInfo, code: int | None = None, subcode: int | None = None,
                 title: str | None = None, details: str | None = None, fbtrace_id: str | None = None,
                 http_status: int | None = None, retry_after: float | None = None,
                 maybe_delivered: bool = False, error_type: str | None = None):
        super().__init__(message)
        self.message = message
        self.info = info
        self.code = code
        self.subcode = subcode
        self.title = title or info.title
        self.details = details
        self.fbtrace_id = fbtrace_id
        self.http_status = http_status
        self.retry_after = retry_after
        # True when the request may have reached Meta although no answer came (read timeout, reset):
        # a send queue must not assume the message was not sent.
        self.maybe_delivered = maybe_delivered
        self.error_type = error_type

    @property
    def kind(self) -> ErrorKind:
        return self.info.kind

    @property
    def retryable(self) -> bool:
        return self.info.retryable

    @property
    def user_message(self) -> str:
        return self.info.message

    def __repr__(self) -> str:
        return (f"GraphError(code={self.code!r}, subcode={self.subcode!r}, kind={self.kind.value!r}, "
                f"http_status={self.http_status!r}, retryable={self.retryable!r}, message={self.message!r})")


class MediaRejected(GraphError):
    """The client refused a media download itself (foreign host, redirect, too large)."""


# -- results ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SendResult:
    wamid: str
    wa_id: str | None
    message_status: str | None  # e.g. "accepted" for templates; absent for most sends


@dataclass(frozen=True)
class MediaInfo:
    url: str
    mime_type: str
    sha256: str
    file_size: int
    media_id: str = ""


@dataclass(frozen=True)
class PhoneNumberProfile:
    id: str
    display_phone_number: str
    verified_name: str
    quality_rating: str | None
    code_verification_status: str | None
    platform_type: str | None
    throughput_level: str | None
    name_status: str | None
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)


# -- media types and limits (Meta's "Supported media types") ----------------------------------------

_MB = 1024 * 1024
MEDIA_LIMITS: dict[str, tuple[frozenset[str], int]] = {
    "image": (frozenset({"image/jpeg", "image/png"}), 5 * _MB),
    "audio": (frozenset({"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"}), 16 * _MB),
    "video": (frozenset({"video/mp4", "video/3gpp"}), 16 * _MB),
    "document": (frozenset({
        "text/plain", "application/pdf", "application/msword", "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    }), 100 * _MB),
    # 100 KB static, 500 KB animated: the larger bound, since the file alone does not say which.
    "sticker": (frozenset({"image/webp"}), 500 * 1024),
}


def parse_mime(mime_type: str) -> tuple[str, dict[str, str]]:
    """``"audio/ogg; codecs=opus"`` -> ``("audio/ogg", {"codecs": "opus"})``."""
    base, _, rest = (mime_type or "").partition(";")
    params: dict[str, str] = {}
    for part in rest.split(";"):
        key, sep, value = part.partition("=")
        if sep and key.strip():
            params[key.strip().lower()] = value.strip().strip('"')
    return base.strip().lower(), params


def media_kind(mime_type: str) -> str | None:
    """The WhatsApp media kind a mime type is sent as (webp is a sticker), or None if unsupported."""
    base, _ = parse_mime(mime_type)
    for kind, (types, _) in MEDIA_LIMITS.items():
        if base in types:
            return kind
    return None


# -- message builders -------------------------------------------------------------------------------

MEDIA_KINDS = ("image", "audio", "video", "document", "sticker")
TEXT_BODY_MAX = 4096
CAPTION_MAX = 1024
INTERACTIVE_BODY_MAX = 1024
HEADER_TEXT_MAX = 60
FOOTER_MAX = 60
REPLY_BUTTONS_MAX = 3
BUTTON_TITLE_MAX = 20
BUTTON_ID_MAX = 256
LIST_ROWS_MAX = 10
LIST_SECTIONS_MAX = 10
LIST_BUTTON_MAX = 20
ROW_TITLE_MAX = 24
ROW_DESCRIPTION_MAX = 72
ROW_ID_MAX = 200
SECTION_TITLE_MAX = 24


def _require_text(value: Any, what: str, max_len: int, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str) or (not allow_empty and not value.strip()):
        raise ValueError(f"{what} must be a non-empty string.")
    if len(value) > max_len:
        raise ValueError(f"{what} is {len(value)} characters long; WhatsApp allows at most {max_len}.")
    return value


def text_message(body: str, *, preview_url: bool = False) -> dict[str, Any]:
    _require_text(body, "The text", TEXT_BODY_MAX)
    return {"type": "text", "text": {"body": body, "preview_url": bool(preview_url)}}


def media_message(kind: str, media_id: str, *, caption: str | None = None,
                  filename: str | None = None) -> dict[str, Any]:
    """A media message by uploaded media id (Meta cannot fetch private links, so no ``link``)."""
    if kind not in MEDIA_KINDS:
        raise ValueError(f"Unknown media kind {kind!r}; expected one of {', '.join(MEDIA_KINDS)}.")
    _require_text(media_id, "The media id", 256)
    obj: dict[str, Any] = {"id": media_id}
    if caption is not None:
        if kind in ("audio", "sticker"):
            raise ValueError(f"WhatsApp does not show a caption on {kind} messages.")
        obj["caption"] = _require_text(caption, "The caption", CAPTION_MAX)
    if filename is not None:
        if kind != "document":
            raise ValueError("Only document messages carry a filename.")
        obj["filename"] = _require_text(filename, "The filename", 240)
    return {"type": kind, kind: obj}


def template_text_param(text: str) -> dict[str, Any]:
    return {"type": "text", "text": _require_text(text, "A template value", 32768)}


def template_media_param(kind: str, media_id: str) -> dict[str, Any]:
    if kind not in ("image", "video", "document"):
        raise ValueError("A template header takes an image, a video or a document.")
    return {"type": kind, kind: {"id": _require_text(media_id, "The media id", 256)}}


def template_component(type_: str, parameters: Sequence[Mapping[str, Any]] = (), *,
                       sub_type: str | None = None, index: int | None = None) -> dict[str, Any]:
    """One template component: ``header`` / ``body`` / ``button`` (a button needs sub_type and index)."""
    if type_ not in ("header", "body", "button"):
        raise ValueError(f"Unknown template component {type_!r}; expected header, body or button.")
    component: dict[str, Any] = {"type": type_, "parameters": [dict(p) for p in parameters]}
    if type_ == "button":
        if sub_type not in ("quick_reply", "url", "copy_code", "flow", "voice_call"):
            raise ValueError("A template button component needs a sub_type such as quick_reply or url.")
        if index is None or not 0 <= index <= 9:
            raise ValueError("A template button component needs the button's index (0-9).")
        component["sub_type"] = sub_type
        component["index"] = str(index)
    elif sub_type is not None or index is not None:
        raise ValueError("Only button components take sub_type and index.")
    return component


def template_message(name: str, language_code: str,
                     components: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    _require_text(name, "The template name", 512)
    _require_text(language_code, "The template language", 15)
    template: dict[str, Any] = {"name": name, "language": {"code": language_code}}
    if components:
        template["components"] = [dict(c) for c in components]
    return {"type": "template", "template": template}


def _interactive_envelope(kind: str, body: str, action: dict[str, Any], header: str | None,
                          footer: str | None) -> dict[str, Any]:
    interactive: dict[str, Any] = {"type": kind, "body": {"text": _require_text(body, "The body",
                                                                                  INTERACTIVE_BODY_MAX)}}
    if header is not None:
        interactive["header"] = {"type": "text", "text": _require_text(header, "The header", HEADER_TEXT_MAX)}
    if footer is not None:
        interactive["footer"] = {"text": _require_text(footer, "The footer", FOOTER_MAX)}
    interactive["action"] = action
    return {"type": "interactive", "interactive": interactive}


def reply_buttons_message(body: str, buttons: Sequence[tuple[str, str]], *, header: str | None = None,
                          footer: str | None = None) -> dict[str, Any]:
    """Up to 3 reply buttons, each ``(id, title)``; titles and ids must be unique."""
    if not 1 <= len(buttons) <= REPLY_BUTTONS_MAX:
        raise ValueError(f"A reply buttons message has 1 to {REPLY_BUTTONS_MAX} buttons, not {len(buttons)}.")
    ids = [_require_text(b[0], "A button id", BUTTON_ID_MAX) for b in buttons]
    titles = [_require_text(b[1], "A button title", BUTTON_TITLE_MAX) for b in buttons]
    if len(set(ids)) != len(ids) or len(set(titles)) != len(titles):
        raise ValueError("Button ids and titles must be unique within a message.")
    action = {"buttons": [{"type": "reply", "reply": {"id": i, "title": t}} for i, t in zip(ids, titles, strict=True)]}
    return _interactive_envelope("button", body, action, header, footer)


def list_message(body: str, button: str, sections: Sequence[Mapping[str, Any]], *,
                 header: str | None = None, footer: str | None = None) -> dict[str, Any]:
    """Sections of ``{"title"?, "rows": [{"id", "title", "description"?}]}``: at most 10 rows in all."""
    _require_text(button, "The list button", LIST_BUTTON_MAX)
    if not 1 <= len(sections) <= LIST_SECTIONS_MAX:
        raise ValueError(f"A list message has 1 to {LIST_SECTIONS_MAX} sections, not {len(sections)}.")
    out_sections: list[dict[str, Any]] = []
    row_ids: list[str] = []
    for section in sections:
        rows = list(section.get("rows") or [])
        if not rows:
            raise ValueError("Every list section needs at least one row.")
        out: dict[str, Any] = {}
        if section.get("title") is not None:
            out["title"] = _require_text(section["title"], "A section title", SECTION_TITLE_MAX)
        elif len(sections) > 1:
            raise ValueError("With more than one section, every section needs a title.")
        out["rows"] = []
        for row in rows:
            item = {"id": _require_text(row.get("id"), "A row id", ROW_ID_MAX),
                    "title": _require_text(row.get("title"), "A row title", ROW_TITLE_MAX)}
            if row.get("description") is not None:
                item["description"] = _require_text(row["description"], "A row description", ROW_DESCRIPTION_MAX)
            row_ids.append(item["id"])
            out["rows"].append(item)
        out_sections.append(out)
    if len(row_ids) > LIST_ROWS_MAX:
        raise ValueError(f"A list message has at most {LIST_ROWS_MAX} rows in all its sections, not {len(row_ids)}.")
    if len(set(row_ids)) != len(row_ids):
        raise ValueError("Row ids must be unique within a list message.")
    return _interactive_envelope("list", body, {"button": button, "sections": out_sections}, header, footer)


def call_permission_request_message(body: str | None = None) -> dict[str, Any]:
    """Ask the customer for permission to call (inside the 24 h window; a template outside it)."""
    interactive: dict[str, Any] = {"type": "call_permission_request",
                                   "action": {"name": "call_permission_request"}}
    if body is not None:
        interactive["body"] = {"text": _require_text(body, "The body", INTERACTIVE_BODY_MAX)}
    return {"type": "interactive", "interactive": interactive}


def reaction_message(message_id: str, emoji: str) -> dict[str, Any]:
    """React to a message; an empty emoji removes the reaction."""
    _require_text(message_id, "The message id", 512)
    if not isinstance(emoji, str) or len(emoji) > 16:
        raise ValueError("The reaction must be one emoji, or empty to remove it.")
    return {"type": "reaction", "reaction": {"message_id": message_id, "emoji": emoji}}


def location_message(latitude: float, longitude: float, *, name: str | None = None,
                     address: str | None = None) -> dict[str, Any]:
    for value, bound, what in ((latitude, 90, "latitude"), (longitude, 180, "longitude")):
        if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value) \
                or abs(value) > bound:
            raise ValueError(f"The {what} must be a number between -{bound} and {bound}.")
    location: dict[str, Any] = {"latitude": float(latitude), "longitude": float(longitude)}
    if name is not None:
        location["name"] = _require_text(name, "The location name", 1000)
    if address is not None:
        location["address"] = _require_text(address, "The address", 1000)
    return {"type": "location", "location": location}


def contacts_message(contacts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Contact cards; each needs ``name.formatted_name`` (Meta's one required field)."""
    if not contacts:
        raise ValueError("A contacts message needs at least one contact.")
    out = []
    for contact in contacts:
        name = contact.get("name")
        if not isinstance(name, Mapping) or not str(name.get("formatted_name") or "").strip():
            raise ValueError("Every contact needs name.formatted_name.")
        out.append(json.loads(json.dumps(contact)))
    return {"type": "contacts", "contacts": out}


# -- the client -------------------------------------------------------------------------------------

CALL_ACTIONS = ("connect", "pre_accept", "accept", "reject", "terminate")


class GraphClient:
    def __init__(self, access_token: str, *, base_url: str = DEFAULT_BASE_URL,
                 api_version: str = DEFAULT_API_VERSION, timeout: float = 10.0,
                 session: requests.Session | None = None, media_hosts: Iterable[str] = DEFAULT_MEDIA_HOSTS):
        if not access_token:
            raise ValueError("The WhatsApp access token is not configured.")
        self._token = access_token
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.api_version = api_version.strip("/")
        self.timeout = timeout
        self.media_hosts = frozenset(h.lower() for h in media_hosts)
        # The token goes in per-request headers, never into a (possibly shared) session's defaults.
        self._http = session or requests.Session()
        self._owns_session = session is None
        split = urlsplit(self.base_url)
        self._origin = (split.scheme, split.netloc.lower())

    def __repr__(self) -> str:
        return f"GraphClient(base_url={self.base_url!r}, api_version={self.api_version!r})"

    def close(self) -> None:
        """Close the HTTP session if the client made it (a session passed in belongs to the caller)."""
        if self._owns_session:
            self._http.close()

    def __enter__(self) -> GraphClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- messages --------------------------------------------------------------------------------

    def send_message(self, phone_number_id: str, to: str, message: Mapping[str, Any], *,
                     reply_to: str | None = None, recipient_is_user_id: bool = False,
                     biz_opaque_callback_data: str | None = None) -> SendResult:
        """Send one message built by a builder above to ``to`` (a phone number / wa_id, or a
        business-scoped user id such as ``US.…`` when ``recipient_is_user_id``)."""
        msg_type = message.get("type")
        if not isinstance(msg_type, str) or msg_type not in message:
            raise ValueError("The message must be {'type': T, T: {...}}, as the builders return.")
        _require_text(to, "The recipient", 256)
        payload: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual",
                                   ("recipient" if recipient_is_user_id else "to"): to}
        payload.update(message)
        if reply_to:
            payload["context"] = {"message_id": reply_to}
        if biz_opaque_callback_data is not None:
            payload["biz_opaque_callback_data"] = _require_text(biz_opaque_callback_data, "The callback data", 512)
        answer = self._request("POST", f"{_seg(phone_number_id)}/messages", json=payload)
        messages = answer.get("messages") if isinstance(answer, dict) else None
        first = messages[0] if isinstance(messages, list) and messages and isinstance(messages[0], dict) else {}
        wamid = first.get("id")
        if not isinstance(wamid, str) or not wamid:
            raise _protocol_error("WhatsApp accepted the message but answered without a message id.")
        contacts = answer.get("contacts") or []
        wa_id = contacts[0].get("wa_id") if contacts and isinstance(contacts[0], dict) else None
        return SendResult(wamid=wamid, wa_id=wa_id, message_status=first.get("message_status"))

    def mark_read(self, phone_number_id: str, message_id: str, typing_indicator: bool = False) -> bool:
        payload: dict[str, Any] = {"messaging_product": "whatsapp", "status": "read", "message_id": message_id}
        if typing_indicator:
            payload["typing_indicator"] = {"type": "text"}
        answer = self._request("POST", f"{_seg(phone_number_id)}/messages", json=payload)
        return bool(answer.get("success"))

    # -- media -----------------------------------------------------------------------------------

    def upload_media(self, phone_number_id: str, data: bytes, mime_type: str, filename: str) -> str:
        kind = media_kind(mime_type)
        if kind is None:
            raise ValueError(f"WhatsApp does not accept files of type {parse_mime(mime_type)[0] or '?'}.")
        limit = MEDIA_LIMITS[kind][1]
        if not data:
            raise ValueError("The file is empty.")
        if len(data) > limit:
            raise ValueError(f"The file is {len(data)} bytes; WhatsApp accepts {kind} files up to {limit} bytes.")
        answer = self._request(
            "POST", f"{_seg(phone_number_id)}/media",
            data={"messaging_product": "whatsapp", "type": mime_type},
            files={"file": (filename or "file", data, mime_type)},
        )
        media_id = answer.get("id")
        if not isinstance(media_id, str) or not media_id:
            raise _protocol_error("WhatsApp accepted the upload but answered without a media id.")
        return media_id

    def media_info(self, media_id: str, *, phone_number_id: str | None = None) -> MediaInfo:
        params = {"phone_number_id": phone_number_id} if phone_number_id else None
        answer = self._request("GET", _seg(media_id), params=params)
        url = answer.get("url")
        if not isinstance(url, str) or not url:
            raise _protocol_error("WhatsApp answered the media query without a URL.")
        try:
            size = int(answer.get("file_size") or 0)  # documented as a string placeholder, sampled as a number
        except (TypeError, ValueError):
            size = 0
        return MediaInfo(url=url, mime_type=str(answer.get("mime_type") or ""), sha256=str(answer.get("sha256") or ""),
                         file_size=size, media_id=str(answer.get("id") or media_id))

    def download_media(self, url: str, max_bytes: int) -> bytes:
        """The bytes behind a media URL (valid about 5 minutes). Refuses hosts outside ``media_hosts``,
        redirects to another host, and bodies larger than ``max_bytes``."""
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            host = self._check_media_url(current)
            try:
                response = self._http.get(current, headers=self._auth_headers(), timeout=self.timeout,
                                          stream=True, allow_redirects=False)
            except requests.RequestException as exc:
                raise _transport_error(exc, "GET") from None
            with response:
                if response.is_redirect:
                    location = response.headers.get("Location") or ""
                    target = urljoin(current, location)
                    if (urlsplit(target).hostname or "").lower() != host:
                        raise _media_rejected("The media URL redirected to another host; the download was refused.")
                    current = target
                    continue
                if response.status_code != 200:
                    raise self._media_http_error(response)
                declared = response.headers.get("Content-Length")
                if declared and declared.isdigit() and int(declared) > max_bytes:
                    raise _media_rejected(f"The file is {declared} bytes, more than the {max_bytes} allowed.")
                chunks: list[bytes] = []
                received = 0
                try:
                    for chunk in response.iter_content(_CHUNK):
                        received += len(chunk)
                        if received > max_bytes:
                            raise _media_rejected(f"The file is larger than the {max_bytes} bytes allowed.")
                        chunks.append(chunk)
                except requests.RequestException as exc:
                    raise _transport_error(exc, "GET") from None
                return b"".join(chunks)
        raise _media_rejected("The media URL redirected too many times.")

    def _check_media_url(self, url: str) -> str:
        split = urlsplit(url)
        host = (split.hostname or "").lower()
        if host not in self.media_hosts:
            raise _media_rejected(f"Media host {host or '?'} is not an allowed WhatsApp media host.")
        if split.scheme != "https" and not (split.scheme == "http" and _is_loopback(host)):
            raise _media_rejected("Media URLs must use https.")
        return host

    def _media_http_error(self, response: requests.Response) -> GraphError:
        error = _error_from_response(response, self._token)
        if error.code is None and response.status_code in (403, 404, 410):
            # Meta answers 404 for an expired or unknown media URL: ask for a fresh URL, then retry.
            info = ErrorInfo(None, ErrorKind.MEDIA, Retry.BACKOFF, 0,
                             "The file's download link has expired; it will be fetched again.", "Media URL expired")
            return GraphError(f"The media URL answered HTTP {response.status_code} (expired or unknown).",
                              info=info, http_status=response.status_code)
        return error

    # -- templates -------------------------------------------------------------------------------

    def list_templates(self, waba_id: str, *, limit: int = 100, max_pages: int = 20,
                       fields: Sequence[str] | None = None, status: str | None = None) -> list[dict[str, Any]]:
        """Every template of the account, following ``paging.next`` (at most ``max_pages`` pages)."""
        params: dict[str, Any] = {"limit": limit}
        if fields:
            params["fields"] = ",".join(fields)
        if status:
            params["status"] = status
        templates: list[dict[str, Any]] = []
        target: str | None = f"{_seg(waba_id)}/message_templates"
        for _ in range(max_pages):
            if target is None:
                return templates
            page = self._request("GET", target, params=params)
            params = None  # the next URL carries every parameter itself
            data = page.get("data")
            if not isinstance(data, list):
                raise _protocol_error("WhatsApp answered the template list without a data array.")
            templates.extend(t for t in data if isinstance(t, dict))
            next_url = (page.get("paging") or {}).get("next")
            target = self._same_origin(next_url) if next_url else None
        if target is not None:
            logger.warning("list_templates() | stopped after %d pages [waba:%s]", max_pages, waba_id)
        return templates

    def _same_origin(self, url: str) -> str:
        split = urlsplit(url)
        if (split.scheme, split.netloc.lower()) != self._origin:
            raise _protocol_error("The template list's next page points outside the Graph API; it was not followed.")
        return url

    # -- phone number ----------------------------------------------------------------------------

    PROFILE_FIELDS = ("display_phone_number", "verified_name", "quality_rating", "code_verification_status",
                      "platform_type", "throughput", "name_status")

    def phone_number_profile(self, phone_number_id: str) -> PhoneNumberProfile:
        """The number's display number, verified name and quality: the account's "Test connection"."""
        answer = self._request("GET", _seg(phone_number_id), params={"fields": ",".join(self.PROFILE_FIELDS)})
        if not answer.get("display_phone_number"):
            raise _protocol_error("WhatsApp answered the phone number query without a display number.")
        throughput = answer.get("throughput")
        return PhoneNumberProfile(
            id=str(answer.get("id") or phone_number_id),
            display_phone_number=str(answer["display_phone_number"]),
            verified_name=str(answer.get("verified_name") or ""),
            quality_rating=answer.get("quality_rating"),
            code_verification_status=answer.get("code_verification_status"),
            platform_type=answer.get("platform_type"),
            throughput_level=throughput.get("level") if isinstance(throughput, dict) else None,
            name_status=answer.get("name_status"),
            raw=answer,
        )

    # -- calling ---------------------------------------------------------------------------------

    def call_action(self, phone_number_id: str, action: str, *, call_id: str | None = None, to: str | None = None,
                    sdp: str | None = None, sdp_type: str | None = None,
                    biz_opaque_callback_data: str | None = None) -> dict[str, Any]:
        """connect (``to``, offer SDP) -> ``{"calls": [{"id"}]}``; pre_accept / accept (``call_id``,
        answer SDP), reject, terminate (``call_id``) -> ``{"success": true}``."""
        if action not in CALL_ACTIONS:
            raise ValueError(f"Unknown call action {action!r}; expected one of {', '.join(CALL_ACTIONS)}.")
        payload: dict[str, Any] = {"messaging_product": "whatsapp", "action": action}
        if action == "connect":
            payload["to"] = _require_text(to, "The callee", 256)
            if call_id is not None:
                raise ValueError("connect starts a new call: it takes `to`, not a call id.")
        else:
            payload["call_id"] = _require_text(call_id, "The call id", 512)
        needs_sdp = {"connect": "offer", "pre_accept": "answer", "accept": "answer"}.get(action)
        if needs_sdp:
            if sdp is None:
                raise ValueError(f"{action} needs an SDP {needs_sdp}.")
            if (sdp_type or needs_sdp) != needs_sdp:
                raise ValueError(f"{action} takes an SDP {needs_sdp}, not {sdp_type}.")
            payload["session"] = {"sdp_type": needs_sdp, "sdp": _require_text(sdp, "The SDP", 65536)}
        elif sdp is not None:
            raise ValueError(f"{action} takes no SDP.")
        if biz_opaque_callback_data is not None:
            if action not in ("connect", "accept"):
                raise ValueError("Only connect and accept take biz_opaque_callback_data.")
            payload["biz_opaque_callback_data"] = _require_text(biz_opaque_callback_data, "The callback data", 512)
        answer = self._request("POST", f"{_seg(phone_number_id)}/calls", json=payload)
        if action == "connect":
            calls = answer.get("calls")
            if not (isinstance(calls, list) and calls and isinstance(calls[0], dict) and calls[0].get("id")):
                raise _protocol_error("WhatsApp accepted the call but answered without a call id.")
        elif not answer.get("success"):
            raise _protocol_error(f"WhatsApp did not confirm the {action} action.")
        return answer

    def call_permissions(self, phone_number_id: str, user_wa_id: str) -> dict[str, Any]:
        """``{"permission": {"status", "expiration_time"?}, "actions": [{action_name, can_perform_action,
        limits}]}``: read the limits from here, never hard-code them."""
        answer = self._request("GET", f"{_seg(phone_number_id)}/call_permissions",
                               params={"user_wa_id": _require_text(user_wa_id, "The customer's WhatsApp id", 64)})
        if not isinstance(answer.get("permission"), dict):
            raise _protocol_error("WhatsApp answered the call permission query without a permission.")
        return answer

    def call_settings(self, phone_number_id: str) -> dict[str, Any]:
        return self._request("GET", f"{_seg(phone_number_id)}/settings")

    def update_call_settings(self, phone_number_id: str, calling: Mapping[str, Any]) -> bool:
        """``calling`` as Meta documents it (status, call_icon_visibility, call_hours, sip...). Enabling
        SIP turns the Graph calling endpoints and ``calls`` webhooks off for the number."""
        answer = self._request("POST", f"{_seg(phone_number_id)}/settings", json={"calling": dict(calling)})
        return bool(answer.get("success"))

    # -- transport -------------------------------------------------------------------------------

    def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"}

    def _url(self, target: str) -> str:
        if target.startswith(("http://", "https://")):
            return target
        return f"{self.base_url}/{self.api_version}/{target.lstrip('/')}"

    def _request(self, method: str, target: str, **kwargs: Any) -> dict[str, Any]:
        headers = {"Accept": "application/json", **self._auth_headers()}
        try:
            response = self._http.request(method, self._url(target), headers=headers, timeout=self.timeout,
                                          allow_redirects=False, **kwargs)
        except requests.RequestException as exc:
            raise _transport_error(exc, method) from None
        if response.status_code >= 300:
            raise _error_from_response(response, self._token)
        try:
            body = response.json()
        except ValueError:
            raise _protocol_error(f"WhatsApp answered HTTP {response.status_code} with a body that is not JSON.",
                                  http_status=response.status_code) from None
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            raise _error_from_response(response, self._token)
        if not isinstance(body, dict):
            raise _protocol_error("WhatsApp answered with JSON that is not an object.", http_status=response.status_code)
        return body


# -- helpers ----------------------------------------------------------------------------------------


def _seg(value: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("A Graph API id must be a non-empty string.")
    return quote(value.strip(), safe="")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _scrub(text: Any, token: str) -> str | None:
    if text is None:
        return None
    value = str(text)
    return value.replace(token, "***") if token else value


def _as_int(value: Any) -> int | None:
    try:
        return int(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None


def _retry_after_hint(response: requests.Response) -> float | None:
    """Meta's own hint: ``Retry-After`` (seconds or HTTP date), else the business use case usage
    header's ``estimated_time_to_regain_access`` (minutes)."""
    value = response.headers.get("Retry-After")
    if value:
        value = value.strip()
        if value.replace(".", "", 1).isdigit():
            return float(value)
        try:
            when = email.utils.parsedate_to_datetime(value)
            return max(0.0, when.timestamp() - time.time())
        except (TypeError, ValueError):
            pass
    usage = response.headers.get("X-Business-Use-Case-Usage")
    if usage:
        try:
            parsed = json.loads(usage)
            minutes = [float(entry.get("estimated_time_to_regain_access") or 0)
                       for entries in parsed.values() if isinstance(entries, list)
                       for entry in entries if isinstance(entry, dict)]
        except (ValueError, AttributeError, TypeError):
            minutes = []
        if minutes and max(minutes) > 0:
            return max(minutes) * 60.0
    return None


def _error_from_response(response: requests.Response, token: str) -> GraphError:
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    hint = _retry_after_hint(response)
    if not isinstance(error, dict):
        info = describe(None, title=f"HTTP {status}", http_status=status)
        return GraphError(f"WhatsApp answered HTTP {status} without a Graph error body.", info=info,
                          http_status=status, retry_after=_retry_after(info, hint))
    code = _as_int(error.get("code"))
    subcode = _as_int(error.get("error_subcode"))
    message = _scrub(error.get("message"), token) or f"HTTP {status}"
    title = _scrub(error.get("error_user_title"), token) or _title_of(message)
    error_data = error.get("error_data")
    details = error_data.get("details") if isinstance(error_data, dict) else error_data
    info = describe(code, subcode, title=title, http_status=status, is_transient=error.get("is_transient"))
    return GraphError(message, info=info, code=code, subcode=subcode, title=title,
                      details=_scrub(details, token), fbtrace_id=error.get("fbtrace_id"), http_status=status,
                      retry_after=_retry_after(info, hint), error_type=error.get("type"))


def _title_of(message: str) -> str:
    """Meta puts the code's title in the message: ``"(#131047) Re-engagement message"``."""
    if message.startswith("(#") and ")" in message:
        return message.split(")", 1)[1].strip() or message
    return message


def _retry_after(info: ErrorInfo, hint: float | None) -> float | None:
    if not info.retryable:
        return None
    return hint if hint is not None else info.backoff_seconds


def _transport_error(exc: requests.RequestException, method: str) -> GraphError:
    timeout = isinstance(exc, requests.Timeout)
    refused_before_sending = isinstance(exc, requests.ConnectTimeout) or (
        isinstance(exc, requests.ConnectionError) and not isinstance(exc, requests.ReadTimeout)
        and _connect_failed(exc))
    maybe_delivered = method != "GET" and not refused_before_sending
    info = describe_transport(timeout=timeout, maybe_delivered=maybe_delivered)
    kind = "timed out" if timeout else "failed to connect" if refused_before_sending else "lost its connection"
    return GraphError(f"The Graph API request {kind} ({type(exc).__name__}).", info=info,
                      retry_after=info.backoff_seconds, maybe_delivered=maybe_delivered)


def _connect_failed(exc: requests.RequestException) -> bool:
    """True when the connection never opened (refused, DNS), so nothing reached Meta."""
    reason = exc.args[0] if exc.args else None
    text = f"{type(reason).__name__} {reason}"
    return any(marker in text for marker in ("NewConnectionError", "NameResolutionError", "Connection refused",
                                             "Failed to establish"))


def _protocol_error(message: str, http_status: int | None = None) -> GraphError:
    info = ErrorInfo(None, ErrorKind.UNKNOWN, Retry.NO, None,
                     "WhatsApp gave an answer this app does not understand.", "Unexpected answer")
    return GraphError(message, info=info, http_status=http_status)


def _media_rejected(message: str) -> MediaRejected:
    info = ErrorInfo(None, ErrorKind.MEDIA, Retry.NO, None,
                     "The file could not be downloaded safely from WhatsApp.", "Media refused")
    return MediaRejected(message, info=info)
