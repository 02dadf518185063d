"""WhatsApp bot benchmark (not a test; CI has no Frappe): a customer's message in, the bot's reply out, on a
real Frappe + ERPNext site, against the loopback fakes of Meta's Graph API (tests/fakes/whatsapp) and of an
OpenAI-compatible model (tests/fakes/llm) answering every request in a fixed time.

    .venv/bin/python -m tests.bench.whatsapp_bot latency [--messages 60 --customers 10 --extra-workers 1]
        one message at a time: webhook POST -> reply at Graph, with where the time went
    .venv/bin/python -m tests.bench.whatsapp_bot concurrent [--customers 50 --seconds 60 --extra-workers 8 --warm]
        50 customers at once, each writing, waiting for the reply, thinking, writing again; crossed, lost,
        duplicated replies and the latency under that load
    .venv/bin/python -m tests.bench.whatsapp_bot profile [--turns 20]
        the bot's job in the bench's Python under cProfile (no worker, no queue), and a job's start
    --preload app    the extra workers are the app's `bench voice-agent-worker` (voice_agent/commands.py)
    --preload-extra  modules those workers import as well; --preload jobs|turn: experiments (preload_modules)
    .venv/bin/python -m tests.bench.whatsapp_bot cleanup     # what a run made goes (also at each end)
    .venv/bin/python -m tests.bench.write_bot_md              # the docs/benchmarks.md section

Each command merges its figures into docs/benchmarks/bot.json (section = the command, or --section), with
the date, the load average and the set-up (web and RQ workers). Run each on a quiet machine.

It uses the messaging benchmark's account ("WA Bench", tests/bench/whatsapp_messaging.py) with its bot on a
profile of its own ("WA Bench Bot", the voice agent's three tools) whose chat provider ("WA Bench Bot LLM")
is the fake model; customers on +1 415 555 8xxx named "WA Bench Bot ...". The bench-side part
(tests/bench/whatsapp_bot_site.py) sets these up with developer mode on in its own process only (Frappe
refuses another Graph address otherwise), so the site's configuration is not touched, and removes all of
it at the end, with what the run wrote (counts before and after are in the JSON).

How each figure is measured (all clocks are this machine's, in epoch seconds):
- t0: just before the signed webhook POST is sent; t1: the Graph fake has read the bot's
  `POST /{phone}/messages` (its handler's first line, after the request is read).
- model time: for each request the fake model got for this turn (its last user message carries the
  customer message's reference), from the fake's handler having read the request to its answer being ready
  (the fixed latency, plus the fake's own checks); summed over the turn's rounds.
- Graph time: the Graph fake's handling time of the typing indicator (`mark_read` of the customer's
  message, made before the model is asked), from its handler's first line to its answer being ready; the
  reply's own send counts nothing (t1 is its arrival). The loopback (connect, write, read) is ours.
- our overhead: t1 - t0 - model time - Graph time.
- per message, from RQ's registries (bench side, right after the run) and the rows: when the webhook's drain
  job and the bot's job were queued, started and ended, and when the inbound row was created; so the
  total splits into acknowledgement, the drain job's queue wait and start, storing, the bot job's queue
  wait, the job's start (fork, frappe.init/connect, imports) up to the typing indicator, the model, and
  storing the reply up to the send.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

os.environ.setdefault("VA_SITE_URL", "http://site1.localhost:8000")

import requests  # noqa: E402

from tests.bench.site_setup import SITE  # noqa: E402
from tests.bench.whatsapp_messaging import (  # noqa: E402
    ACCOUNT,
    APP_SECRET,
    BENCH,
    BENCH_USER,
    PHONE_NUMBER_ID,
    TOKEN,
    WABA_ID,
    CpuSampler,
    fake_graph,
    load_average,
    number,
    post,
    quiet_check,
    set_up,
    site,
    stop_extra_workers,
    summary,
    thin,
    webhook_body,
)
from tests.fakes.llm import FakeLLM, Respond, echo  # noqa: E402
from tests.fakes.whatsapp import FakeWhatsApp  # noqa: E402
from tests.fakes.whatsapp import webhooks as wh  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "benchmarks" / "bot.json"
FULL = Path(os.environ.get("VA_BOT_BENCH_FULL", "/tmp/bot-bench.full.json"))
SITE_SCRIPT = "whatsapp_bot_site.py"
BOT_JOB = "voice_agent.conversations.bot.answer_conversations"
TARGETS = {"reply_p95_ms": 2000.0, "overhead_p95_ms": 300.0, "model_latency_ms": 700.0}
# Customers +1 415 555 8000 + i (the messaging benchmark's number(1000 + i)); their Leads are named so that
# its cleanup knows them ("WA Bench ...").
FIRST_CUSTOMER = 1000
QUESTIONS = (
    "Hi! Do you have a table for two tonight?",
    "What time do you open on Sunday?",
    "Can I order a margherita pizza for pickup?",
    "Is the lemonade homemade?",
    "Do you have vegan options on the menu?",
    "How long does a delivery to the station take?",
)
REF = re.compile(r"\bR([0-9a-f]{6})c(\d{3})m(\d{3})\b")


def bot_site(command: str, args: dict[str, Any] | None = None, timeout: float = 1800) -> Any:
    return site(command, args, timeout=timeout, script=SITE_SCRIPT)


# An RQ worker as the bench runs it, named so that the jobs show which worker ran them (`plain-`), or with
# modules imported before it forks its first job (`preload-`: VA_PRELOAD; the experiment of --preload jobs and
# turn), or the app's own `bench voice-agent-worker` (`app-`: voice_agent/commands.py, which imports its
# PRELOAD first; --preload app).
WORKER = """
import importlib, os, sys, uuid
from frappe.utils import background_jobs
from frappe.utils import bench_helper
modules = [m for m in os.environ.get("VA_PRELOAD", "").split(",") if m]
for module in modules:
    importlib.import_module(module)
prefix = os.environ.get("VA_WORKER_PREFIX") or ("preload-" if modules else "plain-")
class NamedWorker(background_jobs.Worker):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("name", prefix + uuid.uuid4().hex[:12])
        super().__init__(*args, **kwargs)
