from frappe.model.document import Document


class WhatsAppCallHours(Document):
    pass
