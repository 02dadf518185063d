"""Conversations as the desk uses them: found or created for a customer, listed in the shared inbox and
on a record, paged, read, assigned, re-linked to another party."""

from __future__ import annotations

from typing import Any

import frappe
from frappe import _
from frappe.desk.form import assign_to
from frappe.utils import cint, get_datetime

from voice_agent.conversations import parties, scores
from voice_agent.conversations.access import (
    CONVERSATION,
    conversation_for,
    conversation_query_conditions,
    is_manager,
    team_accounts,
)
from voice_agent.locks import transaction_locks
from voice_agent.messaging.phones import InvalidPhoneNumber, from_wa_id, to_e164, to_wa_id
from voice_agent.voice_agent.doctype.whatsapp_conversation.whatsapp_conversation import conversation_key

MESSAGE = "WhatsApp Message"
PAGE_SIZE = 50
INBOX_FILTERS = ("all", "unread", "mine", "unassigned")


def lock_customer(account: str, wa_id: str) -> None:
    """Everything that changes one customer's conversation of one number runs one at a time."""
    lock_customers([(account, wa_id)])


def lock_customers(customers: list[tuple[str, str]] | set[tuple[str, str]]) -> None:
    transaction_locks({f"whatsapp-conversation:{conversation_key(account, wa_id)}" for account, wa_id in customers})


def conversation_for_customer(account: str, wa_id: str, *, user_id: str | None = None,
                              profile_name: str | None = None, defer_new_party: bool = False) -> Any:
    """The conversation of this customer on this number, created (and linked to its party, a new Lead
    for an unknown number) on first contact. The caller holds lock_customer(account, wa_id).

    `defer_new_party`: a new Lead is not made now but by `link_new_parties` once the caller has committed
    (ERPNext makes a Lead and its Contact in about 0.2 s, which the bot's answer would otherwise wait for)."""
    row = frappe.db.get_value(CONVERSATION, {"conversation_key": conversation_key(account, wa_id)}, "*",
                              as_dict=True, for_update=True, order_by=None)
    if row:
        doc = frappe.get_doc({**row, "doctype": CONVERSATION})  # one locking read, not a second to load it
        if profile_name and profile_name != doc.profile_name:
            doc.profile_name = profile_name[:140]
        if user_id and not doc.user_id:
            doc.user_id = user_id
        return doc
    phone = _phone_of(wa_id)
    doc = frappe.get_doc({"doctype": CONVERSATION, "account": account, "wa_id": wa_id, "user_id": user_id,
                          "phone": phone, "profile_name": (profile_name or "")[:140], "status": "Open"})
    deferred = False
    if phone:
        match = parties.find_party(phone)
        deferred = defer_new_party and not match.chosen
        party = (match.chosen.doctype, match.chosen.name) if match.chosen \
            else None if deferred else parties.create_party(phone, profile_name)
        if party:
            doc.party_doctype, doc.party_name = party
        doc.other_parties = parties.describe(match.others)
    doc.assigned_to = _first_owner(account, doc)
    doc.insert(ignore_permissions=True)
    if deferred:
        _new_parties().append(doc.name)
    if doc.assigned_to:
        assign_to.add({"assign_to": [doc.assigned_to], "doctype": CONVERSATION, "name": doc.name,
                       "description": _("New WhatsApp conversation with {0}").format(doc.profile_name or wa_id)},
                      ignore_permissions=True)
        doc.reload()  # assigning writes the conversation (assigned_to, modified): the caller saves it again
    return doc


def _new_parties() -> list[str]:
    if not hasattr(frappe.local, "whatsapp_new_parties"):
        frappe.local.whatsapp_new_parties = []
    return frappe.local.whatsapp_new_parties


def discard_new_parties() -> None:
    """The transaction that made those conversations was undone."""
    frappe.local.whatsapp_new_parties = []


