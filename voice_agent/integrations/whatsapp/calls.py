"""WhatsApp calls on Frappe's side (docs/whatsapp-calls.md).

- The `calls` webhook field, from the same signed, stored, idempotent webhook as messages (webhook.py):
  a customer's call (`connect` with an offer) becomes an Inbound Voice Call that rings the desk; Meta's
  answer to our call (`connect` with an answer) goes to the sidecar's leg; `terminate` and the call
  statuses RINGING / ACCEPTED / REJECTED end or mark the Voice Call, Meta's figures kept beside ours.
  A redelivered event changes nothing: the Voice Call is found by its wacid (unique).
- What must reach Graph or the sidecar runs after the webhook's commit (`after_commit` / `run_followups`),
  never inside the transaction: a rolled-back event must not have rung anyone.
- Every WhatsApp call that ends, however it ended (the desk, Meta, the sidecar's ring timeout, a lost
  sidecar), is settled by one job (`settle`, queued by the Voice Call itself): Meta told (reject or
  terminate) unless it already knows, the room ended, a missed call followed up (a ToDo, and the
  account's missed-call message if it has one).
- The customer's call permission: read from Graph's call_permissions (limits as Graph gives them),
  asked for with the permission request message, answered by the `call_permission_reply` message.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from typing import Any

import frappe
from frappe import _
from frappe.utils import add_to_date, get_datetime, now_datetime

from voice_agent.calling import states
from voice_agent.conversations.access import CONVERSATION, is_manager, team_accounts, users_who_see
from voice_agent.conversations.service import conversation_for_customer, lock_customer
from voice_agent.integrations.sidecar.client import SidecarError, SidecarUnreachable
from voice_agent.integrations.sidecar.connect import SETTINGS, describe_error, sidecar_client
from voice_agent.integrations.whatsapp import payloads as p
from voice_agent.integrations.whatsapp.call_rules import (
    Ending,
    Permission,
    call_hours,
    error_ending,
    permission_from_graph,
    permission_from_reply,
    rejected_ending,
    terminate_ending,
    whatsapp_participant_id,
    within_call_hours,
)
from voice_agent.integrations.whatsapp.connect import graph_client, mark_token_expired
from voice_agent.integrations.whatsapp.errors import ErrorKind
from voice_agent.integrations.whatsapp.graph import GraphError
from voice_agent.site_time import from_iso, iso_utc, to_utc
from voice_agent.telephony.settings import CALLER_ROLES

CALL = "Voice Call"
ACCOUNT = "WhatsApp Account"
MESSAGE = "WhatsApp Message"
CHANNEL = "WhatsApp"
# Realtime events for the desk (payloads: contracts/frappe-api.schema.json).
INCOMING_EVENT = "whatsapp_call_incoming"
ANSWERED_EVENT = "whatsapp_call_answered"
ENDED_EVENT = "whatsapp_call_ended"
PERMISSION_EVENT = "whatsapp_call_permission"
LAST_MESSAGES = 5
GRAPH_TIMEOUT_SEC = 5.0
SETTLE = "voice_agent.integrations.whatsapp.calls.settle"
SETTLE_ATTEMPTS = 4


class CallTaken(frappe.ValidationError):
    http_status_code = 409


class PermissionNeeded(frappe.ValidationError):
    http_status_code = 409


# --- after the commit --------------------------------------------------------------------------------


def after_commit(action: Callable[[], None]) -> None:
    """Run `action` once the current webhook event is committed (run_followups)."""
    frappe.local.whatsapp_call_followups = [*getattr(frappe.local, "whatsapp_call_followups", []), action]


def discard_followups() -> None:
    frappe.local.whatsapp_call_followups = []


def run_followups() -> None:
    """What the committed event asked for: ringing a new call, handing Meta's answer to the sidecar. One
    failing does not stop the others; each commits what it changed."""
    actions, frappe.local.whatsapp_call_followups = getattr(frappe.local, "whatsapp_call_followups", []), []
    for action in actions:
        try:
            action()
            frappe.db.commit()
        except Exception:
            frappe.db.rollback()
            frappe.log_error(title="WhatsApp call: a step after the webhook failed")
            frappe.db.commit()


# --- the calls webhook -------------------------------------------------------------------------------


def customer_of(event: p.CallEvent) -> str | None:
    """The customer's WhatsApp id: the caller of their own call, the callee of ours."""
    return event.to_number if event.direction == "BUSINESS_INITIATED" else event.from_number


