"""Desk calling endpoints: start and end browser calls through the mediasoup
sidecar, invite links for customers, supervisors, and the method the sidecar
reports call events to (contracts/methods.json -> frappe.reportCallEvents).

Request/response shapes: docs/desk-calling.md.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

import frappe
from frappe import _
from frappe.rate_limiter import rate_limit
from frappe.utils import (
    add_to_date,
    convert_utc_to_system_timezone,
    get_url,
    now_datetime,
    validate_email_address,
)

from voice_agent.calling import states
from voice_agent.calling.events import InvalidEventBatch, validate_batch
from voice_agent.calling.metrics import QualitySummary, durations
from voice_agent.calling.tokens import DEFAULT_LIFETIME_SEC, mint
from voice_agent.calling.turn import turn_rest_credentials
from voice_agent.integrations.sidecar import SidecarClient, SidecarError, SidecarUnreachable
from voice_agent.voice_agent.doctype.voice_call.voice_call import is_call_manager

SETTINGS = "MediaSoup WebRTC Settings"
CALLER_ROLES = ("Voice Agent User", "Voice Agent Manager")
SIDECAR_ROLE = "Voice Sidecar"
REFERENCE_DOCTYPES = ("Lead", "Customer", "Contact", "CRM Lead", "CRM Deal")
INVITE_LIFETIME_MIN = 30
REALTIME_EVENT = "voice_call_update"


# --- endpoints -----------------------------------------------------------------


@frappe.whitelist(methods=["POST"])
def initiate_call(reference_doctype: str, reference_name: str, channel: str = "browser") -> dict[str, Any]:
    _require_role(CALLER_ROLES)
    if reference_doctype not in callable_doctypes():
        frappe.throw(_("Calls can be started from {0} only.").format(", ".join(callable_doctypes())))
    if channel != "browser":
        frappe.throw(_("Only browser calls can be started from the desk for now."))
    if not frappe.db.exists(reference_doctype, reference_name):
        frappe.throw(
            _("{0} {1} does not exist.").format(_(reference_doctype), reference_name),
            frappe.DoesNotExistError,
        )
    reference = frappe.get_doc(reference_doctype, reference_name)
    reference.check_permission("read")
    settings = _enabled_settings()
    secret = _shared_secret(settings)

    call = frappe.get_doc(
        {
            "doctype": "Voice Call",
            "channel": "Browser",
            "direction": "Outbound",
            "agent": frappe.session.user,
            "reference_doctype": reference_doctype,
            "reference_name": reference_name,
            "state": states.initial_state(),
            "started_at": now_datetime(),
            **_party_details(reference),
        }
    )
    call.append(
        "state_history",
        _history_row("", call.state, call.started_at, source="frappe", note=_("call created")),
    )
    call.insert(ignore_permissions=True)
    # The sidecar may report this call's first events before this request ends.
    frappe.db.commit()

    try:
        room = _sidecar(settings, secret).create_room(
            call.name,
            ring_timeout_sec=settings.ring_timeout_sec,
            max_duration_sec=settings.max_call_duration_sec,
            metadata={"reference": f"{reference_doctype}/{reference_name}", "agent": frappe.session.user},
        )
    except (SidecarUnreachable, SidecarError) as exc:
        _fail_call(call.name, exc)
        frappe.throw(_sidecar_message(exc), title=_("Call not started"))
    frappe.db.set_value("Voice Call", call.name, "sidecar_room", room["callId"], update_modified=False)
    return _join_answer(
        call.name, settings, secret, frappe.session.user, "agent", _user_name(frappe.session.user)
    )


@frappe.whitelist(methods=["POST"])
def rejoin_call(call: str) -> dict[str, Any]:
    """A fresh agent token for the caller's own live call (after a page reload or a lost connection)."""
    doc = _live_call(call)
    if doc.agent != frappe.session.user:
        frappe.throw(_("Only the call's agent can rejoin it."), frappe.PermissionError)
    settings = _enabled_settings()
    return _join_answer(
        doc.name, settings, _shared_secret(settings), doc.agent, "agent", _user_name(doc.agent)
    )


