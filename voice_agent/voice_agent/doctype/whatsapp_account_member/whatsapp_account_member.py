from frappe.model.document import Document


class WhatsAppAccountMember(Document):
    pass