background_jobs.Worker = NamedWorker
sys.argv = sys.argv[1:]
bench_helper.main()
"""
# What a bot turn and a webhook drain import that `bench worker` has not (tests/bench/whatsapp_bot.py profile).
PRELOAD = ("voice_agent.conversations.bot", "voice_agent.integrations.whatsapp.webhook",
           "frappe.email.doctype.notification.notification")
WORKER_KINDS = ("plain", "preload", "app")


def preload_modules(level: str | None) -> tuple[str, ...]:
    """`jobs`: PRELOAD; `turn`: also every module a cold bot turn imported in `profile` (bot.json), which is
    what Frappe and ERPNext import on a job's first document save, query and password; `app`: none here (the
    app's worker command imports its own list)."""
    if not level or level == "app":
        return ()
    if level == "jobs":
        return PRELOAD
    report = json.loads(OUT.read_text()) if OUT.exists() else {}
    lazy = (report.get("profile") or {}).get("cold_turn_imports")
    if not lazy:
        raise SystemExit("--preload turn needs the modules a cold turn imports: run `profile` first")
    return (*PRELOAD, *(m for m in lazy if not m.startswith("_")))


def extra_modules(args: argparse.Namespace) -> tuple[str, ...]:
    return tuple(m for m in (getattr(args, "preload_extra", None) or "").split(",") if m)


def start_workers(n: int, preload: tuple[str, ...] = (), app: bool = False) -> list[subprocess.Popen]:
    """`n` RQ workers for short, default and long besides the bench's own (stop them with stop_extra_workers):
    `bench worker`, or with `preload` imported first, or (`app`) the app's `bench voice-agent-worker`."""
    procs = []
    for _ in range(n):
        command = "voice-agent-worker" if app else "worker"
        cmd = [str(BENCH / "env/bin/python"), "-c", WORKER, "bench_helper", "frappe", command, "--queue",
               "short,default,long"]
        env = ["env", f"VA_PRELOAD={','.join(preload)}", f"VA_WORKER_PREFIX={'app-' if app else ''}"]
        if os.geteuid() == 0 and BENCH_USER != "root":
            cmd = ["runuser", "-u", BENCH_USER, "--", *env, *cmd]
        else:
            cmd = [*env, *cmd]
        procs.append(subprocess.Popen(cmd, cwd=BENCH / "sites", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      start_new_session=True))
    time.sleep(6 if n else 0)
    return procs


class Sampler(CpuSampler):
    GROUPS = (("bench_helper frappe voice-agent-worker", "rq worker + jobs"), *CpuSampler.GROUPS,
              ("tests.bench.whatsapp_bot", "benchmark"))


# --- the fakes, timed -----------------------------------------------------------------------------------


class GraphTap:
    """Every Graph request the fake handles: arrival (its handler's first line), when its answer was ready,
    path and JSON body; `on_reply` is called for each message send."""

    def __init__(self, fake: FakeWhatsApp, on_reply: Callable[[dict[str, Any]], None]):
        self.log: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        handle = fake.api.handle

        def timed(method: str, path: str, query: Any, headers: Any, raw: bytes) -> Any:
            at = time.time()
            reply = handle(method, path, query, headers, raw)
            done = time.time()
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            record = {"at": at, "done": done, "method": method, "path": path, "body": body,
                      "status": getattr(reply, "status", None)}
            with self.lock:
                self.log.append(record)
            if method == "POST" and path.endswith("/messages") and isinstance(body, dict) and body.get("to"):
                on_reply(record)
            return reply

        fake.api.handle = timed

    def sends(self) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.log if r["method"] == "POST" and r["path"].endswith("/messages")
                    and isinstance(r["body"], dict) and r["body"].get("to")]

    def read_receipts(self) -> dict[str, dict[str, Any]]:
        """mark_read requests by the wamid they mark (the bot's typing indicator)."""
        with self.lock:
            return {r["body"]["message_id"]: r for r in self.log if isinstance(r["body"], dict)
                    and r["body"].get("status") == "read" and r["body"].get("message_id")}


class LLMTap:
    """Every request the fake model answers: arrival, answer ready, the last user message and the number
    of messages and tools sent."""

    def __init__(self, fake: FakeLLM):
        self.log: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        serve = fake._serve

        def timed(method: str, path: str, query: Any, headers: Any, raw: bytes) -> Any:
            at = time.time()
            answer = serve(method, path, query, headers, raw)
            done = time.time()
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                body = {}
            messages = body.get("messages") or []
            users = [m.get("content") for m in messages if m.get("role") == "user"]
            last = users[-1] if users else ""
            if isinstance(last, list):
                last = " ".join(part.get("text", "") for part in last if isinstance(part, dict))
            with self.lock:
                self.log.append({"at": at, "done": done, "path": path, "last_user": last or "",
                                 "messages": len(messages), "tools": len(body.get("tools") or []),
                                 "status": getattr(answer, "status", None), "request_bytes": len(raw)})
            return answer

        fake._serve = timed

    def requests(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.log)


def start_llm(latency_ms: float) -> tuple[FakeLLM, LLMTap]:
    fake = FakeLLM(latency_ms=latency_ms, default=Respond(echo))
    tap = LLMTap(fake)
    return fake.start(), tap


# --- customers ------------------------------------------------------------------------------------------


