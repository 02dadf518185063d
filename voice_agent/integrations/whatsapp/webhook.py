"""Meta's webhooks for every WhatsApp Account: the GET subscription handshake, and POSTs verified with
X-Hub-Signature-256 over the raw body, stored raw in one INSERT and acknowledged at once, then processed
— every entry, change, message and status of the batch. A failure keeps the event for the scheduler to
retry; processed events are deleted after the retention period (personal data).

Who processes a stored event: when someone waits for it (a customer for the bot's answer, a call ringing),
the web process that stored it, right after answering Meta (a job would start about half a second later,
a fresh process importing Frappe, ERPNext and this app), while another web worker stays free for the
desk; otherwise (statuses, messages no bot answers, a burst) a drain job, which goes through many more
events a second than web processes doing one each. One job drains every stored event, rather than one job per delivery:
each RQ job pays that start (~0.8 s of a core on a 2-core bench, for ~25 ms of work per message), so at
Meta's busy rates jobs per delivery fell behind by themselves (4.7 messages/s per worker,
docs/benchmarks.md). A delivery queues a drain job unless one is queued that will see it: the job moves
the "generation" on as it starts, and only stops once no delivery that relied on it is still on its way
to its commit (the "in flight" set) and nothing is left to claim; at a busy number's pace one drain
stays for the next delivery, unless the bot's jobs or any other job need the worker, and deliveries that
see it staying queue no job. Several workers drain side by side, each claiming events with SKIP LOCKED.
An event whose web process died before processing it is processed by the scheduler's retry a minute or
two later."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

import frappe
from frappe import _
from frappe.utils import add_days, add_to_date, cint, now_datetime
from frappe.utils.background_jobs import get_queue, is_job_enqueued

from voice_agent.conversations import bot
from voice_agent.conversations.service import discard_new_parties, link_new_parties, lock_customers
from voice_agent.integrations.webhook_inbox import store_once
from voice_agent.integrations.whatsapp import calls
from voice_agent.integrations.whatsapp import payloads as p
from voice_agent.integrations.whatsapp.connect import account_for_phone_number, verify_tokens, webhook_secrets
from voice_agent.integrations.whatsapp.inbound import apply_message
from voice_agent.integrations.whatsapp.signature import (
    SIGNATURE_HEADER,
    HandshakeRefused,
    WebhookSignatureError,
    answer_handshake,
    verify,
)
from voice_agent.integrations.whatsapp.statuses import apply_status
from voice_agent.locks import LockTimeout, read_committed
from voice_agent.site_user import as_administrator

EVENT = "WhatsApp Webhook Event"
MAX_ATTEMPTS = 8
DRAIN = "voice_agent.integrations.whatsapp.webhook.drain"
DRAIN_JOB = "whatsapp-webhook-drain:"
QUEUE = "short"
# A drain gives way to other jobs waiting on its queue (a send, a read receipt): it looks every second,
# and ends and queues its successor behind them. Otherwise it goes on for up to this long, since every
# new job is a new process that imports ERPNext and this app again (about a second of a core).
DRAIN_SECONDS = 120
GIVE_WAY_CHECK_SECONDS = 1.0
INFLIGHT_SECONDS = 10  # a delivery not committed by then is left to the scheduler's retry
# A drain with nothing to claim stays while a delivery landed this recently: at a busy number's pace the
# queue empties for a moment between deliveries, and a drain that ended at each of those moments was
# replaced by a new job, a new process, dozens of times a minute (docs/benchmarks.md, sustained ingest).
ARRIVALS_GAP_SECONDS = 1.0
STAYING_SECONDS = 0.5  # a staying drain renews its place every 50 ms; a killed one stops counting then
FAILED_RETRY_MIN = 5
AFTER_RESPONSE_STALE_SEC = 30  # a web process that died while processing stops counting then
TRANSIENT_RETRIES = 3


class InvalidWebhook(frappe.ValidationError):
    http_status_code = 400


def handshake(args: dict[str, Any]) -> str:
    try:
        return answer_handshake(args.get("hub.mode"), args.get("hub.verify_token"), args.get("hub.challenge"),
                                verify_tokens())
    except HandshakeRefused:
        frappe.throw(_("Webhook verification refused."), frappe.PermissionError)


def receive() -> dict[str, str]:
    raw = frappe.request.get_data(cache=True)
    header = frappe.get_request_header(SIGNATURE_HEADER)
    signers = [account for account, secrets in webhook_secrets().items() if _signed(raw, header, secrets)]
    if not signers:
        frappe.throw(_("Invalid webhook signature"), frappe.AuthenticationError)
    try:
        batch = p.parse_webhook(raw)
    except p.WebhookPayloadError as exc:
        frappe.throw(_("Invalid webhook payload: {0}").format(str(exc)[:200]), InvalidWebhook)
    stored = store_once({
        "doctype": EVENT, "name": batch.dedupe_key, "dedupe_key": batch.dedupe_key, "account": signers[0],
        "fields": ",".join(sorted({change.field for change in batch.changes}))[:140], "status": "Received",
        "attempts": 0, "payload": raw.decode(), "signed_by": ",".join(signers),
    })
    if not stored:
        return {"status": "duplicate"}
    bot_answers = any(change.field == p.MESSAGES_FIELD and change.value.get("messages") for change in batch.changes) \
        and bot.answers_for(signers)
    ringing = any(change.field == p.CALLS_FIELD for change in batch.changes)
    if not ((bot_answers or ringing) and _process_after_response(batch.dedupe_key)):
        _enqueue(batch.dedupe_key)
    if bot_answers:
        bot.expect_customer_message()
    return {"status": "accepted"}


def _process_after_response(event_name: str) -> bool:
    """The web process handles the event right after answering Meta, if it has a turn (see above). A drain
    job queued by another delivery may claim it first: the event row is locked while either handles it."""
    after_response = getattr(getattr(frappe.local, "request", None), "after_response", None)
    if after_response is None or frappe.flags.in_test:
        return False
    turns = _key("after-response")
    token = frappe.generate_hash(length=12)
    frappe.cache.zremrangebyscore(turns, "-inf", time.time() - AFTER_RESPONSE_STALE_SEC)
    frappe.cache.zadd(turns, {token: time.time()})
    if frappe.cache.zcard(turns) > max(1, cint(frappe.conf.gunicorn_workers or 4) - 1):
        frappe.cache.zrem(turns, token)
        return False

    def process() -> None:
        try:
            read_committed()
            with as_administrator(), bot.answers_here():
                _process_isolated(event_name)
        finally:
            frappe.cache.zrem(turns, token)

    after_response.add(process)
    return True


def process_event(event_name: str) -> None:
    # Conversations, Leads and Contacts for new numbers may be created by a concurrent job: see them.
    read_committed()
    with as_administrator():
        _process(event_name)


def drain(event_name: str | None = None) -> None:
    """The webhook job: every stored event not processed yet, oldest first, each in its own transaction,
    until none is left and no delivery that counted on this job is still committing. `event_name` (the
    delivery that queued the job) is among them."""
    frappe.cache.incr(_key("drain-generation"))  # deliveries from now on queue a job of their own
    read_committed()
    with as_administrator():
        _drain()


def _drain() -> None:
    me = frappe.generate_hash(length=12)
    stayed = False
    deadline = time.monotonic() + DRAIN_SECONDS
    look_at_queue = time.monotonic() + GIVE_WAY_CHECK_SECONDS
    try:
        while time.monotonic() < deadline:
            if time.monotonic() >= look_at_queue:
                if _others_waiting():
                    break
                look_at_queue = time.monotonic() + GIVE_WAY_CHECK_SECONDS
            name = _claim()
            if name:
                _process_isolated(name)
                continue
            if _in_flight():
                time.sleep(0.02)
                continue
            name = _claim()  # committed just before it left the in-flight set
            if name:
                _process_isolated(name)
            elif _stay(me):
                stayed = True
                time.sleep(0.05)
            elif stayed:
                stayed = False  # it left the staying set just now: one more look, for deliveries that counted on it
            else:
                return
    finally:
        frappe.cache.zrem(_key("staying"), me)
    _enqueue_drain(None)  # out of time, or giving way: the next job goes on behind the others


def _stay(me: str) -> bool:
    """Between deliveries of a busy number, one drain stays for the next one: deliveries that see it staying
    queue no job (a new process), it takes them. It leaves the staying set before its last look at the
    table (see `_enqueue`)."""
    staying = _key("staying")
    now = time.time()
    frappe.cache.zremrangebyscore(staying, "-inf", now)
    if _between_deliveries() and (frappe.cache.zscore(staying, me) is not None or not frappe.cache.zcard(staying)):
        frappe.cache.zadd(staying, {me: now + STAYING_SECONDS})
        return True
    frappe.cache.zrem(staying, me)
    return False


def _others_waiting() -> bool:
    """Jobs other than drains waiting on the drain's queue (drains queued by deliveries do not count)."""
    return any(DRAIN_JOB not in job_id for job_id in get_queue(QUEUE).get_job_ids())