@frappe.whitelist(methods=["POST"])
def create_invite(call: str) -> dict[str, Any]:
    doc = _live_call(call)
    _require_agent_or_manager(doc)
    _enabled_settings()
    invite = frappe.get_doc(
        {
            "doctype": "Voice Call Invite",
            "voice_call": doc.name,
            "expires_at": add_to_date(now_datetime(), minutes=INVITE_LIFETIME_MIN),
        }
    )
    invite.insert(ignore_permissions=True, set_name=frappe.generate_hash(length=32))
    return _invite_answer(invite)


@frappe.whitelist(methods=["POST"])
def send_invite(call: str, email: str) -> dict[str, Any]:
    email = (email or "").strip()
    if not validate_email_address(email):
        frappe.throw(_("{0} is not a valid email address.").format(frappe.bold(email or _("(empty)"))))
    answer = create_invite(call)
    doc = frappe.get_doc("Voice Call", call)
    frappe.db.set_value("Voice Call Invite", answer["invite"], "email", email, update_modified=False)
    try:
        frappe.sendmail(
            recipients=[email],
            subject=_("{0} invites you to a call").format(_user_name(doc.agent)),
            message=_(
                "<p>{0} is waiting for you in a voice call.</p>"
                '<p><a href="{1}">Join the call</a> from your browser; no installation needed.</p>'
                "<p>The link works until {2} (UTC) and only for this call.</p>"
            ).format(
                frappe.utils.escape_html(_user_name(doc.agent)),
                answer["url"],
                answer["expires_at"][:16].replace("T", " "),
            ),
            reference_doctype="Voice Call",
            reference_name=doc.name,
            now=False,
        )
    except frappe.OutgoingEmailError:
        frappe.throw(
            _(
                "The invite could not be mailed: set up a default outgoing email account, or copy the link: {0}"
            ).format(answer["url"]),
            title=_("Email not set up"),
        )
    return {**answer, "email": email}


@frappe.whitelist(allow_guest=True, methods=["POST"])
@rate_limit(limit=10, seconds=300)
def join_invite(invite: str, name: str | None = None) -> dict[str, Any]:
    invite_doc = frappe.db.get_value(
        "Voice Call Invite", {"name": invite or ""}, ["name", "voice_call", "expires_at"], as_dict=True
    )
    if not invite_doc:
        frappe.throw(_("This call link is not valid."), frappe.PermissionError)
    if invite_doc.expires_at <= now_datetime():
        frappe.throw(_("This call link has expired. Ask for a new one."), frappe.PermissionError)
    state = frappe.db.get_value("Voice Call", invite_doc.voice_call, "state")
    if not state or states.is_terminal(state):
        frappe.throw(_("This call is over."), frappe.PermissionError)
    settings = _enabled_settings()
    guest_name = frappe.utils.strip_html(name or "").strip()[:140] or _("Guest")
    frappe.db.set_value(
        "Voice Call Invite",
        invite_doc.name,
        {
            "guest_name": guest_name,
            "join_count": (frappe.db.get_value("Voice Call Invite", invite_doc.name, "join_count") or 0) + 1,
            "last_joined_at": now_datetime(),
        },
        update_modified=False,
    )
    return _join_answer(
        invite_doc.voice_call, settings, _shared_secret(settings), invite_doc.name, "customer", guest_name
    )


@frappe.whitelist(methods=["POST"])
def join_as_supervisor(call: str, listen_only: bool = True) -> dict[str, Any]:
    if not is_call_manager():
        frappe.throw(_("Only a Voice Agent Manager can join other agents' calls."), frappe.PermissionError)
    doc = _live_call(call)
    settings = _enabled_settings()
    return _join_answer(
        doc.name,
        settings,
        _shared_secret(settings),
        frappe.session.user,
        "supervisor",
        _user_name(frappe.session.user),
        listen_only=bool(listen_only),
    )