def link_new_parties() -> None:
    """After the commit of the conversations made with `defer_new_party`: each gets its new Lead (as
    `create_party` decides), its messages too, and the desk hears of it; one transaction each. One that
    fails is logged and its conversation stays without a party (a person can link it)."""
    names, frappe.local.whatsapp_new_parties = _new_parties(), []
    for name in names:
        try:
            _link_new_party(name)
            frappe.db.commit()
        except Exception:
            frappe.db.rollback()
            frappe.log_error(title=f"WhatsApp: the party of conversation {name} could not be made")


def _link_new_party(name: str) -> None:
    account, wa_id = frappe.db.get_value(CONVERSATION, name, ["account", "wa_id"])
    lock_customer(account, wa_id)
    doc = frappe.get_doc(CONVERSATION, name, for_update=True)
    if doc.party_name or not doc.phone:
        return
    party = parties.create_party(doc.phone, doc.profile_name)
    if not party:
        return
    doc.party_doctype, doc.party_name = party
    doc.save(ignore_permissions=True)
    frappe.db.set_value("WhatsApp Message", {"conversation": name, "party_name": ("is", "not set")},
                        {"party_doctype": doc.party_doctype, "party_name": doc.party_name,
                         "customer_email": doc.customer_email}, update_modified=False)
    scores.party_linked(doc)
    doc.publish("conversation")


def conversation_for_party(party_doctype: str, party_name: str, account: str) -> Any:
    """The conversation of a record on a number, started by the desk (its first message must be a template)."""
    reference = frappe.get_doc(party_doctype, party_name)
    if not reference.has_permission("read"):
        frappe.throw(_("You need read access to {0} {1}.").format(_(party_doctype), party_name), frappe.PermissionError)
    _require_account_access(account)
    phone = party_phone(reference)
    if not phone:
        frappe.throw(_("{0} {1} has no phone number WhatsApp can reach.").format(_(party_doctype), party_name))
    wa_id = to_wa_id(phone)
    lock_customer(account, wa_id)
    doc = conversation_for_customer(account, wa_id, profile_name=reference.get_title())
    if not doc.party_name:
        doc.party_doctype, doc.party_name = party_doctype, party_name
    doc.save(ignore_permissions=True)
    return doc


def party_conversations(party_doctype: str, party_name: str, messages: int = 0) -> dict[str, Any]:
    """The record's conversations, newest first; with `messages`, also that many of the first one's newest
    messages (the panel opens in one round trip instead of two)."""
    reference = frappe.get_doc(party_doctype, party_name)
    if not reference.has_permission("read"):
        frappe.throw(_("You need read access to {0} {1}.").format(_(party_doctype), party_name), frappe.PermissionError)
    phone = party_phone(reference)
    filters: list[Any] = [[CONVERSATION, "party_doctype", "=", party_doctype],
                          [CONVERSATION, "party_name", "=", party_name]]
    names = set(frappe.get_list(CONVERSATION, filters=filters, pluck="name", limit_page_length=20))
    if phone:
        names.update(frappe.get_list(CONVERSATION, filters={"phone": phone}, pluck="name", limit_page_length=20))
    conversations = [frappe.get_doc(CONVERSATION, n) for n in names]
    conversations.sort(key=lambda c: get_datetime(c.last_message_at or c.creation), reverse=True)
    answer = {
        "conversations": [c.view() for c in conversations],
        "accounts": usable_accounts(),
        "phone": phone,
    }
    if messages > 0 and conversations:
        answer["latest_page"] = message_page(conversations[0].name, limit=messages)
    return answer


def usable_accounts() -> list[dict[str, str]]:
    filters: dict[str, Any] = {"enabled": 1}
    if not is_manager():
        filters["name"] = ("in", team_accounts(frappe.session.user) or [""])
    return frappe.get_all("WhatsApp Account", filters=filters, fields=["name", "title"], order_by="title")


