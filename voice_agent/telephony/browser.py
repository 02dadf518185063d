"""The browser channel: the customer joins from an invite link (/call?invite=…) in any browser, no login."""

from __future__ import annotations

from typing import Any

import frappe
from frappe import _
from frappe.utils import add_to_date, get_url, now_datetime, validate_email_address

from voice_agent.calling import states
from voice_agent.integrations.sidecar.client import SidecarError, SidecarUnreachable
from voice_agent.integrations.sidecar.connect import describe_error, sidecar_client
from voice_agent.site_time import iso_utc
from voice_agent.telephony.base import CallChannel
from voice_agent.telephony.settings import enabled_settings

INVITE_LIFETIME_MIN = 30


class BrowserChannel(CallChannel):
    channel = "Browser"

    def start(self, call: Any, reference: Any) -> None:
        settings = enabled_settings()
        try:
            room = sidecar_client(settings).create_room(
                call.name,
                ring_timeout_sec=settings.ring_timeout_sec,
                max_duration_sec=settings.max_call_duration_sec,
            )
        except (SidecarUnreachable, SidecarError) as exc:
            call.apply_local_state("failed", None, _("the call server could not create the room"))
            call.error_message = str(exc)[:1000]
            call.save(ignore_permissions=True)
            call.publish("call.failed")
            frappe.db.commit()
            frappe.throw(describe_error(exc), title=_("Call not started"))
        call.db_set("sidecar_room", room["callId"], update_modified=False)

    def ring(self, call: Any, email: str | None = None) -> dict[str, Any]:
        """A new invite link for this call, mailed to `email` when given."""
        enabled_settings()
        if email is not None:
            email = email.strip()
            if not validate_email_address(email):
                frappe.throw(_("{0} is not a valid email address.").format(frappe.bold(email or _("(empty)"))))
        invite = frappe.get_doc(
            {
                "doctype": "Voice Call Invite",
                "voice_call": call.name,
                "expires_at": add_to_date(now_datetime(), minutes=INVITE_LIFETIME_MIN),
                "email": email,
            }
        )
        invite.insert(ignore_permissions=True, set_name=frappe.generate_hash(length=32))
        answer = {"invite": invite.name, "url": get_url(f"/call?invite={invite.name}"),
                  "expires_at": iso_utc(invite.expires_at)}
        if email:
            _mail_invite(call, email, answer)
            answer["email"] = email
        return answer

    def answer(self, call: Any, user: str) -> None:
        frappe.throw(_("A browser call is answered by the invited customer, not from the desk."))

    def end(self, call: Any, reason: str) -> str:
        try:
            sidecar_client(frappe.get_cached_doc("MediaSoup WebRTC Settings")).end_call(call.name, reason)
        except SidecarError as exc:
            if exc.code != "room_not_found":
                return _("ended from Frappe; the call server answered: {0}").format(exc)
        except SidecarUnreachable as exc:
            return _("ended from Frappe; the call server was not reachable: {0}").format(exc)
        return _("ended from Frappe")

    def participants(self, call: Any) -> list[dict[str, Any]]:
        invites = frappe.get_all(
            "Voice Call Invite",
            filters={"voice_call": call.name},
            fields=["guest_name", "email", "join_count", "last_joined_at"],
            order_by="creation asc",
        )
        return [
            {"name": row.guest_name or row.email or _("Guest"), "how": _("invite link"),
             "joined_at": iso_utc(row.last_joined_at)}
            for row in invites
        ]


def accept_invite(invite: str, name: str | None) -> tuple[str, str, str]:
    """The call an invite opens, the guest's participant id and display name; refused when the link is
    wrong, expired or its call is over."""
    row = frappe.db.get_value(
        "Voice Call Invite", {"name": invite or ""}, ["name", "voice_call", "expires_at", "join_count"], as_dict=True
    )
    if not row:
        frappe.throw(_("This call link is not valid."), frappe.PermissionError)
    if row.expires_at <= now_datetime():
        frappe.throw(_("This call link has expired. Ask for a new one."), frappe.PermissionError)
    state = frappe.db.get_value("Voice Call", row.voice_call, "state")
    if not state or states.is_terminal(state):
        frappe.throw(_("This call is over."), frappe.PermissionError)
    guest_name = frappe.utils.strip_html(name or "").strip()[:140] or _("Guest")
    frappe.db.set_value(
        "Voice Call Invite",
        row.name,
        {"guest_name": guest_name, "join_count": (row.join_count or 0) + 1, "last_joined_at": now_datetime()},
        update_modified=False,
    )
    return row.voice_call, row.name, guest_name


def _mail_invite(call: Any, email: str, answer: dict[str, Any]) -> None:
    agent_name = frappe.utils.get_fullname(call.agent)
    try:
        frappe.sendmail(
            recipients=[email],
            subject=_("{0} invites you to a call").format(agent_name),
            message=_(
                "<p>{0} is waiting for you in a voice call.</p>"
                '<p><a href="{1}">Join the call</a> from your browser; no installation needed.</p>'
                "<p>The link works until {2} (UTC) and only for this call.</p>"
            ).format(
                frappe.utils.escape_html(agent_name),
                answer["url"],
                answer["expires_at"][:16].replace("T", " "),
            ),
            reference_doctype="Voice Call",
            reference_name=call.name,
            now=False,
        )
    except frappe.OutgoingEmailError:
        frappe.throw(
            _(
                "The invite could not be mailed: set up a default outgoing email account, or copy the link: {0}"
            ).format(answer["url"]),
            title=_("Email not set up"),
        )
