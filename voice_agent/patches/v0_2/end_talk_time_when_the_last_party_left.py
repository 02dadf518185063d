"""Talk time used to run until the call server closed the empty room (SIDECAR_EMPTY_ROOM_TIMEOUT_SEC
after the last party left); the durations now end when the last party left. Recompute those of the
ended calls whose parties had all left before the end."""

import frappe

from voice_agent.calling import states
from voice_agent.calling.metrics import PARTY_ROLES, durations


def execute() -> None:
    rows = frappe.db.sql(
        """SELECT vc.name, vc.started_at, vc.connected_at, vc.ended_at, MAX(party.left_at) AS everyone_left
        FROM `tabVoice Call` vc
        JOIN `tabVoice Call Participant` party
            ON party.parent = vc.name AND party.parenttype = 'Voice Call' AND party.role IN %(roles)s
        WHERE vc.state NOT IN %(live)s AND vc.ended_at IS NOT NULL
        GROUP BY vc.name, vc.started_at, vc.connected_at, vc.ended_at
        HAVING SUM(party.left_at IS NULL) = 0 AND MAX(party.left_at) < vc.ended_at""",
        {"roles": tuple(PARTY_ROLES), "live": tuple(states.live_states())},
        as_dict=True,
    )
    for row in rows:
        result = durations(row.started_at, row.connected_at, row.ended_at, everyone_left=row.everyone_left)
        frappe.db.set_value(
            "Voice Call",
            row.name,
            {"ring_duration": result.ring, "talk_duration": result.talk, "total_duration": result.total},
            update_modified=False,
        )
