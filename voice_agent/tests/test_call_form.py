"""What the desk shows of a call: the Voice Call form (read-only once the call is over, and why the record
the call was made from does not open for a caller who may not read it), the message a caller without read
access to the callable doctypes gets, and durations as the call panel showed them.

    bench --site SITE run-tests --app voice_agent --module voice_agent.tests.test_call_form

Every test is rolled back (voice_agent.tests.utils.VoiceAgentTestCase): the site keeps none of it.
"""

from __future__ import annotations

import uuid

import frappe
from frappe.desk.form.load import getdoc
from frappe.utils import add_to_date, now_datetime

from voice_agent.api import calls
from voice_agent.telephony.settings import boot_session
from voice_agent.telephony.timeline import timeline_content
from voice_agent.tests.utils import VoiceAgentTestCase, as_user, ensure_user

AGENT = "va-form-agent@example.com"  # may read Leads (Sales User)
NO_LEAD_AGENT = "va-form-nolead@example.com"  # Voice Agent User only: may read no Lead


class TestCallForm(VoiceAgentTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        ensure_user(AGENT, "Voice Agent User", "Sales User")
        ensure_user(NO_LEAD_AGENT, "Voice Agent User")
        cls.lead = frappe.get_doc({
            "doctype": "Lead", "first_name": "Form", "last_name": "Tester",
            "email_id": f"va-form-{uuid.uuid4().hex[:8]}@example.com",
        }).insert(ignore_permissions=True)

    def make_call(self, agent: str, state: str = "ended", talk: float = 38.6) -> str:
        connected = add_to_date(now_datetime(), seconds=-talk)
        return frappe.get_doc({
            "doctype": "Voice Call", "channel": "Browser", "direction": "Outbound", "agent": agent,
            "reference_doctype": "Lead", "reference_name": self.lead.name, "party_name": "Form Tester",
            "state": state, "started_at": add_to_date(connected, seconds=-5), "connected_at": connected,
            "ended_at": now_datetime() if state == "ended" else None, "end_reason": "hangup" if state == "ended" else "",
            "ring_duration": 5, "talk_duration": talk if state == "ended" else 0,
        }).insert(ignore_permissions=True).name

    def form_onload(self, call: str, user: str) -> dict:
        """What the desk receives when `user` opens the call's form (frappe.desk.form.load.getdoc)."""
        frappe.response.docs = []
        with as_user(user):
            getdoc("Voice Call", call)
        return frappe.response.docs[0].get("__onload") or {}

    def test_an_ended_call_opens_read_only_and_a_live_one_does_not(self):
        self.assertTrue(self.form_onload(self.make_call(AGENT, "ended"), AGENT)["ended"])
        for state in ("missed", "failed"):
            self.assertTrue(self.form_onload(self.make_call(AGENT, state), AGENT)["ended"], state)
        self.assertFalse(self.form_onload(self.make_call(AGENT, "connected"), AGENT)["ended"])

    def test_the_form_says_which_read_access_is_missing_for_the_record_the_call_was_made_from(self):
        call = self.make_call(NO_LEAD_AGENT)
        message = self.form_onload(call, NO_LEAD_AGENT)["reference_access"]
        self.assertIn(f"You cannot open Lead {self.lead.name}", message)
        self.assertIn("read access", message)
        self.assertIn("a role that can read Lead", message)
        self.assertIsNone(self.form_onload(self.make_call(AGENT), AGENT)["reference_access"])

    def test_a_caller_without_read_access_to_the_callable_doctypes_is_told_at_boot(self):
        with as_user(NO_LEAD_AGENT):
            bootinfo = frappe._dict()
            boot_session(bootinfo)
            unreadable = [dt for dt in bootinfo.voice_agent["callable_doctypes"] if not frappe.has_permission(dt, "read")]
        message = bootinfo.voice_agent["missing_read_access"]
        self.assertIn("Lead", unreadable)
        self.assertIn(f"do not give read access to {', '.join(unreadable)}:", message)
        self.assertIn("Calling a record needs read access to it", message)
        with as_user(AGENT):
            bootinfo = frappe._dict()
            boot_session(bootinfo)
        self.assertIsNone(bootinfo.voice_agent["missing_read_access"])

    def test_calling_a_record_the_caller_may_not_read_names_the_missing_permission(self):
        with as_user(NO_LEAD_AGENT), self.assertRaisesRegex(
            frappe.PermissionError, f"You need read access to Lead {self.lead.name} to call it"
        ):
            calls.initiate_call("Lead", self.lead.name)

    def test_the_timeline_shows_talk_time_as_the_panel_clock_did(self):
        """38.6 s of talk: the form showed "38s" and the timeline "talk 0:39"; both follow the clock now."""
        call = self.make_call(AGENT, talk=38.6)
        with as_user(AGENT):
            [card] = [c for c in timeline_content("Lead", self.lead.name) if call in c["content"]]
        self.assertIn("talk 0:38", card["content"])