@frappe.whitelist(methods=["POST"])
def end_call(call: str, reason: str = "hangup") -> dict[str, Any]:
    if reason not in states.end_reasons():
        frappe.throw(_("Unknown end reason {0}.").format(frappe.bold(reason)))
    doc = _get_call_for_update(call)
    _require_agent_or_manager(doc)
    if states.is_terminal(doc.state):
        return {"call": doc.name, "state": doc.state, "end_reason": doc.end_reason}
    settings = frappe.get_cached_doc(SETTINGS)
    note = _("ended from Frappe")
    try:
        _sidecar(settings, _shared_secret(settings)).end_call(doc.name, reason)
    except SidecarError as exc:
        if exc.code != "room_not_found":
            note = _("ended from Frappe; the call server answered: {0}").format(exc)
    except SidecarUnreachable as exc:
        note = _("ended from Frappe; the call server was not reachable: {0}").format(exc)
    _apply_local_state(doc, "ended", reason, note)
    doc.save(ignore_permissions=True)
    _publish(doc, "call.ended_by_frappe")
    return {"call": doc.name, "state": doc.state, "end_reason": doc.end_reason}


@frappe.whitelist(methods=["GET", "POST"])
def get_call_state(call: str) -> dict[str, Any]:
    doc = frappe.get_doc("Voice Call", call)
    doc.check_permission("read")
    return call_payload(doc)


@frappe.whitelist(methods=["POST"])
def report_call_event(events: list) -> dict[str, int]:
    """The sidecar's outbox posts batches here. All-or-nothing: an invalid batch changes nothing."""
    if frappe.session.user in ("Guest", "Administrator") or SIDECAR_ROLE not in frappe.get_roles():
        frappe.throw(
            _("Only the call server's API user (role {0}) may report call events.").format(SIDECAR_ROLE),
            frappe.PermissionError,
        )
    try:
        validate_batch({"events": events})
    except InvalidEventBatch as exc:
        frappe.throw(_("Invalid call events: {0}").format(exc), title=_("Invalid call events"))
    call_ids = sorted({event["callId"] for event in events})
    known = set(frappe.get_all("Voice Call", filters={"name": ("in", call_ids)}, pluck="name"))
    if unknown := [c for c in call_ids if c not in known]:
        frappe.throw(
            _("Invalid call events: unknown call(s) {0}").format(", ".join(unknown)),
            title=_("Invalid call events"),
        )

    # Row locks in a fixed order: concurrent deliveries touching the same calls run one after the
    # other, and the duplicate check below sees what the previous one stored.
    calls = {call_id: _get_call_for_update(call_id) for call_id in call_ids}
    stored = set(
        frappe.get_all(
            "Voice Call Event", filters={"name": ("in", [e["eventId"] for e in events])}, pluck="name"
        )
    )
    changes: dict[str, list[str]] = {}
    accepted = duplicates = 0
    for event in sorted(events, key=lambda e: (e["callId"], e["sequence"])):
        if event["eventId"] in stored:
            duplicates += 1
            continue
        stored.add(event["eventId"])
        _store_event(event)
        _apply_event(calls[event["callId"]], event)
        changes.setdefault(event["callId"], []).append(event["type"])
        accepted += 1
    for call_id, event_types in changes.items():
        calls[call_id].save(ignore_permissions=True)
        _publish(calls[call_id], event_types[-1])
    return {"accepted": accepted, "duplicates": duplicates}


@frappe.whitelist()
def get_mediasoup_config() -> dict[str, Any]:
    if frappe.session.user == "Guest":
        frappe.throw(_("Log in to use calling."), frappe.PermissionError)
    settings = frappe.get_cached_doc(SETTINGS)
    return {
        "enabled": bool(settings.enabled),
        "signaling_url": signaling_url(settings),
        "ice_servers": ice_servers(settings, frappe.session.user),
        "codec_preferences": _codec_preferences(settings),
    }