def apply_call_event(account: str, change: p.CallsChange, event: p.CallEvent) -> None:
    """One `calls[]` item. The caller holds lock_customer(account, customer_of(event))."""
    if event.event == "connect":
        if event.session is None:
            raise ValueError(f"call {event.wacid}: connect without a session")
        if event.session.sdp_type == "offer":
            _incoming(account, change, event)
        else:
            _remote_answer(event)
    elif event.event == "terminate":
        _terminated(event)
    else:
        raise ValueError(f"call {event.wacid}: unknown event {event.event!r}")


def apply_call_status(account: str, status: p.CallStatusUpdate) -> None:
    """RINGING / ACCEPTED / REJECTED of one of our calls; a status never moves a call back."""
    call = _call_for(status.wacid, status.biz_opaque_callback_data)
    if call is None:
        return  # not ours (another app on the number), or from before this site knew it
    kind = status.status.upper()
    if call.whatsapp_status in ("COMPLETED", "FAILED", "REJECTED") or (kind == "RINGING" and call.whatsapp_accepted_at):
        return
    call.whatsapp_status = kind
    if kind == "ACCEPTED" and not call.whatsapp_accepted_at:
        call.whatsapp_accepted_at = _local(status.timestamp)
    if kind == "REJECTED":
        call.whatsapp_closed = 1
        if not states.is_terminal(call.state):
            _apply_ending(call, rejected_ending())
    call.save(ignore_permissions=True)
    call.publish(f"whatsapp.{kind.lower()}" if kind in ("RINGING", "ACCEPTED", "REJECTED") else "call.state_changed")


def _incoming(account: str, change: p.CallsChange, event: p.CallEvent) -> None:
    if frappe.db.exists(CALL, {"whatsapp_call_id": event.wacid}):
        return  # Meta redelivered it
    wa_id = event.from_number
    if not wa_id:
        raise ValueError(f"call {event.wacid} names no caller")
    contact = change.contact_for(wa_id=wa_id)
    conversation = conversation_for_customer(account, wa_id, user_id=contact.user_id if contact else None,
                                             profile_name=contact.profile_name if contact else None)
    conversation.save_activity()
    settings = frappe.get_cached_doc(ACCOUNT, account)
    now = now_datetime()
    call = frappe.get_doc({
        "doctype": CALL, "channel": CHANNEL, "direction": "Inbound", "state": states.initial_state(),
        "started_at": now, "reference_doctype": conversation.party_doctype, "reference_name": conversation.party_name,
        "party_name": (conversation.party_title or conversation.profile_name or conversation.phone or wa_id)[:140],
        "party_phone": conversation.phone, "party_email": conversation.customer_email,
        "whatsapp_call_id": event.wacid, "whatsapp_account": account, "whatsapp_conversation": conversation.name,
    })
    call.append("state_history", _history("", call.state, now, _("WhatsApp call from the customer")))
    if not _open_for_calls(settings, now):
        call.apply_local_state("missed", "unavailable", _("outside call hours, or calling is off"), at=now)
    else:
        call.apply_local_state("ringing", None, _("ringing the desk"), at=now)
    call.flags.ignore_links = True  # the conversation and party just read under the customer's lock
    try:
        call.insert(ignore_permissions=True)
    except frappe.DuplicateEntryError:
        frappe.clear_last_message()
        return
    call.publish("call.state_changed")
    if call.state == "ringing":
        offer = event.session.sdp if event.session else ""
        after_commit(lambda: _answer_incoming(call.name, offer))


def _open_for_calls(account: Any, now: Any) -> bool:
    if not account.calling_enabled:
        return False
    spans = call_hours((row.weekday, row.from_time, row.to_time) for row in account.get("call_hours") or [])
    return within_call_hours(spans, get_datetime(now))


