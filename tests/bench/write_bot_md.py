"""Refresh the "## WhatsApp bot" section of docs/benchmarks.md from docs/benchmarks/bot.json
(tests/bench/whatsapp_bot.py writes it), leaving every other section as it is.

    .venv/bin/python -m tests.bench.write_bot_md
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from tests.bench.write_benchmarks_md import replace_section
from tests.bench.write_whatsapp_md import load, met, pct

ROOT = Path(__file__).resolve().parents[2]
HEADING = "## WhatsApp bot"
# This version's runs first; the others measured the code before warm bot jobs (up to commit b11f7bc: a drain
# job and a bot job, each a new process, per message), kept for comparison.
CURRENT = ("latency_warm", "concurrent_warm")
LATENCY_RUNS = ("latency_warm", "latency_1_worker", "latency", "latency_4_workers", "latency_app", "latency_app_extra",
                "latency_preload_jobs", "latency_preload_turn")
CONCURRENT_RUNS = ("concurrent_warm", "concurrent", "concurrent_16_workers", "concurrent_app", "concurrent_app_16_workers",
                   "concurrent_app_extra", "concurrent_preload_turn", "concurrent_burst", "concurrent_burst_app")
# The kind of worker (whatsapp_bot.worker_kind) the extra workers of each --preload are.
KIND = {"app": "app", "jobs": "preload", "turn": "preload"}
PHASES = (
    ("ack_ms", "webhook POST answered (signature, one insert, drain job queued)"),
    ("drain_queue_wait_ms", "… the drain job waits in the queue"),
    ("post_to_stored_ms", "POST → the customer's message stored (drain job: start, then the event)"),
    ("stored_to_turn_queued_ms", "stored → the bot's job queued (the drain's commit)"),
    ("turn_queue_wait_ms", "the bot's job waits in the queue"),
    ("turn_start_to_typing_ms", "job started → typing indicator at Graph (fork, frappe.init/connect, imports, the "
                                "lock, reading the conversation)"),
    ("typing_to_model_ms", "typing indicator → request at the model (its round trip, the context)"),
    ("model_done_to_reply_row_ms", "model answered → reply stored (score, conversation, message)"),
    ("reply_row_to_send_ms", "reply stored → its send at Graph (commit, the send's own row update)"),
    ("send_to_turn_end_ms", "after the send, until the job ends (not in the total)"),
)


def state(run: dict[str, Any]) -> str:
    """The load line of the messaging section, with what else ran on the site and its developer mode."""
    text = load(run)
    others = sorted({*run.get("before", {}).get("other_test_runs", []), *run.get("after", {}).get("other_test_runs", [])})
    if others:
        text += f"; other test runs on the machine: {len(others)}"
    if run.get("before", {}).get("developer_mode") or run.get("after", {}).get("developer_mode"):
        text += "; the site in developer mode"
    during = run.get("bench_commands_during_run") or []
    if during:
        text += (f"; meanwhile others ran {len(during)} bench command(s) on the site ("
                 + ", ".join(sorted({" ".join(c.split()[3:]).replace("cli/bin/bench ", "")
                                     .replace("--site site1.localhost ", "")[:45] for c in during})) + ")")
    return text


def earlier(run: dict[str, Any]) -> str:
    """The total p95 of the earlier runs of the same section, and whether others used the site meanwhile."""
    runs = run.get("earlier_runs") or []
    return ", ".join(f"{r['total']['p95_ms']}{'*' if r.get('bench_commands_during_run') else ''}" for r in runs
                     if r.get("total")) or "–"


def workers(run: dict[str, Any]) -> str:
    s = run["set_up"]
    extra = s.get("extra_rq_workers_started_by_benchmark", 0)
    text = f"{s.get('rq_workers', '?')} RQ worker(s)"
    if extra:
        text += f" ({extra} started by the benchmark"
        if s.get("preload") == "app":
            text += ", as `bench voice-agent-worker`"
        elif s.get("preload"):
            text += f", with {s.get('extra_workers_preloaded_modules')} modules imported before forking"
        text += ")"
    return text


def label(name: str, run: dict[str, Any]) -> str:
    preload = run["set_up"].get("preload")
    what = {None: "", "app": "; the extra ones are `bench voice-agent-worker` (the app's preloading worker)",
            "jobs": "; experiment: the jobs' modules preloaded",
            "turn": "; experiment: the jobs' modules and everything a cold turn imports preloaded"}[preload]
    extra = run["set_up"].get("preload_extra") or []
    if extra:
        what += f", with {len(extra)} more modules (`{'`, `'.join(extra)}`)"
    era = ("**this version**: the webhook processed by the web process, bot jobs kept warm" if name in CURRENT
           else "before warm bot jobs")
    return f"`{name}` ({era}): {workers(run)}{what}"


def both_on(run: dict[str, Any], kind: str) -> dict[str, Any]:
    """The figures of the messages whose drain job and bot job both ran on workers of this kind
    (whatsapp_bot.worker_kind), or {} when there were none."""
    return (run["figures"].get("by_worker_kind") or {}).get(f"drain on {kind}, turn on {kind}") or {}


def phase(group: dict[str, Any], key: str) -> dict[str, Any]:
    if key == "ack_ms":
        return group.get("ack") or {}
    return (group.get("phases") or {}).get(key) or {}


def p50_p95(s: dict[str, Any]) -> str:
    return f"{s['p50_ms']} / {s['p95_ms']}" if s.get("n") else "–"


def section(report: dict[str, Any]) -> str:
    targets = report["targets"]
    parts = [HEADING, "", """The bot's answer to a customer's WhatsApp message on a real Frappe 15.72 + ERPNext 15.71 site
