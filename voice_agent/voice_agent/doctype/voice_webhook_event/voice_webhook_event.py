from frappe.model.document import Document


class VoiceWebhookEvent(Document):
    pass