@frappe.whitelist()
def check_mediasoup_status() -> dict[str, Any]:
    if not is_call_manager():
        frappe.throw(_("Only a Voice Agent Manager can check the call server."), frappe.PermissionError)
    settings = frappe.get_cached_doc(SETTINGS)
    client = SidecarClient(sidecar_base_url(settings), "", timeout=5)
    try:
        health = client.health()
    except (SidecarUnreachable, SidecarError) as exc:
        frappe.throw(_sidecar_message(exc), title=_("Call server check failed"))
    return {"ok": health["status"] == "ok", "url": client.base_url, "health": health}


# --- timeline (hooks: additional_timeline_content) -------------------------------


def timeline_content(doctype: str, docname: str) -> list[dict[str, Any]]:
    if doctype not in callable_doctypes() or not frappe.has_permission("Voice Call", "read"):
        return []
    calls = frappe.get_list(
        "Voice Call",
        filters={"reference_doctype": doctype, "reference_name": docname},
        fields=[
            "name",
            "creation",
            "state",
            "end_reason",
            "agent",
            "channel",
            "talk_duration",
            "ring_duration",
            "quality_label",
            "mos",
        ],
        order_by="creation desc",
        limit_page_length=100,
    )
    return [
        {"icon": "call", "is_card": True, "creation": call.creation, "content": _timeline_html(call)}
        for call in calls
    ]


def _timeline_html(call: Any) -> str:
    escape = frappe.utils.escape_html
    parts = [
        f'<a href="/app/voice-call/{escape(call.name)}">{escape(call.name)}</a>',
        escape(_("{0} call by {1}").format(_(call.channel), _user_name(call.agent))),
        f"<b>{escape(_(call.state))}</b>" + (f" ({escape(_(call.end_reason))})" if call.end_reason else ""),
    ]
    if call.talk_duration:
        parts.append(escape(_("talk {0}").format(_format_seconds(call.talk_duration))))
    elif call.ring_duration:
        parts.append(escape(_("rang {0}").format(_format_seconds(call.ring_duration))))
    if call.quality_label:
        parts.append(escape(_("quality {0} (MOS {1})").format(_(call.quality_label), call.mos)))
    return " · ".join(parts)


def _format_seconds(seconds: float) -> str:
    seconds = int(round(seconds or 0))
    return (
        f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
        if seconds >= 3600
        else f"{seconds // 60}:{seconds % 60:02d}"
    )


# --- settings helpers ----------------------------------------------------------


def callable_doctypes() -> list[str]:
    return [dt for dt in REFERENCE_DOCTYPES if frappe.db.exists("DocType", dt)]


def sidecar_base_url(settings: Any) -> str:
    if not settings.server_host:
        frappe.throw(_("Set the call server's host in {0}.").format(_(SETTINGS)))
    scheme = "https" if settings.use_https else "http"
    return f"{scheme}://{settings.server_host}:{int(settings.server_port or 3210)}"


def signaling_url(settings: Any) -> str:
    return settings.public_signaling_url or (sidecar_base_url(settings) if settings.server_host else "")


def ice_servers(settings: Any, user: str) -> list[dict[str, Any]]:
    turn_secret = (
        settings.get_password("turn_rest_secret", raise_exception=False)
        if settings.turn_rest_secret
        else None
    )
    servers = []
    for row in settings.ice_servers:
        urls = [u.strip() for u in (row.urls or "").replace("\n", ",").split(",") if u.strip()]
        if not urls:
            continue
        entry: dict[str, Any] = {"urls": urls}
        is_turn = any(u.lower().startswith("turn") for u in urls)
        if is_turn and turn_secret:
            entry["username"], entry["credential"] = turn_rest_credentials(turn_secret, user)
        elif row.username:
            entry["username"] = row.username
            entry["credential"] = row.get_password("credential", raise_exception=False) or ""
        servers.append(entry)
    return servers


def _codec_preferences(settings: Any) -> dict[str, Any]:
    try:
        prefs = json.loads(settings.codec_preferences or "{}")
    except ValueError:
        return {}
    return prefs if isinstance(prefs, dict) else {}