def message_page(conversation: str, before: str | None = None, limit: int = PAGE_SIZE) -> dict[str, Any]:
    """Newest first; `before` (a message name) pages back. Keyed on (creation, name), so 5,000 messages
    page as fast as 50."""
    doc = conversation_for(conversation)
    limit = max(1, min(cint(limit) or PAGE_SIZE, 200))
    conditions = "conversation = %(conversation)s"
    values: dict[str, Any] = {"conversation": doc.name, "limit": limit + 1}
    if before:
        anchor = frappe.db.get_value(MESSAGE, {"name": before, "conversation": doc.name}, ["creation", "name"],
                                     as_dict=True)
        if not anchor:
            frappe.throw(_("Message {0} is not in this conversation.").format(before))
        conditions += " AND (creation < %(creation)s OR (creation = %(creation)s AND name < %(name)s))"
        values.update(creation=anchor.creation, name=anchor.name)
    # One read for the page (a read per message made opening a conversation wait on 30 of them).
    rows = frappe.db.sql(
        f"""SELECT * FROM `tabWhatsApp Message` WHERE {conditions}
        ORDER BY creation DESC, name DESC LIMIT %(limit)s""", values, as_dict=True)
    messages = [frappe.get_doc({**row, "doctype": MESSAGE}).view() for row in rows[:limit]]
    return {"conversation": doc.view(), "messages": messages, "has_more": len(rows) > limit}


def inbox(filter: str = "all", account: str | None = None, search: str | None = None, start: int = 0,
          limit: int = PAGE_SIZE) -> dict[str, Any]:
    if filter not in INBOX_FILTERS:
        frappe.throw(_("Unknown inbox filter {0}.").format(filter))
    user = frappe.session.user
    filters: list[Any] = []
    if account:
        filters.append([CONVERSATION, "account", "=", account])
    if filter == "unread":
        filters.append([CONVERSATION, "unread_count", ">", 0])
    elif filter == "mine":
        filters.append([CONVERSATION, "assigned_to", "=", user])
    elif filter == "unassigned":
        filters.append([CONVERSATION, "assigned_to", "is", "not set"])
    or_filters: list[Any] = []
    if search and search.strip():
        text = f"%{search.strip()[:100]}%"
        or_filters = [[CONVERSATION, f, "like", text] for f in
                      ("profile_name", "wa_id", "phone", "party_title", "last_message_preview")]
    limit = max(1, min(cint(limit) or PAGE_SIZE, 200))
    names = frappe.get_list(CONVERSATION, filters=filters, or_filters=or_filters, pluck="name",
                            order_by="last_message_at desc, name desc", start=cint(start), limit_page_length=limit + 1)
    return {
        "conversations": [frappe.get_doc(CONVERSATION, n).view() for n in names[:limit]],
        "has_more": len(names) > limit,
        "counts": _inbox_counts(user),
        "accounts": usable_accounts(),
    }


def _inbox_counts(user: str) -> dict[str, int]:
    visible = conversation_query_conditions(user) or "1=1"
    row = frappe.db.sql(
        f"""SELECT
            SUM(unread_count > 0), SUM(assigned_to = %(user)s), SUM(IFNULL(assigned_to, '') = '')
        FROM `tabWhatsApp Conversation` WHERE {visible}""", {"user": user})[0]
    return {"unread": int(row[0] or 0), "mine": int(row[1] or 0), "unassigned": int(row[2] or 0)}


def mark_read(conversation: str) -> dict[str, Any]:
    """A person has seen the conversation: unread goes to 0 and WhatsApp shows blue ticks."""
    from voice_agent.integrations.whatsapp.outbound import queue_read_receipt

    doc = conversation_for(conversation)
    if not doc.unread_count:
        return doc.view()
    frappe.db.set_value(CONVERSATION, doc.name, "unread_count", 0, update_modified=False)
    last_inbound = frappe.db.get_value(MESSAGE, {"conversation": doc.name, "direction": "Inbound"}, "name",
                                       order_by="creation desc")
    frappe.db.sql("""UPDATE `tabWhatsApp Message` SET status = 'Read'
        WHERE conversation = %s AND direction = 'Inbound' AND status = 'Received'""", doc.name)
    if last_inbound:
        queue_read_receipt(last_inbound)
    doc.reload()
    doc.publish("conversation")
    return doc.view()


