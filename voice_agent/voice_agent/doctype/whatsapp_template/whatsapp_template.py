from frappe.model.document import Document


class WhatsAppTemplate(Document):
    pass