(bench at /home/frappe/frappe-bench: gunicorn `--preload`, the bench's RQ worker, scheduler and socket.io
running), against the loopback fakes of Meta's Graph API (`tests/fakes/whatsapp`) and of an
OpenAI-compatible model (`tests/fakes/llm`) that answers every request in a fixed 700 ms with an echo of
the customer's last message. Not a test; run it on a quiet machine. It uses the messaging benchmark's
account ("WA Bench") with its bot on a profile of its own (the voice agent's three tools, no caps but the
built-in 6 replies a minute per conversation), customers on +1 415 555 8xxx, and removes everything it
made at the end (row counts before and after are in the JSON).

```sh
.venv/bin/python -m tests.bench.whatsapp_bot profile                        # a turn under cProfile, a job's start
.venv/bin/python -m tests.bench.whatsapp_bot latency --extra-workers 1 --section latency_warm   # one message at a time
.venv/bin/python -m tests.bench.whatsapp_bot concurrent --extra-workers 8 --warm --section concurrent_warm   # 50 customers, 60 s
.venv/bin/python -m tests.bench.whatsapp_bot latency --extra-workers 2 --preload app --section latency_app
.venv/bin/python -m tests.bench.whatsapp_bot concurrent --extra-workers 8 --warm --preload app --section concurrent_app
.venv/bin/python -m tests.bench.whatsapp_bot concurrent --extra-workers 8 --ramp 2 --section concurrent_burst
.venv/bin/python -m tests.bench.write_bot_md                                # this section
```

`--preload app` starts the extra workers as the app's `bench voice-agent-worker` (voice_agent/commands.py),
`--preload-extra a,b` imports more modules in them first; `--preload jobs|turn` are experiments (see
`tests/bench/whatsapp_bot.py`). Each run waits for other test runs on the machine to end first, and records
the bench commands others ran on the site meanwhile.

