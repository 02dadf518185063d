"""Webhook delivery of the fake, as Meta does it: signed POSTs, redelivered while the endpoint does
not answer 200 (Meta retries for up to 7 days with exponential backoff; here a bounded list of delays)."""

from __future__ import annotations

import heapq
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests

from .webhooks import encode, sign


@dataclass
class DeliveryAttempt:
    delivery_id: int
    label: str
    attempt: int
    status: int | None  # HTTP status of our endpoint's answer; None when it did not answer
    error: str | None
    at: float


@dataclass
class Delivery:
    delivery_id: int
    label: str
    url: str
    body: bytes
    attempts: list[DeliveryAttempt] = field(default_factory=list)
    done: bool = False  # answered 200, or out of attempts
    delivered: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.delivery_id, "label": self.label, "url": self.url, "delivered": self.delivered,
                "done": self.done, "body": json.loads(self.body),
                "attempts": [{"attempt": a.attempt, "status": a.status, "error": a.error, "at": a.at}
                             for a in self.attempts]}


@dataclass
class DeliveryConfig:
    url: str | None = None
    app_secret: str | None = None
    max_attempts: int = 4
    retry_delays: tuple[float, ...] = (0.2, 0.5, 1.0)  # before attempts 2, 3, 4...; the last repeats
    timeout: float = 3.0


class WebhookDeliverer:
    """One thread posting due deliveries in order of their due time; ``schedule`` is thread-safe."""

    def __init__(self, config: DeliveryConfig):
        self.config = config
        self.deliveries: list[Delivery] = []
        self._heap: list[tuple[float, int, Delivery, int]] = []
        self._seq = itertools.count(1)
        self._cond = threading.Condition()
        self._closed = False
        self._http = requests.Session()
        self._thread = threading.Thread(target=self._run, name="fake-whatsapp-webhooks", daemon=True)
        self._thread.start()

    def schedule(self, label: str, body: dict[str, Any] | bytes, delay: float = 0.0) -> Delivery | None:
        """Queue a body for our endpoint; None (nothing queued) while no URL / secret is configured."""
        if not self.config.url or not self.config.app_secret:
            return None
        delivery = Delivery(next(self._seq), label, self.config.url, encode(body))
        with self._cond:
            self.deliveries.append(delivery)
            heapq.heappush(self._heap, (time.monotonic() + max(0.0, delay), delivery.delivery_id, delivery, 1))
            self._cond.notify()
        return delivery

    def pending(self) -> int:
        with self._cond:
            return sum(1 for d in self.deliveries if not d.done)

    def wait_idle(self, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.pending() == 0:
                return True
            time.sleep(0.01)
        return self.pending() == 0

    def clear(self) -> None:
        with self._cond:
            self._heap.clear()
            self.deliveries.clear()

    def close(self) -> None:
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout=2)
        self._http.close()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed and (not self._heap or self._heap[0][0] > time.monotonic()):
                    wait = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cond.wait(timeout=wait)
                if self._closed:
                    return
                _, _, delivery, attempt = heapq.heappop(self._heap)
            self._attempt(delivery, attempt)

    def _attempt(self, delivery: Delivery, attempt: int) -> None:
        secret = self.config.app_secret or ""
        headers = {"Content-Type": "application/json", "User-Agent": "facebookexternalua",
                   "X-Hub-Signature-256": sign(secret, delivery.body)}
        status: int | None = None
        error: str | None = None
        try:
            response = self._http.post(delivery.url, data=delivery.body, headers=headers, timeout=self.config.timeout)
            status = response.status_code
        except requests.RequestException as exc:
            error = type(exc).__name__
        with self._cond:
            delivery.attempts.append(DeliveryAttempt(delivery.delivery_id, delivery.label, attempt, status, error,
                                                     time.time()))
            if status == 200:
                delivery.done = delivery.delivered = True
            elif attempt >= self.config.max_attempts:
                delivery.done = True
            else:
                delays = self.config.retry_delays or (1.0,)
                delay = delays[min(attempt - 1, len(delays) - 1)]
                heapq.heappush(self._heap, (time.monotonic() + delay, delivery.delivery_id, delivery, attempt + 1))
                self._cond.notify()