def assign(conversation: str, user: str | None) -> dict[str, Any]:
    doc = conversation_for(conversation)
    if user and not frappe.db.get_value("User", user, "enabled"):
        frappe.throw(_("User {0} does not exist or is disabled.").format(user))
    if user and not (is_manager(user) or doc.account in team_accounts(user)):
        frappe.throw(_("{0} is not in the team of {1}.").format(user, doc.account))
    if doc.assigned_to == (user or None):
        return doc.view()
    assign_user(doc, user)
    doc.publish("conversation")
    return doc.view()


def assign_user(doc: Any, user: str | None) -> None:
    """Assign the conversation (saved) to ``user`` with a ToDo, replacing the assignee before; no checks."""
    if doc.assigned_to == (user or None):
        return
    if doc.assigned_to:
        assign_to.remove(CONVERSATION, doc.name, doc.assigned_to, ignore_permissions=True)
        # Frappe clears the record's assigned_to field itself, which moves its `modified`: without the new
        # timestamp the save below would be refused as an edit made after someone else's.
        doc.modified = frappe.db.get_value(CONVERSATION, doc.name, "modified")
    doc.assigned_to = user or None
    doc.save(ignore_permissions=True)
    if user:
        assign_to.add({"assign_to": [user], "doctype": CONVERSATION, "name": doc.name}, ignore_permissions=True)


def link_party(conversation: str, party_doctype: str, party_name: str) -> dict[str, Any]:
    doc = conversation_for(conversation)
    if party_doctype not in parties.PHONE_FIELDS:
        frappe.throw(_("A conversation can be linked to {0} only.").format(", ".join(parties.PHONE_FIELDS)))
    if not frappe.has_permission(party_doctype, "read", party_name):
        frappe.throw(_("You need read access to {0} {1}.").format(_(party_doctype), party_name), frappe.PermissionError)
    doc.party_doctype, doc.party_name = party_doctype, party_name
    doc.save(ignore_permissions=True)
    frappe.db.sql("""UPDATE `tabWhatsApp Message` SET party_doctype = %s, party_name = %s, customer_email = %s
        WHERE conversation = %s""", (party_doctype, party_name, doc.customer_email, doc.name))
    doc.publish("conversation")
    return doc.view()


def party_phone(reference: Any) -> str | None:
    """The record's number in E.164 (mobile first), or None."""
    region = frappe.get_cached_doc("WhatsApp Settings").default_phone_region or None
    fields = [f for f in ("whatsapp_no", "mobile_no", "phone") if reference.meta.has_field(f)]
    for field in fields:
        value = reference.get(field)
        if value:
            try:
                return to_e164(value, region)
            except InvalidPhoneNumber:
                continue
    for row in reference.get("phone_nos") or []:
        try:
            return to_e164(row.phone, region)
        except InvalidPhoneNumber:
            continue
    return None


def _phone_of(wa_id: str) -> str | None:
    try:
        return from_wa_id(wa_id)
    except InvalidPhoneNumber:
        return None  # a business-scoped user id: no number to match parties by


def _first_owner(account: str, conversation: Any) -> str | None:
    rule_name, owner = frappe.db.get_value("WhatsApp Account", account, ["assignment_rule", "default_owner"])
    if rule_name:
        rule = frappe.get_cached_doc("Assignment Rule", rule_name)
        if not rule.disabled:
            user = rule.get_user(conversation)
            if user:
                return user
    return owner or None


def _require_account_access(account: str) -> None:
    if not frappe.db.get_value("WhatsApp Account", account, "enabled"):
        frappe.throw(_("WhatsApp Account {0} does not exist or is disabled.").format(account))
    if not is_manager() and account not in team_accounts(frappe.session.user):
        frappe.throw(_("You are not in the team of {0}.").format(account), frappe.PermissionError)
