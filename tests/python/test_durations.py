"""One rounding rule for durations on both sides: voice_agent/calling/display.py here, and
frontend/shared/duration.ts against the same cases (contracts/vectors/durations.json)."""

import json
import math
import re
from pathlib import Path

import pytest

from voice_agent.calling.display import format_duration, whole_seconds
from voice_agent.contracts import load

ROOT = Path(__file__).resolve().parents[2]
CASES = load("vectors/durations.json")["cases"]


@pytest.mark.parametrize("case", CASES, ids=[str(c["seconds"]) for c in CASES])
def test_every_shared_case(case):
    assert whole_seconds(case["seconds"]) == case["wholeSeconds"]
    assert format_duration(case["seconds"]) == case["text"]


def test_a_call_of_38_6_seconds_shows_what_the_clock_showed():
    """The form said "38s" and the timeline "0:39" for the same call: both are 0:38 now."""
    assert format_duration(38.6) == "0:38"


def test_what_is_not_a_duration_counts_zero():
    assert format_duration(math.nan) == "0:00"
    assert format_duration(math.inf) == "0:00"


def test_the_desk_shows_every_duration_of_a_voice_call_as_m_ss():
    """The form (call_durations.js) and the list (voice_call_list.js) format exactly the Duration fields."""
    doctype = ROOT / "voice_agent" / "voice_agent" / "doctype" / "voice_call"
    fields = [f["fieldname"] for f in json.loads((doctype / "voice_call.json").read_text())["fields"]
              if f["fieldtype"] == "Duration"]
    script = (ROOT / "voice_agent" / "public" / "js" / "call_durations.js").read_text()
    assert json.loads(re.search(r"CALL_DURATION_FIELDS = (\[.*?\]);", script).group(1)) == fields
    listed = re.findall(r"^\s*(\w+): \(value\) => voice_agent\.format_call_duration\(value\),$",
                        (doctype / "voice_call_list.js").read_text(), re.M)
    assert listed == fields
