"""Bench-side helper of the WhatsApp messaging benchmark (not a test): runs inside the Frappe bench's
Python, as the bench user, and prints one JSON line. tests/bench/whatsapp_messaging.py calls it:

    runuser -u frappe -- /home/frappe/frappe-bench/env/bin/python /work/main/tests/bench/whatsapp_site.py \\
        <command> '<json args>'

Commands: counts, seed_known, seed_long, lag_rows, profile, cleanup, forget_deletions, ultravox_tools, singles,
restore_singles (see each function; the last four serve the real-site WhatsApp checks, tests/e2e/whatsapp-site.test.ts,
whatsapp-bot-site.test.ts and whatsapp-calls-site.test.ts). Everything the benchmark's commands touch belongs to its own WhatsApp Account
("WA Bench") and to records whose names start with "WA Bench" on numbers +1 415 555 6xxx / 7xxx, so cleanup
leaves the rest of the site alone.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import datetime, timedelta
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.environ.get("VA_BENCH_DIR", "/home/frappe/frappe-bench")
SITE = os.environ.get("VA_BENCH_SITE", "site1.localhost")
NAME_PREFIX = "WA Bench"
NUMBER_PREFIX = "+1415555"

# Tables whose row counts the report shows before and after a run.
COUNTED = ("Lead", "Contact", "Contact Phone", "Dynamic Link", "Customer", "WhatsApp Account", "WhatsApp Conversation",
           "WhatsApp Message", "WhatsApp Webhook Event", "WhatsApp Pending Status", "File", "ToDo", "Version",
           "Comment", "Error Log", "Deleted Document", "Lead Source")


def _init() -> Any:
    os.chdir(os.path.join(BENCH, "sites"))
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    import frappe

    frappe.init(site=SITE)
    frappe.connect()
    frappe.set_user("Administrator")
    return frappe


def counts(args: dict[str, Any]) -> dict[str, Any]:
    """Row counts of the site's tables the benchmark writes to, and of the benchmark account's own rows."""
    import frappe

    account = args.get("account") or NAME_PREFIX
    tables = {t: frappe.db.count(t) for t in COUNTED if frappe.db.table_exists(t)}
    ours = {
        "conversations": frappe.db.count("WhatsApp Conversation", {"account": account}),
        "messages": frappe.db.count("WhatsApp Message", {"account": account}),
        "events": frappe.db.sql("SELECT COUNT(*) FROM `tabWhatsApp Webhook Event` WHERE signed_by LIKE %s",
                                (f"%{account}%",))[0][0],
        "bench_leads": frappe.db.count("Lead", {"lead_name": ("like", f"{NAME_PREFIX}%")}),
        "bench_contacts": frappe.db.count("Contact", {"first_name": ("like", f"{NAME_PREFIX}%")}),
        "bench_deleted_documents": frappe.db.count("Deleted Document", {"deleted_name": ("like", f"{NAME_PREFIX}%")}),
    }
    return {"tables": tables, "benchmark": ours}


def seed_known(args: dict[str, Any]) -> dict[str, Any]:
    """Leads for the numbers the benchmark treats as known customers (ERPNext makes each a Contact too,
    as CRM Settings say), inserted as a person would; numbers in Frappe's Phone-field form."""
    import frappe

    made = 0
    for e164 in args["numbers"]:
        stored = f"{e164[:2]}-{e164[2:]}"
        if frappe.db.exists("Lead", {"mobile_no": stored}):
            continue
        frappe.get_doc({"doctype": "Lead", "first_name": f"{NAME_PREFIX} Known {e164[-4:]}", "mobile_no": stored,
                        "source": "Walk In"}).insert(ignore_permissions=True)
        made += 1
    frappe.db.commit()
    return {"created": made}