def _answer_incoming(call_name: str, offer: str) -> None:
    """The sidecar's leg answers Meta's offer, Graph gets pre_accept with that answer, the desk rings."""
    call = frappe.get_doc(CALL, call_name)
    if states.is_terminal(call.state):
        return
    account = frappe.get_cached_doc(ACCOUNT, call.whatsapp_account)
    settings = frappe.get_cached_doc(SETTINGS)
    participant = whatsapp_participant_id(_wa_id(call))
    try:
        if not settings.enabled:
            raise SidecarUnreachable(_("calling is not enabled in {0}").format(_(SETTINGS)))
        client = sidecar_client(settings)
        client.create_room(call.name, ring_timeout_sec=int(account.call_ring_timeout_sec or 30),
                           max_duration_sec=settings.max_call_duration_sec)
        session = client.whatsapp_answer(call.name, participant, call.whatsapp_call_id, offer,
                                         name=call.party_name or None)
    except (SidecarUnreachable, SidecarError, frappe.ValidationError) as exc:
        message = describe_error(exc) if isinstance(exc, SidecarUnreachable | SidecarError) else str(exc)
        _fail_locally(call_name, Ending("failed", "", "", None, message), _("the call server could not answer"))
        return
    # Not a save: the sidecar reports the leg joining meanwhile, and its intake saves the call.
    frappe.db.set_value(CALL, call.name, {"sidecar_room": call.name, "whatsapp_answer_sdp": session["sdp"]},
                        update_modified=False)
    frappe.db.commit()
    try:
        _graph_action(account, "pre_accept", call_id=call.whatsapp_call_id, sdp=session["sdp"])
    except GraphError as exc:
        _fail_locally(call_name, error_ending(exc.code, exc.title), _("WhatsApp refused pre_accept"))
        return
    ring(call_name)


def ring(call_name: str) -> list[str]:
    """The incoming-call popup to every available user of the account's team (again, for a page that
    missed it); returns who was rung."""
    call = frappe.get_doc(CALL, call_name, for_update=True)
    if call.state not in ("created", "ringing") or call.agent:
        return []
    account = frappe.get_cached_doc(ACCOUNT, call.whatsapp_account)
    users = available_users(account, call)
    rung = sorted(set(_lines(call.rung_users)) | set(users))
    frappe.db.set_value(CALL, call.name, "rung_users", "\n".join(rung), update_modified=False)
    payload = incoming_payload(call, account)
    for user in users:
        frappe.publish_realtime(INCOMING_EVENT, payload, user=user, after_commit=True)
    return users


def available_users(account: Any, call: Any) -> list[str]:
    """The team of the number and the conversation's assignee: enabled, allowed to call, and not on
    another live call, minus those who declined this one."""
    candidates = {row.user for row in account.get("team") or []}
    assignee = frappe.db.get_value(CONVERSATION, call.whatsapp_conversation, "assigned_to")
    if assignee:
        candidates.add(assignee)
    if not candidates:
        return []
    callers = set(frappe.get_all("Has Role", filters={"parent": ("in", list(candidates)), "parenttype": "User",
                                                      "role": ("in", CALLER_ROLES)}, pluck="parent"))
    enabled = set(frappe.get_all("User", filters={"name": ("in", list(callers)), "enabled": 1}, pluck="name"))
    busy = set(frappe.get_all(CALL, filters={"agent": ("in", list(enabled) or [""]), "name": ("!=", call.name),
                                             "state": ("in", states.live_states())}, pluck="agent"))
    return sorted(enabled - busy - set(_lines(call.declined_by)) - {"Guest"})


def incoming_payload(call: Any, account: Any) -> dict[str, Any]:
    """contracts/frappe-api.schema.json#/$defs/IncomingWhatsAppCall"""
    conversation = frappe.db.get_value(CONVERSATION, call.whatsapp_conversation,
                                       ["name", "wa_id", "phone", "profile_name", "party_doctype", "party_name",
                                        "party_title"], as_dict=True) or frappe._dict()
    messages = frappe.get_all(MESSAGE, filters={"conversation": conversation.name or ""},
                              fields=["direction", "message_type", "text", "received_at", "creation"],
                              order_by="creation desc", limit_page_length=LAST_MESSAGES)
    ring_seconds = int(account.call_ring_timeout_sec or 30)
    return {
        "call": call.name,
        "account": account.name,
        "account_title": account.title,
        "conversation": conversation.name,
        "wa_id": conversation.wa_id,
        "phone": conversation.phone or None,
        "caller_name": conversation.profile_name or conversation.party_title or conversation.phone or conversation.wa_id,
        "party": {"doctype": conversation.party_doctype, "name": conversation.party_name,
                  "title": conversation.party_title or conversation.party_name}
        if conversation.party_doctype and conversation.party_name else None,
        "last_messages": [{"direction": (m.direction or "Inbound").lower(), "kind": m.message_type or "unknown",
                           "text": m.text or None, "at": iso_utc(m.received_at or m.creation)}
                          for m in reversed(messages)],
        "started_at": iso_utc(call.started_at),
        "ring_deadline": iso_utc(add_to_date(get_datetime(call.started_at), seconds=ring_seconds)),
    }