def _claim() -> str | None:
    rows = frappe.db.sql(f"""SELECT name FROM `tab{EVENT}` WHERE status = 'Received'
        ORDER BY creation LIMIT 1 FOR UPDATE SKIP LOCKED""")
    return rows[0][0] if rows else None


def _process_isolated(event_name: str) -> None:
    """One event; what raises outside its items (a payload that no longer parses) marks it failed, for the
    scheduler, instead of ending the drain. A deadlock or a lock wait is tried again at once: the database
    undid the whole event, and it is idempotent."""
    for attempt in range(TRANSIENT_RETRIES + 1):
        try:
            _process(event_name)
            return
        except Exception as exc:
            frappe.db.rollback()
            calls.discard_followups()
            discard_new_parties()
            if _transient(exc) and attempt < TRANSIENT_RETRIES:
                time.sleep(random.uniform(0.05, 0.2) * (attempt + 1))
                continue
            frappe.log_error(title=f"WhatsApp webhook event {event_name} failed")
            attempts = cint(frappe.db.get_value(EVENT, event_name, "attempts")) + 1
            frappe.db.set_value(EVENT, event_name, {"status": "Failed", "attempts": attempts,
                                                    "error": frappe.get_traceback()[-4000:]})
            frappe.db.commit()
            return


