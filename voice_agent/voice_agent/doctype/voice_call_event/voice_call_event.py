from frappe.model.document import Document


class VoiceCallEvent(Document):
    pass
