"""HTTP client of the mediasoup sidecar (contracts/methods.json -> sidecarHttp).

No frappe import: requests and responses are checked against
contracts/sidecar-http.schema.json, so the same client is tested against a
loopback fake in pytest.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from voice_agent.contracts import definition_validator, load

SCHEMA = "sidecar-http.schema.json"


class SidecarUnreachable(Exception):
    """No answer from the sidecar (connection refused, DNS, timeout)."""


class SidecarError(Exception):
    """The sidecar answered with an error, or with a body that breaks the contract."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"{code}: {message} (HTTP {status})")
        self.status = status
        self.code = code
        self.message = message


def _check(definition: str, body: Any, *, status: int, what: str) -> None:
    errors = list(definition_validator(SCHEMA, definition).iter_errors(body))
    if errors:
        raise SidecarError(
            status, "contract_violation", f"{what} does not match {definition}: {errors[0].message}"
        )


class SidecarClient:
    def __init__(self, base_url: str, secret: str, timeout: float = 5.0):
        self.base_url = base_url.rstrip("/")
        self.secret = secret
        self.timeout = timeout
        self.routes = load("methods.json")["sidecarHttp"]

    def create_room(
        self,
        call_id: str,
        *,
        ring_timeout_sec: int | None = None,
        max_duration_sec: int | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"callId": call_id}
        if ring_timeout_sec:
            body["ringTimeoutSec"] = ring_timeout_sec
        if max_duration_sec:
            body["maxDurationSec"] = max_duration_sec
        return self._call("createRoom", body=body)

    def end_call(self, call_id: str, reason: str | None = None) -> dict[str, Any]:
        return self._call("endCall", call_id=call_id, body={"reason": reason} if reason else {})

    def whatsapp_answer(
        self, call_id: str, participant_id: str, wa_call_id: str, offer: str, *, name: str | None = None
    ) -> dict[str, Any]:
        """A customer's WhatsApp call: the call's WhatsApp leg answers Meta's offer (WhatsAppSession, an
        answer for Graph pre_accept and accept). A retry with the same offer returns the same answer."""
        body: dict[str, Any] = {"participantId": participant_id, "waCallId": wa_call_id, "offer": offer}
        if name:
            body["name"] = name[:140]
        return self._call("whatsappAnswer", call_id=call_id, body=body)

    def whatsapp_offer(self, call_id: str, participant_id: str, *, name: str | None = None) -> dict[str, Any]:
        """A business-initiated WhatsApp call: the leg's offer (WhatsAppSession) for Graph connect."""
        body: dict[str, Any] = {"participantId": participant_id}
        if name:
            body["name"] = name[:140]
        return self._call("whatsappOffer", call_id=call_id, body=body)

    def whatsapp_remote_answer(
        self, call_id: str, participant_id: str, wa_call_id: str, answer: str
    ) -> dict[str, Any]:
        """Meta's answer (connect webhook) applied to the leg that made the offer -> RoomStatus."""
        body = {"participantId": participant_id, "waCallId": wa_call_id, "answer": answer}
        return self._call("whatsappRemoteAnswer", call_id=call_id, body=body)

    def whatsapp_end(self, call_id: str, participant_id: str, reason: str | None = None) -> dict[str, Any]:
        """Ends the WhatsApp leg: hangup / rejected end the call, connection_failed / media_timeout fail
        it -> RoomStatus. Idempotent once the call has ended."""
        body: dict[str, Any] = {"participantId": participant_id}
        if reason:
            body["reason"] = reason
        return self._call("whatsappEnd", call_id=call_id, body=body)

    def call_status(self, call_id: str) -> dict[str, Any]:
        return self._call("callStatus", call_id=call_id)

    def list_rooms(self) -> dict[str, Any]:
        """The calls the sidecar still knows (RoomList): its live rooms and its unreported calls."""
        return self._call("listRooms")

    def health(self) -> dict[str, Any]:
        return self._call("health")

    def _call(
        self, route_name: str, *, call_id: str | None = None, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        route = self.routes[route_name]
        if body is not None and "request" in route:
            _check(route["request"].split("/")[-1], body, status=0, what="request")
        path = route["path"]
        if call_id is not None:
            path = path.replace("{callId}", urllib.parse.quote(call_id, safe=""))
        headers = {"Accept": "application/json"}
        if route.get("auth") != "none":
            headers["Authorization"] = f"Bearer {self.secret}"
        data = None
        if route["method"] != "GET":
            headers["Content-Type"] = "application/json"
            data = json.dumps(body or {}).encode()
        request = urllib.request.Request(
            self.base_url + path, data=data, headers=headers, method=route["method"]
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise SidecarUnreachable(f"{self.base_url}: {reason}") from exc
        try:
            payload = json.loads(raw or b"null")
        except ValueError as exc:
            raise SidecarError(status, "bad_response", f"not JSON: {raw[:200]!r}") from exc
        if status >= 400:
            if isinstance(payload, dict) and isinstance(payload.get("error"), str):
                raise SidecarError(status, payload["error"], str(payload.get("message", "")))
            raise SidecarError(status, "http_error", f"{raw[:200]!r}")
        _check(route["response"].split("/")[-1], payload, status=status, what="response")
        return payload
