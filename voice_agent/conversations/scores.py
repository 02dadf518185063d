"""The lead score where people look for it: on the conversation (with why), on the linked Lead (a read-only
field), and its history (one Lead Score Change per change, with the signals that made it)."""

from __future__ import annotations

import json
from typing import Any

import frappe
from frappe import _

from voice_agent.bot.scoring import Score, Signal
from voice_agent.site_time import iso_utc

CHANGE = "Lead Score Change"
LEAD_FIELD = "whatsapp_lead_score"


def add_lead_score_field() -> None:
    """after_install / after_migrate: the Lead's score field (ERPNext only: no Lead doctype, nothing to add)."""
    # Imported here: it weighs a quarter of a second, and every bot job imports this module.
    from frappe.custom.doctype.custom_field.custom_field import create_custom_fields

    if not frappe.db.exists("DocType", "Lead"):
        return
    create_custom_fields({"Lead": [{
        "fieldname": LEAD_FIELD, "fieldtype": "Int", "label": "WhatsApp Lead Score", "read_only": 1,
        "insert_after": "status", "in_standard_filter": 1, "no_copy": 1,
        "description": "0-100, from what the customer wrote to the WhatsApp bot; the WhatsApp panel shows why.",
    }]}, ignore_validate=True, update=True)


def record_score(conversation: Any, score: Score, previous: int, new_signals: tuple[Signal, ...],
                 message: str | None) -> None:
    """Store the conversation's score (the caller saves the conversation) and, when it changed or new
    signals explain it, a history row; the linked Lead gets the same figure."""
    conversation.lead_score = score.value
    conversation.score_explanation = "\n".join(score.explanation())
    if score.value == previous and not new_signals:
        return
    reasons = [c.explanation for c in score.contributions if any(s in new_signals for s in c.signals)]
    frappe.get_doc({
        "doctype": CHANGE, "conversation": conversation.name, "party_doctype": conversation.party_doctype,
        "party_name": conversation.party_name, "customer_email": conversation.customer_email,
        "message": message, "score": score.value, "previous_score": previous, "change": score.value - previous,
        "reasons": "\n".join(reasons), "explanation": conversation.score_explanation,
        "details": json.dumps({"new_signals": [s.as_dict() for s in new_signals], "score": score.as_dict()},
                              ensure_ascii=False),
    }).db_insert()
    _score_the_lead(conversation, score.value)


def party_linked(conversation: Any) -> None:
    """A party was linked after the bot scored the conversation (a new number's Lead comes after the first
    answer): its history rows and the Lead's figure catch up."""
    frappe.db.set_value(CHANGE, {"conversation": conversation.name, "party_name": ("is", "not set")},
                        {"party_doctype": conversation.party_doctype, "party_name": conversation.party_name,
                         "customer_email": conversation.customer_email}, update_modified=False)
    if conversation.lead_score:
        _score_the_lead(conversation, conversation.lead_score)


def _score_the_lead(conversation: Any, value: int) -> None:
    """The conversation's Lead, if it has one, shows the same figure (on sites whose Lead has the field)."""
    if conversation.party_doctype == "Lead" and conversation.party_name \
            and frappe.get_meta("Lead").has_field(LEAD_FIELD):
        frappe.db.set_value("Lead", conversation.party_name, LEAD_FIELD, value, update_modified=False)


def history(conversation: Any, limit: int = 50) -> dict[str, Any]:
    """contracts/whatsapp-api.schema.json#/$defs/ScoreHistory, newest first."""
    rows = frappe.get_all(CHANGE, filters={"conversation": conversation.name},
                          fields=["name", "score", "previous_score", "change", "reasons", "creation", "message"],
                          order_by="creation desc", limit=limit)
    return {"conversation": conversation.name, "changes": [{
        "name": row.name, "score": row.score, "previous_score": row.previous_score, "change": row.change,
        "reasons": [line for line in (row.reasons or "").splitlines() if line.strip()] or [_("(no new reason)")],
        "at": iso_utc(row.creation), "message": row.message or None,
    } for row in rows]}
