from frappe.model.document import Document


class VoiceAgentProfileTool(Document):
    pass