class Customers:
    """The benchmark's customers and what each wrote: a reference in every message (R<run>c<customer>m<seq>)
    that the fake model's echo carries into the reply."""

    def __init__(self, run: str, count: int, first: int = FIRST_CUSTOMER):
        self.run = run
        self.numbers = [number(first + i) for i in range(count)]
        self.names = {n: f"WA Bench Bot {n[-4:]}" for n in self.numbers}
        self.sent: list[dict[str, Any]] = []
        self.waiting: dict[str, threading.Event] = {}
        self.written: set[int] = set()
        self.lock = threading.Lock()

    def ref(self, customer: int, seq: int) -> str:
        return f"R{self.run}c{customer:03d}m{seq:03d}"

    def write(self, http: requests.Session, customer: int, seq: int) -> dict[str, Any]:
        ref = self.ref(customer, seq)
        wa_id = self.numbers[customer]
        text = f"{QUESTIONS[(customer + seq) % len(QUESTIONS)]} ({ref})"
        wamid = f"wamid.botbench-{ref}"
        raw = webhook_body([wh.text(wa_id, text, wamid=wamid)], self.names)
        event = threading.Event()
        with self.lock:
            self.waiting[ref] = event
        with self.lock:
            first = customer not in self.written
            self.written.add(customer)
        record = {"customer": customer, "seq": seq, "ref": ref, "wa_id": wa_id, "wamid": wamid, "first_contact": first,
                  "t0": time.time()}
        t = time.perf_counter()
        try:
            r = post(http, raw)
            record["ack_ms"] = (time.perf_counter() - t) * 1000
            record["ack"] = r.json()["message"]["status"] if r.status_code == 200 else f"HTTP {r.status_code}"
        except requests.RequestException as exc:
            record["ack_ms"], record["ack"] = (time.perf_counter() - t) * 1000, type(exc).__name__
        if record["ack"] not in ("accepted", "duplicate"):
            print(f"webhook for {ref} refused: {record['ack']}")
        with self.lock:
            self.sent.append(record)
        return record

    def on_reply(self, send: dict[str, Any]) -> None:
        text = ((send["body"].get("text") or {}).get("body") or
                ((send["body"].get("interactive") or {}).get("body") or {}).get("text") or "")
        with self.lock:
            for match in REF.finditer(text):
                event = self.waiting.get(match.group(0))
                if event is not None:
                    event.set()

    def wait(self, ref: str, timeout: float) -> bool:
        with self.lock:
            event = self.waiting[ref]
        return event.wait(timeout)


# --- analysis -------------------------------------------------------------------------------------------


def reply_text(send: dict[str, Any]) -> str:
    body = send["body"]
    return (body.get("text") or {}).get("body") or ((body.get("interactive") or {}).get("body") or {}).get("text") or ""


def analyse(customers: Customers, graph: GraphTap, llm: LLMTap, rows: dict[str, Any],
            reply_timeout: float) -> dict[str, Any]:
    """Per message: its reply, timings and breakdown; and the checks (crossed, lost, duplicated)."""
    first_t0 = min((m["t0"] for m in customers.sent), default=0.0)
    sends = sorted((s for s in graph.sends() if s["at"] >= first_t0), key=lambda s: s["at"])
    receipts = graph.read_receipts()
    llm_requests = llm.requests()
    inbound = {m["wamid"]: m for m in rows["messages"] if m["direction"] == "Inbound"}
    outbound = [m for m in rows["messages"] if m["direction"] == "Outbound"]
    jobs = rows["jobs"]
    events = {w: e for e in rows.get("events", []) for w in e["wamids"]}
    drains = [j for j in jobs if j["method"] == "voice_agent.integrations.whatsapp.webhook.drain"]
    turns = [j for j in jobs if j["method"] == BOT_JOB]
    by_ref: dict[str, list[dict[str, Any]]] = {}
    crossed: list[dict[str, Any]] = []
    sent_by_ref = {m["ref"]: m for m in customers.sent}
    for send in sends:
        text = reply_text(send)
        refs = [m.group(0) for m in REF.finditer(text)]
        to = "".join(ch for ch in send["body"].get("to", "") if ch.isdigit())
        for ref in refs:
            by_ref.setdefault(ref, []).append(send)
        owners = {sent_by_ref[r]["wa_id"] for r in refs if r in sent_by_ref}
        # The reply must answer the latest message its customer had written when it was sent.
        latest = max((m for m in customers.sent if m["wa_id"] == to and m["t0"] <= send["at"]),
                     key=lambda m: m["t0"], default=None)
        if not refs or owners - {to} or (latest is not None and latest["ref"] not in refs):
            crossed.append({"to": to, "text": text[:200], "owners": sorted(owners),
                            "latest": latest["ref"] if latest else None})
    per_message = []
    lost, duplicated, late = [], [], []
    for m in sorted(customers.sent, key=lambda m: m["t0"]):
        replies = by_ref.get(m["ref"], [])
        if len(replies) > 1:
            duplicated.append(m["ref"])
        first = min(replies, key=lambda s: s["at"]) if replies else None
        if first is None:
            lost.append(m["ref"])
            continue
        t0, t1 = m["t0"], first["at"]
        if t1 - t0 > reply_timeout:
            late.append(m["ref"])
        model = [r for r in llm_requests if m["ref"] in r["last_user"] and t0 <= r["at"] <= t1]
        model_ms = sum((r["done"] - r["at"]) * 1000 for r in model)
        typing = receipts.get(m["wamid"])
        graph_ms = (typing["done"] - typing["at"]) * 1000 if typing and t0 <= typing["at"] <= t1 else 0.0
        total_ms = (t1 - t0) * 1000
        row = inbound.get(m["wamid"]) or {}
        stored = row.get("creation")
        conversation = row.get("conversation")
        drain = next((j for j in drains if stored and j["started_at"] and j["started_at"] <= stored
                      and (j["ended_at"] or 1e18) >= stored), None)
        # A job queued for this conversation; else a job that was waiting warm answered it (warm_jobs.py).
        turn = next((j for j in turns if j["kwargs"].get("item") == conversation and j["started_at"]
                     and j["started_at"] <= t1 <= (j["ended_at"] or 1e18)), None)
        entry_turn = "queued" if turn else ("warm" if any(
            j["started_at"] and j["started_at"] <= t0 and t1 <= (j["ended_at"] or 1e18) for j in turns) else "?")
        reply_row = next((o for o in outbound if o["conversation"] == conversation and o["bot_reply"]
                          and m["ref"] in (o["text"] or "")), None)
        entry: dict[str, Any] = {
            "ref": m["ref"], "customer": m["customer"], "seq": m["seq"], "first_contact": m["first_contact"],
            "total_ms": round(total_ms, 1), "model_ms": round(model_ms, 1), "graph_ms": round(graph_ms, 1),
            "overhead_ms": round(total_ms - model_ms - graph_ms, 1), "ack_ms": round(m.get("ack_ms", 0), 1),
            "rounds": len(model), "rounds_stored": reply_row.get("bot_rounds") if reply_row else None,
            "bot_model_ms_stored": reply_row.get("bot_model_ms") if reply_row else None,
            "t0": round(t0, 4), "turn": entry_turn,
        }
        phases: dict[str, float | None] = {}
        if stored:
            phases["post_to_stored_ms"] = (stored - t0) * 1000
        if drain:
            phases["drain_queue_wait_ms"] = max(0.0, (drain["started_at"] - max(drain["enqueued_at"], t0))) * 1000 \
                if drain["enqueued_at"] >= t0 - 0.05 else 0.0
            phases["drain_started_before_post"] = drain["started_at"] < t0
        if turn:
            queued = turn["enqueued_at"]
            phases["stored_to_turn_queued_ms"] = (queued - stored) * 1000 if stored else None
            phases["turn_queue_wait_ms"] = (turn["started_at"] - queued) * 1000
            phases["turn_started_after_post_ms"] = (turn["started_at"] - t0) * 1000
            if typing:
                phases["turn_start_to_typing_ms"] = (typing["at"] - turn["started_at"]) * 1000
            phases["send_to_turn_end_ms"] = ((turn["ended_at"] or t1) - t1) * 1000
            entry["worker"] = turn["worker"]
        if typing and model:
            phases["typing_to_model_ms"] = (model[0]["at"] - typing["at"]) * 1000
        if model:
            phases["model_done_to_send_ms"] = (t1 - model[-1]["done"]) * 1000
            if reply_row:
                phases["model_done_to_reply_row_ms"] = (reply_row["creation"] - model[-1]["done"]) * 1000
                phases["reply_row_to_send_ms"] = (t1 - reply_row["creation"]) * 1000
        event = events.get(m["wamid"])
        if event:
            phases["post_to_event_row_ms"] = (event["creation"] - t0) * 1000
            entry["event_attempts"] = event["attempts"]
        if drain:
            entry["drain_job"] = drain["id"]
            entry["drain_worker"] = drain["worker"]
        entry["phases"] = {k: (round(v, 1) if isinstance(v, float) else v) for k, v in phases.items()}
        per_message.append(entry)
    return {"per_message": per_message, "lost": lost, "duplicated": duplicated, "crossed": crossed,
            "late": late, "sends": len(sends),
            "bot_replies_stored": sum(1 for o in outbound if o["bot_reply"]
                                      and any(ref in (o["text"] or "") for ref in sent_by_ref)),
            "failed_sends": sum(1 for o in outbound if o["status"] == "Failed"),
            "handed_over": [c["name"] for c in rows["conversations"] if c["bot_state"] == "Handed over"],
            "paused": [{"conversation": c["name"], "until": c["bot_paused_until"], "note": c["bot_note"]}
                       for c in rows["conversations"] if c["bot_paused_until"]],
            "error_logs": rows["error_logs"], "lead_score_changes": rows["lead_score_changes"],
            "llm_requests": len(llm_requests), "jobs": {"bot_turns": len(turns), "drains": len(drains)},
            "job_log": [[(j["method"] or "?").rsplit(".", 1)[-1], j["kwargs"].get("item") or "",
                         *(round(j[k], 3) if j[k] else None for k in ("enqueued_at", "started_at", "ended_at")),
                         j["status"], (j["worker"] or "")[:8]] for j in jobs]}