def _transient(exc: Exception) -> bool:
    # Frappe raises the database's deadlock and lock wait timeout as these two.
    return isinstance(exc, LockTimeout | frappe.QueryDeadlockError | frappe.QueryTimeoutError)


def _process(event_name: str) -> None:
    calls.discard_followups()
    discard_new_parties()
    record = frappe.get_doc(EVENT, event_name, for_update=True)
    if record.status == "Processed":
        frappe.db.commit()
        return
    signers = set((record.signed_by or record.account or "").split(","))
    notes: list[str] = []  # items that cannot be processed and never will be: kept in the payload
    failures: list[str] = []  # items whose processing raised: the event is retried
    items = 0
    changes: list[tuple[str, p.MessagesChange]] = []
    call_changes: list[tuple[str, p.CallsChange]] = []
    for change in p.parse_webhook(record.payload.encode()).changes:
        parsed = change.parse()
        if parsed is None:
            continue  # fields we do not handle yet stay in the stored payload
        account = account_for_phone_number(parsed.phone_number_id)
        if account not in signers:
            notes.append(f"phone number {parsed.phone_number_id}: no account that signed this delivery has it")
            continue
        if isinstance(parsed, p.CallsChange):
            call_changes.append((account, parsed))
        else:
            changes.append((account, parsed))
    # Every customer of the batch is locked before any is changed, in one order: two jobs whose batches
    # share two customers would otherwise each hold one and wait for the other until the lock times out.
    lock_customers({(account, m.from_wa_id or m.from_user_id) for account, parsed in changes
                    for m in parsed.messages if m.from_wa_id or m.from_user_id}
                   | {(account, calls.customer_of(e)) for account, parsed in call_changes
                      for e in parsed.calls if calls.customer_of(e)})
    for account, parsed in changes:
        notes += [f"{item.kind} {item.index}: {item.reason}" for item in parsed.malformed]
        for message in parsed.messages:
            items += 1
            failures += _isolated(f"message {message.wamid}", apply_message, account, parsed, message)
        for status in parsed.statuses:
            items += 1
            failures += _isolated(f"status {status.wamid}", apply_status, account, status)
        for call_status in parsed.call_statuses:
            items += 1
            failures += _isolated(f"call status {call_status.wacid}", calls.apply_call_status, account, call_status)
        for error in parsed.errors:
            frappe.db.set_value("WhatsApp Account", account, "last_error",
                                f"{error.code}: {error.title or error.message}"[:1000], update_modified=False)
    for account, parsed in call_changes:
        # Value-level errors of a calls change repeat the errors of its calls (138021 comes in both).
        notes += [f"{item.kind} {item.index}: {item.reason}" for item in parsed.malformed]
        for event in parsed.calls:
            items += 1
            failures += _isolated(f"call {event.wacid} {event.event}", calls.apply_call_event, account, parsed, event)
        for call_status in parsed.statuses:
            items += 1
            failures += _isolated(f"call status {call_status.wacid}", calls.apply_call_status, account, call_status)
    # Not record.db_set: it reads the whole record again first (the payload included) for change hooks
    # this doctype does not have.
    frappe.db.set_value(EVENT, record.name, {
        "status": "Failed" if failures else "Processed", "attempts": (record.attempts or 0) + 1,
        "items": items, "processed_at": now_datetime(), "error": "\n".join(failures + notes)[-4000:] or None})
    frappe.db.commit()
    calls.run_followups()  # ringing a new call, Meta's answer to the sidecar: only once it is all committed
    bot.answer_kept()  # the customer waits for the bot's answer (only in the web process: see answers_here)
    link_new_parties()  # new customers' Leads: the bot, queued by the commit, starts meanwhile