Raw figures, every message's timings and every job: `docs/benchmarks/bot.json`. How each figure is taken:"""]
    how = report.get("how_measured", {})
    parts += [f"- **{key}**: {text}" for key, text in how.items()]

    rows = []
    for name in LATENCY_RUNS:
        run = report.get(name)
        if not run:
            continue
        f, v = run["figures"], run["verdict"]
        star = "*" if run.get("bench_commands_during_run") else ""
        rows.append(f"| {label(name, run)}{star} | {pct(f['total'])} | {pct(f['overhead'])} | {pct(f['model'])} | "
                    f"{met(v['reply_meets_target'])}; {met(v['overhead_meets_target'])} | {earlier(run)} |")
        if run["set_up"].get("preload"):
            both = both_on(run, KIND[run["set_up"]["preload"]])
            total, over = both.get("total") or {}, both.get("overhead") or {}
            if total.get("n"):
                rows.append(f"| … the {total['n']} messages whose two jobs both ran on one of those | {pct(total)} | "
                            f"{pct(over)} | | {met(total['p95_ms'] <= targets['reply_p95_ms'])}; "
                            f"{met(over['p95_ms'] <= targets['overhead_p95_ms'])} | |")
    if rows:
        parts += ["", "**One message at a time** (webhook POST → the bot's reply at Graph; p50 / p95 / p99):", "",
                  "| run | total | our overhead | model | total p95 ≤ 2 s; overhead p95 ≤ 300 ms | earlier runs, "
                  "total p95 |", "| --- | --- | --- | --- | --- | --- |", *rows,
                  "", "\\* others ran bench commands on the site during that run (a test run, a migration, developer "
                  "mode switched): see `bench_commands_during_run` in the JSON."]

    base = report.get("latency")
    if base:
        cols = [("as the bench runs it (`latency`)", {"ack": base["figures"]["ack"], "phases": base["figures"]["phases"]})]
        warm = report.get("latency_warm")
        if warm:
            cols.insert(0, ("this version (`latency_warm`)", {"ack": warm["figures"]["ack"],
                                                              "phases": warm["figures"]["phases"]}))
        for name, title in (("latency_app", "both jobs on `voice-agent-worker`"),
                            ("latency_app_extra", "… with the modules it misses"),
                            ("latency_preload_turn", "both jobs on workers with everything preloaded")):
            run = report.get(name)
            if run and both_on(run, KIND[run["set_up"]["preload"]]):
                cols.append((f"{title} (`{name}`)", both_on(run, KIND[run["set_up"]["preload"]])))
        parts += ["", "**Where the time goes** (p50 / p95 ms of each step, one message at a time; the model's "
                  "700 ms and Graph's handling are the rest of the total; in this version no job is queued or "
                  "started on the way, so the job steps are empty):", "",
                  "| step | " + " | ".join(c[0] for c in cols) + " |", "| --- |" + " --- |" * len(cols)]
        for key, text in PHASES:
            parts.append(f"| {text} | " + " | ".join(p50_p95(phase(group, key)) for _, group in cols)
                         + " |")
        for run_name, run in (("latency_warm", warm), ("latency", base)):
            if not run:
                continue
            b = run["figures"]
            parts += ["", f"`{run_name}` ({run['measured_at']}, {workers(run)}, {state(run)}): "
                      f"{run['parameters']['messages']} messages from {run['parameters']['customers']} customers in "
                      f"turn (each one's first message a first contact: a Lead is made), the next "
                      f"{run['parameters']['gap_s']} s after the reply; rounds per turn {b['rounds']}; first contacts "
                      f"{pct(b['total_first_contact'])}, returning customers {pct(b['total_returning'])}; lost "
                      f"{run['verdict']['lost']}, crossed {run['verdict']['crossed']}, duplicated "
                      f"{run['verdict']['duplicated']}."]

    rows = []
    for name in CONCURRENT_RUNS:
        run = report.get(name)
        if not run:
            continue
        f, v, p = run["figures"], run["verdict"], run["parameters"]
        cpu = run.get("cpu", {})
        star = "*" if run.get("bench_commands_during_run") else ""
        rows.append(f"| {label(name, run)}; {'ongoing conversations' if p.get('warm') else 'first contacts'}, "
                    f"start spread over {p['ramp_s']:g} s{star} | {run['messages_sent']} ({run['messages_per_s']}/s) | "
                    f"{pct(f['total'])} | {pct(f['overhead'])} | {v['crossed']} / {v['lost']} / {v['duplicated']} | "
                    f"{cpu.get('machine_busy_cores', '?')} | {met(v['reply_meets_target'])} | {earlier(run)} |")
    if rows:
        parts += ["", f"**{report[next(n for n in CONCURRENT_RUNS if n in report)]['parameters']['customers']} "
                  "customers at once** (each writes, waits for the reply, thinks, writes again, for "
                  f"{report[next(n for n in CONCURRENT_RUNS if n in report)]['parameters']['seconds']:g} s; a reply "
                  "must go to its customer's number and carry the reference of that customer's latest message):", "",
                  "| run | messages | total p50 / p95 / p99 | our overhead | crossed / lost / duplicated | busy cores "
                  "(of 2) | total p95 ≤ 2 s | earlier runs, total p95 |", "| --- | --- | --- | --- | --- | --- | --- | --- |",
                  *rows]
        for name in CONCURRENT_RUNS:
            run = report.get(name)
            if not run:
                continue
            p, c = run["parameters"], run["checks"]
            cores = ", ".join(f"{k} {x}" for k, x in run.get("cpu", {}).get("cores_by_process_group", {}).items())
            parts += ["", f"`{name}` ({run['measured_at']}, {workers(run)}, {state(run)}): think "
                      f"{p['think_s'][0]:g}–{p['think_s'][1]:g} s"
                      + (", every customer answered once before the timed run" if p.get("warm") else "")
                      + f"; {c['sends']} replies sent, {c['bot_replies_stored']} bot replies stored, "
                      f"{c['failed_sends']} failed sends, {len(c['handed_over'])} handed over, "
                      f"{len(c['paused'])} held by the rate cap, {len(run.get('error_logs', []))} error logs; "
                      f"the bot job waited in the queue {pct(run['figures']['phases']['turn_queue_wait_ms'])}, its "
                      f"start to the typing indicator took {pct(run['figures']['phases']['turn_start_to_typing_ms'])}. "
                      f"CPU (cores): {cores}."]

    prof = report.get("profile")
    if prof:
        bot_start = prof["job_start"].get("voice_agent.conversations.bot", [])
        hook_start = prof["job_start"].get("voice_agent.integrations.whatsapp.webhook", [])

        def mean(rows: list[dict[str, Any]], key: str) -> float:
            return round(statistics.fmean(r[key] for r in rows), 1) if rows else 0.0

        parts += ["", f"**A job's start and a turn's own cost** (`profile`, {prof['measured_at']}, model latency "
                  f"{prof['model_latency_ms']:g} ms): every RQ job runs in a work horse forked from a worker that has "
                  "imported Frappe and nothing of the apps, so each job imports what it needs again. In a fresh "
                  f"process: frappe.init {mean(bot_start, 'init_ms')} ms, connect {mean(bot_start, 'connect_ms')} ms, "
                  f"the `before_job` hooks {mean(bot_start, 'hooks_ms')} ms, then importing the bot's module "
                  f"{mean(bot_start, 'import_ms')} ms ({bot_start[0]['modules_imported'] if bot_start else '?'} "
                  f"modules; the webhook's drain: {mean(hook_start, 'import_ms')} ms). A cold turn (a fresh process, as "
                  f"a job) took {', '.join(str(x) for x in prof['cold_turns_ms'])} ms, importing the bot's module "
                  f"({', '.join(str(x) for x in prof.get('cold_import_ms', []))} ms) included, and imported {len(prof.get('cold_turn_imports', []))} more modules on the way (Frappe's "
                  "and ERPNext's per-save hooks, the query builder, passwords); the same turn in a warm process "
                  f"{pct(prof['warm_ms_per_turn'])} ({pct(prof['warm_cpu_ms_per_turn'])} of CPU), "
                  f"{prof['warm_queries_per_turn']} SQL statements."]
    for name, what in (("profile_app", "the app's `voice-agent-worker` list (voice_agent/commands.py PRELOAD)"),
                       ("profile_app_extra", "that list and the modules named in its `preload_extra`")):
        run = report.get(name)
        if run:
            extra = run.get("preload_extra") or []
            parts += ["", f"With {what}{' (`' + '`, `'.join(extra) + '`)' if extra else ''} imported before the "
                      f"turn (`{name}`, {run['measured_at']}; importing them took "
                      f"{', '.join(str(x) for x in run.get('preloaded_ms', []))} ms once per worker), a cold turn took "
                      f"{', '.join(str(x) for x in run['cold_turns_ms'])} ms and still imported "
                      f"{len(run.get('cold_turn_imports', []))} modules."]
    parts += reading(report)
    notes = report.get("notes")
    if notes:
        parts += ["", *notes]
    return "\n".join(parts) + "\n"