def _remote_answer(event: p.CallEvent) -> None:
    """Meta's answer to our call: the sidecar's leg applies it (a redelivery is refused there: 409)."""
    call = _call_for(event.wacid, event.biz_opaque_callback_data)
    if call is None or states.is_terminal(call.state):
        return
    if not call.whatsapp_call_id:
        call.db_set("whatsapp_call_id", event.wacid, update_modified=False)  # before connect's answer was stored
    answer = event.session.sdp if event.session else ""
    after_commit(lambda: _apply_remote_answer(call.name, event.wacid, answer))


def _apply_remote_answer(call_name: str, wacid: str, answer: str) -> None:
    call = frappe.get_doc(CALL, call_name)
    if states.is_terminal(call.state):
        return
    try:
        sidecar_client(frappe.get_cached_doc(SETTINGS)).whatsapp_remote_answer(
            call.name, whatsapp_participant_id(_wa_id(call)), wacid, answer)
    except SidecarError as exc:
        if exc.code == "invalid_state" and exc.status == 409:
            return  # the leg has Meta's answer already (a redelivered connect)
        _fail_locally(call_name, Ending("failed", "", "", None, describe_error(exc)),
                      _("the call server refused WhatsApp's answer"))
    except SidecarUnreachable as exc:
        _fail_locally(call_name, Ending("failed", "", "", None, describe_error(exc)),
                      _("the call server could not be reached"))


def _terminated(event: p.CallEvent) -> None:
    call = _call_for(event.wacid, event.biz_opaque_callback_data)
    if call is None:
        return
    call.whatsapp_status = (event.status or "").upper() or call.whatsapp_status
    call.whatsapp_closed = 1
    call.whatsapp_start_time = _local(event.start_time) if event.start_time else call.whatsapp_start_time
    call.whatsapp_end_time = _local(event.end_time) if event.end_time else call.whatsapp_end_time
    if event.duration_seconds is not None:
        call.whatsapp_duration = event.duration_seconds
    codes = [error.code for error in event.errors]
    if codes and codes[0] is not None:
        call.whatsapp_error_code = codes[0]
    if not states.is_terminal(call.state):
        inbound = call.direction == "Inbound"
        answered = bool(call.whatsapp_accepted_at) or bool(call.connected_at) or (inbound and bool(call.agent))
        title = next((e.title or e.message for e in event.errors if e.code is not None), None)
        _apply_ending(call, terminate_ending(inbound=inbound, answered=answered, status=event.status,
                                             error_codes=codes, error_title=title))
    call.save(ignore_permissions=True)
    call.publish("whatsapp.terminated")


def _call_for(wacid: str, callback: str | None) -> Any:
    """Our Voice Call of a wacid (locked), or the one our connect named in biz_opaque_callback_data (Meta's
    webhook can beat the answer to connect)."""
    name = frappe.db.get_value(CALL, {"whatsapp_call_id": wacid, "channel": CHANNEL})
    if not name and callback:
        row = frappe.db.get_value(CALL, {"name": callback, "channel": CHANNEL}, ["name", "whatsapp_call_id"],
                                  as_dict=True)
        if row and (not row.whatsapp_call_id or row.whatsapp_call_id == wacid):
            name = row.name
    return frappe.get_doc(CALL, name, for_update=True) if name else None


# --- endings -----------------------------------------------------------------------------------------


def _apply_ending(call: Any, ending: Ending, note: str | None = None) -> None:
    # "missed" only follows created/ringing (contracts/call-states.json): an outbound call the customer
    # never picked up is "connecting" once the agent is in the room, and ends as not answered.
    state = ending.state if states.can_transition(call.state, ending.state) else "ended"
    call.apply_local_state(state, ending.reason or None, note or ending.message or ending.reason,
                           ended_by=ending.ended_by or None)
    if ending.error_code is not None:
        call.whatsapp_error_code = ending.error_code
    if ending.state == "failed" and ending.message:
        call.error_message = _(ending.message)[:1000]


def _fail_locally(call_name: str, ending: Ending, note: str) -> None:
    """A step of ours failed: the call ends with its reason (the settle job tells Meta and the sidecar)."""
    frappe.db.rollback()
    call = frappe.get_doc(CALL, call_name, for_update=True)
    if states.is_terminal(call.state):
        return
    _apply_ending(call, ending, note)
    call.save(ignore_permissions=True)
    call.publish("call.failed")
    frappe.db.commit()


