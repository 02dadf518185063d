from __future__ import annotations

import json
from urllib.parse import urlparse

import frappe
from frappe import _
from frappe.model.document import Document

from voice_agent.calling.tokens import MIN_SECRET_LENGTH

ICE_SCHEMES = ("stun", "stuns", "turn", "turns")


class MediaSoupWebRTCSettings(Document):
    def validate(self) -> None:
        self.server_host = (self.server_host or "").strip()
        if self.enabled and not self.server_host:
            frappe.throw(_("Server Host is required when calling is enabled."))
        if self.server_host and ("/" in self.server_host or " " in self.server_host):
            frappe.throw(_("Server Host must be a host name or IP address, without scheme or path."))
        self._check_port(self.server_port, _("Server Port"))
        self._check_port(self.rtc_min_port, _("RTC Min Port"))
        self._check_port(self.rtc_max_port, _("RTC Max Port"))
        if int(self.rtc_min_port or 0) > int(self.rtc_max_port or 0):
            frappe.throw(_("RTC Min Port must not be above RTC Max Port."))
        if int(self.worker_pool_size or 0) < 0 or int(self.worker_pool_size or 0) > 1024:
            frappe.throw(_("Worker Pool Size must be between 0 (one per core) and 1024."))
        if not 5 <= int(self.ring_timeout_sec or 0) <= 600:
            frappe.throw(_("Ring Timeout must be between 5 and 600 seconds."))
        if not 30 <= int(self.max_call_duration_sec or 0) <= 86400:
            frappe.throw(_("Max Call Duration must be between 30 and 86400 seconds."))
        if self.public_signaling_url:
            self.public_signaling_url = self.public_signaling_url.strip().rstrip("/")
            parsed = urlparse(self.public_signaling_url)
            if parsed.scheme not in ("http", "https") or not parsed.hostname:
                frappe.throw(_("Public Signaling URL must be an http(s) URL, e.g. https://rtc.example.com."))
        for row in self.ice_servers:
            for url in _split_urls(row.urls):
                if url.split(":", 1)[0].lower() not in ICE_SCHEMES or ":" not in url:
                    frappe.throw(
                        _("ICE server row {0}: {1} is not a stun:, stuns:, turn: or turns: URL.").format(
                            row.idx, url
                        )
                    )
        try:
            prefs = json.loads(self.codec_preferences or "{}")
        except ValueError as exc:
            frappe.throw(_("Codec Preferences is not valid JSON: {0}").format(exc))
        if not isinstance(prefs, dict):
            frappe.throw(_("Codec Preferences must be a JSON object."))
        secret = self.get_password("shared_secret", raise_exception=False) if self.shared_secret else ""
        if self.enabled and len(secret or "") < MIN_SECRET_LENGTH:
            frappe.throw(
                _("Shared Secret must be at least {0} characters (the sidecar's SIDECAR_SECRET).").format(
                    MIN_SECRET_LENGTH
                )
            )

    @staticmethod
    def _check_port(value: int | None, label: str) -> None:
        if not 1 <= int(value or 0) <= 65535:
            frappe.throw(_("{0} must be between 1 and 65535.").format(label))


def _split_urls(urls: str | None) -> list[str]:
    return [u.strip() for u in (urls or "").replace("\n", ",").split(",") if u.strip()]
