from frappe.model.document import Document


class LeadScoreChange(Document):
    """Written once by the bot (voice_agent.conversations.bot); never edited."""