def end_from_desk(call: Any, reason: str) -> str:
    """The desk hangs up (WhatsAppChannel.end): Meta's side and the room, before the caller records the
    end. Returns a note for the state history."""
    notes = [_tell_meta(call)]
    notes.append(_end_room(call))
    return "; ".join(n for n in notes if n) or _("ended from Frappe")


def settle(call: str) -> None:
    """Job, queued whenever a WhatsApp call reaches a terminal state: Meta told unless it knows, the room
    ended, a missed customer call followed up. Idempotent. The sidecar's last reports of the call (its
    participants leaving, the quality summary) are saved at the same moment: a deadlock with them is tried
    again, as the database undid the whole attempt (seen on a real site: the job failed and the call was
    never settled)."""
    for attempt in range(SETTLE_ATTEMPTS):
        try:
            _settle(call)
            return
        except (frappe.QueryDeadlockError, frappe.QueryTimeoutError):
            frappe.db.rollback()
            if attempt == SETTLE_ATTEMPTS - 1:
                raise
            time.sleep(random.uniform(0.05, 0.2) * (attempt + 1))


def _settle(call: str) -> None:
    doc = frappe.get_doc(CALL, call, for_update=True)
    if doc.channel != CHANNEL or not states.is_terminal(doc.state):
        return
    if not doc.whatsapp_closed:
        note = _tell_meta(doc)
        if note:
            doc.append("state_history", _history(doc.state, doc.state, now_datetime(), note[:140], applied=False))
    _end_room(doc)
    if doc.direction == "Inbound" and doc.state == "missed" and not doc.missed_call_followed_up:
        _follow_up_missed(doc)
        doc.missed_call_followed_up = 1
    doc.save(ignore_permissions=True)
    for user in _lines(doc.rung_users):
        frappe.publish_realtime(ENDED_EVENT, {"call": doc.name, "state": doc.state, "end_reason": doc.end_reason or None,
                                              "answered_by": doc.agent or None}, user=user, after_commit=True)
    frappe.db.commit()


def _tell_meta(call: Any) -> str:
    """reject a customer's call nobody took, terminate any other; '' when done, else what went wrong."""
    if call.whatsapp_closed or not call.whatsapp_call_id or not call.whatsapp_account:
        return ""
    action = "reject" if call.direction == "Inbound" and not call.whatsapp_accepted_at else "terminate"
    try:
        _graph_action(frappe.get_cached_doc(ACCOUNT, call.whatsapp_account), action, call_id=call.whatsapp_call_id)
    except GraphError as exc:
        return _("WhatsApp refused {0}: {1}").format(action, _(exc.user_message))
    call.whatsapp_closed = 1
    return ""


def _end_room(call: Any) -> str:
    if not call.sidecar_room:
        return ""
    # The call's own reason (the customer hung up, declined, WhatsApp's error): the desk may hear of the end
    # from the call server before Frappe's realtime event, and must then read the same reason.
    reason = call.end_reason if states.is_terminal(call.state) and call.end_reason in states.end_reasons() \
        else "ended_by_frappe"
    try:
        sidecar_client(frappe.get_cached_doc(SETTINGS)).end_call(call.sidecar_room, reason)
    except SidecarError as exc:
        if exc.code != "room_not_found":
            return _("the call server answered: {0}").format(exc)
    except SidecarUnreachable as exc:
        return _("the call server was not reachable: {0}").format(exc)
    return ""


def _follow_up_missed(call: Any) -> None:
    """A ToDo for the party's owner (else the conversation's assignee, else the account's default owner),
    and the account's missed-call message when it has one."""
    account = frappe.get_cached_doc(ACCOUNT, call.whatsapp_account)
    owner = _party_owner(call) or frappe.db.get_value(CONVERSATION, call.whatsapp_conversation, "assigned_to") \
        or account.default_owner
    if owner:
        frappe.get_doc({
            "doctype": "ToDo", "allocated_to": owner, "priority": "High", "date": frappe.utils.today(),
            "reference_type": call.reference_doctype or CALL, "reference_name": call.reference_name or call.name,
            "description": _("Missed WhatsApp call from {0} at {1}: call back. ({2})").format(
                frappe.utils.escape_html(call.party_name or call.party_phone or ""),
                frappe.utils.format_datetime(call.started_at, "HH:mm"), call.name),
        }).insert(ignore_permissions=True)
    if account.unanswered_call_action == "Reject and send a message" and (account.missed_call_message or "").strip():
        from voice_agent.integrations.whatsapp.outbound import queue_message

        conversation = frappe.get_doc(CONVERSATION, call.whatsapp_conversation)
        frappe.db.savepoint("missed_call_message")
        try:
            lock_customer(conversation.account, conversation.wa_id)
            queue_message(conversation, "text", text=account.missed_call_message.strip(), sent_by=None)
        except frappe.ValidationError as exc:
            frappe.db.rollback(save_point="missed_call_message")
            frappe.clear_last_message()
            call.error_message = _("The missed-call message was not sent: {0}").format(exc)[:1000]


