import re

import frappe
from frappe import _
from frappe.model.document import Document


class VoiceAgentProfile(Document):
    def validate(self):
        if self.temperature is not None and not 0 <= self.temperature <= 1:
            frappe.throw(_("Temperature must be between 0 and 1."))
        if self.max_duration_sec and not 30 <= self.max_duration_sec <= 3600:
            frappe.throw(_("Max duration must be between 30 and 3600 seconds."))
        seen = set()
        for row in self.tools:
            if row.tool in seen:
                frappe.throw(_("Tool {0} is listed twice.").format(row.tool))
            seen.add(row.tool)
        for field, default in (("opening_time", "09:00"), ("closing_time", "17:00")):
            value = (self.get(field) or default).strip()
            if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
                frappe.throw(_("{0} must be a time like 09:00").format(self.meta.get_label(field)))
            self.set(field, value)
        if self.opening_time >= self.closing_time:
            frappe.throw(_("Bookable From must be before Bookable Until."))
