from frappe.model.document import Document

# A session counts against the live-session cap, and its tools work, only in these states.
LIVE_STATUSES = ("Starting", "Live")


class VoiceSession(Document):
    pass
