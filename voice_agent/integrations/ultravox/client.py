"""Ultravox REST client (no frappe import): timeouts, retries with backoff on 429/5xx, clear errors."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import requests

DEFAULT_BASE_URL = "https://api.ultravox.ai"
RETRYABLE_STATUSES = {429, 500, 502, 503, 504}
MAX_RETRY_AFTER_SECONDS = 10.0


class UltravoxError(Exception):
    """A failed Ultravox request; `message` is safe to show to a user (no key, no body dump)."""

    def __init__(self, message: str, status: int | None = None, retryable: bool = False):
        super().__init__(message)
        self.message = message
        self.status = status
        self.retryable = retryable


class UltravoxClient:
    def __init__(
        self,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 10.0,
        max_attempts: int = 3,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        session: requests.Session | None = None,
    ):
        if not api_key:
            raise UltravoxError("The Ultravox API key is not configured.")
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.timeout = timeout
        self.max_attempts = max(1, max_attempts)
        self.backoff = backoff
        self._sleep = sleep
        self._http = session or requests.Session()
        self._http.headers.update({"X-API-Key": api_key, "Accept": "application/json"})

    def create_call(self, body: dict[str, Any]) -> dict[str, Any]:
        call = self._request("POST", "/api/calls", json=body)
        if not isinstance(call, dict) or not call.get("callId") or not call.get("joinUrl"):
            raise UltravoxError("Ultravox answered without a call id or join URL.", retryable=False)
        return call

    def get_call(self, call_id: str) -> dict[str, Any]:
        return self._request("GET", f"/api/calls/{quote(call_id, safe='')}")

    def list_messages(self, call_id: str, page_size: int = 200, max_pages: int = 50) -> list[dict[str, Any]]:
        """All messages of a call, following the `next` cursor links."""
        messages: list[dict[str, Any]] = []
        path: str | None = f"/api/calls/{quote(call_id, safe='')}/messages?pageSize={page_size}"
        for _ in range(max_pages):
            if not path:
                break
            page = self._request("GET", path)
            messages.extend(page.get("results") or [])
            path = page.get("next")
        return messages

    def end_call(self, call_id: str) -> None:
        """Ask Ultravox to hang up a live call (a `hang_up` data message)."""
        self._request(
            "POST",
            f"/api/calls/{quote(call_id, safe='')}/send_data_message",
            json={"type": "hang_up", "message": "The session was ended."},
        )

    def _request(self, method: str, path: str, json: Any = None) -> Any:
        url = path if path.startswith("http") else f"{self.base_url}{path}"
        if not url.startswith(self.base_url):
            raise UltravoxError("Ultravox returned a link to another host.")
        last_error: UltravoxError | None = None
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = self._http.request(method, url, json=json, timeout=self.timeout)
            except requests.Timeout:
                last_error = UltravoxError("Ultravox did not answer in time.", retryable=True)
            except requests.RequestException:
                last_error = UltravoxError("Ultravox could not be reached.", retryable=True)
            else:
                if response.status_code < 400:
                    if not response.content:
                        return {}
                    try:
                        return response.json()
                    except ValueError as exc:
                        raise UltravoxError("Ultravox answered with something that is not JSON.") from exc
                last_error = self._error_for(response)
                if response.status_code in RETRYABLE_STATUSES and attempt < self.max_attempts:
                    self._sleep(self._delay(attempt, response.headers.get("Retry-After")))
                    continue
                raise last_error
            if attempt < self.max_attempts:
                self._sleep(self._delay(attempt, None))
        assert last_error is not None
        raise last_error

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after:
            try:
                return min(max(float(retry_after), 0.0), MAX_RETRY_AFTER_SECONDS)
            except ValueError:
                pass
        return self.backoff * (2 ** (attempt - 1))

    @staticmethod
    def _error_for(response: requests.Response) -> UltravoxError:
        status = response.status_code
        if status in (401, 403):
            return UltravoxError("Ultravox refused the API key; check Voice Agent Settings.", status)
        if status == 429:
            return UltravoxError("Ultravox is rate limiting us; try again shortly.", status, retryable=True)
        if status >= 500:
            return UltravoxError(f"Ultravox had an internal error ({status}).", status, retryable=True)
        detail = ""
        try:
            body = response.json()
            detail = str(body.get("detail") or body)[:200] if isinstance(body, dict) else ""
        except ValueError:
            pass
        return UltravoxError(f"Ultravox rejected the request ({status}){': ' + detail if detail else ''}.", status)
