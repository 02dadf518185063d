"""Benchmark (not a test): Frappe's work per call-minute for the sidecar's reports, on a real site.

A connected two-party call reports to Frappe what the sidecar sends while it lasts (figures from the
sidecar's own measurement, mediasoup-sidecar/test/report-rate.test.ts): since quality reaches Frappe as
per-call summaries, 1 POST with 1 `quality.summary` event per minute; before, 12 POSTs carrying 24
`quality.sample` events (one per participant and direction every 10 s, two per outbox flush). This
script replays one shape for a few minutes against report_call_event as the Voice Sidecar API user and
counts the requests and the rows MariaDB wrote for them (Handler_write + Handler_update +
Handler_delete of the server, on an otherwise idle site).

    VA_SITE_URL=http://127.0.0.1:8000 VA_DB=<db name> .venv/bin/python -m tests.bench.call_event_cost \\
        --shape summary [--minutes 3]      # the code of this commit
    ... --shape sample                     # the code before, for the comparison (its contract)

Merges its figures into docs/benchmarks/call-events.json under the shape's name.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import requests

from tests.bench.site_setup import SITE, admin_session

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "benchmarks" / "call-events.json"
METHOD = f"{SITE}/api/method/voice_agent.api.calls.report_call_event"
SIDECAR_USER = "bench-sidecar@example.com"
AGENT = "Administrator"
# Per connected minute: (POSTs, events per POST).
SHAPES = {"summary": (1, 1), "sample": (12, 2)}


def handler_rows() -> int:
    out = subprocess.run(
        ["mysql", "-uroot", f"-p{os.environ.get('VA_DB_ROOT_PASSWORD', 'rootpw')}", "-N", "-e",
         "SHOW GLOBAL STATUS WHERE Variable_name IN ('Handler_write','Handler_update','Handler_delete')"],
        capture_output=True, text=True, check=True).stdout
    return sum(int(line.split()[1]) for line in out.strip().splitlines())


def sidecar_session(admin: requests.Session) -> requests.Session:
    if not admin.get(f"{SITE}/api/resource/User/{SIDECAR_USER}").ok:
        admin.post(f"{SITE}/api/resource/User", json={
            "email": SIDECAR_USER, "first_name": "Bench Sidecar", "send_welcome_email": 0,
            "roles": [{"role": "Voice Sidecar"}]}).raise_for_status()
    keys = admin.post(f"{SITE}/api/method/frappe.core.doctype.user.user.generate_keys",
                      json={"user": SIDECAR_USER}).json()["message"]
    key = admin.get(f"{SITE}/api/resource/User/{SIDECAR_USER}").json()["data"]["api_key"]
    session = requests.Session()
    session.headers["Authorization"] = f"token {key}:{keys['api_secret']}"
    return session


def connected_call(admin: requests.Session) -> str:
    """A Voice Call as the sidecar leaves it once two parties talk: states and participants applied."""
    lead = admin.post(f"{SITE}/api/resource/Lead", json={"first_name": "Bench", "lead_name": "Bench Caller"}).json()
    now = datetime.now(timezone.utc).isoformat()
    call = admin.post(f"{SITE}/api/resource/Voice Call", json={
        "channel": "Browser", "direction": "Outbound", "agent": AGENT, "reference_doctype": "Lead",
        "reference_name": lead["data"]["name"], "state": "created", "started_at": now[:19].replace("T", " ")},
    ).json()["data"]["name"]
    return call


def event(call: str, sequence: int, type_: str, payload: dict) -> dict:
    return {"eventId": str(uuid.uuid4()), "callId": call, "sequence": sequence, "sidecarId": "bench",
            "occurredAt": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"), "type": type_,
            "payload": payload}


def quality(shape: str, participant: str, direction: str, samples: int) -> tuple[str, dict]:
    if shape == "summary":
        return "quality.summary", {"samples": samples, "packetLossPct": 0.4, "jitterMs": 3.1, "rttMs": 42.0,
                                   "bitrateKbps": 31.0, "final": False}
    return "quality.sample", {"participantId": participant, "role": "agent", "direction": direction,
                              "packetLossPct": 0.4, "jitterMs": 3.1, "rttMs": 42.0, "bitrateKbps": 31.0,
                              "packets": 500}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shape", choices=SHAPES, required=True)
    parser.add_argument("--minutes", type=int, default=3)
    args = parser.parse_args()
    admin = admin_session()
    sidecar = sidecar_session(admin)
    call = connected_call(admin)
    sequence = 0

    def post(events: list[dict]) -> float:
        started = time.perf_counter()
        response = sidecar.post(METHOD, json={"events": events}, timeout=30)
        if not response.ok:
            raise RuntimeError(f"report_call_event answered {response.status_code}: {response.text[:500]}")
        return (time.perf_counter() - started) * 1000

    setup = [("participant.joined", {"participantId": AGENT, "role": "agent"}),
             ("call.state_changed", {"from": "created", "to": "ringing"}),
             ("participant.joined", {"participantId": "INV-bench", "role": "customer"}),
             ("call.state_changed", {"from": "ringing", "to": "connecting"}),
             ("call.state_changed", {"from": "connecting", "to": "connected"})]
    for type_, payload in setup:
        sequence += 1
        post([event(call, sequence, type_, payload)])

    posts_per_minute, events_per_post = SHAPES[args.shape]
    before = handler_rows()
    timings = []
    samples = 0
    for _ in range(args.minutes):
        for _ in range(posts_per_minute):
            batch = []
            for n in range(events_per_post):
                sequence += 1
                samples += 1
                type_, payload = quality(args.shape, AGENT if n % 2 == 0 else "INV-bench",
                                         "inbound" if n % 2 == 0 else "outbound", samples)
                batch.append(event(call, sequence, type_, payload))
            timings.append(post(batch))
    rows = handler_rows() - before
    figures = {
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "minutes": args.minutes,
        "requests_per_minute": posts_per_minute,
        "events_per_minute": posts_per_minute * events_per_post,
        "rows_written_per_minute": round(rows / args.minutes, 1),
        "frappe_ms_per_minute": round(sum(timings) / args.minutes, 1),
        "request_ms_p50": round(sorted(timings)[len(timings) // 2], 1),
    }
    data = json.loads(OUT.read_text()) if OUT.is_file() else {}
    data[args.shape] = figures
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(data, indent=2) + "\n")
    print(json.dumps({args.shape: figures}, indent=2))


if __name__ == "__main__":
    main()
