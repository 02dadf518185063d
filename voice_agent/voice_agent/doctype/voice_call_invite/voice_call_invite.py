from frappe.model.document import Document


class VoiceCallInvite(Document):
    pass