def reading_now(report: dict[str, Any]) -> list[str]:
    """This version's figures in words."""
    warm, conc = report.get("latency_warm"), report.get("concurrent_warm")
    if not warm:
        return []
    t, f = report["targets"], warm["figures"]
    ph = f["phases"]
    out = ["", f"**Reading (this version).** The web process that stores the webhook processes it right after "
           f"answering Meta (the message is stored {ph['post_to_stored_ms']['p50_ms']} / "
           f"{ph['post_to_stored_ms']['p95_ms']} ms after the POST; a new number's Lead follows in a transaction of "
           "its own), and the bot's turn runs in a job that was already waiting (voice_agent/warm_jobs.py), so no "
           f"process starts on the way: the reply reaches Graph {pct(f['total'])} after the webhook (target p95 ≤ "
           f"{t['reply_p95_ms']:g} ms: {met(warm['verdict']['reply_meets_target'])}), our own share "
           f"{pct(f['overhead'])} (target p95 ≤ {t['overhead_p95_ms']:g} ms: "
           f"{met(warm['verdict']['overhead_meets_target'])}); first contacts {pct(f['total_first_contact'])}."]
    if conc:
        c, v = conc["figures"], conc["verdict"]
        out[-1] += (f" {conc['parameters']['customers']} customers at once for {conc['parameters']['seconds']:g} s: "
                    f"{conc['messages_sent']} messages, total {pct(c['total'])} (target p95 ≤ {t['reply_p95_ms']:g} ms: "
                    f"{met(v['reply_meets_target'])}), our overhead {pct(c['overhead'])}; {v['crossed']} crossed, "
                    f"{v['lost']} lost, {v['duplicated']} duplicated replies.")
    return out


