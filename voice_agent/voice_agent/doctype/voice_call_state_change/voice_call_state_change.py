from frappe.model.document import Document


class VoiceCallStateChange(Document):
    pass
