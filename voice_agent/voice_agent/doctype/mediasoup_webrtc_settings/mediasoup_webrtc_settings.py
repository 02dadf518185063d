from __future__ import annotations

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
