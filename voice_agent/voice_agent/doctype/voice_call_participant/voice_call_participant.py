from frappe.model.document import Document


class VoiceCallParticipant(Document):
    pass
