"""Refresh the "## WhatsApp messaging" section of docs/benchmarks.md from docs/benchmarks/whatsapp.json
(tests/bench/whatsapp_messaging.py and tests/bench/whatsapp-panel.ts write it), leaving every other
section as it is.

    .venv/bin/python -m tests.bench.write_whatsapp_md
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.bench.write_benchmarks_md import replace_section

ROOT = Path(__file__).resolve().parents[2]
HEADING = "## WhatsApp messaging"


def met(ok: bool) -> str:
    return "met" if ok else "**NOT met**"


def pct(s: dict[str, Any], unit: str = "ms") -> str:
    if not s or not s.get("n"):
        return "–"
    return f"{s['p50_ms']} / {s['p95_ms']} / {s['p99_ms']} {unit}"


def load(r: dict[str, Any]) -> str:
    before, after = r.get("before", {}), r.get("after", {})
    la = before.get("load_average")
    busy = before.get("other_heavy_processes") or []
    return (f"load average {la[0] if la else '?'} before, {after.get('load_average', ['?'])[0]} after"
            + (f"; other browsers or tests running: {len(busy)}" if busy else ""))


def setup_line(s: dict[str, Any]) -> str:
    extra = s.get("extra_rq_workers_started_by_benchmark", 0)
    workers = s.get("rq_workers", "?")
    return (f"{s.get('gunicorn_workers', '?')} gunicorn workers (`--preload`), {workers} RQ worker(s)"
            + (f" ({extra} started by the benchmark besides the bench's own)" if extra else "")
            + f", {s.get('cpus', '?')} CPUs")


def section(report: dict[str, Any]) -> str:
    parts = [HEADING, "", """What Meta's webhook and the desk's WhatsApp panel cost on a real Frappe 15.72 + ERPNext 15.71 site
(bench at /home/frappe/frappe-bench, gunicorn `--preload`, RQ worker, scheduler and socket.io running),
against the loopback fake of Meta's Graph API (`tests/fakes/whatsapp`). Not a test; run it on a quiet
machine. Every run uses an account of its own ("WA Bench") and customers on +1 415 555 6xxx / 7xxx,
and removes what it made at the end (row counts before and after are in the JSON).

```sh
.venv/bin/python -m tests.bench.whatsapp_messaging ack            # webhook acknowledgement
.venv/bin/python -m tests.bench.whatsapp_messaging ingest --known 1000 --unknown 100 --warm --extra-workers 1
.venv/bin/python -m tests.bench.whatsapp_messaging ingest --known 1000 --unknown 0 --warm --extra-workers 1 --section ingest_returning
.venv/bin/python -m tests.bench.whatsapp_messaging ingest --extra-workers 1 --section ingest_first_contact
.venv/bin/python -m tests.bench.whatsapp_messaging profile        # the webhook job under cProfile
node tests/bench/whatsapp-panel.ts                                # Chromium: send, receive, 5,000 messages
.venv/bin/python -m tests.bench.write_whatsapp_md                 # this section
```