def _enabled_settings() -> Any:
    settings = frappe.get_cached_doc(SETTINGS)
    if not settings.enabled:
        frappe.throw(
            _("Calling is not enabled. A Voice Agent Manager can enable it in {0}.").format(_(SETTINGS))
        )
    return settings


def _shared_secret(settings: Any) -> str:
    secret = settings.get_password("shared_secret", raise_exception=False) if settings.shared_secret else None
    if not secret:
        frappe.throw(_("The shared secret of the call server is not set in {0}.").format(_(SETTINGS)))
    return secret


def _sidecar(settings: Any, secret: str) -> SidecarClient:
    return SidecarClient(sidecar_base_url(settings), secret, timeout=5)


def _sidecar_message(exc: Exception) -> str:
    if isinstance(exc, SidecarUnreachable):
        return _(
            "The call server is not reachable ({0}). Check that the sidecar runs and {1} points to it."
        ).format(exc, _(SETTINGS))
    if isinstance(exc, SidecarError) and exc.code == "unauthorized":
        return _(
            "The call server refused Frappe's shared secret: it must equal the sidecar's SIDECAR_SECRET."
        )
    return _("The call server answered with an error: {0}").format(exc)


# --- call helpers --------------------------------------------------------------


def _require_role(roles: tuple[str, ...]) -> None:
    if frappe.session.user == "Guest" or not set(roles) & set(frappe.get_roles()):
        frappe.throw(
            _("You need the role {0} to make calls.").format(_(" or ").join(roles)), frappe.PermissionError
        )


def _require_agent_or_manager(doc: Any) -> None:
    if doc.agent != frappe.session.user and not is_call_manager():
        frappe.throw(_("Only the call's agent or a Voice Agent Manager can do this."), frappe.PermissionError)


def _live_call(call: str) -> Any:
    if not frappe.db.exists("Voice Call", call):
        frappe.throw(_("Voice Call {0} does not exist.").format(call), frappe.DoesNotExistError)
    doc = frappe.get_doc("Voice Call", call)
    doc.check_permission("read")
    if states.is_terminal(doc.state):
        frappe.throw(_("Voice Call {0} is over ({1}).").format(doc.name, _(doc.state)))
    return doc


def _get_call_for_update(call: str) -> Any:
    if not frappe.db.exists("Voice Call", call):
        frappe.throw(_("Voice Call {0} does not exist.").format(call), frappe.DoesNotExistError)
    return frappe.get_doc("Voice Call", call, for_update=True)


def _user_name(user: str | None) -> str:
    return frappe.utils.get_fullname(user) if user else ""


def _party_details(reference: Any) -> dict[str, str]:
    meta = reference.meta
    name = reference.get_title() or reference.name
    phone = next(
        (
            reference.get(f)
            for f in ("mobile_no", "phone", "mobile", "phone_no")
            if meta.has_field(f) and reference.get(f)
        ),
        "",
    )
    email = next(
        (
            reference.get(f)
            for f in ("email_id", "email", "email_address")
            if meta.has_field(f) and reference.get(f)
        ),
        "",
    )
    return {"party_name": str(name)[:140], "party_phone": phone or "", "party_email": email or ""}


def _join_answer(
    call: str,
    settings: Any,
    secret: str,
    participant_id: str,
    role: str,
    name: str,
    listen_only: bool | None = None,
) -> dict[str, Any]:
    token = mint(
        secret,
        call=call,
        participant_id=participant_id,
        role=role,
        name=name,
        listen_only=listen_only,
        lifetime_sec=DEFAULT_LIFETIME_SEC,
    )
    return {
        "call": call,
        "signaling_url": signaling_url(settings),
        "token": token.token,
        "expires_at": datetime.fromtimestamp(token.expires_at, timezone.utc).isoformat(),
        "ice_servers": ice_servers(settings, participant_id),
        "codec_preferences": _codec_preferences(settings),
        "role": role,
        "participant_id": participant_id,
    }


def _invite_answer(invite: Any) -> dict[str, Any]:
    expires = frappe.utils.get_datetime(invite.expires_at)
    return {
        "invite": invite.name,
        "url": get_url(f"/call?invite={invite.name}"),
        "expires_at": _system_to_utc(expires).isoformat(),
    }