def seed_long(args: dict[str, Any]) -> dict[str, Any]:
    """`n` messages in one conversation, alternating in and out, one a minute up to now, in one bulk insert."""
    import frappe

    conversation = frappe.get_doc("WhatsApp Conversation", args["conversation"])
    n = int(args.get("n", 5000))
    existing = frappe.db.count("WhatsApp Message", {"conversation": conversation.name})
    if existing >= n:
        return {"conversation": conversation.name, "messages": existing, "seconds": 0.0}
    t0 = time.perf_counter()
    start = datetime.now() - timedelta(minutes=n + 5)
    fields = ["name", "creation", "modified", "owner", "modified_by", "docstatus", "idx", "conversation", "account",
              "direction", "message_type", "status", "wamid", "party_doctype", "party_name", "received_at", "sent_at",
              "text", "sent_by", "attempts"]
    rows = []
    for i in range(n - existing):
        at = start + timedelta(minutes=i)
        inbound = i % 2 == 0
        rows.append((frappe.generate_hash(length=10), at, at, "Administrator", "Administrator", 0, 0, conversation.name,
                     conversation.account, "Inbound" if inbound else "Outbound", "text",
                     "Received" if inbound else "Read", f"wamid.bench-long-{conversation.name}-{i}",
                     conversation.party_doctype, conversation.party_name, at if inbound else None,
                     None if inbound else at, f"Seeded message {i}: " + ("the customer asks" if inbound else "we answer"),
                     None if inbound else "Administrator", 0 if inbound else 1))
    frappe.db.bulk_insert("WhatsApp Message", fields, rows, chunk_size=1000)
    frappe.db.commit()
    return {"conversation": conversation.name, "messages": frappe.db.count("WhatsApp Message",
                                                                           {"conversation": conversation.name}),
            "seconds": round(time.perf_counter() - t0, 2)}


def lag_rows(args: dict[str, Any]) -> dict[str, Any]:
    """Per stored message of the account: wamid, conversation, party and `creation` as epoch seconds (the
    site writes `creation` in its system time zone); plus duplicates by wamid and per conversation."""
    from zoneinfo import ZoneInfo

    import frappe
    from frappe.utils import get_system_timezone

    tz = ZoneInfo(get_system_timezone())
    account = args.get("account") or NAME_PREFIX
    rows = frappe.db.sql("""SELECT wamid, creation, conversation, party_doctype, party_name
        FROM `tabWhatsApp Message` WHERE account = %s AND direction = 'Inbound' AND wamid LIKE %s""",
                         (account, args.get("wamid_like", "%")), as_dict=True)
    duplicated = frappe.db.sql("""SELECT COUNT(*) - COUNT(DISTINCT wamid) FROM `tabWhatsApp Message`
        WHERE account = %s""", account)[0][0]
    conversations = frappe.db.sql("""SELECT wa_id, COUNT(*) FROM `tabWhatsApp Conversation` WHERE account = %s
        GROUP BY wa_id HAVING COUNT(*) > 1""", account)
    unlinked = frappe.db.count("WhatsApp Conversation", {"account": account, "party_name": ("is", "not set")})
    leads = frappe.db.sql("""SELECT mobile_no, COUNT(*) FROM tabLead WHERE lead_name LIKE %s
        GROUP BY mobile_no HAVING COUNT(*) > 1""", (f"{NAME_PREFIX}%",))
    events = dict(frappe.db.sql("""SELECT status, COUNT(*) FROM `tabWhatsApp Webhook Event`
        WHERE signed_by LIKE %s GROUP BY status""", (f"%{account}%",)))
    retried = frappe.db.sql("""SELECT COUNT(*) FROM `tabWhatsApp Webhook Event` WHERE signed_by LIKE %s
        AND attempts > 1""", (f"%{account}%",))[0][0]
    failed_items = frappe.db.sql("""SELECT COUNT(*) FROM `tabError Log` WHERE method LIKE %s""",
                                 ("WhatsApp webhook: message " + args.get("wamid_like", "%"),))[0][0]
    return {
        "messages": [[r.wamid, r.creation.replace(tzinfo=tz).timestamp(), r.conversation,
                      bool(r.party_name)] for r in rows],
        "duplicated_wamids": int(duplicated or 0),
        "conversations": frappe.db.count("WhatsApp Conversation", {"account": account}),
        "numbers_with_two_conversations": len(conversations),
        "conversations_without_party": unlinked,
        "numbers_with_two_bench_leads": len(leads),
        "events": events, "events_processed_more_than_once": int(retried),
        "message_failures_logged": int(failed_items),
    }