def figures(per_message: list[dict[str, Any]]) -> dict[str, Any]:
    def pick(key: str, rows: list[dict[str, Any]] | None = None) -> dict[str, float]:
        return summary([m[key] for m in (per_message if rows is None else rows)])

    def phase(key: str) -> dict[str, float]:
        return summary([m["phases"][key] for m in per_message if m["phases"].get(key) is not None])

    first = [m for m in per_message if m["first_contact"]]
    returning = [m for m in per_message if not m["first_contact"]]
    return {
        "total": pick("total_ms"), "model": pick("model_ms"), "graph": pick("graph_ms"),
        "overhead": pick("overhead_ms"), "ack": pick("ack_ms"),
        "total_first_contact": pick("total_ms", first), "total_returning": pick("total_ms", returning),
        "overhead_first_contact": pick("overhead_ms", first), "overhead_returning": pick("overhead_ms", returning),
        "rounds": sorted({m["rounds"] for m in per_message}),
        "phases": {key: phase(key) for key in PHASE_KEYS},
        "drain_already_running": sum(1 for m in per_message if m["phases"].get("drain_started_before_post")),
        "by_worker_kind": by_worker_kind(per_message),
        "workers_used": len({m.get("worker") for m in per_message if m.get("worker")}),
    }


def worker_kind(name: str | None) -> str:
    """plain / preload / app: started by the benchmark (see WORKER); bench: the bench's own worker."""
    if not name:
        return "?"
    kind = name.split("-", 1)[0]
    return kind if kind in WORKER_KINDS else "bench"