def _fail_call(call: str, exc: Exception) -> None:
    doc = _get_call_for_update(call)
    _apply_local_state(doc, "failed", None, _("the call server could not create the room"))
    doc.error_message = str(exc)[:1000]
    doc.save(ignore_permissions=True)
    frappe.db.commit()
    _publish(doc, "call.failed")


def _apply_local_state(doc: Any, to_state: str, reason: str | None, note: str) -> None:
    at = now_datetime()
    doc.append(
        "state_history", _history_row(doc.state, to_state, at, reason=reason, source="frappe", note=note)
    )
    doc.state = to_state
    if states.is_terminal(to_state):
        doc.ended_at = at
        doc.end_reason = reason or ""
    _update_durations(doc)


def _history_row(
    from_state: str,
    to_state: str,
    at: datetime,
    *,
    reason: str | None = None,
    source: str = "sidecar",
    sequence: int | None = None,
    applied: bool = True,
    note: str = "",
    event_id: str | None = None,
) -> dict[str, Any]:
    return {
        "from_state": from_state,
        "to_state": to_state,
        "reason": reason or "",
        "occurred_at": at,
        "sequence": sequence,
        "applied": 1 if applied else 0,
        "source": source,
        "note": note[:140],
        "event_id": event_id,
    }


# --- applying sidecar events ---------------------------------------------------


def _to_system_time(iso: str) -> datetime:
    utc = datetime.fromisoformat(iso.upper().replace("Z", "+00:00")).astimezone(timezone.utc)
    return convert_utc_to_system_timezone(utc).replace(tzinfo=None)


def _system_to_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=ZoneInfo(frappe.utils.get_system_timezone())).astimezone(timezone.utc)


def _store_event(event: dict[str, Any]) -> None:
    frappe.get_doc(
        {
            "doctype": "Voice Call Event",
            "event_id": event["eventId"],
            "voice_call": event["callId"],
            "event_type": event["type"],
            "sequence": event["sequence"],
            "occurred_at": _to_system_time(event["occurredAt"]),
            "sidecar_id": event.get("sidecarId"),
            "payload": json.dumps(event["payload"], sort_keys=True),
        }
    ).insert(ignore_permissions=True, set_name=event["eventId"])


def _apply_event(doc: Any, event: dict[str, Any]) -> None:
    at = _to_system_time(event["occurredAt"])
    payload = event["payload"]
    if event.get("sidecarId"):
        doc.sidecar_id = event["sidecarId"]
    if event["type"] == "call.state_changed":
        _apply_state_change(doc, event, at)
    elif event["type"] == "participant.joined":
        row = _participant_row(doc, payload["participantId"], payload["role"])
        row.joined_at = at
        row.left_at = None
        row.leave_reason = ""
        row.listen_only = 1 if payload.get("listenOnly") else 0
    elif event["type"] == "participant.left":
        row = _participant_row(doc, payload["participantId"], payload["role"])
        row.left_at = at
        row.leave_reason = payload.get("reason") or ""
    elif event["type"] == "quality.sample":
        summary = QualitySummary(
            samples=doc.quality_samples or 0,
            packet_loss_pct=doc.avg_packet_loss or 0.0,
            jitter_ms=doc.avg_jitter_ms or 0.0,
            bitrate_kbps=doc.avg_bitrate_kbps or 0.0,
            rtt_samples=doc.rtt_samples or 0,
            rtt_ms=doc.avg_rtt_ms or 0.0,
        ).add(payload)
        doc.quality_samples = summary.samples
        doc.avg_packet_loss = summary.packet_loss_pct
        doc.avg_jitter_ms = summary.jitter_ms
        doc.avg_bitrate_kbps = summary.bitrate_kbps
        doc.rtt_samples = summary.rtt_samples
        doc.avg_rtt_ms = summary.rtt_ms
        doc.mos = summary.mos()
        doc.quality_label = summary.label()