def profile(args: dict[str, Any]) -> dict[str, Any]:
    """Store `bodies` as the webhook does (one insert each, not queued), then run process_event on each under
    cProfile in this process: the job's own cost without the worker's fork. Returns the top functions by
    cumulative time, the time per event and the SQL statements per event."""
    import cProfile
    import hashlib
    import io
    import pstats

    import frappe

    from voice_agent.integrations.webhook_inbox import store_once
    from voice_agent.integrations.whatsapp.webhook import process_event

    account = args["account"]
    queries = {"n": 0}
    last_event: list[str] = []  # the statements of the last event, to see what a message costs
    sql = frappe.db.sql

    def counting_sql(*a: Any, **kw: Any) -> Any:
        queries["n"] += 1
        last_event.append(" ".join(str(a[0]).split())[:160])
        return sql(*a, **kw)

    prof = cProfile.Profile()
    t0 = time.perf_counter()
    per_event, cpu_event = [], []
    if args.get("drain"):
        return _profile_drain(args, prof)
    for body in args["bodies"]:
        # Stored and processed at once, so that a drain job of the site's worker does not take it first.
        name = hashlib.sha256(body.encode()).hexdigest()
        store_once({"doctype": "WhatsApp Webhook Event", "name": name, "dedupe_key": name, "account": account,
                    "fields": "messages", "status": "Received", "attempts": 0, "payload": body, "signed_by": account})
        frappe.db.commit()
        frappe.db.sql = counting_sql
        last_event.clear()
        s, c = time.perf_counter(), time.process_time()
        if args.get("cprofile", True):
            prof.enable()
        process_event(name)
        prof.disable()
        per_event.append((time.perf_counter() - s) * 1000)
        cpu_event.append((time.process_time() - c) * 1000)
        frappe.db.sql = sql
        frappe.db.commit()
    total = time.perf_counter() - t0
    frappe.db.sql = sql
    out = io.StringIO()
    if args.get("cprofile", True):
        stats = pstats.Stats(prof, stream=out).sort_stats(args.get("sort", "cumulative"))
        stats.print_stats(int(args.get("top", 45)))
        for name in args.get("callers") or ():
            stats.print_callers(name)
    return {"events": len(per_event), "seconds": round(total, 3), "ms_per_event": [round(x, 1) for x in per_event],
            "cpu_ms_per_event": [round(x, 1) for x in cpu_event],
            "queries_per_event": round(queries["n"] / max(1, len(per_event)), 1), "stats": out.getvalue(),
            "last_event_queries": last_event}


def _profile_drain(args: dict[str, Any], prof: Any) -> dict[str, Any]:
    """All bodies stored first, then one drain as the job runs it (claims, one transaction per event), in this
    process: what the worker's job costs per event, without the fork."""
    import hashlib
    import io
    import pstats

    import frappe

    from voice_agent.integrations.webhook_inbox import store_once
    from voice_agent.integrations.whatsapp import webhook

    for body in args["bodies"]:
        name = hashlib.sha256(body.encode()).hexdigest()
        store_once({"doctype": "WhatsApp Webhook Event", "name": name, "dedupe_key": name, "account": args["account"],
                    "fields": "messages", "status": "Received", "attempts": 0, "payload": body,
                    "signed_by": args["account"]})
    frappe.db.commit()
    frappe.set_user("Guest")  # as the job does: it inherits the webhook's user
    s, c = time.perf_counter(), time.process_time()
    prof.enable()
    webhook.drain(None)
    prof.disable()
    wall, cpu = (time.perf_counter() - s) * 1000, (time.process_time() - c) * 1000
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats(args.get("sort", "cumulative")).print_stats(int(args.get("top", 45)))
    n = len(args["bodies"])
    return {"events": n, "seconds": round(wall / 1000, 3), "ms_per_event": [round(wall / n, 1)],
            "cpu_ms_per_event": [round(cpu / n, 1)], "queries_per_event": 0, "stats": out.getvalue(),
            "last_event_queries": []}


