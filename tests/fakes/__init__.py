"""Loopback fakes of the services the app talks to (Ultravox, Meta's Graph API)."""

from __future__ import annotations

import signal
import threading
from typing import Any


def serve_until_stopped(fake: Any) -> None:
    """Run a started fake until SIGTERM or Ctrl-C, then stop it (the fakes' `python -m` entry points)."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    fake.stop()
