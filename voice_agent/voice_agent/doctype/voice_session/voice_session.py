from frappe.model.document import Document


class VoiceSession(Document):
    pass
