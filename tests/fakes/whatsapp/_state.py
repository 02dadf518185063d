"""State of the fake Graph API: accounts, templates, media, messages, calls, failure modes, the
request log. Everything is guarded by ``FakeState.lock``."""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

MODES = ("ok", "slow", "5xx", "down")


@dataclass
class PhoneNumber:
    id: str
    waba_id: str
    display_phone_number: str  # as the phone number query shows it: "+1 555-078-3881"
    verified_name: str = "Voice Agent Test"
    quality_rating: str = "GREEN"
    code_verification_status: str = "VERIFIED"
    platform_type: str = "CLOUD_API"
    throughput_level: str = "STANDARD"
    name_status: str = "APPROVED"
    calling: dict[str, Any] = field(default_factory=lambda: {
        "status": "ENABLED", "call_icon_visibility": "DEFAULT", "callback_permission_status": "DISABLED",
        "call_hours": {"status": "DISABLED"}, "sip": {"status": "DISABLED", "servers": []},
    })

    @property
    def webhook_number(self) -> str:
        """Webhooks carry the display number as digits only."""
        return re.sub(r"\D", "", self.display_phone_number)

    def profile(self) -> dict[str, Any]:
        return {"verified_name": self.verified_name, "code_verification_status": self.code_verification_status,
                "display_phone_number": self.display_phone_number, "quality_rating": self.quality_rating,
                "platform_type": self.platform_type, "throughput": {"level": self.throughput_level},
                "name_status": self.name_status, "id": self.id}


@dataclass
class Media:
    id: str
    data: bytes
    mime_type: str
    filename: str | None
    phone_number_id: str | None
    source: str  # "upload" (ours) or "inbound" (seeded as a customer's file)
    created: float = field(default_factory=time.time)


@dataclass
class SentMessage:
    wamid: str
    phone_number_id: str
    to: str
    type: str
    payload: dict[str, Any]
    statuses: list[str] = field(default_factory=list)
    created: float = field(default_factory=time.time)


@dataclass
class Call:
    id: str
    phone_number_id: str
    peer: str  # the customer's wa_id
    direction: str  # USER_INITIATED | BUSINESS_INITIATED
    state: str  # ringing | pre_accepted | accepted | rejected | terminated
    offer_sdp: str | None = None
    answer_sdp: str | None = None
    biz_opaque_callback_data: str | None = None
    started_at: int | None = None
    actions: list[str] = field(default_factory=list)


@dataclass
class InjectedFailure:
    """Answer the next ``remaining`` Graph requests (whose path contains ``path_contains``) with this."""
    code: int
    http_status: int | None = None
    subcode: int | None = None
    message: str | None = None
    details: str | None = None
    retry_after: str | None = None  # Retry-After header value
    regain_access_minutes: int | None = None  # X-Business-Use-Case-Usage estimated_time_to_regain_access
    remaining: int = 1
    path_contains: str | None = None


@dataclass
class RecipientFailure:
    """Sends to this recipient fail with ``code``: synchronously (an error answer) or, as Meta does for
    delivery failures such as 131026 / 131047 / 131049, asynchronously (accepted, then a failed status)."""
    code: int
    asynchronous: bool = True
    http_status: int | None = None
    details: str | None = None


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    at: float = field(default_factory=time.time)

    def as_dict(self) -> dict[str, Any]:
        return {"method": self.method, "path": self.path, "query": self.query, "headers": self.headers,
                "body": self.body, "at": self.at}


@dataclass
class StatusTiming:
    sent: float = 0.02
    delivered: float = 0.05
    read: float = 0.08  # None-like negative disables "read"


