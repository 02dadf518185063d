"""Bench-side helper of the WhatsApp bot benchmark (not a test): runs inside the Frappe bench's Python, as
the bench user, and prints one JSON line. tests/bench/whatsapp_bot.py calls it:

    runuser -u frappe -- /home/frappe/frappe-bench/env/bin/python /work/main/tests/bench/whatsapp_bot_site.py \\
        <command> -   (JSON arguments on stdin)

Commands: setup, bot (switch the account's bot on or off), rows, job_start, profile_turn, counts, cleanup.
Everything belongs to the messaging benchmark's account ("WA Bench", tests/bench/whatsapp_site.py, whose
cleanup this one extends), the bot's own profile ("WA Bench Bot") and LLM provider ("WA Bench Bot LLM"),
and customers named "WA Bench ..." on +1 415 555 8xxx.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import datetime, timezone
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import whatsapp_site as ws  # noqa: E402  (the messaging benchmark's bench-side helper, same directory)

PROFILE = "WA Bench Bot"
PROVIDER = "WA Bench Bot LLM"
BOT_JOB = "voice_agent.conversations.bot.answer_conversations"
DRAIN_JOB = "voice_agent.integrations.whatsapp.webhook.drain"
# What a run of the bot writes besides the messaging benchmark's tables.
BOT_TABLES = ("Voice Agent Profile", "Voice Agent Profile Tool", "Voice Agent LLM Provider", "Voice Interaction",
              "Lead Score Change", "Notification Log", "Deleted Document", "Error Log", "Comment", "ToDo",
              "Version", "WhatsApp Message", "WhatsApp Conversation", "WhatsApp Account")


def setup(args: dict[str, Any]) -> dict[str, Any]:
    """The LLM provider (the fake's OpenAI-compatible API, one attempt), the profile (chat on, the voice
    agent's three business tools, no hand-over threshold or turn limit) and the messaging benchmark's account
    with its bot on that profile and no caps but the bot's built-in 6 replies a minute per conversation.

    Frappe refuses a Graph API address other than Meta's outside developer mode: it is switched on in this
    process only, for this save, so the site's own configuration is never touched."""
    import frappe

    provider = _upsert("Voice Agent LLM Provider", PROVIDER, {
        "title": PROVIDER, "enabled": 1, "kind": "OpenAI-compatible", "model": args.get("model", "gpt-4o-mini"),
        "base_url": args["llm_base_url"], "api_key": args["llm_key"], "attempts": 1, "connect_timeout": 5,
        "read_timeout": 30, "deadline": 60})
    profile = _upsert("Voice Agent Profile", PROFILE, {
        "title": PROFILE, "enabled": 1, "use_case": "General", "is_public": 0,
        "system_prompt": "You are the front desk of Bench Bistro, a small restaurant. Answer briefly and kindly.",
        "greeting": "Hello! How can I help?", "language_hint": "en",
        "tools": [{"tool": t} for t in ("book_appointment", "place_restaurant_order", "create_support_ticket")],
        "chat_enabled": 1, "chat_provider": provider, "chat_fallback_provider": None, "chat_temperature": 0.3,
        "chat_max_tokens": 300, "chat_max_turns": 0, "handover_score_threshold": 0, "tool_failure_limit": 3,
        "chat_languages": None, "chat_default_language": "en", "share_party_name": 1, "share_open_orders": 0,
        "share_open_issues": 0})
    values = {"title": args["account"], "enabled": 1, "phone_number_id": args["phone_number_id"],
              "waba_id": args["waba_id"], "display_phone_number": args["display_phone_number"],
              "verified_name": args["account"], "access_token": args["token"], "app_secret": args["app_secret"],
              "verify_token": "wa-bench-verify", "graph_api_version": "v23.0",
              "graph_base_url": args["graph_base_url"], "bot_enabled": 1 if args.get("bot", True) else 0,
              "bot_profile": profile, "bot_replies_per_conversation_per_hour": 0, "bot_replies_per_hour": 0,
              "bot_cost_cap_per_conversation": 0, "bot_cost_cap_per_day": 0}
    developer_mode = frappe.conf.get("developer_mode")
    frappe.conf.developer_mode = 1
    try:
        account = _upsert("WhatsApp Account", args["account"], values)
    finally:
        frappe.conf.developer_mode = developer_mode
    frappe.db.commit()
    return {"provider": provider, "profile": profile, "account": account}


def bot(args: dict[str, Any]) -> dict[str, Any]:
    """Switch the account's bot on or off (the profile run stores messages with it off, then answers them here)."""
    import frappe

    frappe.db.set_value("WhatsApp Account", args["account"], "bot_enabled", 1 if args["on"] else 0)
    frappe.clear_document_cache("WhatsApp Account", args["account"])
    frappe.db.commit()
    return {"bot_enabled": bool(args["on"])}


def _upsert(doctype: str, name: str, values: dict[str, Any]) -> str:
    import frappe

    if frappe.db.exists(doctype, name):
        doc = frappe.get_doc(doctype, name)
        if doctype == "WhatsApp Account":
            values = {k: v for k, v in values.items() if k != "app_secret"}  # unchanged: no "previous" kept
        if "tools" in values:
            doc.set("tools", [])
        doc.update(values)
        doc.save(ignore_permissions=True)
    else:
        doc = frappe.get_doc({"doctype": doctype, **values}).insert(ignore_permissions=True)
    return doc.name


def _epoch(value: Any, tz: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=tz).timestamp() if value.tzinfo is None else value.timestamp()


def rows(args: dict[str, Any]) -> dict[str, Any]:
    """Every message and conversation of the account (times as epoch seconds; the site stores its system
    time), the RQ jobs of queue `short` that ran since `since` (bot turns, webhook drains, sends, read
    receipts: enqueued, started, ended, and the worker), and the Error Logs written since then."""
    from zoneinfo import ZoneInfo

    import frappe
    from frappe.utils import get_system_timezone

    tz = ZoneInfo(get_system_timezone())
    account = args["account"]
    messages = frappe.db.sql("""SELECT m.name, m.conversation, c.wa_id, m.direction, m.message_type, m.wamid, m.text,
            m.creation, m.status, m.bot_reply, m.bot_rounds, m.bot_model_ms, m.bot_input_tokens, m.bot_output_tokens,
            m.sent_at, m.attempts, m.error_message
        FROM `tabWhatsApp Message` m JOIN `tabWhatsApp Conversation` c ON c.name = m.conversation
        WHERE m.account = %s ORDER BY m.creation""", account, as_dict=True)
    conversations = frappe.db.sql("""SELECT name, wa_id, party_doctype, party_name, bot_state, bot_paused_until,
            handover_reason, bot_note, lead_score FROM `tabWhatsApp Conversation` WHERE account = %s""",
                                  account, as_dict=True)
    since_local = datetime.fromtimestamp(float(args["since"]), tz).replace(tzinfo=None)
    errors = frappe.get_all("Error Log", filters={"creation": (">=", since_local)},
                            fields=["name", "method", "error", "creation"], order_by="creation")
    events = frappe.db.sql("""SELECT name, creation, modified, status, attempts, payload
        FROM `tabWhatsApp Webhook Event` WHERE signed_by LIKE %s OR account = %s""", (f"%{account}%", account),
                           as_dict=True)
    return {
        "events": [{"name": e.name, "creation": _epoch(e.creation, tz), "modified": _epoch(e.modified, tz),
                    "status": e.status, "attempts": e.attempts,
                    "wamids": [m.get("id") for entry in json.loads(e.payload or "{}").get("entry") or []
                               for change in entry.get("changes") or []
                               for m in (change.get("value") or {}).get("messages") or []]} for e in events],
        "messages": [{**m, "creation": _epoch(m.creation, tz), "sent_at": _epoch(m.sent_at, tz),
                      "bot_model_ms": float(m.bot_model_ms or 0)} for m in messages],
        "conversations": [{**c, "bot_paused_until": _epoch(c.bot_paused_until, tz)} for c in conversations],
        "jobs": _jobs(float(args["since"])),
        "error_logs": [{"name": e.name, "method": e.method, "error": (e.error or "")[-600:],
                        "at": _epoch(e.creation, tz)} for e in errors],
        "lead_score_changes": frappe.db.count("Lead Score Change", {"conversation": ("in", [c.name for c in conversations]
                                                                                     or [""])}),
    }


def _jobs(since: float) -> list[dict[str, Any]]:
    """The jobs of queue `short` enqueued since `since`, from RQ's registries (finished ones are kept for
    Frappe's result TTL, 10 minutes: read them right after a run)."""
    from frappe.utils.background_jobs import get_queue
    from rq.job import Job
    from rq.registry import FailedJobRegistry, FinishedJobRegistry, StartedJobRegistry

    queue = get_queue("short")
    ids: list[str] = list(queue.get_job_ids())
    for registry in (FinishedJobRegistry, FailedJobRegistry, StartedJobRegistry):
        ids += registry(queue=queue).get_job_ids()
    out = []
    for job in Job.fetch_many(list(dict.fromkeys(ids)), connection=queue.connection):
        if job is None:
            continue
        try:
            kwargs = job.kwargs or {}
        except Exception:  # a job whose data cannot be read here (another app's class): not ours
            continue
        enqueued = _utc(job.enqueued_at)
        if enqueued is None or enqueued < since:
            continue
        out.append({"id": job.id, "method": kwargs.get("method"), "kwargs": kwargs.get("kwargs") or {},
                    "enqueued_at": enqueued, "started_at": _utc(job.started_at), "ended_at": _utc(job.ended_at),
                    "status": job.get_status(refresh=False), "worker": job.worker_name})
    return sorted(out, key=lambda j: j["enqueued_at"])


def _utc(value: datetime | None) -> float | None:
    return value.replace(tzinfo=timezone.utc).timestamp() if value else None


def job_start(args: dict[str, Any]) -> dict[str, Any]:
    """What a job pays before its first line, as RQ's work horse runs it (frappe.utils.background_jobs.
    execute_job): frappe.init and connect, the `before_job` hooks (which import every app's hooks), then
    importing the job's module. In a process of its own that, like the worker before it forks, has imported
    frappe and its background-job module and nothing of the apps (main() does not connect for it)."""
    import importlib

    import frappe

    out: dict[str, Any] = {}
    t = time.perf_counter()
    frappe.init(site=ws.SITE)
    out["init_ms"] = round((time.perf_counter() - t) * 1000, 1)
    t = time.perf_counter()
    frappe.connect()
    out["connect_ms"] = round((time.perf_counter() - t) * 1000, 1)
    t = time.perf_counter()
    frappe.set_user("Administrator")
    for hook in frappe.get_hooks("before_job"):
        frappe.get_attr(hook)
    out["hooks_ms"] = round((time.perf_counter() - t) * 1000, 1)
    t, c = time.perf_counter(), time.process_time()
    module = args.get("module", "voice_agent.conversations.bot")
    before = set(sys.modules)
    importlib.import_module(module)
    out["import_ms"] = round((time.perf_counter() - t) * 1000, 1)
    out["import_cpu_ms"] = round((time.process_time() - c) * 1000, 1)
    out["modules_imported"] = len(set(sys.modules) - before)
    out["module"] = module
    return out


def profile_turn(args: dict[str, Any]) -> dict[str, Any]:
    """The bot's job for each conversation in `conversations` (each with a customer message not answered yet:
    the driver stored them with the bot off), in this process: no worker, no fork, no queue. Warm (default):
    half the turns without the profiler (wall and CPU per turn, SQL statements per turn), half under cProfile.
    `cold`: one turn in this fresh process as a job runs it, the import of the bot's module included, under
    cProfile when `cprofile` (what a job's first and only turn costs besides frappe.init and connect)."""
    import cProfile
    import importlib
    import io
    import pstats

    import frappe

    names = list(args["conversations"])
    cold = bool(args.get("cold"))
    half = 0 if cold and args.get("cprofile") else (len(names) if cold else len(names) // 2)
    sql = frappe.db.sql
    queries = {"n": 0}
    last: list[str] = []

    def counting_sql(*a: Any, **kw: Any) -> Any:
        queries["n"] += 1
        last.append(" ".join(str(a[0]).split())[:160])
        return sql(*a, **kw)

    preloaded_ms = None
    if args.get("preload"):
        # As a worker started with the preload does before it forks: these are in the job's process already.
        t = time.perf_counter()
        modules = [args["preload"]] if isinstance(args["preload"], str) else list(args["preload"])
        if modules[:1] == ["app"]:  # the app's worker list, then any others given
            modules = [*importlib.import_module("voice_agent.commands").PRELOAD, *modules[1:]]
        for module in modules:
            importlib.import_module(module)
        preloaded_ms = round((time.perf_counter() - t) * 1000, 1)
    prof = cProfile.Profile()
    wall, cpu = [], []
    imported_at, modules_before = None, set(sys.modules)
    bot_module = None if cold else importlib.import_module("voice_agent.conversations.bot")
    for i, name in enumerate(names):
        profiled = i >= half
        frappe.db.sql = counting_sql
        last.clear()
        s, c = time.perf_counter(), time.process_time()
        if profiled:
            prof.enable()
        if bot_module is None:
            bot_module = importlib.import_module("voice_agent.conversations.bot")
            imported_at = (time.perf_counter() - s) * 1000
            modules_before = set(sys.modules)
        bot_module.answer_conversation(name)
        prof.disable()
        frappe.db.sql = sql
        wall.append((time.perf_counter() - s) * 1000)
        cpu.append((time.process_time() - c) * 1000)
        frappe.db.commit()
    out = io.StringIO()
    if half < len(names):
        stats = pstats.Stats(prof, stream=out).sort_stats(args.get("sort", "cumulative"))
        stats.print_stats(int(args.get("top", 50)))
        for fn in args.get("callers") or ():
            stats.print_callers(fn)
    return {"turns": len(names), "ms_per_turn": [round(x, 1) for x in wall[:half]] if half else [],
            "profiled_ms_per_turn": [round(x, 1) for x in wall[half:]],
            "cpu_ms_per_turn": [round(x, 1) for x in cpu[:half]] if half else [],
            "queries_per_turn": round(queries["n"] / max(1, len(names)), 1), "stats": out.getvalue(),
            "last_turn_queries": last, "import_ms": round(imported_at, 1) if imported_at is not None else None,
            "preloaded_ms": preloaded_ms,
            # Modules the turn itself imported (after the bot's module): what a job imports on top of it.
            "imported_during_turns": sorted(set(sys.modules) - modules_before)}


def counts(args: dict[str, Any]) -> dict[str, Any]:
    """The messaging benchmark's counts, with the tables the bot writes to."""
    import frappe

    base = ws.counts(args)
    for table in BOT_TABLES:
        if frappe.db.table_exists(table):
            base["tables"][table] = frappe.db.count(table)
    base["benchmark"]["bot_profile"] = frappe.db.count("Voice Agent Profile", {"name": PROFILE})
    base["benchmark"]["bot_provider"] = frappe.db.count("Voice Agent LLM Provider", {"name": PROVIDER})
    return base


def cleanup(args: dict[str, Any]) -> dict[str, Any]:
    """What the bot made (score history, tool calls, hand-over notices and assignments of the account's
    conversations; the profile and provider), then the messaging benchmark's cleanup (messages,
    conversations, events, Leads, Contacts, the account), then Error Logs a run wrote about them."""
    import frappe

    account = args["account"]
    started = frappe.utils.now_datetime()
    done: dict[str, Any] = {}
    conversations = frappe.get_all("WhatsApp Conversation", filters={"account": account}, pluck="name") or [""]
    done["lead_score_changes"] = frappe.db.count("Lead Score Change", {"conversation": ("in", conversations)})
    frappe.db.delete("Lead Score Change", {"conversation": ("in", conversations)})
    interactions = frappe.get_all("Voice Interaction", filters={"whatsapp_conversation": ("in", conversations)},
                                  pluck="name")
    done["voice_interactions"] = len(interactions)
    frappe.db.delete("Voice Interaction", {"name": ("in", interactions or [""])})
    done["notification_logs"] = frappe.db.count("Notification Log", {"document_type": "WhatsApp Conversation",
                                                                     "document_name": ("in", conversations)})
    frappe.db.delete("Notification Log", {"document_type": "WhatsApp Conversation",
                                          "document_name": ("in", conversations)})
    # Assignment lines and other feed of the conversations (their ToDos go with the messaging cleanup).
    done["comments"] = frappe.db.count("Comment", {"reference_doctype": "WhatsApp Conversation",
                                                   "reference_name": ("in", conversations)})
    frappe.db.delete("Comment", {"reference_doctype": "WhatsApp Conversation", "reference_name": ("in", conversations)})
    frappe.db.commit()
    done.update(ws.cleanup({"account": account}))
    for doctype, name in (("Voice Agent Profile", PROFILE), ("Voice Agent LLM Provider", PROVIDER)):
        if frappe.db.exists(doctype, name):
            frappe.delete_doc(doctype, name, ignore_permissions=True, force=True, delete_permanently=True)
            done[doctype] = 1
        frappe.db.delete("Version", {"ref_doctype": doctype, "docname": name})
    frappe.db.delete("Version", {"ref_doctype": "WhatsApp Account", "docname": account})
    feed = [f"Voice Agent Profile {PROFILE}", f"Voice Agent LLM Provider {PROVIDER}"]
    frappe.db.delete("Comment", {"comment_type": "Deleted", "creation": (">=", started), "subject": ("in", feed)})
    # Error Logs a run wrote about its conversations (bot jobs name them in their titles and tracebacks).
    names = [c for c in conversations if c]
    logs: list[str] = []
    if names and args.get("since"):
        from zoneinfo import ZoneInfo

        from frappe.utils import get_system_timezone

        since = datetime.fromtimestamp(float(args["since"]), ZoneInfo(get_system_timezone())).replace(tzinfo=None)
        for row in frappe.get_all("Error Log", filters={"creation": (">=", since)}, fields=["name", "method", "error"]):
            text = f"{row.method or ''}\n{row.error or ''}"
            if any(n in text for n in names) or PROFILE in text or PROVIDER in text:
                logs.append(row.name)
    frappe.db.delete("Error Log", {"name": ("in", logs or [""])})
    done["bot_error_logs"] = len(logs)
    frappe.db.commit()
    return done


COMMANDS = {"setup": setup, "bot": bot, "rows": rows, "job_start": job_start, "profile_turn": profile_turn,
            "counts": counts, "cleanup": cleanup}


def main() -> None:
    command = sys.argv[1]
    args = json.loads(sys.stdin.read() or "{}") if len(sys.argv) > 2 and sys.argv[2] == "-" else (
        json.loads(sys.argv[2]) if len(sys.argv) > 2 else {})
    if command == "job_start":
        os.chdir(os.path.join(ws.BENCH, "sites"))
        sys.path.insert(0, ws.ROOT)
        import frappe
        import frappe.utils.background_jobs  # noqa: F401  (the worker has it)
    else:
        frappe = ws._init()
    try:
        result = COMMANDS[command](args)
    finally:
        frappe.destroy()
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