def cleanup(args: dict[str, Any]) -> dict[str, Any]:
    """Remove everything the benchmark made: its account's messages (and their files), conversations (and
    their ToDos), webhook events and pending statuses, the account, and the "WA Bench" Leads and Contacts on
    the benchmark's numbers (Frappe's delete, permanently, so ERPNext removes a Lead's own Contact too)."""
    import frappe

    with _dynamic_links_removed_here(frappe):
        return _cleanup(frappe, args.get("account") or NAME_PREFIX, keep_account=bool(args.get("keep_account")))


def _dynamic_links_removed_here(frappe: Any) -> Any:
    """Frappe queues one job per deleted document to remove what links to it dynamically: a run's cleanup of
    ~1100 Leads and Contacts left ~2200 jobs (each a new process) that kept every RQ worker busy for minutes,
    and the next benchmark measured them (bot replies p95 10-17 s right after the ingest run). Here they run
    in this process, inside the cleanup's transaction."""
    from unittest.mock import patch

    from frappe.model.delete_doc import delete_dynamic_links

    enqueue = frappe.enqueue

    def inline(method: Any, *args: Any, **kwargs: Any) -> Any:
        if method == "frappe.model.delete_doc.delete_dynamic_links":
            return delete_dynamic_links(kwargs["doctype"], kwargs["name"])
        return enqueue(method, *args, **kwargs)

    return patch.object(frappe, "enqueue", side_effect=inline)


def _cleanup(frappe: Any, account: str, keep_account: bool) -> dict[str, int]:
    done: dict[str, int] = {}
    started = frappe.utils.now_datetime()
    messages = frappe.get_all("WhatsApp Message", filters={"account": account}, pluck="name")
    files = frappe.get_all("File", filters={"attached_to_doctype": "WhatsApp Message",
                                            "attached_to_name": ("in", messages or [""])}, pluck="name")
    for name in files:
        frappe.delete_doc("File", name, ignore_permissions=True, force=True, delete_permanently=True)
    done["files"] = len(files)
    conversations = frappe.get_all("WhatsApp Conversation", filters={"account": account}, pluck="name")
    done["todos"] = frappe.db.count("ToDo", {"reference_type": "WhatsApp Conversation",
                                             "reference_name": ("in", conversations or [""])})
    frappe.db.delete("ToDo", {"reference_type": "WhatsApp Conversation", "reference_name": ("in", conversations or [""])})
    for chunk in _chunks(messages, 2000):
        frappe.db.delete("WhatsApp Message", {"name": ("in", chunk)})
        # "Attachment" / "Attachment Removed" lines Frappe wrote on the messages for their files.
        frappe.db.delete("Comment", {"reference_doctype": "WhatsApp Message", "reference_name": ("in", chunk)})
    done["messages"] = len(messages)
    for chunk in _chunks(conversations, 2000):
        frappe.db.delete("Version", {"ref_doctype": "WhatsApp Conversation", "docname": ("in", chunk)})
        frappe.db.delete("WhatsApp Conversation", {"name": ("in", chunk)})
    done["conversations"] = len(conversations)
    where = "WHERE signed_by LIKE %s OR account = %s"
    done["events"] = frappe.db.sql(f"SELECT COUNT(*) FROM `tabWhatsApp Webhook Event` {where}",
                                   (f"%{account}%", account))[0][0]
    frappe.db.sql(f"DELETE FROM `tabWhatsApp Webhook Event` {where}", (f"%{account}%", account))
    frappe.db.delete("WhatsApp Pending Status", {"account": account})
    frappe.db.commit()
    leads = frappe.get_all("Lead", filters={"lead_name": ("like", f"{NAME_PREFIX}%"),
                                            "mobile_no": ("like", f"%{NUMBER_PREFIX[2:]}%")}, pluck="name")
    for name in leads:
        frappe.delete_doc("Lead", name, ignore_permissions=True, force=True, delete_permanently=True)
    frappe.db.commit()
    done["leads"] = len(leads)
    # Contacts ERPNext made for those Leads are gone with them; any left (their Lead re-linked) go too.
    contacts = frappe.get_all("Contact", filters={"first_name": ("like", f"{NAME_PREFIX}%")}, pluck="name")
    contacts = [c for c in contacts if _on_bench_number(frappe, c)]
    for name in contacts:
        frappe.delete_doc("Contact", name, ignore_permissions=True, force=True, delete_permanently=True)
    done["contacts"] = len(contacts)
    for doctype, names in (("Lead", leads), ("Contact", contacts)):
        for chunk in _chunks(names, 2000):
            frappe.db.delete("Version", {"ref_doctype": doctype, "docname": ("in", chunk)})
            frappe.db.delete("Comment", {"reference_doctype": doctype, "reference_name": ("in", chunk)})
    if frappe.db.exists("WhatsApp Account", account) and not keep_account:
        frappe.delete_doc("WhatsApp Account", account, ignore_permissions=True, force=True, delete_permanently=True)
        done["account"] = 1
    # Frappe's "Deleted" feed line of each record deleted here (a Lead's own Contact included).
    feed = [f"Lead {n}" for n in leads] + [f"File {n}" for n in files] + [f"WhatsApp Account {account}"]
    for chunk in _chunks(feed, 2000):
        frappe.db.delete("Comment", {"comment_type": "Deleted", "creation": (">=", started),
                                     "subject": ("in", chunk)})
    frappe.db.delete("Comment", {"comment_type": "Deleted", "reference_doctype": "Contact",
                                 "subject": ("like", f"Contact {NAME_PREFIX}%")})
    # What Frappe wrote about them: Deleted Document copies (ERPNext deletes a Lead's Contact with it, and
    # keeps a copy), and Error Logs of the benchmark's own messages (their tracebacks name the account).
    done["deleted_documents"] = frappe.db.count("Deleted Document", {
        "deleted_doctype": ("in", ("Lead", "Contact")), "deleted_name": ("like", f"{NAME_PREFIX}%")})
    frappe.db.delete("Deleted Document", {"deleted_doctype": ("in", ("Lead", "Contact")),
                                          "deleted_name": ("like", f"{NAME_PREFIX}%")})
    logs = frappe.db.sql_list("""SELECT name FROM `tabError Log` WHERE method LIKE %(w)s OR error LIKE %(w)s
        OR error LIKE %(a)s""", {"w": "%wamid.bench-%", "a": f"%{account}%"})
    done["error_logs"] = len(logs)
    for chunk in _chunks(logs, 2000):
        frappe.db.delete("Error Log", {"name": ("in", chunk)})
    frappe.db.commit()
    return done


