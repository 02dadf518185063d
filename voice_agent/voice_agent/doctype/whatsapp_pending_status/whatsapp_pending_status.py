from frappe.model.document import Document


class WhatsAppPendingStatus(Document):
    pass
