"""A loopback fake of Meta's Graph API for WhatsApp (Cloud API messages, media, templates, phone
number, Business Calling API), with Meta-shaped webhooks back to our endpoint.

- Graph routes on ``base_url`` (``/{version}/{id}[/{edge}]``), validated as Meta does and refused with
  Meta-shaped errors (see ``_graph.py``).
- Media URLs point at a second server, the "lookaside" host (``localhost`` where the Graph API is on
  ``127.0.0.1``): they need the bearer token and expire (5 minutes, settable).
- Modes: ok, slow, 5xx, down; the next N requests failing with a Graph code; per-recipient failures,
  synchronous or (as Meta reports delivery failures) asynchronous.
- Webhooks: statuses sent -> delivered -> read (or failed) for every accepted message, call events,
  and inbound messages on command; signed with ``X-Hub-Signature-256`` and redelivered while our
  endpoint does not answer 200.
- Every request is recorded; ``/_fake/...`` control routes let another process (a TypeScript browser
  test, a Frappe site) drive all of this over HTTP. ``python -m tests.fakes.whatsapp`` runs it alone.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
from dataclasses import asdict
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .. import LoopbackHandler, LoopbackServer
from . import webhooks as wh
from ._delivery import Delivery, DeliveryConfig, WebhookDeliverer
from ._graph import GraphApi, Reply, graph_error, new_media_id
from ._state import (
    MODES,
    Call,
    FakeState,
    InjectedFailure,
    Media,
    PhoneNumber,
    RecipientFailure,
    RecordedRequest,
    StatusTiming,
    seed_templates,
)

__all__ = ["FakeWhatsApp", "MODES", "Media", "RecordedRequest", "Delivery"]

CONFIG_KEYS = ("media_url_ttl", "template_page_size", "enforce_window", "media_redirect", "media_chunked",
               "auto_statuses", "default_call_permission", "answer_sdp", "auto_answer_calls")


class _Handler(LoopbackHandler):
    server: _Server

    def do_OPTIONS(self) -> None:
        self._write(Reply(204, None, {"Access-Control-Allow-Methods": "GET, POST, DELETE, OPTIONS",
                                      "Access-Control-Allow-Headers": "Content-Type, Authorization"}))

    def _handle(self, method: str) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        query = parse_qs(url.query, keep_blank_values=True)
        headers = dict(self.headers.items())
        fake = self.server.fake
        try:
            if self.server.role == "lookaside":
                reply = fake.api.lookaside(query, headers) if method == "GET" else Reply(405, {"error": "GET only"})
            elif url.path.startswith("/_fake/") or url.path == "/_fake":
                reply = fake.control(method, [p for p in url.path.split("/")[2:] if p], query, headers, raw)
            else:
                reply = fake.api.handle(method, url.path, query, headers, raw)
        except Exception as exc:  # a bug in the fake must show as a 500, not a hung test
            reply = graph_error(1, f"The fake failed: {type(exc).__name__}: {exc}", http_status=500)
        self._write(reply)

    def _write(self, reply: Reply) -> None:
        if reply.drop:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if isinstance(reply.body, bytes | bytearray):
            data = bytes(reply.body)
        else:
            data = b"" if reply.body is None else json.dumps(reply.body).encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Access-Control-Allow-Origin", "*")
        for key, value in reply.headers.items():
            self.send_header(key, value)
        if reply.chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for start in range(0, len(data), 4096):
                chunk = data[start:start + 4096]
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
            return
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _Server(LoopbackServer):
    fake: FakeWhatsApp
    role: str


class FakeWhatsApp:
    """``with FakeWhatsApp() as fake:`` then point ``GraphClient(fake.token, base_url=fake.base_url,
    media_hosts=fake.media_hosts)`` at it."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, token: str = "test-token",
                 phone_number_id: str = wh.DEFAULT_PHONE_NUMBER_ID, waba_id: str = wh.DEFAULT_WABA_ID,
                 display_phone_number: str = "+1 555-078-3881", verified_name: str = "Voice Agent Test",
                 webhook_url: str | None = None, app_secret: str | None = None, lookaside_host: str = "localhost",
                 lookaside_port: int = 0):
        self.state = FakeState(token=token)
        self.state.phones[phone_number_id] = PhoneNumber(phone_number_id, waba_id, display_phone_number,
                                                         verified_name=verified_name)
        self.state.wabas[waba_id] = seed_templates()
        self.phone_number_id = phone_number_id
        self.waba_id = waba_id
        self.deliverer = WebhookDeliverer(DeliveryConfig(url=webhook_url, app_secret=app_secret))
        self._graph = self._server(host, port, "graph")
        self._lookaside = self._server(host, lookaside_port, "lookaside")
        self.host = host
        self.port = self._graph.server_address[1]
        self.base_url = f"http://{host}:{self.port}"
        self.lookaside_url = f"http://{lookaside_host}:{self._lookaside.server_address[1]}"
        self.media_hosts = (lookaside_host,)
        self.api = GraphApi(self.state, self.deliverer, lambda: self.base_url, lambda: self.lookaside_url)
        self._threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True) for s in (self._graph, self._lookaside)]
        self._started = False
        self._stopped = False

    def _server(self, host: str, port: int, role: str) -> _Server:
        server = _Server((host, port), _Handler)
        server.fake = self
        server.role = role
        return server

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> FakeWhatsApp:
        if not self._started:
            self._started = True
            for thread in self._threads:
                thread.start()
        return self

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self.deliverer.close()
        for server in (self._graph, self._lookaside):
            if self._started:
                server.shutdown()
            server.server_close()

    def __enter__(self) -> FakeWhatsApp:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def token(self) -> str:
        return self.state.token

    @property
    def phone(self) -> PhoneNumber:
        return self.state.phones[self.phone_number_id]

    # -- modes and failures ----------------------------------------------------------------------

    def set_mode(self, mode: str, *, slow_seconds: float | None = None, error_status: int | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"mode is one of {MODES}")
        with self.state.lock:
            self.state.mode = mode
            if slow_seconds is not None:
                self.state.slow_seconds = slow_seconds
            if error_status is not None:
                self.state.error_status = error_status

    def fail_next(self, code: int, count: int = 1, *, http_status: int | None = None, subcode: int | None = None,
                  message: str | None = None, details: str | None = None, retry_after: str | float | None = None,
                  regain_access_minutes: int | None = None, path_contains: str | None = None) -> None:
        """The next ``count`` Graph requests (after the token check) fail with this Graph error."""
        failure = InjectedFailure(code, http_status, subcode, message, details,
                                  None if retry_after is None else str(retry_after), regain_access_minutes,
                                  max(1, count), path_contains)
        with self.state.lock:
            self.state.failures.append(failure)

    def fail_recipient(self, wa_id: str, code: int, *, asynchronous: bool = True, http_status: int | None = None,
                       details: str | None = None) -> None:
        with self.state.lock:
            self.state.recipient_failures[wa_id] = RecipientFailure(code, asynchronous, http_status, details)

    def clear_recipient_failure(self, wa_id: str) -> None:
        with self.state.lock:
            self.state.recipient_failures.pop(wa_id, None)

    def expire_token(self, expired: bool = True) -> None:
        """Answer 190 (subcode 463, session expired) to the current token."""
        with self.state.lock:
            self.state.token_expired = expired

    def rotate_token(self, new_token: str) -> None:
        """A new token: the old one is answered 190 "cannot parse" from now on."""
        with self.state.lock:
            self.state.token, self.state.token_expired = new_token, False

    def configure(self, **settings: Any) -> None:
        """media_url_ttl, template_page_size, enforce_window, media_redirect (None / "same_host" /
        "foreign_host"), media_chunked, auto_statuses, default_call_permission, answer_sdp, auto_answer_calls,
        status_delays={"sent", "delivered", "read"} (a negative delay skips that status)."""
        delays = settings.pop("status_delays", None)
        unknown = set(settings) - set(CONFIG_KEYS)
        if unknown:
            raise ValueError(f"unknown settings {sorted(unknown)}; known: {CONFIG_KEYS + ('status_delays',)}")
        with self.state.lock:
            for key, value in settings.items():
                setattr(self.state, key, value)
            if delays is not None:
                timing = asdict(self.state.status_timing)
                timing.update(delays)
                self.state.status_timing = StatusTiming(**timing)

    def configure_webhooks(self, url: str | None, app_secret: str | None, *, max_attempts: int | None = None,
                           retry_delays: tuple[float, ...] | list[float] | None = None,
                           timeout: float | None = None) -> None:
        config = self.deliverer.config
        config.url, config.app_secret = url, app_secret
        if max_attempts is not None:
            config.max_attempts = max(1, int(max_attempts))
        if retry_delays is not None:
            config.retry_delays = tuple(float(d) for d in retry_delays)
        if timeout is not None:
            config.timeout = float(timeout)

    def reset(self) -> None:
        """Back to a fresh fake (same token, number and seeded templates); webhook config is kept."""
        with self.state.lock:
            self.state.mode, self.state.token_expired = "ok", False
            self.state.slow_seconds, self.state.error_status = 1.0, 500
            self.state.default_call_permission, self.state.answer_sdp = "temporary", None
            self.state.auto_answer_calls = True
            self.state.failures.clear()
            self.state.recipient_failures.clear()
            self.state.requests.clear()
            self.state.counts.clear()
            self.state.messages.clear()
            self.state.calls.clear()
            self.state.call_permissions.clear()
            self.state.window_opened.clear()
            self.state.media.clear()
            self.state.media_url_ttl, self.state.media_redirect, self.state.media_chunked = 300.0, None, False
            self.state.template_page_size, self.state.enforce_window, self.state.auto_statuses = 25, False, True
            self.state.status_timing = StatusTiming()
            self.state.wabas[self.waba_id] = seed_templates()
            self.api.reset()
        self.deliverer.clear()

    # -- media -----------------------------------------------------------------------------------

    def seed_media(self, data: bytes, mime_type: str, filename: str | None = None) -> Media:
        """A customer's file, as if received: reference ``media.id`` in an inbound media webhook."""
        media = Media(new_media_id(), data, mime_type, filename, None, "inbound")
        with self.state.lock:
            self.state.media[media.id] = media
        return media

    # -- inbound webhooks ------------------------------------------------------------------------

    def send_inbound(self, message: dict[str, Any], *, name: str = "Test Customer",
                     user_id: str | None = None, delay: float = 0.0) -> Delivery | None:
        """Post one inbound ``messages`` webhook carrying ``message`` (a ``webhooks`` item builder's
        result). Opens the customer's 24 h window, as Meta counts it."""
        phone = self.phone
        with self.state.lock:
            self.state.window_opened[(phone.id, message["from"])] = time.time()
            self.state.inbound_ids.add(message["id"])
        body = wh.messages_webhook(waba_id=phone.waba_id, phone_number_id=phone.id,
                                   display_phone_number=phone.webhook_number,
                                   contacts=[wh.contact(message["from"], name, user_id=user_id)], messages=[message])
        return self.deliverer.schedule(f"inbound:{message.get('type')}:{message['id']}", body, delay)

    def inbound(self, build: str, **args: Any) -> Delivery | None:
        """``fake.inbound("text", from_="16505551234", body="hi")``: a builder of ``webhooks`` by name."""
        builder = wh.INBOUND_BUILDERS.get(build)
        if builder is None:
            raise ValueError(f"unknown inbound builder {build!r}; known: {sorted(wh.INBOUND_BUILDERS)}")
        name = args.pop("name", "Test Customer")
        return self.send_inbound(builder(**args), name=name)

    def post_webhook(self, body: dict[str, Any] | bytes, label: str = "raw", delay: float = 0.0) -> Delivery | None:
        """Post any body (e.g. a batch built with ``webhooks``), signed, with Meta's redelivery."""
        return self.deliverer.schedule(label, body, delay)

    # -- calls -----------------------------------------------------------------------------------

    def incoming_call(self, from_: str, *, sdp: str | None = None, name: str = "Test Customer") -> str:
        """The customer calls the business: a ``connect`` webhook with an SDP offer; returns the wacid."""
        phone = self.phone
        call = Call(wh.new_wacid(), phone.id, from_, "USER_INITIATED", "ringing", offer_sdp=sdp or wh.SAMPLE_OFFER_SDP)
        with self.state.lock:
            self.state.calls[call.id] = call
        connect = wh.call_connect(call.id, from_=from_, to=phone.webhook_number, direction=call.direction,
                                  sdp=call.offer_sdp or "")
        self.api.post_call(phone, "connect", calls=[connect], contacts=[wh.contact(from_, name)])
        return call.id

    def answer_call(self, call_id: str, sdp: str) -> None:
        """The customer's WhatsApp answers our call with ``sdp`` (a real peer's answer to the offer our
        ``connect`` carried, with ``auto_answer_calls`` off): the ``connect`` webhook with that answer."""
        call = self._call(call_id)
        if call.direction != "BUSINESS_INITIATED":
            raise ValueError(f"call {call_id} is the customer's: they send offers, not answers")
        with self.state.lock:
            if call.state != "ringing" or call.answer_sdp is not None:
                raise ValueError(f"call {call_id} is {call.state}{', answered already' if call.answer_sdp else ''}")
            call.answer_sdp = sdp
        phone = self.phone
        connect = wh.call_connect(call.id, from_=phone.webhook_number, to=call.peer, direction=call.direction, sdp=sdp,
                                  biz_opaque_callback_data=call.biz_opaque_callback_data)
        self.api.post_call(phone, "connect", calls=[connect])

    def call_status(self, call_id: str, status: str) -> None:
        """RINGING / ACCEPTED / REJECTED of a business-initiated call (REJECTED then terminates it)."""
        call = self._call(call_id)
        self.api.post_call(self.phone, f"status:{status}", statuses=[wh.call_status(
            call.id, status, call.peer, biz_opaque_callback_data=call.biz_opaque_callback_data)])
        with self.state.lock:
            if status == "ACCEPTED":
                call.state, call.started_at = "accepted", call.started_at or int(time.time())
            elif status == "REJECTED":
                call.state = "rejected"
        if status == "REJECTED":
            self.api.post_terminate(self.phone, call, "FAILED", delay=0.02)

    def end_call(self, call_id: str, *, status: str | None = None, error_code: int | None = None,
                 error_title: str = "", error_details: str = "") -> None:
        """The customer (or WhatsApp) ends the call: a ``terminate`` webhook, errors in the call object
        and at value level (as seen live for 138021)."""
        call = self._call(call_id)
        with self.state.lock:
            call.state = "terminated"
        errors = [wh.error(error_code, error_title or f"Error {error_code}", error_details)] if error_code else None
        final = status or ("COMPLETED" if call.started_at and not error_code else "FAILED")
        self.api.post_terminate(self.phone, call, final, errors=errors, delay=0.0)

    def set_call_permission(self, wa_id: str, status: str, expiration_time: int | None = None) -> None:
        if status not in ("no_permission", "temporary", "permanent"):
            raise ValueError("status is no_permission, temporary or permanent")
        permission: dict[str, Any] = {"status": status}
        if status == "temporary":
            permission["expiration_time"] = expiration_time or int(time.time()) + 7 * 24 * 3600
        with self.state.lock:
            self.state.call_permissions[(self.phone_number_id, wa_id)] = permission

    def _call(self, call_id: str) -> Call:
        with self.state.lock:
            call = self.state.calls.get(call_id)
        if call is None:
            raise KeyError(f"no call {call_id}")
        return call

    # -- observation -----------------------------------------------------------------------------

    def requests_to(self, path_contains: str = "", method: str | None = None) -> list[RecordedRequest]:
        with self.state.lock:
            return [r for r in self.state.requests
                    if path_contains in r.path and (method is None or r.method == method)]

    def sent_messages(self) -> list[dict[str, Any]]:
        with self.state.lock:
            return [{"wamid": m.wamid, "to": m.to, "type": m.type, "payload": m.payload, "statuses": list(m.statuses)}
                    for m in self.state.messages.values()]

    def deliveries(self) -> list[dict[str, Any]]:
        with self.state.lock:
            return [d.as_dict() for d in self.deliverer.deliveries]

    def wait_for_deliveries(self, timeout: float = 5.0) -> bool:
        return self.deliverer.wait_idle(timeout)

    def stats(self) -> dict[str, Any]:
        with self.state.lock:
            deliveries = list(self.deliverer.deliveries)
            return {"requests": self.state.counts.get("total", 0),
                    "by_route": {k: v for k, v in self.state.counts.items() if k != "total"},
                    "messages": len(self.state.messages), "media": len(self.state.media),
                    "calls": len(self.state.calls),
                    "deliveries": {"total": len(deliveries), "delivered": sum(d.delivered for d in deliveries),
                                   "pending": sum(not d.done for d in deliveries),
                                   "attempts": sum(len(d.attempts) for d in deliveries)}}

    # -- /_fake/... control routes ---------------------------------------------------------------

    def control(self, method: str, parts: list[str], query: dict[str, list[str]], headers: dict[str, str],
                raw: bytes) -> Reply:
        route = "/".join(parts)
        if method == "POST" and route == "media":
            mime = headers.get("Content-Type") or "application/octet-stream"
            media = self.seed_media(raw, mime, (query.get("filename") or [None])[0])
            return Reply(200, {"id": media.id, "mime_type": media.mime_type, "file_size": len(raw),
                               "sha256": wh.sha256_b64(raw), "sha256_hex": hashlib.sha256(raw).hexdigest()})
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            return Reply(400, {"detail": "the body must be JSON"})
        if not isinstance(body, dict):
            return Reply(400, {"detail": "the body must be a JSON object"})
        try:
            return self._control(method, route, parts, query, body)
        except (ValueError, KeyError, TypeError) as exc:
            return Reply(400, {"detail": f"{type(exc).__name__}: {exc}"})

    def _control(self, method: str, route: str, parts: list[str], query: dict[str, list[str]],
                 body: dict[str, Any]) -> Reply:
        if method == "GET":
            if route == "health":
                return Reply(200, self.describe())
            if route == "requests":
                wanted = (query.get("path_contains") or [""])[0]
                only = (query.get("method") or [None])[0]
                return Reply(200, [r.as_dict() for r in self.requests_to(wanted, only)])
            if route == "messages":
                return Reply(200, self.sent_messages())
            if route == "deliveries":
                return Reply(200, self.deliveries())
            if route == "calls":
                with self.state.lock:
                    return Reply(200, [asdict(c) for c in self.state.calls.values()])
            if route == "stats":
                return Reply(200, self.stats())
        elif method == "POST":
            if route == "mode":
                self.set_mode(body.get("mode", self.state.mode), slow_seconds=body.get("slow_seconds"),
                              error_status=body.get("error_status"))
                return Reply(200, {"mode": self.state.mode})
            if route == "fail":
                self.fail_next(int(body["code"]), int(body.get("count", 1)), http_status=body.get("http_status"),
                               subcode=body.get("subcode"), message=body.get("message"), details=body.get("details"),
                               retry_after=body.get("retry_after"),
                               regain_access_minutes=body.get("regain_access_minutes"),
                               path_contains=body.get("path_contains"))
                return Reply(200, {"queued": len(self.state.failures)})
            if route == "recipient_failure":
                if body.get("code") is None:
                    self.clear_recipient_failure(body["wa_id"])
                else:
                    self.fail_recipient(body["wa_id"], int(body["code"]), asynchronous=body.get("asynchronous", True),
                                        http_status=body.get("http_status"), details=body.get("details"))
                return Reply(200, {"ok": True})
            if route == "token":
                if "token" in body:
                    self.rotate_token(str(body["token"]))
                if "expired" in body:
                    self.expire_token(bool(body["expired"]))
                return Reply(200, {"expired": self.state.token_expired})
            if route == "config":
                self.configure(**body)
                return Reply(200, {"ok": True})
            if route == "webhook":
                self.configure_webhooks(body.get("url"), body.get("app_secret"),
                                        max_attempts=body.get("max_attempts"), retry_delays=body.get("retry_delays"),
                                        timeout=body.get("timeout"))
                return Reply(200, {"ok": True})
            if route == "inbound":
                return self._control_inbound(body)
            if route == "call_permission":
                self.set_call_permission(body["wa_id"], body["status"], body.get("expiration_time"))
                return Reply(200, {"ok": True})
            if route == "calls/incoming":
                return Reply(200, {"call_id": self.incoming_call(body["from"], sdp=body.get("sdp"),
                                                                 name=body.get("name", "Test Customer"))})
            if len(parts) == 3 and parts[0] == "calls" and parts[2] == "answer":
                self.answer_call(parts[1], body["sdp"])
                return Reply(200, {"ok": True})
            if len(parts) == 3 and parts[0] == "calls" and parts[2] == "status":
                self.call_status(parts[1], body["status"])
                return Reply(200, {"ok": True})
            if len(parts) == 3 and parts[0] == "calls" and parts[2] == "terminate":
                self.end_call(parts[1], status=body.get("status"), error_code=body.get("error_code"),
                              error_title=body.get("error_title", ""), error_details=body.get("error_details", ""))
                return Reply(200, {"ok": True})
            if route == "templates":
                templates = body["templates"]
                with self.state.lock:
                    target = self.state.wabas.setdefault(body.get("waba_id", self.waba_id), [])
                    if body.get("replace"):
                        target.clear()
                    target.extend(templates)
                return Reply(200, {"count": len(target)})
            if route == "wait":
                return Reply(200, {"idle": self.wait_for_deliveries(float(body.get("timeout", 5.0)))})
            if route == "reset":
                self.reset()
                return Reply(200, {"ok": True})
        return Reply(404, {"detail": f"unknown control route {method} /_fake/{route}"})

    def _control_inbound(self, body: dict[str, Any]) -> Reply:
        if "payload" in body:
            delivery = self.post_webhook(body["payload"], body.get("label", "raw"))
            return Reply(200, {"delivery_id": delivery.delivery_id if delivery else None})
        if "message" in body:
            message = body["message"]
        else:
            args = dict(body.get("args") or {})
            if "from" in args:
                args["from_"] = args.pop("from")
            if "text" in args and body.get("build") in ("quick_reply_button", "order"):
                args["text_"] = args.pop("text")
            builder = wh.INBOUND_BUILDERS.get(body.get("build", ""))
            if builder is None:
                return Reply(400, {"detail": f"build is one of {sorted(wh.INBOUND_BUILDERS)}"})
            message = builder(**args)
        delivery = self.send_inbound(message, name=body.get("name", "Test Customer"), user_id=body.get("user_id"))
        return Reply(200, {"message_id": message["id"], "message": message,
                           "delivery_id": delivery.delivery_id if delivery else None})

    def describe(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "lookaside_url": self.lookaside_url, "token": self.state.token,
                "phone_number_id": self.phone_number_id, "waba_id": self.waba_id,
                "display_phone_number": self.phone.webhook_number, "media_hosts": list(self.media_hosts),
                "control": f"{self.base_url}/_fake", "webhook_url": self.deliverer.config.url}