def reading(report: dict[str, Any]) -> list[str]:
    """What the figures say, from the figures: where the overhead goes and what the preloading worker saves."""
    base, app, turn = report.get("latency"), report.get("latency_app"), report.get("latency_preload_turn")
    conc, conc_app = report.get("concurrent"), report.get("concurrent_app")
    if not base:
        return reading_now(report)
    t = report["targets"]
    f = base["figures"]
    ph = f["phases"]
    out = [*reading_now(report), "", "**Before warm bot jobs** (up to commit b11f7bc). One message at a time, as "
           "the bench runs its worker, the reply reached Graph "
           f"{f['total']['p50_ms']} ms (p50) / {f['total']['p95_ms']} ms (p95) after the webhook "
           f"(target p95 ≤ {t['reply_p95_ms']:g} ms: {met(base['verdict']['reply_meets_target'])}), of which the "
           f"model is {f['model']['p50_ms']} ms and Graph {f['graph']['p50_ms']} ms; our own "
           f"{f['overhead']['p50_ms']} / {f['overhead']['p95_ms']} ms (target p95 ≤ {t['overhead_p95_ms']:g} ms: "
           f"{met(base['verdict']['overhead_meets_target'])}). Most of it is two process starts: the webhook's "
           f"drain job stores the message {ph['post_to_stored_ms']['p50_ms']} ms after the POST, and the bot's job "
           f"reaches the typing indicator {ph['turn_start_to_typing_ms']['p50_ms']} ms after it started — each "
           "job a work horse freshly forked from a worker that has imported none of the app, importing the job's "
           "modules and, on its first save, query and password, Frappe's and ERPNext's hooks (see the profile "
           "above); the work itself is a few tens of milliseconds in a warm process."]
    if app:
        both = both_on(app, KIND["app"])
        tot, over = both.get("total") or {}, both.get("overhead") or {}
        if tot.get("n"):
            out[-1] += (f" With both jobs on the app's `bench voice-agent-worker` (voice_agent/commands.py imports "
                        f"its PRELOAD before forking), the total is {tot['p50_ms']} / {tot['p95_ms']} ms and our "
                        f"overhead {over['p50_ms']} / {over['p95_ms']} ms")
            if turn:
                over_t = both_on(turn, KIND["turn"]).get("overhead") or {}
                if over_t.get("n"):
                    out[-1] += (f"; with everything a cold turn imports preloaded as well (the experiment "
                                f"`latency_preload_turn`) {over_t['p50_ms']} / {over_t['p95_ms']} ms")
            out[-1] += (": what remains is Frappe's per-job start (init, connect, hooks), two hops through the queue, "
                        "what a new process still does the first time (the imports its worker's list misses), and the "
                        "turn's own reads and writes.")
    if conc and conc_app:
        out += ["", f"Fifty customers at once, the bench's worker plus "
                f"{conc['set_up']['extra_rq_workers_started_by_benchmark']} more: {pct(conc['figures']['total'])} "
                f"as `bench worker` runs the jobs (the machine's two cores busy starting processes: "
                f"{conc.get('cpu', {}).get('machine_busy_cores')} cores), {pct(conc_app['figures']['total'])} with "
                f"`bench voice-agent-worker` ({conc_app.get('cpu', {}).get('machine_busy_cores')} cores); "
                f"{conc_app['verdict']['crossed']} crossed, {conc_app['verdict']['lost']} lost and "
                f"{conc_app['verdict']['duplicated']} duplicated replies there ({conc['verdict']['crossed']}, "
                f"{conc['verdict']['lost']}, {conc['verdict']['duplicated']} without it). A bot job holds its worker "
                "while the model answers, so the workers a number needs grow with the customers writing in the "
                "same second (`concurrent_burst*`)."]
    return out


def main() -> None:
    replace_section(HEADING, section(json.loads((ROOT / "docs/benchmarks/bot.json").read_text())))


if __name__ == "__main__":
    main()