def retry_failed_events() -> None:
    """Scheduler (every minute): events never processed (a lost job, a web process that died) after a
    minute, and failed ones every few minutes, are processed again (it is idempotent)."""
    now = now_datetime()
    read_committed()
    names = frappe.db.sql_list(f"""SELECT name FROM `tab{EVENT}`
        WHERE attempts < %(max)s AND ((status = 'Received' AND modified < %(unprocessed)s)
                                      OR (status = 'Failed' AND modified < %(failed)s))
        ORDER BY creation LIMIT 200""", {"max": MAX_ATTEMPTS, "unprocessed": add_to_date(now, minutes=-1),
                                          "failed": add_to_date(now, minutes=-FAILED_RETRY_MIN)})
    with as_administrator():
        for name in names:
            _process_isolated(name)  # as the drain does: a failure counts an attempt, so retries end


def delete_old_events() -> None:
    """Scheduler: raw payloads are personal data; processed ones go after the retention period."""
    days = max(1, frappe.get_cached_doc("WhatsApp Settings").raw_payload_retention_days or 30)
    frappe.db.delete(EVENT, {"status": "Processed", "creation": ("<", add_days(now_datetime(), -days))})
    frappe.db.delete("WhatsApp Pending Status", {"creation": ("<", add_days(now_datetime(), -7))})
    # Media of messages whose file a personal data request redacted.
    for file_name in frappe.db.sql_list("""SELECT f.name FROM `tabFile` f
            JOIN `tabWhatsApp Message` m ON m.name = f.attached_to_name
            WHERE f.attached_to_doctype = 'WhatsApp Message' AND IFNULL(m.media_file, '') != f.file_url"""):
        frappe.delete_doc("File", file_name, ignore_permissions=True, force=True)


def _isolated(what: str, apply: Callable[..., None], *args: Any) -> list[str]:
    """One item in a savepoint: a bad one is reported (and retried with the event) without undoing the rest."""
    savepoint = "whatsapp_item"
    frappe.db.savepoint(savepoint)
    followups = list(getattr(frappe.local, "whatsapp_call_followups", []))
    try:
        apply(*args)
    except Exception as exc:
        if _transient(exc):
            raise  # a deadlock undid the whole transaction, savepoint included: the event is tried again
        frappe.db.rollback(save_point=savepoint)
        frappe.local.whatsapp_call_followups = followups  # what the undone item asked for is undone too
        frappe.log_error(title=f"WhatsApp webhook: {what} failed")
        return [f"{what}: {frappe.get_traceback()[-1500:]}"]
    frappe.db.release_savepoint(savepoint)
    return []


def _signed(raw: bytes, header: str | None, secrets: tuple[str, ...]) -> bool:
    try:
        verify(raw, header, secrets)
    except WebhookSignatureError:
        return False
    return True


def _enqueue(event_name: str) -> None:
    """A drain job for this delivery, unless one is queued that will see it. The delivery is "in flight"
    until its transaction ends, so that a job that was queued when it looked does not stop before it
    is committed."""
    in_flight = _key("in-flight")
    frappe.cache.zadd(in_flight, {event_name: time.time()})

    def landed() -> None:
        frappe.cache.zrem(in_flight, event_name)

    def committed() -> None:
        landed()
        frappe.cache.set(_key("last-landed"), str(time.time()), ex=60)

    frappe.db.after_commit.add(committed)
    frappe.db.after_rollback.add(landed)
    # A staying drain takes it. The drain leaves the staying set before its last look at the table, and
    # this delivery joins the in-flight set before it looks: either the drain, looking, still sees it in
    # flight and waits for its commit, or this delivery no longer sees the drain and queues a job.
    if not frappe.cache.zcount(_key("staying"), time.time(), "+inf"):
        _enqueue_drain(event_name)


def _enqueue_drain(event_name: str | None) -> None:
    job_id = f"{DRAIN_JOB}{cint(frappe.cache.get(_key('drain-generation')))}"
    if not frappe.flags.in_test and is_job_enqueued(job_id):
        return  # queued, or started without having moved the generation on: it drains this one too
    frappe.enqueue(DRAIN, queue=QUEUE, event_name=event_name, job_id=job_id, deduplicate=True,
                   enqueue_after_commit=True)


def _in_flight() -> bool:
    in_flight = _key("in-flight")
    frappe.cache.zremrangebyscore(in_flight, "-inf", time.time() - INFLIGHT_SECONDS)
    return bool(frappe.cache.zcard(in_flight))


def _between_deliveries() -> bool:
    """A delivery landed less than ARRIVALS_GAP_SECONDS ago and nobody else counts on this worker: no other
    job waits on the queue (a staying drain looks every 50 ms), and the bot has no jobs waiting for
    customers' messages or starting to (a customer waits for its answer; drains that stayed took the
    workers its jobs needed)."""
    landed = frappe.cache.get(_key("last-landed"))
    return (landed is not None and time.time() - float(landed) < ARRIVALS_GAP_SECONDS
            and not bot.TURNS.in_play() and not _others_waiting())


def _key(name: str) -> str:
    return frappe.cache.make_key(f"whatsapp-webhook:{name}")

