"""Benchmark (not a test): tool endpoint p95 and webhook acknowledgement p95 on a real site, each
beside Frappe's bare `frappe.auth.get_logged_user` measured in the same run.

    VA_SITE_URL=http://site.localhost:8001 VA_BENCH_SERVER="gunicorn -w 2 --preload" \
        .venv/bin/python -m tests.bench.frappe_endpoints [--requests 300]
    (VA_SITE_URL defaults to http://127.0.0.1:8000; the fake Ultravox runs in-process. Point it at
    the site's gunicorn, not at `bench serve`, whose file watcher skews the figures.)

Writes docs/benchmarks/frappe.json and prints a table. Targets: tool p95 <= 100 ms, webhook ack
p95 <= 50 ms, each <= 2x the bare call's p95.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import requests

from tests.bench.site_setup import PROFILE, SITE, WEBHOOK_SECRET, admin_session, configure
from tests.fakes.ultravox import FakeUltravox, signed_webhook_headers
from voice_agent.integrations.ultravox.tools import TOOL_SECRET_HEADER

ROOT = Path(__file__).resolve().parents[2]
METHOD = f"{SITE}/api/method"
TARGETS = {"tool_endpoint": 100.0, "webhook_ack": 50.0}


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def timed(fn, n: int) -> list[float]:
    samples = []
    for i in range(n):
        t0 = time.perf_counter()
        r = fn(i)
        samples.append((time.perf_counter() - t0) * 1000)
        if r.status_code != 200:
            raise RuntimeError(f"{r.request.url}: {r.status_code} {r.text[:300]}")
    return samples


def summary(samples: list[float]) -> dict[str, float]:
    return {"n": len(samples), "p50_ms": round(statistics.median(samples), 1), "p95_ms": round(percentile(samples, 95), 1),
            "p99_ms": round(percentile(samples, 99), 1), "mean_ms": round(statistics.fmean(samples), 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args()
    n = args.requests
    with FakeUltravox(ws_port=None, api_key="bench-key") as fake:
        admin = admin_session()
        configure(admin, fake.base_url, "bench-key")
        r = requests.post(f"{METHOD}/voice_agent.api.voice_processor.create_session", json={"profile": PROFILE},
                          headers={"Origin": SITE}, timeout=30)
        if r.status_code != 200:
            raise SystemExit(f"create_session failed: {r.status_code} {r.text[:500]}")
        started = r.json()["message"]
        call = fake.state.calls[started["join_url"].rsplit("/", 1)[-1]]
        secret = next(p["value"] for p in call["selectedTools"][0]["temporaryTool"]["staticParameters"]
                      if p["location"] == "PARAMETER_LOCATION_HEADER")
        tool = requests.Session()
        tool.headers.update({TOOL_SECRET_HEADER: secret})
        hook = requests.Session()
        run = uuid.uuid4().hex[:8]

        def bare(i):
            return admin.get(f"{METHOD}/frappe.auth.get_logged_user", timeout=30)

        def ticket(i):
            return tool.post(f"{METHOD}/voice_agent.api.business_logic.create_support_ticket", json={
                "voice_session": started["session_id"], "customer_name": "Bench Caller",
                "subject": f"Bench {run} {i}", "description": "Benchmark ticket."}, timeout=30)

        def ticket_replay(i):
            return tool.post(f"{METHOD}/voice_agent.api.business_logic.create_support_ticket", json={
                "voice_session": started["session_id"], "customer_name": "Bench Caller",
                "subject": f"Bench {run} {i}", "description": "Benchmark ticket."}, timeout=30)

        def rest_issue(i):
            return admin.post(f"{SITE}/api/resource/Issue", json={
                "subject": f"Bench REST {run} {i}", "description": "Benchmark ticket."}, timeout=30)

        def webhook(i):
            raw = json.dumps({"event": "call.started", "call": {"callId": f"bench-{run}-{i}"}}).encode()
            return hook.post(f"{METHOD}/voice_agent.api.webhook_handlers.ultravox_webhook", data=raw,
                             headers=signed_webhook_headers(WEBHOOK_SECRET, raw), timeout=30)

        for fn in (bare, webhook):
            timed(fn, args.warmup)
        results = {
            "bare_get_logged_user": summary(timed(bare, n)),
            "tool_endpoint": summary(timed(ticket, n)),
            "tool_endpoint_replay": summary(timed(ticket_replay, n)),
            "frappe_rest_insert_issue": summary(timed(rest_issue, n)),
            "webhook_ack": summary(timed(webhook, n)),
        }
        results["bare_get_logged_user_after"] = summary(timed(bare, n))
    bare_p95 = max(results["bare_get_logged_user"]["p95_ms"], results["bare_get_logged_user_after"]["p95_ms"])
    verdicts = {}
    for key, target in TARGETS.items():
        p95 = results[key]["p95_ms"]
        verdicts[key] = {"p95_ms": p95, "target_ms": target, "ratio_to_bare": round(p95 / bare_p95, 2),
                         "meets_target": p95 <= target, "within_2x_bare": p95 <= 2 * bare_p95}
    issue_p95 = results["frappe_rest_insert_issue"]["p95_ms"]
    verdicts["tool_endpoint"]["ratio_to_frappe_rest_insert"] = round(results["tool_endpoint"]["p95_ms"] / issue_p95, 2)
    report = {
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "site": SITE, "requests_each": n, "sequential": True,
        "server": os.environ.get("VA_BENCH_SERVER", "bench serve (werkzeug dev server)"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "what": {
            "bare_get_logged_user": "GET frappe.auth.get_logged_user as Administrator (before and after the others)",
            "tool_endpoint": "POST create_support_ticket with the session secret, a new Issue each time",
            "tool_endpoint_replay": "the same calls repeated: idempotent replay, no new document",
            "frappe_rest_insert_issue": "POST /api/resource/Issue as Administrator: Frappe's own insert of the same document",
            "webhook_ack": "signed call.started (distinct calls): verify, store raw, enqueue, 200",
        },
        "results": results, "verdicts": verdicts,
    }
    out = ROOT / "docs" / "benchmarks" / "frappe.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"{'endpoint':28} {'p50':>8} {'p95':>8} {'p99':>8}  (ms, {n} sequential requests each, {SITE})")
    for key, r in results.items():
        print(f"{key:28} {r['p50_ms']:8.1f} {r['p95_ms']:8.1f} {r['p99_ms']:8.1f}")
    for key, v in verdicts.items():
        print(f"{key}: p95 {v['p95_ms']} ms, target {v['target_ms']} ms -> {'OK' if v['meets_target'] else 'MISSED'}; "
              f"{v['ratio_to_bare']}x bare -> {'OK' if v['within_2x_bare'] else 'MISSED'}")
    print(f"tool_endpoint: {verdicts['tool_endpoint']['ratio_to_frappe_rest_insert']}x Frappe's own REST insert of an Issue")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