def forget_deletions(args: dict[str, Any]) -> dict[str, Any]:
    """The traces Frappe keeps of records a check deleted through the REST API (which cannot delete
    permanently): their Deleted Document copies, "Deleted" feed lines and Versions, and those of what went
    with them (ERPNext deletes a Lead's own Contact, a Customer's Contacts; Frappe a User's Notification
    Settings). `records`: [[doctype, name], ...]; `seconds`: how long ago the deleting started, so that older
    traces of a name used before are left alone (`made_seconds`: how long ago the check began, for the
    Versions it wrote). `users`: users the check made and deleted, whose sessions left rows of their own
    (Activity Log, Route History, Access Log, sessions, list settings, notification emails). `sessions`: the
    check's own login sessions (sids); `logins`: [[user, from, until], ...] (epoch ms), when it logged in.
    Error Logs written since the check began that name one of its records or users go too: their titles are
    returned, for the check to show."""
    import frappe
    from frappe.deferred_insert import save_to_db

    save_to_db()  # Route History and the Error Logs of failed requests wait in a queue for the scheduler
    since = frappe.utils.add_to_date(frappe.utils.now_datetime(), seconds=-int(args["seconds"]))
    made_since = frappe.utils.add_to_date(frappe.utils.now_datetime(),
                                          seconds=-int(args.get("made_seconds") or args["seconds"]))
    records = [(doctype, name) for doctype, name in args.get("records", [])]
    users = list(args.get("users") or [])
    names = sorted({name for _doctype, name in records})
    copies = frappe.get_all("Deleted Document", filters={"creation": (">=", since)},
                            fields=["name", "deleted_doctype", "deleted_name", "data"])
    # What went with a record is named otherwise (a Lead's Contact after its person, a message's File by
    # hash): its copy names the record it belonged to.
    copies = [c for c in copies if c.deleted_name in names or (
        c.deleted_doctype in ("Contact", "File") and any(n in (c.data or "") for n in names))]
    contacts = [c.deleted_name for c in copies if c.deleted_doctype == "Contact"]
    subjects = [f"{doctype} {name}" for doctype, name in records] + [f"Contact {name}" for name in contacts] + [
        f"Notification Settings {user}" for user in users]
    feed = frappe.get_all("Comment", filters={"comment_type": "Deleted", "creation": (">=", since),
                                              "subject": ("in", subjects or [""])}, pluck="name")
    frappe.db.delete("Comment", {"name": ("in", feed or [""])})
    frappe.db.delete("Deleted Document", {"name": ("in", [c.name for c in copies] or [""])})
    versions = 0
    for doctype, name in [*records, *(("Contact", c) for c in contacts)]:
        filters = {"ref_doctype": doctype, "docname": name, "creation": (">=", made_since)}
        versions += frappe.db.count("Version", filters)
        frappe.db.delete("Version", filters)
    # Names short enough to occur by chance in someone else's traceback are left out.
    marks = [n for n in [*names, *users] if len(n) >= 8]
    logs = [row for row in frappe.get_all("Error Log", filters={"creation": (">=", made_since)},
                                          fields=["name", "method", "error"])
            if any(m in f"{row.method or ''}\n{row.error or ''}" for m in marks)]
    frappe.db.delete("Error Log", {"name": ("in", [row.name for row in logs] or [""])})
    logins = _forget_logins(list(args.get("sessions") or []), args.get("logins") or [])
    done: dict[str, Any] = {"deleted_documents": len(copies), "feed_lines": len(feed), "versions": versions,
                            "logins": logins, "error_logs": sorted({(row.method or "")[:140] for row in logs})}
    if users:
        done.update(_forget_users(users, made_since))
    frappe.db.commit()
    return done


