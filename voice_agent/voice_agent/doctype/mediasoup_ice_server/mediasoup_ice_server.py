from frappe.model.document import Document


class MediaSoupICEServer(Document):
    pass