def _apply_state_change(doc: Any, event: dict[str, Any], at: datetime) -> None:
    payload, sequence = event["payload"], event["sequence"]
    current, target = doc.state, payload["to"]
    last = doc.last_state_sequence or 0
    note = ""
    if sequence <= last:
        note = f"stale: sequence {sequence} <= last applied {last}"
    elif states.is_terminal(current):
        note = f"call already {current}"
    elif target == current:
        note = "already in this state"
        doc.last_state_sequence = sequence
    elif not states.can_transition(current, target):
        note = f"refused: {current} -> {target} is not allowed"
    applied = not note
    doc.append(
        "state_history",
        _history_row(
            payload["from"],
            target,
            at,
            reason=payload.get("reason"),
            sequence=sequence,
            applied=applied,
            note=note,
            event_id=event["eventId"],
        ),
    )
    if not applied:
        return
    doc.state = target
    doc.last_state_sequence = sequence
    if target == "connected" and not doc.connected_at:
        doc.connected_at = at
    if states.is_terminal(target):
        doc.ended_at = at
        doc.end_reason = payload.get("reason") or ("no_answer" if target == "missed" else "")
    _update_durations(doc)


def _participant_row(doc: Any, participant_id: str, role: str) -> Any:
    for row in doc.participants:
        if row.participant_id == participant_id:
            return row
    if role == "customer":
        display = frappe.db.get_value("Voice Call Invite", participant_id, "guest_name") or ""
    else:
        display = _user_name(participant_id) if frappe.db.exists("User", participant_id) else ""
    return doc.append(
        "participants", {"participant_id": participant_id, "role": role, "display_name": display}
    )


def _update_durations(doc: Any) -> None:
    get = frappe.utils.get_datetime
    result = durations(
        get(doc.started_at) if doc.started_at else None,
        get(doc.connected_at) if doc.connected_at else None,
        get(doc.ended_at) if doc.ended_at else None,
    )
    doc.ring_duration, doc.talk_duration, doc.total_duration = result.ring, result.talk, result.total


# --- realtime ------------------------------------------------------------------


def call_payload(doc: Any) -> dict[str, Any]:
    def iso(value: Any) -> str | None:
        return _system_to_utc(frappe.utils.get_datetime(value)).isoformat() if value else None

    return {
        "call": doc.name,
        "state": doc.state,
        "end_reason": doc.end_reason or None,
        "reference_doctype": doc.reference_doctype,
        "reference_name": doc.reference_name,
        "agent": doc.agent,
        "started_at": iso(doc.started_at),
        "connected_at": iso(doc.connected_at),
        "ended_at": iso(doc.ended_at),
        "ring_duration": doc.ring_duration or 0,
        "talk_duration": doc.talk_duration or 0,
        "total_duration": doc.total_duration or 0,
        "quality": {
            "packet_loss_pct": doc.avg_packet_loss or 0,
            "jitter_ms": doc.avg_jitter_ms or 0,
            "rtt_ms": doc.avg_rtt_ms if doc.rtt_samples else None,
            "bitrate_kbps": doc.avg_bitrate_kbps or 0,
            "mos": doc.mos if doc.quality_samples else None,
            "label": doc.quality_label or None,
        },
        "participants": [
            {
                "participant_id": row.participant_id,
                "role": row.role,
                "name": row.display_name,
                "listen_only": bool(row.listen_only),
                "joined": bool(row.joined_at and not row.left_at),
            }
            for row in doc.participants
        ],
    }


def _publish(doc: Any, event_type: str) -> None:
    message = {**call_payload(doc), "event": event_type}
    frappe.publish_realtime(REALTIME_EVENT, message, user=doc.agent, after_commit=True)
    frappe.publish_realtime(
        REALTIME_EVENT, message, doctype="Voice Call", docname=doc.name, after_commit=True
    )
    if doc.reference_doctype and doc.reference_name:
        frappe.publish_realtime(
            REALTIME_EVENT,
            message,
            doctype=doc.reference_doctype,
            docname=doc.reference_name,
            after_commit=True,
        )