def _party_owner(call: Any) -> str | None:
    """The Lead's owner (a Customer's account manager); for a Contact, that of the Lead or Customer it is
    linked to (ERPNext gives every Lead a Contact, which the number finds first). Administrator, who owns
    the Leads the webhook creates, is nobody's follow-up."""
    doctype, name = call.reference_doctype, call.reference_name
    if doctype == "Contact" and name:
        link = frappe.get_all("Dynamic Link", filters={"parenttype": "Contact", "parent": name,
                                                       "link_doctype": ("in", ("Lead", "Customer"))},
                              fields=["link_doctype", "link_name"], order_by="idx asc", limit_page_length=1)
        doctype, name = (link[0].link_doctype, link[0].link_name) if link else (None, None)
    if not doctype or not name:
        return None
    meta = frappe.get_meta(doctype)
    field = next((f for f in ("lead_owner", "account_manager") if meta.has_field(f)), None)
    owner = frappe.db.get_value(doctype, name, field) if field else None
    if not owner or owner in ("Administrator", "Guest") or not frappe.db.get_value("User", owner, "enabled"):
        return None
    return owner


# --- desk: accept, decline -----------------------------------------------------------------------------


def accept(call_name: str, user: str) -> Any:
    """The first to accept takes the call: one UPDATE that only succeeds while the call rings and nobody
    has it; the others are told who did. Then Graph accept with the answer pre_accept sent."""
    call = offered_call(call_name, user)
    frappe.db.sql(f"""UPDATE `tab{CALL}` SET agent = %s, modified = %s
        WHERE name = %s AND state IN ('created', 'ringing') AND IFNULL(agent, '') = ''""",
                  (user, now_datetime(), call.name))
    won = frappe.db._cursor.rowcount == 1
    frappe.db.commit()  # the winner is known to everyone before Meta is asked
    if not won:
        call.reload()
        if call.agent == user and not states.is_terminal(call.state):
            return call  # the same user again (a second tab): they have it
        if call.agent:
            frappe.throw(_("This call was answered by {0}.").format(frappe.utils.get_fullname(call.agent)),
                         CallTaken, title=_("Call taken"))
        frappe.throw(_("This call has ended ({0}).").format(_(call.state)), CallTaken, title=_("Call over"))
    call.reload()
    account = frappe.get_cached_doc(ACCOUNT, call.whatsapp_account)
    try:
        if not call.whatsapp_answer_sdp:
            raise GraphError("no answer SDP", info=_no_answer_info())
        _graph_action(account, "accept", call_id=call.whatsapp_call_id, sdp=call.whatsapp_answer_sdp)
    except GraphError as exc:
        _fail_locally(call.name, error_ending(exc.code, exc.title), _("WhatsApp refused accept"))
        frappe.throw(_(exc.user_message), title=_("WhatsApp call not connected"))
    call = frappe.get_doc(CALL, call.name, for_update=True)  # the sidecar's reports may have saved it meanwhile
    call.whatsapp_accepted_at = now_datetime()
    call.append("state_history", _history(call.state, call.state, call.whatsapp_accepted_at,
                                          _("answered by {0}").format(user)[:140]))
    call.save(ignore_permissions=True)
    call.publish("call.answered")
    payload = {"call": call.name, "answered_by": user, "answered_by_name": frappe.utils.get_fullname(user)}
    for rung in _lines(call.rung_users):  # the one who took it too: their other tabs stop ringing
        frappe.publish_realtime(ANSWERED_EVENT, payload, user=rung, after_commit=True)
    return call


