from frappe.model.document import Document


class WhatsAppWebhookEvent(Document):
    pass