def singles(args: dict[str, Any]) -> dict[str, Any]:
    """The stored rows of the single doctypes `doctypes` as they are (their passwords too, which the REST API
    masks), for restore_singles to put back exactly, `modified` included, after a check changed them."""
    import frappe

    return {doctype: {
        "values": frappe.db.sql("SELECT field, value FROM `tabSingles` WHERE doctype = %s", (doctype,)),
        "auth": frappe.db.sql("SELECT fieldname, `password`, encrypted FROM `__Auth` WHERE doctype = %s AND name = %s",
                              (doctype, doctype)),
    } for doctype in args["doctypes"]}


def restore_singles(args: dict[str, Any]) -> dict[str, Any]:
    """Puts back what `singles` read (`saved`: its answer), and drops the cached documents."""
    import frappe

    for doctype, saved in args["saved"].items():
        frappe.db.sql("DELETE FROM `tabSingles` WHERE doctype = %s", (doctype,))
        for field, value in saved["values"]:
            frappe.db.sql("INSERT INTO `tabSingles` (doctype, field, value) VALUES (%s, %s, %s)", (doctype, field, value))
        frappe.db.sql("DELETE FROM `__Auth` WHERE doctype = %s AND name = %s", (doctype, doctype))
        for fieldname, password, encrypted in saved["auth"]:
            frappe.db.sql("INSERT INTO `__Auth` (doctype, name, fieldname, `password`, encrypted) VALUES (%s, %s, %s, %s, %s)",
                          (doctype, doctype, fieldname, password, encrypted))
        frappe.clear_document_cache(doctype, doctype)
    frappe.db.commit()
    return {"restored": sorted(args["saved"])}


def forget_logins(args: dict[str, Any]) -> dict[str, Any]:
    """A benchmark's own logins, which Frappe keeps after it ends: `sessions` and `logins` as
    forget_deletions takes them."""
    import frappe

    removed = _forget_logins(list(args.get("sessions") or []), args.get("logins") or [])
    frappe.db.commit()
    return {"logins": removed}