def decline(call_name: str, user: str) -> dict[str, Any]:
    """This user will not take the call; once everyone it rang declined, it is rejected (missed)."""
    call = offered_call(call_name, user, for_update=True)
    declined = sorted(set(_lines(call.declined_by)) | {user})
    call.declined_by = "\n".join(declined)
    rung = set(_lines(call.rung_users))
    if call.state in ("created", "ringing") and not call.agent and rung and rung <= set(declined):
        _apply_ending(call, Ending("missed", "rejected", "agent", None, ""), _("declined by everyone it rang"))
    call.save(ignore_permissions=True)
    if states.is_terminal(call.state):
        call.publish("call.declined")
    return {"call": call.name, "state": call.state, "end_reason": call.end_reason or None, "declined_by": declined}


def offered_call(call_name: str, user: str, *, for_update: bool = False) -> Any:
    """An incoming WhatsApp call this user may take: a manager, or in the team of its number."""
    if not frappe.db.exists(CALL, {"name": call_name, "channel": CHANNEL, "direction": "Inbound"}):
        frappe.throw(_("There is no incoming WhatsApp call {0}.").format(call_name), frappe.DoesNotExistError)
    call = frappe.get_doc(CALL, call_name, for_update=for_update)
    if not (is_manager(user) or call.whatsapp_account in team_accounts(user) or user in _lines(call.rung_users)):
        frappe.throw(_("This call rings for the team of another WhatsApp number."), frappe.PermissionError)
    return call


def incoming_calls(user: str) -> list[dict[str, Any]]:
    """The customer calls ringing for this user now (a page loaded while they ring)."""
    rows = frappe.get_all(CALL, filters={"channel": CHANNEL, "direction": "Inbound", "state": ("in", ("created", "ringing")),
                                         "agent": ("is", "not set")},
                          fields=["name", "rung_users", "declined_by"], order_by="started_at asc", limit_page_length=20)
    found = []
    for row in rows:
        if user in _lines(row.rung_users) and user not in _lines(row.declined_by):
            call = frappe.get_doc(CALL, row.name)
            found.append(incoming_payload(call, frappe.get_cached_doc(ACCOUNT, call.whatsapp_account)))
    return found


# --- call permission ---------------------------------------------------------------------------------------


def read_permission(conversation: Any) -> Permission:
    """Graph's call_permissions for the customer, stored on the conversation."""
    account = frappe.get_cached_doc(ACCOUNT, conversation.account)
    try:
        with graph_client(account, timeout=GRAPH_TIMEOUT_SEC) as client:
            answer = client.call_permissions(account.phone_number_id, conversation.wa_id)
        permission = permission_from_graph(answer, to_utc(now_datetime()))
    except GraphError as exc:
        if exc.kind is ErrorKind.AUTH_EXPIRED:
            mark_token_expired(account.name, exc.message)
        frappe.throw(_(exc.user_message), title=_("WhatsApp call permission"))
    except ValueError as exc:
        frappe.throw(str(exc), title=_("WhatsApp call permission"))
    values = {"call_permission": permission.state, "call_permission_checked_at": now_datetime(),
              "call_permission_expires_at": _local(permission.expires_at) if permission.expires_at else None,
              "call_permission_limits": json.dumps(answer.get("actions") or [], sort_keys=True)}
    frappe.db.set_value(CONVERSATION, conversation.name, values, update_modified=False)
    conversation.update(values)
    return permission


def permission_view(conversation: Any, permission: Permission | None = None) -> dict[str, Any]:
    """contracts/frappe-api.schema.json#/$defs/CallPermission: as stored, with Graph's answer if just read."""
    account = frappe.get_cached_doc(ACCOUNT, conversation.account)
    state = conversation.call_permission or None
    expires = conversation.call_permission_expires_at
    if state == "Temporary" and expires and get_datetime(expires) <= now_datetime():
        state, expires = "No permission", None
    view = {
        "conversation": conversation.name, "account": conversation.account, "wa_id": conversation.wa_id,
        "calling_enabled": bool(account.calling_enabled), "window_open": conversation.window_open(),
        "status": state, "expires_at": iso_utc(expires) if state == "Temporary" else None,
        "checked_at": iso_utc(conversation.call_permission_checked_at),
        "requested_at": iso_utc(conversation.call_permission_requested_at),
        "answer": conversation.call_permission_answer or None,
        "answered_at": iso_utc(conversation.call_permission_answered_at),
        "can_call": None, "can_request": None, "calls_remaining": None, "requests_remaining": None,
        "next_call_at": None, "next_request_at": None, "limits": {"start_call": [], "send_call_permission_request": []},
    }
    if permission is not None:
        view.update({
            "can_call": permission.can_call, "can_request": permission.can_request,
            "calls_remaining": permission.calls_remaining, "requests_remaining": permission.requests_remaining,
            "next_call_at": permission.next_call_at.isoformat() if permission.next_call_at else None,
            "next_request_at": permission.next_request_at.isoformat() if permission.next_request_at else None,
            "limits": {"start_call": [limit.as_dict() for limit in permission.call_limits],
                       "send_call_permission_request": [limit.as_dict() for limit in permission.request_limits]},
        })
    return view