Raw figures: `docs/benchmarks/whatsapp.json`."""]
    rows: list[str] = []
    ack = report.get("webhook_ack")
    if ack:
        v = ack["verdict"]
        rows.append(f"| webhook acknowledgement (signed POST, one insert, job queued) | {pct(ack['results']['webhook_ack'])} "
                    f"| p95 ≤ 50 ms: {met(v['meets_target'])}; ≤ 2× bare ({v['bare_p95_ms']} ms): "
                    f"{v['ratio_to_bare']}× {met(v['within_2x_bare'])} |")
        rows.append(f"| Frappe's bare `get_logged_user`, before / after | {pct(ack['results']['bare_get_logged_user'])}; "
                    f"{pct(ack['results']['bare_get_logged_user_after'])} | reference |")
    ingest = report.get("ingest")
    first = report.get("ingest_first_contact")
    returning = report.get("ingest_returning")
    runs = ((ingest, "a busy number's minute"), (returning, "a minute of returning customers only"),
            (first, "a minute of first contacts only"))
    for run, what in runs:
        if not run:
            continue
        r, v = run["result"], run["verdict"]
        rows.append(f"| sustained ingest, {what}: messages stored per second while {r['offered_messages_per_s']}/s were "
                    f"posted | {r['stored_per_s_during_posting']} msg/s ({r['stored_per_s_overall']} overall, the last "
                    f"stored {r['last_stored_after_s']} s after the first POST) | ≥ 50 msg/s, 0 lost, 0 duplicated: "
                    f"{met(v['meets_target'])} |")
        rows.append(f"| … lag, webhook POST → message row stored | {pct(r['lag_post_to_stored'])} | |")
        rows.append(f"| … lag, webhook POST → pushed to the desk (`whatsapp_update`) | {pct(r['lag_post_to_pushed'])} | |")
    send = report.get("send")
    if send:
        v = send["verdict"]
        rows.append(f"| Send pressed in the panel → the request reaches Graph | {pct(send['result']['click_to_graph'])} "
                    f"| p95 ≤ 300 ms: {met(v['meets_target'])} |")
    inbound = report.get("inbound_panel")
    if inbound:
        v = inbound["verdict"]
        rows.append(f"| webhook POST → the message shows in the open panel | {pct(inbound['result']['post_to_panel'])} "
                    f"| p95 ≤ 1 s: {met(v['meets_target'])} |")
    long = report.get("long_conversation")
    if long:
        r, v = long["result"], long["verdict"]
        rows.append(f"| 5,000-message conversation: click on the form's WhatsApp button → first page shown, "
                    f"first open after a page load | {pct(r['first_open_after_page_load'])} | p95 ≤ 300 ms: "
                    f"{met(r['first_open_after_page_load']['p95_ms'] <= 300)} |")
        rows.append(f"| … re-opened in the same page | {pct(r['reopen_same_page'])} | "
                    f"{met(r['reopen_same_page']['p95_ms'] <= 300)} |")
        rows.append(f"| … click on it in the inbox | {pct(r['inbox_click'])} | {met(r['inbox_click']['p95_ms'] <= 300)} |")
        ep = r.get("get_messages_endpoint") or {}
        if ep:
            rows.append(f"| `get_messages` alone (30 messages): newest page; a page 4,000 back "
                        f"| {pct(ep['newest_page'])}; {pct(ep['page_4000_back'])} | |")
    if rows:
        parts += ["", "| measurement | p50 / p95 / p99 (or figure) | target |", "| --- | --- | --- |", *rows]

    if ack:
        parts += ["", f"**Acknowledgement** ({ack['measured_at']}, {setup_line(ack['set_up'])}, {load(ack)}): "
                  f"{ack['requests_each']} sequential signed POSTs, each one text message with its own wamid from "
                  "20 customer numbers, between two runs of the same number of bare calls (the worse bare p95 is the "
                  "reference, as in \"Frappe endpoints\" above); the RQ worker processes the events meanwhile."]
    for run, what in ((ingest, "Ingest, a busy number's minute"), (returning, "Ingest, returning customers only"),
                      (first, "Ingest, first contacts only")):
        if not run:
            continue
        r, p = run["result"], run["parameters"]
        cpu = r.get("cpu_while_posting", {})
        cores = ", ".join(f"{k} {v}" for k, v in cpu.get("cores_by_process_group", {}).items())
        warm = run.get("warm_up")
        customers = (f"{p['known_numbers']} customers who had written before (their conversations made before the "
                     f"timed minute: {warm['conversations']} first contacts in {warm['seconds']} s) and "
                     f"{p['unknown_numbers']} numbers unknown to the site" if warm else
                     f"{p['known_numbers'] + p['unknown_numbers']} customer numbers none of which has a conversation "
                     f"yet: {p['known_numbers']} with a Lead, {p['unknown_numbers']} unknown to the site")
        parts += ["", f"**{what}** ({run['measured_at']}, {setup_line(run['set_up'])}, {load(run)}): "
                  f"for {p['seconds']:.0f} s, {r['bodies_posted']} signed POSTs of 1–{p['max_batch']} messages "
                  f"({r['messages_sent_unique']} messages: {', '.join(f'{k} {n}' for k, n in r['message_kinds'].items())}) "
                  f"from {customers} (each unknown one becomes a Lead, and ERPNext gives it a Contact), and "
                  f"{r['redeliveries_posted']} redeliveries of a body already posted ({int(p['redeliver'] * 100)} %). "
                  f"Stored {r['stored']} of {r['messages_sent_unique']}: **{r['lost']} lost, {r['duplicated_rows']} "
                  f"duplicated** (rows counted by wamid), {r['linked_to_party']} linked to a party, "
                  f"{r['pushed_to_desk']} pushed to the desk (seen on Frappe's realtime channel in Redis, "
                  f"{r['push_rooms_per_message']} rooms each); {r['conversations']} conversations, "
                  f"{r['numbers_with_two_conversations']} numbers with two, {r['numbers_with_two_bench_leads']} "
                  f"with two Leads; events processed twice: {r.get('events_processed_more_than_once', '?')}. "
                  f"Acknowledgements under that load: {pct(r['acks'])} "
                  f"({', '.join(f'{k} {n}' for k, n in r['ack_answers'].items())})."
                  + (f" CPU while posting (cores, of {run['set_up'].get('cpus')}): {cores}; the machine was busy "
                     f"{cpu.get('machine_busy_cores')} cores." if cores else "")]
        if run is ingest and (ROOT / "docs/benchmarks/whatsapp-ingest.png").exists():
            parts += ["", "![ingest lag and messages stored per second](benchmarks/whatsapp-ingest.png)"]
    prof = report.get("profile")
    if prof:
        parts += ["", f"**The webhook job alone** ({prof['measured_at']}): {prof['events']} events of "
                  f"{prof['messages_per_event']} messages processed in one process (no worker start): "
                  f"{pct(prof['ms_per_event'])} per event, {prof['queries_per_event']} SQL statements per event."]
    if send or inbound:
        s = send or inbound
        parts += ["", f"**In Chromium** ({s['measured_at']}, {setup_line(s['set_up'])}, {load(s)}; Debian's "
                  "chromium through playwright-core): the Lead's form, its WhatsApp panel open. Send: the text is "
                  "typed, the Send button clicked; the click's time in the page (`performance.timeOrigin + "
                  "performance.now()`) against the fake's own time stamp of the `POST /{phone}/messages` it "
                  "received, one message at a time (the next once the previous one shows \"read\")."
                  + (f" The message shows in the panel {pct(send['result']['click_to_shown_in_panel'])} after the "
                     f"click, and \"read\" {pct(send['result']['click_to_read_ticks'])} after it." if send else "")
                  + " Receive: a signed webhook POSTed with `Date.now()` before it, until a MutationObserver in the "
                  "page sees the message's element."]
    if long:
        r = long["result"]
        parts += ["", f"**5,000 messages**: {r['messages_in_conversation']} rows bulk-inserted into one conversation "
                  f"(`frappe.db.bulk_insert`, {r['seed_seconds']} s); the panel shows the newest {r['page_rendered']} "
                  "and pages back on scroll. Timed from the click (in the page) to the first message element of "
                  "that conversation in the DOM; the first open after each page load includes loading the panel's "
                  "bundle (from the browser's cache after the first)."]
    notes = report.get("notes")
    if notes:
        parts += ["", *notes]
    return "\n".join(parts) + "\n"


def main() -> None:
    replace_section(HEADING, section(json.loads((ROOT / "docs/benchmarks/whatsapp.json").read_text())))


if __name__ == "__main__":
    main()