def _forget_logins(sessions: list[str], logins: list[list[Any]]) -> int:
    """Login sessions (sids), and the "logged in" lines of those logins: the user's, within the second each
    logged in (`logins`: [[user, from, until], ...], epoch ms). Returns the lines removed."""
    import frappe

    sessions = [sid for sid in sessions if sid]
    if sessions:
        frappe.db.sql("DELETE FROM `tabSessions` WHERE sid IN %s", (sessions,))
    removed = 0
    for user, start, end in logins:
        window = [_site_time(start / 1000 - 0.5), _site_time(end / 1000 + 0.5)]
        filters = {"user": user, "operation": "Login", "creation": ("between", window)}
        removed += frappe.db.count("Activity Log", filters)
        frappe.db.delete("Activity Log", filters)
    return removed


def _site_time(epoch: float) -> datetime:
    """An instant as the site stores it: naive, in its system time zone."""
    from zoneinfo import ZoneInfo

    from frappe.utils import get_system_timezone

    return datetime.fromtimestamp(epoch, ZoneInfo(get_system_timezone())).replace(tzinfo=None)


def _forget_users(users: list[str], since: Any) -> dict[str, int]:
    """What the sessions of deleted users left behind (Frappe keeps it when a user is deleted)."""
    import frappe

    done: dict[str, int] = {}
    for doctype, field in (("Activity Log", "user"), ("Route History", "user"), ("Access Log", "user")):
        done[doctype] = frappe.db.count(doctype, {field: ("in", users)})
        frappe.db.delete(doctype, {field: ("in", users)})
    done["sessions"] = frappe.db.sql("SELECT COUNT(*) FROM `tabSessions` WHERE user IN %s", (users,))[0][0]
    frappe.db.sql("DELETE FROM `tabSessions` WHERE user IN %s", (users,))
    frappe.db.sql("DELETE FROM `__UserSettings` WHERE user IN %s", (users,))
    # Notification emails to them (assignments): queued rows that write to no one else.
    queued = frappe.get_all("Email Queue Recipient", filters={"recipient": ("in", users), "creation": (">=", since)},
                            pluck="parent")
    emails = [q for q in set(queued) if not frappe.db.exists(
        "Email Queue Recipient", {"parent": q, "recipient": ("not in", users)})]
    frappe.db.delete("Email Queue Recipient", {"parent": ("in", emails or [""])})
    frappe.db.delete("Email Queue", {"name": ("in", emails or [""])})
    done["emails"] = len(emails)
    return done


def ultravox_tools(args: dict[str, Any]) -> dict[str, Any]:
    """The tools of profile `profile` as an Ultravox call gets them (voice_agent.integrations.ultravox), for a
    site where no call can be started against the fake Ultravox."""
    import frappe

    from voice_agent.actions.runner import offered_tools
    from voice_agent.integrations.ultravox.calls import tool_url
    from voice_agent.integrations.ultravox.tools import selected_tools

    profile = frappe.get_doc("Voice Agent Profile", args["profile"])
    return {"selectedTools": selected_tools(offered_tools(profile), tool_url, "site-check", "site-check")}


def _on_bench_number(frappe: Any, contact: str) -> bool:
    phones = frappe.get_all("Contact Phone", filters={"parent": contact, "parenttype": "Contact"}, pluck="phone")
    return bool(phones) and all(NUMBER_PREFIX[2:] in "".join(ch for ch in p if ch.isdigit()) for p in phones)


def _chunks(items: list[str], size: int):
    for i in range(0, len(items), size):
        yield items[i:i + size]


COMMANDS = {"forget_deletions": forget_deletions, "forget_logins": forget_logins, "counts": counts, "seed_known": seed_known, "seed_long": seed_long, "lag_rows": lag_rows,
            "profile": profile, "cleanup": cleanup, "ultravox_tools": ultravox_tools, "singles": singles,
            "restore_singles": restore_singles}


def main() -> None:
    command = sys.argv[1]
    args = json.loads(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2] != "-" else (
        json.loads(sys.stdin.read() or "{}") if len(sys.argv) > 2 else {})
    frappe = _init()
    try:
        result = COMMANDS[command](args)
    finally:
        frappe.destroy()
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
