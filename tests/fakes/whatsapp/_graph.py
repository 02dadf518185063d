"""The Graph API routes of the fake: what Meta answers, and the webhooks it sends afterwards.

Requests are validated the way Meta does (token, known ids, messaging_product, required fields,
documented limits, template existence/approval/parameter count, media ids, calling state) and refused
with Meta-shaped errors: ``{"error": {"message": "(#CODE) Title", "type", "code", "error_subcode"?,
"error_data": {"messaging_product", "details"}, "fbtrace_id"}}``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from . import webhooks as wh
from ._delivery import WebhookDeliverer
from ._state import Call, FakeState, Media, PhoneNumber, RecordedRequest, SentMessage

MESSAGE_TYPES = ("text", "image", "audio", "video", "document", "sticker", "template", "interactive",
                 "reaction", "location", "contacts")
MEDIA_TYPES = {
    "image": ({"image/jpeg", "image/png"}, 5 * 1024 * 1024),
    "audio": ({"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"}, 16 * 1024 * 1024),
    "video": ({"video/mp4", "video/3gpp"}, 16 * 1024 * 1024),
    "document": ({"text/plain", "application/pdf", "application/msword", "application/vnd.ms-excel",
                  "application/vnd.ms-powerpoint",
                  "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                  "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
                 100 * 1024 * 1024),
    "sticker": ({"image/webp"}, 500 * 1024),
}
CALL_ACTIONS = ("connect", "pre_accept", "accept", "reject", "terminate")
PERMISSION_REQUEST_LIMITS = (("PT24H", 24 * 3600, 1), ("P7D", 7 * 24 * 3600, 2))
CONNECTED_CALL_LIMIT = ("PT24H", 24 * 3600, 100)

# Titles and details as Meta words them, for injected failures.
META_ERRORS: dict[int, tuple[str, str | None]] = {
    0: ("AuthException", "We were unable to authenticate the app user."),
    4: ("Application request limit reached", "Too many API calls."),
    2: ("Service temporarily unavailable", "An unexpected error has occurred. Please retry your request later."),
    80007: ("Rate limit issues", "The WhatsApp Business Account has reached its rate limit."),
    130429: ("Rate limit hit", "Message failed to send because there were too many messages sent from this phone "
                               "number in a short period of time."),
    100: ("Invalid parameter", None),
    131008: ("Required parameter is missing", None),
    131009: ("Parameter value is not valid", None),
    131053: ("Media upload error", None),
    132015: ("Template is paused", None),
    132016: ("Template is disabled", None),
    131000: ("Something went wrong", "Message failed to send due to an unknown error."),
    131016: ("Service unavailable", "A service is temporarily unavailable."),
    131026: ("Message undeliverable", "Unable to deliver message. Reasons can include: the recipient phone number "
                                      "is not a WhatsApp phone number."),
    131047: ("Re-engagement message", "Message failed to send because more than 24 hours have passed since the "
                                      "customer last replied to this number."),
    131048: ("Spam rate limit hit", "Message failed to send because there are restrictions on how many messages "
                                    "can be sent from this phone number."),
    131049: ("Meta chose not to deliver.", "This message was not delivered to maintain healthy ecosystem "
                                           "engagement."),
    131051: ("Unsupported message type", "Message type is currently not supported."),
    131056: ("(Business Account, Consumer Account) pair rate limit hit",
             "Message failed to send because there were too many messages sent from this phone number to the same "
             "phone number in a short period of time."),
    132000: ("Number of parameters does not match the expected number of params",
             "The number of parameters provided does not match the expected number of parameters."),
    132001: ("Template name does not exist in the translation", "The template does not exist."),
    132012: ("Parameter format does not match format in the created template",
             "A parameter's format does not match the template."),
    138000: ("Calling not enabled", "Calling is not enabled on the business phone number."),
    138001: ("Receiver uncallable", "Receiver is unable to receive calls."),
    138002: ("Concurrent calls limit", "Limit reached for maximum concurrent calls for the given number."),
    138003: ("Duplicate call", "A call is already ongoing with the receiver."),
    138005: ("Call rate limit exceeded", "Limit reached for maximum calls that can be initiated."),
    138006: ("No approved call permission", "No approved call permission from the recipient."),
    138009: ("Call permission request limit hit", "Limit reached for call permission request sends."),
    138012: ("Business initiated calls limit hit", "Limit reached for business initiated calls."),
}
# Mirrors of Meta's table disagree on some statuses (130429 is listed as 400 and as 429): the client
# must branch on the code, and tests pass http_status to exercise both.
DEFAULT_HTTP_STATUS = {190: 401, 0: 401, 3: 500, 10: 403, 200: 403, 2: 503, 4: 429, 80007: 429, 130429: 429,
                       131000: 500, 131016: 503}
DEFAULT_SUBCODES = {130429: 2494055}  # as in a recorded 130429 answer


@dataclass
class Reply:
    status: int
    body: Any = None  # dict/list -> JSON, bytes -> as is
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    drop: bool = False  # close the connection without an answer ("down")
    chunked: bool = False


def graph_error(code: int, message: str | None = None, *, http_status: int | None = None, subcode: int | None = None,
                details: str | None = None, error_type: str = "OAuthException",
                headers: dict[str, str] | None = None, is_transient: bool | None = None) -> Reply:
    title, default_details = META_ERRORS.get(code, ("Error", None))
    error: dict[str, Any] = {"message": message or f"(#{code}) {title}", "type": error_type, "code": code}
    subcode = subcode if subcode is not None else DEFAULT_SUBCODES.get(code)
    if subcode is not None:
        error["error_subcode"] = subcode
    if is_transient is not None:
        error["is_transient"] = is_transient
    if details is not None or default_details is not None:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details or default_details}
    error["fbtrace_id"] = "A" + secrets.token_urlsafe(16)
    return Reply(http_status or DEFAULT_HTTP_STATUS.get(code, 400), {"error": error}, headers or {})


def missing(parameter: str) -> Reply:
    return graph_error(100, f"(#100) The parameter {parameter} is required.")


def invalid(details: str) -> Reply:
    return graph_error(131009, details=details)


def no_such_object(method: str, object_id: str) -> Reply:
    return graph_error(100, f"Unsupported {method.lower()} request. Object with ID '{object_id}' does not exist, "
                            "cannot be loaded due to missing permissions, or does not support this operation. "
                            "Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api",
                       subcode=33, error_type="GraphMethodException")


def new_media_id() -> str:
    return str(secrets.randbelow(9 * 10**15) + 10**15)


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def _valid_sdp(session: Any, expected: str) -> str | None:
    """None when ``session`` is ``{sdp_type: expected, sdp}`` with a plausible SDP; else what is wrong."""
    if not isinstance(session, dict):
        return "The parameter session is required."
    if session.get("sdp_type") != expected:
        return f"session.sdp_type must be {expected}."
    sdp = session.get("sdp")
    if not isinstance(sdp, str) or not sdp.startswith("v=0") or "m=audio" not in sdp:
        return "SDP validation error: the SDP must be an RFC 8866 description with an audio section."
    return None


class GraphApi:
    def __init__(self, state: FakeState, deliverer: WebhookDeliverer, graph_base: Callable[[], str],
                 lookaside_base: Callable[[], str]):
        self.state = state
        self.deliverer = deliverer
        self._graph_base = graph_base
        self._lookaside_base = lookaside_base
        self._conversations: dict[tuple[str, str], str] = {}
        self._permission_requests: dict[tuple[str, str], list[float]] = {}
        self._connected_calls: dict[tuple[str, str], list[float]] = {}

    def reset(self) -> None:
        self._conversations.clear()
        self._permission_requests.clear()
        self._connected_calls.clear()

    # -- entry -----------------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str],
               raw: bytes) -> Reply:
        parts = [p for p in path.split("/") if p]
        version = parts.pop(0) if parts and re.fullmatch(r"v\d+\.\d+", parts[0]) else None
        route = f"{method} /{parts[1] if len(parts) > 1 else 'object'}"
        body = self._parse_body(headers, raw)
        self.state.record(RecordedRequest(method, path, query, headers, body), route)
        state = self.state
        if state.mode == "down":
            return Reply(0, drop=True)
        if state.mode == "slow":
            time.sleep(state.slow_seconds)
        if state.mode == "5xx":
            return graph_error(2, "An unexpected error has occurred. Please retry your request later.",
                               http_status=state.error_status, is_transient=True)
        refused = self._check_token(headers, query)
        if refused:
            return refused
        failure = state.take_failure(path)
        if failure:
            return self._injected(failure)
        if not parts:
            return graph_error(100, "(#100) Unknown path components")
        return self._dispatch(method, parts, query, body, version or "v23.0")

    @staticmethod
    def _parse_body(headers: dict[str, str], raw: bytes) -> Any:
        content_type = headers.get("Content-Type", headers.get("content-type", ""))
        if not raw:
            return None
        if content_type.startswith("multipart/form-data"):
            return {"multipart": _parse_multipart(content_type, raw)}
        try:
            return json.loads(raw)
        except ValueError:
            return {"unparsed": raw[:200].decode(errors="replace")}

    def _check_token(self, headers: dict[str, str], query: dict[str, list[str]]) -> Reply | None:
        auth = headers.get("Authorization") or headers.get("authorization") or ""
        token = auth[7:].strip() if auth.startswith("Bearer ") else (query.get("access_token") or [""])[0]
        if not token:
            return graph_error(2500, "An active access token must be used to query information about the current "
                                     "user.", http_status=400)
        with self.state.lock:
            current, expired = self.state.token, self.state.token_expired
        if token != current:
            return graph_error(190, "Invalid OAuth access token - Cannot parse access token", http_status=401)
        if expired:
            return graph_error(190, "Error validating access token: Session has expired on Monday, 01-Jan-24 "
                                    "00:00:00 PST. The current time is Tuesday, 02-Jan-24 00:00:00 PST.",
                               http_status=401, subcode=463)
        return None

    def _injected(self, failure: Any) -> Reply:
        headers: dict[str, str] = {}
        if failure.retry_after is not None:
            headers["Retry-After"] = str(failure.retry_after)
        if failure.regain_access_minutes is not None:
            usage = {next(iter(self.state.wabas), "0"): [{
                "type": "whatsapp_business_management", "call_count": 100, "total_cputime": 10, "total_time": 10,
                "estimated_time_to_regain_access": failure.regain_access_minutes}]}
            headers["X-Business-Use-Case-Usage"] = json.dumps(usage)
        subcode = failure.subcode
        message = failure.message
        if failure.code == 190 and message is None:
            message = "Error validating access token: Session has expired."
            subcode = subcode if subcode is not None else 463
        return graph_error(failure.code, message, http_status=failure.http_status, subcode=subcode,
                           details=failure.details, headers=headers)

    def _dispatch(self, method: str, parts: list[str], query: dict[str, list[str]], body: Any,
                  version: str) -> Reply:
        object_id = parts[0]
        phone = self.state.phones.get(object_id)
        if len(parts) == 1:
            if phone and method == "GET":
                return self._phone_profile(phone, query)
            if object_id in self.state.media and method in ("GET", "DELETE"):
                return self._media_object(method, object_id, query)
            if object_id in self.state.wabas and method == "GET":
                return Reply(200, {"id": object_id, "name": "Voice Agent Test WABA", "timezone_id": "1"})
            return no_such_object(method, object_id)
        edge = parts[1]
        if len(parts) > 2:
            return graph_error(2500, f"Unknown path components: /{'/'.join(parts[2:])}")
        if phone:
            handler = {("POST", "messages"): self._messages, ("POST", "media"): self._upload,
                       ("POST", "calls"): self._calls, ("GET", "call_permissions"): self._call_permissions,
                       ("GET", "settings"): self._get_settings, ("POST", "settings"): self._post_settings,
                       }.get((method, edge))
            if handler:
                return handler(phone, body if method == "POST" else query)
            return graph_error(2500, f"Unknown path components: /{edge}")
        if object_id in self.state.wabas:
            if method == "GET" and edge == "message_templates":
                return self._templates(object_id, query, version)
            return graph_error(2500, f"Unknown path components: /{edge}")
        return no_such_object(method, object_id)

    # -- phone number ----------------------------------------------------------------------------

    def _phone_profile(self, phone: PhoneNumber, query: dict[str, list[str]]) -> Reply:
        profile = phone.profile()
        fields = [f for f in ",".join(query.get("fields") or []).split(",") if f]
        if not fields:
            fields = ["verified_name", "code_verification_status", "display_phone_number", "quality_rating",
                      "platform_type", "throughput"]
        unknown = [f for f in fields if f not in profile]
        if unknown:
            return graph_error(100, f"(#100) Tried accessing nonexisting field ({unknown[0]}) on node type "
                                    "(WhatsAppBusinessPhoneNumber)")
        return Reply(200, {**{f: profile[f] for f in fields}, "id": phone.id})

    # -- messages --------------------------------------------------------------------------------

    def _messages(self, phone: PhoneNumber, body: Any) -> Reply:
        if not isinstance(body, dict):
            return missing("messaging_product")
        if body.get("messaging_product") != "whatsapp":
            if "messaging_product" not in body:
                return missing("messaging_product")
            return graph_error(100, "(#100) Param messaging_product must be one of {WHATSAPP} - got "
                                    f"\"{body.get('messaging_product')}\".")
        if body.get("status") == "read":
            return self._mark_read(body)
        recipient = body.get("to") or body.get("recipient")
        if not isinstance(recipient, str) or not recipient.strip():
            return missing("to")
        msg_type = body.get("type", "text")
        if msg_type not in MESSAGE_TYPES:
            return graph_error(100, f"(#100) Param type must be one of {{{', '.join(t.upper() for t in MESSAGE_TYPES)}}}"
                                    f" - got \"{msg_type}\".")
        obj = body.get(msg_type)
        if msg_type != "contacts" and not isinstance(obj, dict):
            return missing(msg_type)
        refused, template = self._validate(phone, msg_type, obj)
        if refused:
            return refused
        wa_id = _digits(recipient) if "to" in body else None
        key = wa_id or recipient
        with self.state.lock:
            failure = self.state.recipient_failures.get(key)
            window_closed = (self.state.enforce_window and msg_type != "template"
                             and time.time() - self.state.window_opened.get((phone.id, key), 0) > 24 * 3600)
        if failure and not failure.asynchronous:
            return graph_error(failure.code, http_status=failure.http_status, details=failure.details)
        if msg_type == "interactive" and obj.get("type") == "call_permission_request":
            refused = self._count_permission_request(phone, key)
            if refused:
                return refused
        wamid = wh.new_wamid()
        sent = SentMessage(wamid, phone.id, recipient, msg_type, body)
        with self.state.lock:
            self.state.messages[wamid] = sent
        async_failure: tuple[int, str | None] | None = None
        if failure:
            async_failure = (failure.code, failure.details)
        elif window_closed:
            async_failure = (131047, None)
        self._schedule_statuses(phone, sent, key, template, async_failure)
        message: dict[str, Any] = {"id": wamid}
        if msg_type == "template":
            message["message_status"] = "accepted"
        contact = {"input": recipient, "wa_id": wa_id} if wa_id else {"input": recipient, "user_id": recipient}
        return Reply(200, {"messaging_product": "whatsapp", "contacts": [contact], "messages": [message]})

    def _mark_read(self, body: dict[str, Any]) -> Reply:
        message_id = body.get("message_id")
        if not isinstance(message_id, str) or not message_id:
            return missing("message_id")
        if not message_id.startswith("wamid."):
            return invalid(f"Invalid message_id {message_id!r}.")
        indicator = body.get("typing_indicator")
        if indicator is not None and (not isinstance(indicator, dict) or indicator.get("type") != "text"):
            return invalid("typing_indicator.type must be text.")
        return Reply(200, {"success": True})

    def _validate(self, phone: PhoneNumber, msg_type: str, obj: Any) -> tuple[Reply | None, dict | None]:
        if msg_type == "text":
            text = obj.get("body")
            if not isinstance(text, str) or not text:
                return missing("text['body']"), None
            if len(text) > 4096:
                return invalid("Param text['body'] must be at most 4096 characters long."), None
        elif msg_type in MEDIA_TYPES:
            media_id, link = obj.get("id"), obj.get("link")
            if not media_id and not link:
                return missing(f"{msg_type}['id']"), None
            if media_id and media_id not in self.state.media:
                return invalid(f"Param {msg_type}['id'] is not a valid media id: {media_id}."), None
            if "caption" in obj and (msg_type in ("audio", "sticker") or len(str(obj["caption"])) > 1024):
                return invalid(f"Param {msg_type}['caption'] is not valid."), None
        elif msg_type == "template":
            return self._validate_template(phone, obj)
        elif msg_type == "interactive":
            return self._validate_interactive(phone, obj), None
        elif msg_type == "reaction":
            if not obj.get("message_id"):
                return missing("reaction['message_id']"), None
            if not isinstance(obj.get("emoji", None), str):
                return missing("reaction['emoji']"), None
        elif msg_type == "location":
            for axis, bound in (("latitude", 90), ("longitude", 180)):
                value = obj.get(axis)
                if not isinstance(value, int | float) or abs(value) > bound:
                    return missing(f"location['{axis}']"), None
        elif msg_type == "contacts":
            if not isinstance(obj, list) or not obj:
                return missing("contacts"), None
            for card in obj:
                if not isinstance(card, dict) or not (card.get("name") or {}).get("formatted_name"):
                    return missing("contacts['name']['formatted_name']"), None
        return None, None

    def _validate_template(self, phone: PhoneNumber, obj: dict[str, Any]) -> tuple[Reply | None, dict | None]:
        name = obj.get("name")
        language = (obj.get("language") or {}).get("code") if isinstance(obj.get("language"), dict) else None
        if not name:
            return missing("template['name']"), None
        if not language:
            return missing("template['language']['code']"), None
        templates = self.state.wabas.get(phone.waba_id, [])
        match = next((t for t in templates if t["name"] == name and t["language"] == language), None)
        if match is None or match["status"] not in ("APPROVED", "PAUSED", "DISABLED"):
            why = "does not exist" if match is None else f"is {match['status']}, not approved,"
            return graph_error(132001, http_status=404, details=f"template name ({name}) {why} in {language}"), None
        if match["status"] == "PAUSED":
            return graph_error(132015), None
        if match["status"] == "DISABLED":
            return graph_error(132016), None
        given: dict[str, list[dict[str, Any]]] = {}
        for component in obj.get("components") or []:
            if not isinstance(component, dict) or component.get("type") not in ("header", "body", "button"):
                return invalid("Param template['components'][]['type'] must be header, body or button."), None
            if component["type"] == "button":
                if component.get("sub_type") is None or component.get("index") is None:
                    return missing("template['components'][]['sub_type'] and ['index']"), None
                continue
            given.setdefault(component["type"], []).extend(component.get("parameters") or [])
        for spec in match["components"]:
            kind = str(spec.get("type", "")).lower()
            if kind == "header" and spec.get("format") in ("IMAGE", "VIDEO", "DOCUMENT"):
                expected_type = spec["format"].lower()
                params = given.get("header") or []
                received = params[0].get("type", "UNKNOWN").upper() if params else "UNKNOWN"
                if len(params) != 1 or params[0].get("type") != expected_type:
                    return graph_error(132012, details=f"header: Format mismatch, expected {spec['format']}, "
                                                       f"received {received}"), None
                media_id = (params[0].get(expected_type) or {}).get("id")
                if media_id and media_id not in self.state.media:
                    return invalid(f"Param header {expected_type}['id'] is not a valid media id: {media_id}."), None
            elif kind in ("header", "body"):
                expected = len(set(re.findall(r"{{\s*(\w+)\s*}}", spec.get("text", ""))))
                params = given.get(kind) or []
                if len(params) != expected:
                    return graph_error(132000, details=f"{kind}: number of localizable_params ({len(params)}) does "
                                                       f"not match the expected number of params ({expected})"), None
                if any(p.get("type") == "text" and not isinstance(p.get("text"), str) for p in params):
                    return graph_error(132012, details=f"{kind}: a text parameter has no text"), None
        return None, match

    def _validate_interactive(self, phone: PhoneNumber, obj: dict[str, Any]) -> Reply | None:
        kind = obj.get("type")
        action = obj.get("action")
        if kind == "call_permission_request":
            if not isinstance(action, dict) or action.get("name") != "call_permission_request":
                return missing("interactive['action']['name']")
            if phone.calling.get("status") != "ENABLED":
                return graph_error(138000)
            return None
        if kind not in ("button", "list", "cta_url", "flow", "location_request_message", "product", "product_list"):
            return invalid(f"Param interactive['type'] is not valid: {kind}.")
        body_text = (obj.get("body") or {}).get("text") if isinstance(obj.get("body"), dict) else None
        if kind in ("button", "list") and not body_text:
            return missing("interactive['body']['text']")
        if body_text and len(body_text) > 1024:
            return invalid("Param interactive['body']['text'] must be at most 1024 characters long.")
        if not isinstance(action, dict):
            return missing("interactive['action']")
        if kind == "button":
            buttons = action.get("buttons") or []
            if not 1 <= len(buttons) <= 3:
                return invalid("Param interactive['action']['buttons'] must have between 1 and 3 elements.")
            for button in buttons:
                reply = (button or {}).get("reply") or {}
                if not reply.get("id") or not reply.get("title") or len(reply["title"]) > 20:
                    return invalid("Button titles are required and must be at most 20 characters long.")
        if kind == "list":
            sections = action.get("sections") or []
            rows = [row for section in sections for row in (section.get("rows") or [])]
            if not action.get("button") or len(action["button"]) > 20:
                return invalid("Param interactive['action']['button'] is required (at most 20 characters).")
            if not sections or len(sections) > 10 or not rows or len(rows) > 10:
                return invalid("A list message has 1 to 10 sections and 1 to 10 rows in total.")
            if any(len(str(r.get("title", ""))) > 24 or not r.get("id") for r in rows):
                return invalid("Row ids are required and row titles must be at most 24 characters long.")
        return None

    def _schedule_statuses(self, phone: PhoneNumber, sent: SentMessage, recipient: str, template: dict | None,
                           failure: tuple[int, str | None] | None) -> None:
        if not self.state.auto_statuses:
            return
        timing = self.state.status_timing
        category = str(template["category"]).lower() if template else "service"
        conversation = self._conversations.setdefault((phone.id, recipient), secrets.token_hex(16))
        callback = sent.payload.get("biz_opaque_callback_data")

        def post(label: str, item: dict[str, Any], delay: float) -> None:
            sent.statuses.append(item["status"])
            body = wh.statuses_webhook([item], waba_id=phone.waba_id, phone_number_id=phone.id,
                                       display_phone_number=phone.webhook_number)
            self.deliverer.schedule(f"status:{label}:{sent.wamid}", body, delay)

        if failure:
            code, details = failure
            title, default_details = META_ERRORS.get(code, ("Error", "Message failed to send."))
            item = wh.failed_status(sent.wamid, recipient, code=code, title=title, details=details or default_details)
            if callback:
                item["biz_opaque_callback_data"] = callback
            post("failed", item, timing.sent)
            return
        expiry = str(int(time.time()) + 24 * 3600)
        for label, delay in (("sent", timing.sent), ("delivered", timing.delivered), ("read", timing.read)):
            if delay is None or delay < 0:
                continue
            item = wh.status(sent.wamid, label, recipient, conversation_id=conversation, origin=category,
                             category=category, expiration_timestamp=expiry if label == "sent" else None,
                             biz_opaque_callback_data=callback)
            post(label, item, delay)

    # -- media -----------------------------------------------------------------------------------

    def _upload(self, phone: PhoneNumber, body: Any) -> Reply:
        form = (body or {}).get("multipart") if isinstance(body, dict) else None
        if form is None:
            return missing("file")
        fields, files = form
        if fields.get("messaging_product") != "whatsapp":
            return missing("messaging_product")
        if "file" not in files:
            return missing("file")
        filename, declared, data = files["file"]
        mime = (declared or fields.get("type") or "").split(";")[0].strip().lower()
        kind = next((k for k, (types, _) in MEDIA_TYPES.items() if mime in types), None)
        if kind is None:
            return graph_error(131053, details=f"Unsupported file type {mime or '(none)'}.")
        limit = MEDIA_TYPES[kind][1]
        if len(data) > limit:
            return graph_error(131053, details=f"The {kind} is {len(data)} bytes; the limit is {limit} bytes.")
        media = Media(new_media_id(), data, declared or mime, filename, phone.id, "upload")
        with self.state.lock:
            self.state.media[media.id] = media
        return Reply(200, {"id": media.id})

    def _media_object(self, method: str, media_id: str, query: dict[str, list[str]]) -> Reply:
        media = self.state.media[media_id]
        owner = (query.get("phone_number_id") or [None])[0]
        if owner and media.phone_number_id and owner != media.phone_number_id:
            return invalid("The media was not uploaded on this business phone number.")
        if method == "DELETE":
            with self.state.lock:
                self.state.media.pop(media_id, None)
            return Reply(200, {"success": True})
        return Reply(200, {"messaging_product": "whatsapp", "url": self.media_url(media_id),
                           "mime_type": media.mime_type, "sha256": hashlib.sha256(media.data).hexdigest(),
                           "file_size": len(media.data), "id": media_id})

    def media_url(self, media_id: str) -> str:
        expires = int(time.time() + self.state.media_url_ttl)
        return f"{self._lookaside_base()}/whatsapp_business/attachments/?" + urlencode(
            {"mid": media_id, "ext": expires, "hash": self._media_hash(media_id, expires)})

    def _media_hash(self, media_id: str, expires: int) -> str:
        return hmac.new(self.state.media_secret.encode(), f"{media_id}:{expires}".encode(), "sha256").hexdigest()[:24]

    def lookaside(self, query: dict[str, list[str]], headers: dict[str, str]) -> Reply:
        """GET of a media URL: needs the bearer token and an unexpired, untampered link."""
        self.state.record(RecordedRequest("GET", "/whatsapp_business/attachments/", query, headers, None),
                          "GET lookaside")
        if self.state.mode == "down":
            return Reply(0, drop=True)
        refused = self._check_token(headers, {})
        if refused:
            return refused
        media_id = (query.get("mid") or [""])[0]
        try:
            expires = int((query.get("ext") or ["0"])[0])
        except ValueError:
            expires = 0
        media = self.state.media.get(media_id)
        signature_ok = hmac.compare_digest((query.get("hash") or [""])[0], self._media_hash(media_id, expires))
        if media is None or not signature_ok or time.time() > expires:
            return Reply(404, b"Not Found", content_type="text/plain")
        redirect = self.state.media_redirect
        if redirect and not query.get("r"):
            base = self._lookaside_base() if redirect == "same_host" else self._graph_base()
            location = f"{base}/whatsapp_business/attachments/?" + urlencode(
                {"mid": media_id, "ext": expires, "hash": self._media_hash(media_id, expires), "r": "1"})
            return Reply(302, b"", headers={"Location": location}, content_type="text/plain")
        return Reply(200, media.data, content_type=media.mime_type, chunked=self.state.media_chunked)

    # -- templates -------------------------------------------------------------------------------

    def _templates(self, waba_id: str, query: dict[str, list[str]], version: str) -> Reply:
        def first(name: str) -> str | None:
            return (query.get(name) or [None])[0]

        templates = list(self.state.wabas[waba_id])
        for key in ("status", "name", "language", "category"):
            wanted = first(key)
            if wanted:
                templates = [t for t in templates if str(t.get(key, "")).lower() == wanted.lower()]
        try:
            limit = max(1, int(first("limit") or 25))
        except ValueError:
            return invalid("Param limit must be an integer.")
        size = min(limit, self.state.template_page_size)
        start = _cursor_index(first("after"), after=True) if first("after") else 0
        page = templates[start:start + size]
        fields = [f for f in (first("fields") or "").split(",") if f]
        data = [{**{f: t[f] for f in fields if f in t}, "id": t["id"]} if fields else t for t in page]
        body: dict[str, Any] = {"data": data}
        if page:
            paging: dict[str, Any] = {"cursors": {"before": _cursor(start), "after": _cursor(start + len(page) - 1)}}
            if start + size < len(templates):
                params = {k: v[0] for k, v in query.items() if k not in ("after", "before", "access_token") and v}
                params.update(limit=str(size), after=_cursor(start + len(page) - 1))
                paging["next"] = f"{self._graph_base()}/{version}/{waba_id}/message_templates?{urlencode(params)}"
            body["paging"] = paging
        return Reply(200, body)

    # -- calling ---------------------------------------------------------------------------------

    def _calls(self, phone: PhoneNumber, body: Any) -> Reply:
        if not isinstance(body, dict) or body.get("messaging_product") != "whatsapp":
            return missing("messaging_product")
        action = body.get("action")
        if action not in CALL_ACTIONS:
            return graph_error(100, f"(#100) Param action must be one of {{{', '.join(CALL_ACTIONS)}}} - got "
                                    f"\"{action}\".")
        if phone.calling.get("status") != "ENABLED":
            return graph_error(138000)
        if (phone.calling.get("sip") or {}).get("status") == "ENABLED":
            return graph_error(138000, details="SIP signaling is enabled on this number: the Graph calling "
                                               "endpoints are off.")
        if action == "connect":
            return self._connect(phone, body)
        call_id = body.get("call_id")
        if not isinstance(call_id, str) or not call_id:
            return missing("call_id")
        with self.state.lock:
            call = self.state.calls.get(call_id)
        if call is None or call.phone_number_id != phone.id:
            return invalid(f"Invalid call_id {call_id}.")
        return self._call_step(phone, call, action, body)

    def _connect(self, phone: PhoneNumber, body: dict[str, Any]) -> Reply:
        to = body.get("to") or body.get("recipient")
        if not isinstance(to, str) or not to:
            return missing("to")
        problem = _valid_sdp(body.get("session"), "offer")
        if problem:
            return graph_error(100, "(#100) Invalid parameter", details=problem)
        wa_id = _digits(to) if body.get("to") else to
        now = time.time()
        with self.state.lock:
            failure = self.state.recipient_failures.get(wa_id)
            if failure and failure.code >= 138000:
                return graph_error(failure.code, http_status=failure.http_status, details=failure.details)
            if self._permission(phone.id, wa_id)["status"] == "no_permission":
                return graph_error(138006)
            if any(c.peer == wa_id and c.state in ("ringing", "pre_accepted", "accepted")
                   for c in self.state.calls.values()):
                return graph_error(138003)
            recent = [t for t in self._connected_calls.get((phone.id, wa_id), []) if now - t < CONNECTED_CALL_LIMIT[1]]
            if len(recent) >= CONNECTED_CALL_LIMIT[2]:
                return graph_error(138012)
            call = Call(wh.new_wacid(), phone.id, wa_id, "BUSINESS_INITIATED", "ringing",
                        offer_sdp=body["session"]["sdp"], biz_opaque_callback_data=body.get("biz_opaque_callback_data"),
                        actions=["connect"])
            self.state.calls[call.id] = call
            answer = self.state.answer_sdp or wh.SAMPLE_ANSWER_SDP
            auto_answer = self.state.auto_answer_calls
        if not auto_answer:
            return Reply(200, {"messaging_product": "whatsapp", "calls": [{"id": call.id}]})
        connect = wh.call_connect(call.id, from_=phone.webhook_number, to=wa_id, direction=call.direction,
                                  sdp=answer, biz_opaque_callback_data=call.biz_opaque_callback_data)
        self.post_call(phone, "connect", calls=[connect], delay=0.02)
        self.post_call(phone, "status:RINGING", statuses=[wh.call_status(
            call.id, "RINGING", wa_id, biz_opaque_callback_data=call.biz_opaque_callback_data)], delay=0.04)
        return Reply(200, {"messaging_product": "whatsapp", "calls": [{"id": call.id}]})

    def _call_step(self, phone: PhoneNumber, call: Call, action: str, body: dict[str, Any]) -> Reply:
        with self.state.lock:
            if call.state in ("rejected", "terminated"):
                return invalid(f"The call is already {call.state}.")
            if action in ("pre_accept", "accept", "reject") and call.direction != "USER_INITIATED":
                return invalid(f"{action} applies to calls the customer started.")
            if action in ("pre_accept", "accept"):
                problem = _valid_sdp(body.get("session"), "answer")
                if problem:
                    return graph_error(100, "(#100) Invalid parameter", details=problem)
                sdp = body["session"]["sdp"]
                if action == "pre_accept":
                    if call.state != "ringing":
                        return invalid(f"The call is already {call.state}.")
                    call.state, call.answer_sdp = "pre_accepted", sdp
                else:
                    if call.state == "accepted":
                        return invalid("The call is already accepted.")
                    if call.answer_sdp is not None and sdp != call.answer_sdp:
                        return invalid("SDP answer provided in accept does not match the SDP answer given in "
                                       "pre_accept for the same call id.")
                    call.state, call.answer_sdp, call.started_at = "accepted", sdp, int(time.time())
                    call.biz_opaque_callback_data = body.get("biz_opaque_callback_data") or call.biz_opaque_callback_data
                    self._connected_calls.setdefault((phone.id, call.peer), []).append(time.time())
            elif action == "reject":
                if call.state == "accepted":
                    return invalid("The call is already accepted: terminate it instead.")
                call.state = "rejected"
            else:
                call.state = "terminated"
            call.actions.append(action)
        if action in ("reject", "terminate"):
            self.post_terminate(phone, call, "COMPLETED" if call.started_at else "FAILED")
        return Reply(200, {"messaging_product": "whatsapp", "success": True})

    def post_terminate(self, phone: PhoneNumber, call: Call, status: str, errors: list[dict[str, Any]] | None = None,
                       delay: float = 0.02) -> None:
        end = int(time.time())
        item = wh.call_terminate(call.id, from_=call.peer if call.direction == "USER_INITIATED" else phone.webhook_number,
                                 to=phone.webhook_number if call.direction == "USER_INITIATED" else call.peer,
                                 direction=call.direction, status_=status, start_time=call.started_at,
                                 end_time=end if call.started_at else None,
                                 biz_opaque_callback_data=call.biz_opaque_callback_data, errors=errors)
        self.post_call(phone, "terminate", calls=[item], errors=errors or (), delay=delay)

    def post_call(self, phone: PhoneNumber, label: str, *, calls: Any = (), statuses: Any = (), errors: Any = (),
                  contacts: Any = (), delay: float = 0.0) -> Any:
        body = wh.calls_webhook(waba_id=phone.waba_id, phone_number_id=phone.id,
                                display_phone_number=phone.webhook_number, calls=calls, statuses=statuses,
                                errors=errors, contacts=contacts)
        call_id = (calls or statuses)[0]["id"]
        return self.deliverer.schedule(f"call:{label}:{call_id}", body, delay)

    def _permission(self, phone_id: str, wa_id: str) -> dict[str, Any]:
        stored = self.state.call_permissions.get((phone_id, wa_id))
        if stored is not None:
            return stored
        status = self.state.default_call_permission
        permission: dict[str, Any] = {"status": status}
        if status == "temporary":
            permission["expiration_time"] = int(time.time()) + 7 * 24 * 3600
        return permission

    def _count_permission_request(self, phone: PhoneNumber, wa_id: str) -> Reply | None:
        now = time.time()
        with self.state.lock:
            sent = self._permission_requests.setdefault((phone.id, wa_id), [])
            for _, window, allowed in PERMISSION_REQUEST_LIMITS:
                if sum(1 for t in sent if now - t < window) >= allowed:
                    return graph_error(138009)
            sent.append(now)
        return None

    def _call_permissions(self, phone: PhoneNumber, query: dict[str, list[str]]) -> Reply:
        wa_id = (query.get("user_wa_id") or query.get("recipient") or [None])[0]
        if not wa_id:
            return missing("user_wa_id")
        if phone.calling.get("status") != "ENABLED":
            return graph_error(138000)
        now = time.time()
        with self.state.lock:
            permission = dict(self._permission(phone.id, wa_id))
            requests_sent = self._permission_requests.get((phone.id, wa_id), [])
            calls = self._connected_calls.get((phone.id, wa_id), [])
            request_limits = []
            for period, window, allowed in PERMISSION_REQUEST_LIMITS:
                used = sum(1 for t in requests_sent if now - t < window)
                limit: dict[str, Any] = {"time_period": period, "max_allowed": allowed, "current_usage": used}
                if used >= allowed:
                    limit["limit_expiration_time"] = int(min(t for t in requests_sent if now - t < window) + window)
                request_limits.append(limit)
            period, window, allowed = CONNECTED_CALL_LIMIT
            used_calls = sum(1 for t in calls if now - t < window)
            call_limit: dict[str, Any] = {"time_period": period, "max_allowed": allowed, "current_usage": used_calls}
            if used_calls >= allowed:
                call_limit["limit_expiration_time"] = int(min(t for t in calls if now - t < window) + window)
        actions = [
            {"action_name": "send_call_permission_request",
             "can_perform_action": all(lim["current_usage"] < lim["max_allowed"] for lim in request_limits),
             "limits": request_limits},
            {"action_name": "start_call",
             "can_perform_action": permission["status"] != "no_permission" and used_calls < allowed,
             "limits": [call_limit]},
        ]
        return Reply(200, {"messaging_product": "whatsapp", "permission": permission, "actions": actions})

    def _get_settings(self, phone: PhoneNumber, query: dict[str, list[str]]) -> Reply:
        with self.state.lock:
            return Reply(200, {"calling": json.loads(json.dumps(phone.calling))})

    def _post_settings(self, phone: PhoneNumber, body: Any) -> Reply:
        calling = body.get("calling") if isinstance(body, dict) else None
        if not isinstance(calling, dict):
            return missing("calling")
        allowed = {"status": ("ENABLED", "DISABLED"), "call_icon_visibility": ("DEFAULT", "DISABLE_ALL"),
                   "callback_permission_status": ("ENABLED", "DISABLED")}
        for key, values in allowed.items():
            if key in calling and calling[key] not in values:
                return graph_error(100, "(#100) Invalid parameter", details=f"Invalid {key}: {calling[key]}")
        hours = calling.get("call_hours")
        if hours is not None:
            if not isinstance(hours, dict) or hours.get("status") not in ("ENABLED", "DISABLED"):
                return graph_error(100, "(#100) Invalid parameter", details="Invalid status in call_hours")
            if hours["status"] == "ENABLED" and (not hours.get("timezone_id") or not hours.get("weekly_operating_hours")):
                return graph_error(100, "(#100) Invalid parameter",
                                   details="weekly_operating_hours in call_hours cannot be empty")
        sip = calling.get("sip")
        if sip is not None and (not isinstance(sip, dict) or sip.get("status") not in ("ENABLED", "DISABLED")):
            return graph_error(100, "(#100) Invalid parameter", details="Invalid sip status")
        with self.state.lock:
            phone.calling.update(json.loads(json.dumps(calling)))
        return Reply(200, {"success": True})


def _cursor(index: int) -> str:
    return base64.b64encode(f"idx:{index}".encode()).decode()


def _cursor_index(cursor: str | None, *, after: bool) -> int:
    try:
        index = int(base64.b64decode(cursor or "").decode().split(":", 1)[1])
    except (ValueError, IndexError):
        return 0
    return index + 1 if after else index


def _parse_multipart(content_type: str, raw: bytes) -> tuple[dict[str, str], dict[str, tuple[str | None, str, bytes]]]:
    """multipart/form-data -> (text fields, files as (filename, content type, bytes))."""
    from email.parser import BytesParser
    from email.policy import HTTP

    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw)
    fields: dict[str, str] = {}
    files: dict[str, tuple[str | None, str, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None or part.get("Content-Type"):
            files[name] = (filename, part.get("Content-Type", ""), payload)
        else:
            fields[name] = payload.decode(errors="replace")
    return fields, files
