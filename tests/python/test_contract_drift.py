"""The call states, end reasons and roles are defined once (contracts/call-states.json and the enums of
contracts/sidecar-http.schema.json); everything that lists them again must list exactly them: the
doctypes' Select options (a value Frappe does not know is refused, and the sidecar's event ends in its
outbox's dead letters), the raw desk scripts, the report filter."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from voice_agent.contracts import load

ROOT = Path(__file__).resolve().parents[2]
DOCTYPES = ROOT / "voice_agent" / "voice_agent" / "doctype"
MACHINE = load("call-states.json")
STATES = list(MACHINE["states"])
HTTP = load("sidecar-http.schema.json")["$defs"]


def select_options(doctype: str, fieldname: str) -> list[str]:
    meta = json.loads((DOCTYPES / doctype / f"{doctype}.json").read_text())
    field = next(f for f in meta["fields"] if f["fieldname"] == fieldname)
    return field["options"].split("\n")


def test_schema_enums_are_the_state_machine():
    assert HTTP["CallState"]["enum"] == STATES
    assert HTTP["EndReason"]["enum"] == MACHINE["endReasons"]


def test_voice_call_select_options_are_the_contract():
    assert select_options("voice_call", "state") == STATES
    assert select_options("voice_call", "end_reason") == ["", *MACHINE["endReasons"]]
    assert select_options("voice_call_participant", "role") == HTTP["Role"]["enum"]


def test_list_view_colours_every_state():
    script = (DOCTYPES / "voice_call" / "voice_call_list.js").read_text()
    block = re.search(r"VOICE_CALL_STATE_COLORS = \{(.*?)\};", script, re.S)
    assert block, "voice_call_list.js has no VOICE_CALL_STATE_COLORS"
    assert re.findall(r"^\s*(\w+):", block.group(1), re.M) == STATES


def test_supervisors_can_join_exactly_the_live_states():
    script = (ROOT / "voice_agent" / "public" / "js" / "voice_call_supervise.js").read_text()
    live = json.loads(re.search(r"const LIVE = (\[.*?\]);", script).group(1))
    expected = [s for s, spec in MACHINE["states"].items() if not spec["terminal"] and s != MACHINE["initial"]]
    assert live == expected


def test_report_channel_filter_offers_the_voice_call_channels():
    script = (DOCTYPES.parent / "report" / "voice_agent_activity" / "voice_agent_activity.js").read_text()
    offered = json.loads(re.search(r'fieldname: "channel".*?options: (\[.*?\])', script, re.S).group(1))
    assert offered == ["", *select_options("voice_call", "channel")]



def test_typescript_declarations_are_generated_from_the_schemas():
    result = subprocess.run([sys.executable, str(ROOT / "contracts" / "codegen.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
