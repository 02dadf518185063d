from urllib.parse import urlsplit

import frappe
from frappe import _
from frappe.model.document import Document

from voice_agent.integrations.ultravox.client import DEFAULT_BASE_URL
from voice_agent.web.origins import InvalidOrigin, parse_allowed_origins


class VoiceAgentSettings(Document):
    def validate(self):
        try:
            parse_allowed_origins(self.allowed_origins)
        except InvalidOrigin as exc:
            frappe.throw(_("Allowed origin {0} must look like https://www.example.com").format(str(exc)))
        for field in ("api_base_url", "tool_base_url"):
            value = self.get(field)
            if value and urlsplit(value).scheme not in ("http", "https"):
                frappe.throw(_("{0} must be an http(s) URL").format(self.meta.get_label(field)))
        if (self.api_base_url or DEFAULT_BASE_URL) != DEFAULT_BASE_URL and not frappe.conf.developer_mode:
            frappe.throw(_("A custom Ultravox API base URL is only allowed in developer mode."))
        if self.max_concurrent_sessions is not None and self.max_concurrent_sessions < 1:
            frappe.throw(_("Allow at least one live session."))
        if self.max_session_duration_sec and not 30 <= self.max_session_duration_sec <= 3600:
            frappe.throw(_("The maximum session duration must be between 30 and 3600 seconds."))
