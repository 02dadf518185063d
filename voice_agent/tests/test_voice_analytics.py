"""Voice Agent Analytics against counts made independently, straight from the Voice Session table:
per profile and in total, every rate from counts (not an average of rates), every average from sums.

    bench --site SITE run-tests --app voice_agent --module voice_agent.tests.test_voice_analytics

Every test is rolled back (voice_agent.tests.utils.VoiceAgentTestCase): the site keeps none of it. The
sessions are dated in 2001 so that no other session of the site falls in the report's period.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

import frappe

from voice_agent.api import analytics
from voice_agent.tests.utils import VoiceAgentTestCase
from voice_agent.voice_agent.report.voice_agent_analytics import voice_agent_analytics

START, END = date(2001, 3, 1), date(2001, 3, 31)
FILTERS = {"from_date": str(START), "to_date": str(END)}


class TestVoiceAnalytics(VoiceAgentTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.small, cls.busy = (
            frappe.get_doc({
                "doctype": "Voice Agent Profile", "title": f"Analytics {uuid.uuid4().hex[:8]}", "enabled": 1,
                "use_case": "Customer Support", "system_prompt": "Be brief.", "greeting": "Hi!",
            }).insert().name
            for _ in range(2)
        )

    def setUp(self):
        super().setUp()
        # small: 2 of 3 completed (60 s and 30.5 s); busy: 36 of 37 completed (10 s each), one still live.
        # Averaging the two rates would give 82.0 %; the period's rate is 38 of 40 sessions, 95.0 %.
        self.session(self.small, "Ended", 60, "Appointment", day=2)
        self.session(self.small, "Ended", 30.5, None, day=9)
        self.session(self.small, "Failed", 0, None, day=9)
        for i in range(36):
            self.session(self.busy, "Ended", 10, "Ticket" if i % 4 == 0 else "None", day=1 + i % 31)
        self.session(self.busy, "Live", 0, None, day=31)

    def session(self, profile: str, status: str, duration: float, outcome: str | None, day: int) -> None:
        name = frappe.get_doc({
            "doctype": "Voice Session", "profile": profile, "status": status, "channel": "Web",
            "duration_sec": duration, "outcome": outcome,
        }).insert(ignore_permissions=True).name
        frappe.db.set_value("Voice Session", name, "creation", datetime(2001, 3, day, 12), update_modified=False)

    def counted(self) -> dict[str | None, dict]:
        """Sessions, completed, their duration and outcomes per profile, counted by SQL."""
        rows = frappe.db.sql(
            """SELECT profile, COUNT(*) AS sessions, SUM(status = 'Ended') AS completed,
                SUM(IF(status = 'Ended', IFNULL(duration_sec, 0), 0)) AS duration,
                SUM(outcome = 'Appointment') AS appointment, SUM(outcome = 'Ticket') AS ticket
            FROM `tabVoice Session` WHERE creation BETWEEN %s AND %s GROUP BY profile""",
            (f"{START} 00:00:00", f"{END} 23:59:59"), as_dict=True)
        return {r.profile: r for r in rows}

    def test_every_figure_matches_the_counted_sessions(self):
        # Frappe's own total row (add_total_row) would come on top of ours, averaging the rates.
        self.assertEqual(frappe.db.get_value("Report", "Voice Agent Analytics", "add_total_row"), 0)
        columns, rows, _, chart, summary = voice_agent_analytics.execute(FILTERS)
        counted = self.counted()
        *per_profile, total = rows
        self.assertEqual({r["profile"] for r in per_profile}, set(counted))
        for row in per_profile:
            expected = counted[row["profile"]]
            self.assertEqual((row["sessions"], row["completed"]), (expected.sessions, expected.completed))
            self.assertEqual(row["completion_rate"], round(100 * expected.completed / expected.sessions, 1))
            self.assertEqual(row["average_duration"], int(expected.duration / expected.completed))
            self.assertEqual((row["appointment"], row["ticket"]), (expected.appointment, expected.ticket))
            self.assertEqual(row["sessions"], sum(row[o] for o in ("appointment", "order", "ticket", "none")))
        self.assertEqual((rows[0]["profile"], rows[0]["completion_rate"]), (self.busy, 97.3))
        self.assertEqual((rows[1]["profile"], rows[1]["completion_rate"]), (self.small, 66.7))
        self.assertEqual(rows[1]["average_duration"], 45)  # (60 + 30.5) / 2, whole seconds

        sessions = sum(c.sessions for c in counted.values())
        completed = sum(c.completed for c in counted.values())
        self.assertEqual((total["profile"], total["is_total_row"]), ("Total", 1))
        self.assertEqual((total["sessions"], total["completed"]), (40, 38))
        self.assertEqual((total["sessions"], total["completed"]), (sessions, completed))
        self.assertEqual(total["completion_rate"], 95.0)  # 38 / 40, not the mean of 97.3 and 66.7
        self.assertEqual(total["average_duration"], int(sum(c.duration for c in counted.values()) / completed))
        self.assertEqual(total["average_duration"], 11)  # (60 + 30.5 + 36 x 10) / 38 = 11.9 s

        figures = {s["label"]: s for s in summary}
        self.assertEqual(figures["Sessions"]["value"], total["sessions"])
        self.assertEqual(figures["Completion Rate"]["value"], total["completion_rate"])
        self.assertEqual(figures["Average Duration"]["value"], total["average_duration"])
        rate_column = next(c for c in columns if c["fieldname"] == "completion_rate")
        self.assertEqual((rate_column["fieldtype"], rate_column["precision"]), ("Percent", 1))
        self.assertEqual(figures["Completion Rate"]["datatype"], "Percent")

        self.assertEqual(sum(chart["data"]["datasets"][0]["values"]), sessions)
        self.assertEqual(len(chart["data"]["labels"]), 5)  # March 2001 in weeks from Monday 26 February

    def test_the_api_gives_the_same_figures(self):
        data = analytics.get_voice_analytics("custom", str(START), str(END))
        _, rows, *_ = voice_agent_analytics.execute(FILTERS)
        total = rows[-1]
        self.assertEqual((data["sessions"], data["completed"], data["completion_rate"]),
                         (total["sessions"], total["completed"], total["completion_rate"]))
        self.assertAlmostEqual(data["average_duration_sec"], 11.9)
        self.assertEqual(sum(data["sessions_per_day"].values()), 40)

    def test_one_profile_and_an_empty_period(self):
        _, rows, _, _, summary = voice_agent_analytics.execute({**FILTERS, "profile": self.small})
        self.assertEqual([(r["profile"], r["sessions"], r["completion_rate"]) for r in rows],
                         [(self.small, 3, 66.7), ("Total", 3, 66.7)])
        _, rows, _, chart, summary = voice_agent_analytics.execute({"from_date": "2001-05-01", "to_date": "2001-05-07"})
        self.assertEqual(rows, [])
        self.assertEqual(summary[1]["value"], 0.0)
        self.assertEqual(len(chart["data"]["labels"]), 7)