def request_permission(conversation: Any) -> tuple[Any, Permission]:
    """Ask the customer for permission to call (the permission request message, through the send queue).
    Refused with the reason when calling is off, the 24-hour window is closed, the customer already allows
    calls, or Graph's request limit is reached."""
    account = frappe.get_cached_doc(ACCOUNT, conversation.account)
    if not account.calling_enabled:
        frappe.throw(_("Calling is off for {0}.").format(account.title), title=_("Calling off"))
    if not conversation.window_open():
        frappe.throw(_("A permission request can only be sent within 24 hours of the customer's last message. "
                       "Send a template to reopen the conversation first."), title=_("Service window closed"))
    permission = read_permission(conversation)
    if permission.state == "Permanent" or (permission.state == "Temporary" and permission.expires_at):
        until = _("for good") if permission.state == "Permanent" else _("until {0}").format(
            frappe.utils.format_datetime(_local(permission.expires_at)))
        frappe.throw(_("The customer already allows calls {0}.").format(until), title=_("Permission given"))
    if not permission.can_request:
        when = permission.next_request_at
        frappe.throw(_("WhatsApp's limit of permission requests to this customer is reached{0}.").format(
            _(": ask again after {0}").format(frappe.utils.format_datetime(_local(when))) if when else ""),
            title=_("Request limit reached"))
    lock_customer(conversation.account, conversation.wa_id)
    from voice_agent.integrations.whatsapp.outbound import queue_message

    message = queue_message(conversation, "call_permission_request",
                            text=(account.call_permission_request_text or "").strip() or None)
    frappe.db.set_value(CONVERSATION, conversation.name, "call_permission_requested_at", now_datetime(),
                        update_modified=False)
    conversation.call_permission_requested_at = now_datetime()
    return message, permission.after_request()


def apply_permission_reply(conversation: Any, reply: p.CallPermissionReplyBody, at: Any) -> None:
    """The customer's answer (a `call_permission_reply` message): stored on the conversation and pushed."""
    state, expires = permission_from_reply(reply.accepted, reply.expiration, reply.is_permanent, to_utc(at))
    values = {"call_permission": state, "call_permission_expires_at": _local(expires) if expires else None,
              "call_permission_answer": "Accepted" if reply.accepted else "Declined",
              "call_permission_answered_at": at}
    frappe.db.set_value(CONVERSATION, conversation.name, values, update_modified=False)
    conversation.update(values)
    publish_permission(conversation)


def publish_permission(conversation: Any, permission: Permission | None = None) -> None:
    payload = permission_view(conversation, permission)
    for user in users_who_see(conversation):
        frappe.publish_realtime(PERMISSION_EVENT, payload, user=user, after_commit=True)


# --- helpers ------------------------------------------------------------------------------------------------


def _graph_action(account: Any, action: str, **kwargs: Any) -> dict[str, Any]:
    try:
        with graph_client(account, timeout=GRAPH_TIMEOUT_SEC) as client:
            return client.call_action(account.phone_number_id, action, **kwargs)
    except GraphError as exc:
        if exc.kind is ErrorKind.AUTH_EXPIRED:
            mark_token_expired(account.name, exc.message)
        raise


def _no_answer_info() -> Any:
    from voice_agent.integrations.whatsapp.errors import ErrorInfo, Retry

    return ErrorInfo(None, ErrorKind.CALLING, Retry.NO, None,
                     "The call server gave no answer for this call, so it cannot be accepted.", "No answer SDP")


def _wa_id(call: Any) -> str:
    return frappe.db.get_value(CONVERSATION, call.whatsapp_conversation, "wa_id") or call.party_phone or ""


def _history(from_state: str, to_state: str, at: Any, note: str, applied: bool = True) -> dict[str, Any]:
    from voice_agent.voice_agent.doctype.voice_call.voice_call import history_row

    return history_row(from_state, to_state, at, source="frappe", note=note, applied=applied)


def _lines(value: str | None) -> list[str]:
    return [line.strip() for line in (value or "").splitlines() if line.strip()]


def _local(moment: Any) -> Any:
    return from_iso(moment.isoformat())

