"""Loopback fakes of the services the app talks to (Ultravox, Meta's Graph API)."""

from __future__ import annotations

import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True


class LoopbackHandler(BaseHTTPRequestHandler):
    """A fake's request handler: HTTP/1.1 keep-alive, quiet, every method to `_handle(method)`."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass

    def _handle(self, method: str) -> None:
        raise NotImplementedError

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")


def serve_until_stopped(fake: Any) -> None:
    """Run a started fake until SIGTERM or Ctrl-C, then stop it (the fakes' `python -m` entry points)."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    fake.stop()