@dataclass
class FakeState:
    token: str = "test-token"
    phones: dict[str, PhoneNumber] = field(default_factory=dict)
    wabas: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # waba id -> templates
    lock: threading.RLock = field(default_factory=threading.RLock)
    token_expired: bool = False
    mode: str = "ok"
    slow_seconds: float = 1.0
    error_status: int = 500
    failures: list[InjectedFailure] = field(default_factory=list)
    recipient_failures: dict[str, RecipientFailure] = field(default_factory=dict)
    media: dict[str, Media] = field(default_factory=dict)
    media_url_ttl: float = 300.0
    media_redirect: str | None = None  # None | "same_host" | "foreign_host"
    media_chunked: bool = False
    media_secret: str = field(default_factory=lambda: secrets.token_hex(16))
    template_page_size: int = 25
    enforce_window: bool = False
    window_opened: dict[tuple[str, str], float] = field(default_factory=dict)  # (phone id, wa_id) -> last inbound
    inbound_ids: set[str] = field(default_factory=set)
    messages: dict[str, SentMessage] = field(default_factory=dict)
    calls: dict[str, Call] = field(default_factory=dict)
    call_permissions: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    default_call_permission: str = "temporary"
    answer_sdp: str | None = None  # the SDP answer Meta "returns" to our connect; default: a sample
    # False: our connect only makes the call; the customer's answer comes from answer_call (a real peer's SDP)
    auto_answer_calls: bool = True
    auto_statuses: bool = True
    status_timing: StatusTiming = field(default_factory=StatusTiming)
    requests: list[RecordedRequest] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    def record(self, request: RecordedRequest, route: str) -> None:
        with self.lock:
            self.requests.append(request)
            self.counts["total"] += 1
            self.counts[route] += 1

    def take_failure(self, path: str) -> InjectedFailure | None:
        with self.lock:
            for failure in self.failures:
                if failure.path_contains and failure.path_contains not in path:
                    continue
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self.failures.remove(failure)
                return failure
        return None


def seed_templates() -> list[dict[str, Any]]:
    """Several languages and categories, one with an image header and body parameters, one PENDING
    and one REJECTED; shapes as GET /{waba-id}/message_templates answers them."""

    def template(tid: str, name: str, language: str, category: str, status: str,
                 components: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        return {"name": name, "parameter_format": "POSITIONAL", "components": components, "language": language,
                "status": status, "category": category, "id": tid, **extra}

    def body(text: str, *examples: str) -> dict[str, Any]:
        component: dict[str, Any] = {"type": "BODY", "text": text}
        if examples:
            component["example"] = {"body_text": [list(examples)]}
        return component

    quick_replies = {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Track"},
                                                    {"type": "QUICK_REPLY", "text": "Stop updates"}]}
    return [
        template("1000000000000001", "hello_world", "en_US", "UTILITY", "APPROVED", [
            {"type": "HEADER", "format": "TEXT", "text": "Hello World"},
            body("Welcome and congratulations!! This message demonstrates your ability to send a WhatsApp "
                 "message notification from the Cloud API."),
            {"type": "FOOTER", "text": "WhatsApp Business Platform sample message"},
        ]),
        template("1000000000000002", "order_update", "en_US", "UTILITY", "APPROVED", [
            body("Hi {{1}}, your order {{2}} has shipped.", "Ana", "SO-0042"), quick_replies,
        ]),
        template("1000000000000003", "order_update", "es", "UTILITY", "APPROVED", [
            body("Hola {{1}}, tu pedido {{2}} ha sido enviado.", "Ana", "SO-0042"), quick_replies,
        ]),
        template("1000000000000004", "spring_sale", "en_US", "MARKETING", "APPROVED", [
            {"type": "HEADER", "format": "IMAGE",
             "example": {"header_handle": ["https://scontent.whatsapp.net/v/sample-header.jpg"]}},
            body("Hi {{1}}, {{2}} off everything until {{3}}.", "Ana", "20%", "Sunday"),
            {"type": "FOOTER", "text": "Reply STOP to opt out"},
        ]),
        template("1000000000000005", "appointment_reminder", "fr", "UTILITY", "APPROVED", [
            body("Bonjour {{1}}, votre rendez-vous est le {{2}}.", "Ana", "12 mai"),
        ]),
        template("1000000000000006", "verification_code", "en_US", "AUTHENTICATION", "APPROVED", [
            body("{{1}} is your verification code.", "123456"),
        ]),
        template("1000000000000007", "call_permission", "en_US", "UTILITY", "APPROVED", [
            body("May we call you about order {{1}}?", "SO-0042"), {"type": "call_permission_request"},
        ]),
        template("1000000000000008", "new_launch", "en_US", "MARKETING", "PENDING", [
            body("Something new is coming, {{1}}!", "Ana"),
        ]),
        template("1000000000000009", "risky_promo", "en_US", "MARKETING", "REJECTED", [
            body("Win a prize now!!!"),
        ], rejected_reason="PROMOTIONAL"),
    ]
