from frappe.model.document import Document


class VoiceInteraction(Document):
    pass