def by_worker_kind(per_message: list[dict[str, Any]]) -> dict[str, Any]:
    """The figures split by which kind of worker ran the message's drain job and its bot job."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for m in per_message:
        key = f"drain on {worker_kind(m.get('drain_worker'))}, turn on {worker_kind(m.get('worker'))}"
        groups.setdefault(key, []).append(m)
    return {key: {"total": summary([m["total_ms"] for m in rows]), "overhead": summary([m["overhead_ms"] for m in rows]),
                  "ack": summary([m["ack_ms"] for m in rows]),
                  "phases": {phase: summary([m["phases"][phase] for m in rows if is_ms(m["phases"].get(phase))])
                             for phase in PHASE_KEYS}}
            for key, rows in sorted(groups.items())}


PHASE_KEYS = ("post_to_event_row_ms", "drain_queue_wait_ms", "post_to_stored_ms", "stored_to_turn_queued_ms",
              "turn_queue_wait_ms", "turn_start_to_typing_ms", "typing_to_model_ms", "model_done_to_send_ms",
              "model_done_to_reply_row_ms", "reply_row_to_send_ms", "turn_started_after_post_ms", "send_to_turn_end_ms")


def is_ms(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def verdict(fig: dict[str, Any], checks: dict[str, Any]) -> dict[str, Any]:
    p95, over = fig["total"].get("p95_ms"), fig["overhead"].get("p95_ms")
    return {"reply_p95_ms": p95, "target_reply_p95_ms": TARGETS["reply_p95_ms"],
            "reply_meets_target": p95 is not None and p95 <= TARGETS["reply_p95_ms"],
            "overhead_p95_ms": over, "target_overhead_p95_ms": TARGETS["overhead_p95_ms"],
            "overhead_meets_target": over is not None and over <= TARGETS["overhead_p95_ms"],
            "crossed": len(checks["crossed"]), "lost": len(checks["lost"]), "duplicated": len(checks["duplicated"])}


# --- the runs -------------------------------------------------------------------------------------------


def headline(data: dict[str, Any]) -> dict[str, Any]:
    """A run in a few figures, kept when the section is measured again: on a shared machine runs differ."""
    fig = data.get("figures") or {}
    return {"measured_at": data.get("measured_at"), "total": fig.get("total"), "overhead": fig.get("overhead"),
            "bench_commands_during_run": data.get("bench_commands_during_run", [])}


def merge_report(section: str, data: dict[str, Any]) -> None:
    report = json.loads(OUT.read_text()) if OUT.exists() else {}
    previous = report.get(section)
    if isinstance(previous, dict) and previous.get("figures") and data.get("figures"):
        data["earlier_runs"] = [*previous.get("earlier_runs", []), headline(previous)]
    report.setdefault("site", SITE)
    report["targets"] = TARGETS
    report["how_measured"] = MEASURED
    report[section] = data
    OUT.parent.mkdir(parents=True, exist_ok=True)
    full = json.loads(FULL.read_text()) if FULL.exists() else {}
    full.update({k: v for k, v in report.items() if k not in full or k == section or not isinstance(v, dict)})
    FULL.write_text(dump(full, full=True))
    OUT.write_text(dump(report))
    print(f"wrote {OUT.relative_to(ROOT)} [{section}] (every message and job: {FULL.name})")


ROW_LISTS = ("per_message", "job_log", "latency_curve", "sent_per_second")
# Every message and job of these sections stays in bot.json (of the others, their figures); every section's
# full record goes to FULL (VA_BOT_BENCH_FULL), outside the repository.
DETAILED = ("latency",)


def dump(report: dict[str, Any], full: bool = False) -> str:
    """The report as indented JSON with one line per message, job or curve point."""
    rows: dict[str, str] = {}
    shallow = {}
    for name, data in report.items():
        if isinstance(data, dict):
            data = dict(data)
            if not full and name not in DETAILED:
                data.pop("per_message", None)
                data.pop("job_log", None)
            for key in ROW_LISTS:
                if isinstance(data.get(key), list) and data[key]:
                    token = f"@rows{len(rows)}@"
                    rows[token] = "[\n" + ",\n".join(f"    {json.dumps(x, separators=(',', ':'))}"
                                                      for x in data[key]) + "\n  ]"
                    data[key] = token
        shallow[name] = data
    text = json.dumps(shallow, indent=2)
    for token, value in rows.items():
        text = text.replace(f'"{token}"', value)
    return text + "\n"


MEASURED = {
    "t0": "the benchmark's clock just before the signed webhook POST is sent",
    "t1": "the Graph fake's clock when its handler starts on the bot's POST /{phone}/messages (request read)",
    "total": "t1 - t0",
    "model": "per request the fake model answered for the turn (its last user message carries the customer "
             "message's reference, arrival between t0 and t1): from its handler having read the request to the "
             "answer being ready (the fixed latency plus the fake's checks), summed over the rounds",
    "graph": "the Graph fake's handling of the typing indicator (mark_read of the customer's message, sent "
             "before the model is asked), handler start to answer ready; the reply's send counts nothing (t1 is "
             "its arrival); loopback connect/transfer is counted as ours",
    "overhead": "total - model - graph",
    "phases": "RQ's enqueued_at / started_at / ended_at of the webhook drain job and of the bot job "
              "(answer_conversations) from RQ's registries, and the inbound row's creation; started_at is set in "
              "the forked work horse before frappe.init/connect and the job module's import",
    "workers": "per message, the RQ worker that ran its drain job and its bot job: `bench` (the bench's own "
               "`frappe worker`), `plain-…` (started by the benchmark, as `bench worker` runs), `preload-…` (started "
               "by the benchmark with the modules of --preload jobs/turn imported before it forks its jobs), `app-…` "
               "(the app's `bench voice-agent-worker`, voice_agent/commands.py, with --preload-extra imported too)",
    "cpu": "CPU time per process group from /proc between the start and the end of the timed part (a process "
           "and its reaped children); runs before the sampler knew `voice-agent-worker` count those workers and "
           "their jobs under `other: python`",
    "rounds": "model requests per turn (the fake's request log; the reply row's bot_rounds agrees)",
}


def site_state() -> dict[str, Any]:
    """What else shapes the figures: the load, other heavy processes (another test run on the same site takes
    its locks and cores), and developer mode (Frappe then loads every app's hooks afresh in each job)."""
    config = json.loads((BENCH / "sites" / SITE.split("//")[1].split(":")[0] / "site_config.json").read_text())
    procs = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout.splitlines()
    others = [p[:120] for p in procs if any(k in p for k in ("run-tests", "pytest", "vitest", " migrate"))
              and "whatsapp_bot" not in p]
    return {**quiet_check(), "developer_mode": config.get("developer_mode", 0), "other_test_runs": others}


def bench_commands_between(start: float, end: float) -> list[str]:
    """The bench commands others ran on this bench meanwhile (logs/bench.log, UTC): a test run, a migration or
    a change of developer mode during a run shows in its figures."""
    path = BENCH / "logs" / "bench.log"
    if not path.exists():
        return []
    lines = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            at = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").replace(tzinfo=timezone.utc).timestamp()
        except ValueError:
            continue
        if start <= at <= end and " INFO " in line:
            lines.append(line[:160])
    return lines


def wait_quiet(limit: float) -> float:
    """Wait (at most `limit` seconds) until no other test run or migration is going on and the load has
    settled: a Frappe test run on the same site holds locks and cores for minutes. Returns the seconds waited."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        state = site_state()
        if not state["other_test_runs"] and state["load_average"][0] < 1.5:
            break
        time.sleep(10)
    return round(time.monotonic() - t0, 1)


class Run:
    """The common frame of a run: counts, fakes, set-up, extra workers, and at the end rows, cleanup, counts."""

    def __init__(self, args: argparse.Namespace, customers: int):
        self.args = args
        self.waited_for_quiet_s = wait_quiet(getattr(args, "wait_quiet", 0) or 0)
        self.run = uuid.uuid4().hex[:6]
        # The last ones warm up (one message each: every web worker creates a Lead once, and no one meets
        # the bot's 6-replies-a-minute cap).
        self.customers = Customers(self.run, customers + self.args.warmup)
        self.before = site_state()
        self.counts_before = bot_site("counts", {"account": ACCOUNT})
        self.since = time.time()
        self.llm, self.llm_tap = start_llm(args.latency_ms)
        self.graph = fake_graph()
        self.graph_tap = GraphTap(self.graph, self.customers.on_reply)
        self.extra: list[Any] = []

    def __enter__(self) -> Run:
        try:
            self.setup_result = bot_site("setup", {
                "account": ACCOUNT, "phone_number_id": PHONE_NUMBER_ID, "waba_id": WABA_ID,
                "display_phone_number": "+1 555-000-9999", "token": TOKEN, "app_secret": APP_SECRET,
                "graph_base_url": self.graph.base_url, "llm_base_url": self.llm.openai_base_url,
                "llm_key": self.llm.openai_key, "bot": getattr(self.args, "bot_on", True)})
            level = getattr(self.args, "preload", None)
            preload = (*preload_modules(level), *extra_modules(self.args))
            self.extra = start_workers(self.args.extra_workers, preload, app=level == "app")
            setup = set_up()
            if level == "app":  # `voice-agent-worker` is not `frappe worker`: set_up() does not count them
                setup["rq_workers"] += self.args.extra_workers
                setup["rq_worker_queues"] += ["short,default,long (voice-agent-worker)"] * self.args.extra_workers
            self.setup = {**setup, "extra_rq_workers_started_by_benchmark": self.args.extra_workers,
                          "extra_workers_preload": list(preload[:len(PRELOAD)]),
                          "extra_workers_preloaded_modules": len(preload), "preload": level,
                          "preload_extra": list(extra_modules(self.args))}
            print(f"set-up: {self.setup}")
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def warm_up(self, http: requests.Session) -> None:
        """`--warmup` customers of their own (the last numbers) write once each first, not counted: the first
        requests and jobs after a restart pay for cold caches and imports."""
        warm = range(len(self.customers.numbers) - self.args.warmup, len(self.customers.numbers))
        for customer in warm:
            m = self.customers.write(http, customer, 1)
            if not self.customers.wait(m["ref"], 60):
                raise RuntimeError(f"warm-up: no reply to {m['ref']} in 60 s; are the RQ workers running?")
            time.sleep(self.args.gap)
        self.customers.sent = [m for m in self.customers.sent if m["customer"] not in warm]

    def finish(self, wait_s: float = 60) -> dict[str, Any]:
        """Wait for the queue to settle (bot jobs end after their send), then read the rows and jobs."""
        deadline = time.time() + wait_s
        while time.time() < deadline:
            jobs = bot_site("rows", {"account": ACCOUNT, "since": self.since})
            busy = [j for j in jobs["jobs"] if j["status"] in ("queued", "started") and j["method"] in (
                BOT_JOB, "voice_agent.integrations.whatsapp.webhook.drain")]
            if not busy:
                return jobs
            time.sleep(2)
        return jobs

    def __exit__(self, *exc: Any) -> None:
        stop_extra_workers(self.extra)
        self.graph.stop()
        self.llm.stop()
        self.cleaned = bot_site("cleanup", {"account": ACCOUNT, "since": self.since})
        self.counts_after = bot_site("counts", {"account": ACCOUNT})
        self.after = site_state()

    def report(self) -> dict[str, Any]:
        return {"set_up": self.setup, "before": self.before, "after": self.after,
                "waited_for_quiet_s": self.waited_for_quiet_s,
                "bench_commands_during_run": bench_commands_between(self.since, time.time()),
                "site_counts": {"before": self.counts_before, "after": self.counts_after, "cleanup": self.cleaned}}


def cmd_latency(args: argparse.Namespace) -> None:
    """One message at a time from `customers` customers in turn (each one's first message is a first contact:
    a Lead is made), the next `gap` seconds after the reply reached Graph."""
    run = Run(args, args.customers)
    with run:
        http = requests.Session()
        run.warm_up(http)
        cpu = Sampler()
        cpu.start()
        start = time.time()
        seqs = [0] * args.customers
        for i in range(args.messages):
            c = i % args.customers
            seqs[c] += 1
            m = run.customers.write(http, c, seqs[c])
            if not run.customers.wait(m["ref"], args.reply_timeout):
                print(f"no reply to {m['ref']} within {args.reply_timeout} s")
            time.sleep(args.gap)
        cpu_used = cpu.stop()
        rows = run.finish()
        checks = analyse(run.customers, run.graph_tap, run.llm_tap, rows, args.reply_timeout)
    fig = figures(checks["per_message"])
    v = verdict(fig, checks)
    merge_report(args.section or "latency", {
        "measured_at": datetime.fromtimestamp(start, timezone.utc).isoformat(timespec="seconds"),
        **run.report(), "parameters": {"messages": args.messages, "customers": args.customers, "gap_s": args.gap,
                                       "model_latency_ms": args.latency_ms, "warmup": args.warmup},
        "figures": fig, "verdict": v, "cpu": cpu_used,
        "checks": {k: checks[k] for k in ("lost", "duplicated", "crossed", "late", "sends", "bot_replies_stored",
                                          "failed_sends", "handed_over", "paused", "lead_score_changes",
                                          "llm_requests", "jobs")},
        "error_logs": checks["error_logs"][:20], "per_message": checks["per_message"],
        "job_log": checks["job_log"],
    })
    print_figures(fig, v, checks)


def cmd_concurrent(args: argparse.Namespace) -> None:
    """`customers` customers at once for `seconds`: each writes, waits for the reply (at most reply_timeout),
    thinks `think` seconds, writes again."""
    run = Run(args, args.customers)
    with run:
        http = requests.Session()
        run.warm_up(http)
        if args.warm:
            # Every customer has written (and been answered) once before the timed minute: the minute measures
            # ongoing conversations, not 50 first contacts (each a new Lead and Contact) in the same second.
            warm_sent = [run.customers.write(http, c, 0) for c in range(args.customers)]
            for m in warm_sent:
                if not run.customers.wait(m["ref"], 120):
                    raise RuntimeError(f"warm: no reply to {m['ref']} in 120 s")
            run.customers.sent = [m for m in run.customers.sent if m["seq"] != 0]
            time.sleep(5)
        rng = random.Random(args.seed)
        offsets = [rng.uniform(0, args.ramp) for _ in range(args.customers)]
        thinks = [[rng.uniform(*args.think) for _ in range(200)] for _ in range(args.customers)]
        start = time.time() + 0.5
        stop_at = start + args.seconds
        waited: list[float] = []
        unanswered: list[str] = []
        lock = threading.Lock()

        def customer(c: int) -> None:
            session = requests.Session()
            time.sleep(max(0.0, start + offsets[c] - time.time()))
            seq = 0
            while time.time() < stop_at:
                seq += 1
                m = run.customers.write(session, c, seq)
                t = time.time()
                got = run.customers.wait(m["ref"], args.reply_timeout)
                with lock:
                    waited.append(time.time() - t)
                    if not got:
                        unanswered.append(m["ref"])
                time.sleep(thinks[c][seq % 200])

        cpu = Sampler()
        cpu.start()
        threads = [threading.Thread(target=customer, args=(c,), daemon=True) for c in range(args.customers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        ended = time.time()
        cpu_used = cpu.stop()
        rows = run.finish()
        checks = analyse(run.customers, run.graph_tap, run.llm_tap, rows, args.reply_timeout)
    fig = figures(checks["per_message"])
    v = verdict(fig, checks)
    per_second: dict[int, int] = {}
    for m in run.customers.sent:
        per_second[int(m["t0"] - start)] = per_second.get(int(m["t0"] - start), 0) + 1
    curve = sorted([round(m["t0"] - start, 2), m["total_ms"]] for m in checks["per_message"])
    merge_report(args.section or "concurrent", {
        "measured_at": datetime.fromtimestamp(start, timezone.utc).isoformat(timespec="seconds"),
        **run.report(), "parameters": {"customers": args.customers, "seconds": args.seconds, "think_s": args.think,
                                       "ramp_s": args.ramp, "reply_timeout_s": args.reply_timeout,
                                       "warm": args.warm,
                                       "model_latency_ms": args.latency_ms, "seed": args.seed},
        "messages_sent": len(run.customers.sent), "messages_per_s": round(len(run.customers.sent) / (ended - start), 2),
        "posted_for_s": round(ended - start, 1), "sent_per_second": sorted(per_second.items()),
        "figures": fig, "verdict": v, "cpu": cpu_used, "latency_curve": thin(curve),
        "checks": {k: checks[k] for k in ("lost", "duplicated", "crossed", "late", "sends", "bot_replies_stored",
                                          "failed_sends", "handed_over", "paused", "lead_score_changes",
                                          "llm_requests", "jobs")},
        "unanswered_within_timeout": unanswered, "error_logs": checks["error_logs"][:20],
        "per_message": checks["per_message"], "job_log": checks["job_log"],
    })
    print(f"{len(run.customers.sent)} messages from {args.customers} customers in {ended - start:.1f} s")
    print_figures(fig, v, checks)


def print_figures(fig: dict[str, Any], v: dict[str, Any], checks: dict[str, Any]) -> None:
    for key in ("total", "model", "graph", "overhead", "ack", "total_first_contact", "total_returning"):
        print(f"{key:22} {fig[key]}")
    for key, value in fig["phases"].items():
        print(f"  {key:30} {value}")
    for key, value in fig["by_worker_kind"].items():
        print(f"  {key}: total {value['total']}, overhead {value['overhead']}")
    print(f"workers used {fig['workers_used']}, rounds {fig['rounds']}, drain already running for "
          f"{fig['drain_already_running']}")
    print(f"lost {len(checks['lost'])}, duplicated {len(checks['duplicated'])}, crossed {len(checks['crossed'])}, "
          f"late {len(checks['late'])}; handed over {len(checks['handed_over'])}, paused {len(checks['paused'])}, "
          f"error logs {len(checks['error_logs'])}")
    print(f"reply p95 {v['reply_p95_ms']} ms (target 2000): {'met' if v['reply_meets_target'] else 'NOT met'}; "
          f"overhead p95 {v['overhead_p95_ms']} ms (target 300): {'met' if v['overhead_meets_target'] else 'NOT met'}")


def cmd_profile(args: argparse.Namespace) -> None:
    """`turns` customers write once with the bot off (stored, no job), then the bench side switches it on and
    runs the bot's job on their conversations in its own processes: `cold` of them each in a fresh process as
    a job would (the bot module's import included; the first under cProfile), the rest in one warm process,
    half plain (time, CPU, SQL per turn), half under cProfile. Also what a job's start costs (frappe.init,
    connect, hooks, the module's imports) in a fresh process, for the bot's job and the webhook's."""
    args.bot_on = False
    args.extra_workers = 0
    run = Run(args, args.turns)
    with run:
        http = requests.Session()
        for c in range(args.turns):
            run.customers.write(http, c, 1)
        deadline = time.time() + 120
        while time.time() < deadline:
            rows = bot_site("rows", {"account": ACCOUNT, "since": run.since})
            if sum(1 for m in rows["messages"] if m["direction"] == "Inbound") >= args.turns:
                break
            time.sleep(1)
        conversations = sorted({m["conversation"] for m in rows["messages"]})
        bot_site("bot", {"account": ACCOUNT, "on": True})
        cold_names, warm_names = conversations[:args.cold], conversations[args.cold:]
        preload = ["app", *extra_modules(args)] if args.preload == "app" else \
            [*preload_modules(args.preload), *extra_modules(args)]
        cold = [bot_site("profile_turn", {"conversations": [name], "cold": True, "cprofile": i == 0,
                                          "top": args.top, "sort": args.sort, "callers": args.callers,
                                          "preload": preload})
                for i, name in enumerate(cold_names)]
        warm = bot_site("profile_turn", {"conversations": warm_names, "top": args.top, "sort": args.sort,
                                         "callers": args.callers})
        starts = {module: [bot_site("job_start", {"module": module}) for _ in range(3)]
                  for module in ("voice_agent.conversations.bot", "voice_agent.integrations.whatsapp.webhook")}
        graph_ms = [(r["done"] - r["at"]) * 1000 for r in run.graph_tap.log]
    print("=== a cold turn (fresh process, the bot module's import included) ===")
    print(cold[0]["stats"] if cold else "")
    print("=== warm turns ===")
    print(warm["stats"])
    if args.queries:
        print("\n".join(warm["last_turn_queries"]))
    cold_ms = [r["ms_per_turn"][0] for r in cold[1:]]
    print(f"cold turns: {cold_ms} ms (under cProfile: {[r['profiled_ms_per_turn'][0] for r in cold[:1]]}), of which "
          f"importing the bot's module {[r['import_ms'] for r in cold[1:]]} ms")
    lazy = cold[-1]["imported_during_turns"] if cold else []
    print(f"modules a cold turn imports besides the bot's module ({len(lazy)}): {lazy}")
    print(f"{len(warm['ms_per_turn'])} warm turns: {summary(warm['ms_per_turn'])} ms wall, "
          f"{summary(warm['cpu_ms_per_turn'])} ms CPU; {warm['queries_per_turn']} SQL statements per turn "
          f"(model latency {args.latency_ms} ms)")
    for module, runs in starts.items():
        print(f"job start, {module}: {runs}")
    merge_report(args.section or "profile", {
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "load_average": load_average(),
        "before": run.before, "after": run.after,
        "model_latency_ms": args.latency_ms, "preload": args.preload, "preload_extra": list(extra_modules(args)),
        "preloaded_ms": [r["preloaded_ms"] for r in cold],
        "cold_turns_ms": cold_ms, "cold_turn_cpu_ms": [r["cpu_ms_per_turn"][0] for r in cold[1:]],
        "cold_import_ms": [r["import_ms"] for r in cold[1:]], "cold_turn_imports": lazy,
        "cold_turn_under_cprofile_ms": [r["profiled_ms_per_turn"][0] for r in cold[:1]],
        "cold_queries_per_turn": [r["queries_per_turn"] for r in cold],
        "warm_turns": len(warm["ms_per_turn"]), "warm_ms_per_turn": summary(warm["ms_per_turn"]),
        "warm_ms_per_turn_each": warm["ms_per_turn"], "warm_cpu_ms_per_turn": summary(warm["cpu_ms_per_turn"]),
        "warm_queries_per_turn": warm["queries_per_turn"], "graph_handling_ms": summary(graph_ms),
        "job_start": starts, "top_cold": cold[0]["stats"][:12000] if cold else "", "top_warm": warm["stats"][:12000],
        "site_counts": run.report()["site_counts"],
    })


def cmd_cleanup(args: argparse.Namespace) -> None:
    print(json.dumps({"cleanup": bot_site("cleanup", {"account": ACCOUNT, "since": time.time() - 6 * 3600}),
                      "counts": bot_site("counts", {"account": ACCOUNT})}))


def cmd_counts(args: argparse.Namespace) -> None:
    print(json.dumps(bot_site("counts", {"account": ACCOUNT})))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, fn in (("latency", cmd_latency), ("concurrent", cmd_concurrent), ("profile", cmd_profile)):
        p = sub.add_parser(name)
        p.add_argument("--latency-ms", type=float, default=700 if name != "profile" else 0,
                       help="the fake model's fixed answer time")
        p.add_argument("--extra-workers", type=int, default={"latency": 1, "concurrent": 8}.get(name, 0),
                       help="RQ workers (queues short,default,long) to start besides the bench's own")
        p.add_argument("--preload", choices=("app", "jobs", "turn"), default=None,
                       help="the extra workers import modules before forking their jobs: app = the app's own "
                            "`bench voice-agent-worker` (voice_agent/commands.py); experiments: jobs = the jobs' "
                            "own modules (PRELOAD), turn = also what a cold turn imports (see preload_modules)")
        p.add_argument("--preload-extra", default="", help="modules (comma-separated) to import as well, before forking")
        p.add_argument("--reply-timeout", type=float, default=30.0, help="a reply later than this counts as late")
        p.add_argument("--warmup", type=int, default=6, help="warm-up customers writing once each first, not counted")
        p.add_argument("--gap", type=float, default=1.0, help="latency: seconds between a reply and the next message")
        p.add_argument("--section", default=None, help="where in docs/benchmarks/bot.json")
        p.add_argument("--wait-quiet", type=float, default=900,
                       help="seconds to wait at most for other test runs on the machine to end before starting")
        if name == "latency":
            p.add_argument("--messages", type=int, default=60)
            p.add_argument("--customers", type=int, default=10)
        if name == "concurrent":
            p.add_argument("--customers", type=int, default=50)
            p.add_argument("--seconds", type=float, default=60)
            p.add_argument("--think", type=float, nargs=2, default=(12.0, 15.0), metavar=("MIN", "MAX"),
                           help="seconds a customer takes before the next message (the bot answers a conversation "
                                "at most 6 times a minute, a reply every 10 s: a customer writing faster is held "
                                "by that cap, by design)")
            p.add_argument("--warm", action="store_true",
                           help="every customer writes once (answered) before the timed run: ongoing conversations")
            p.add_argument("--ramp", type=float, default=15.0,
                           help="customers start at random within this many seconds (15: their conversations run "
                                "side by side out of step; 2: 50 messages in the same two seconds, a burst)")
            p.add_argument("--seed", type=int, default=13)
        if name == "profile":
            p.add_argument("--turns", type=int, default=20)
            p.add_argument("--cold", type=int, default=4, help="turns each in a fresh process (the first profiled)")
            p.add_argument("--top", type=int, default=50)
            p.add_argument("--sort", default="cumulative")
            p.add_argument("--callers", nargs="*", default=[])
            p.add_argument("--queries", action="store_true", help="print the last turn's SQL statements")
        p.set_defaults(fn=fn)
    sub.add_parser("cleanup").set_defaults(fn=cmd_cleanup)
    sub.add_parser("counts").set_defaults(fn=cmd_counts)
    args = parser.parse_args()
    args.fn(args)


if __name__ == "__main__":
    main()
