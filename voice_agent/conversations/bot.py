"""The WhatsApp bot on a conversation: the Frappe glue of ``voice_agent.bot`` (which decides everything).

- ``on_customer_message``: a customer message landed (the webhook job) → a job for its conversation.
- ``answer_conversation`` (the job): one at a time per conversation (a named lock held across the turn),
  so two quick messages never get crossed replies: the second job waits, then finds the first one has
  answered both, or answers what came after. Each turn loads the bot's memory and the latest messages,
  checks the caps, shows "typing…", calls ``engine.answer`` with the profile's tools (the voice agent's
  code: ``actions.runner.call_tool``), then in one transaction stores the reply (queued), the score, the
  memory and the costs; after the commit it sends the reply at once. A job lost to a crash is redone by
  ``answer_waiting`` (every minute): nothing the customer wrote goes unanswered.
- ``hand_over`` / ``give_back`` / ``take_over``: who handles the conversation, with the reason shown
  on it, the person notified (a desk notification, live in the bell), assigned by round robin or Lead owner.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import frappe
from frappe import _
from frappe.utils import add_to_date, convert_utc_to_system_timezone, get_system_timezone, now_datetime

from voice_agent.actions.runner import ToolCaller, call_tool, offered_tools
from voice_agent.agent.tools import TOOLS
from voice_agent.bot import limits
from voice_agent.bot.context import ContextLimits, Message, PartyFacts, should_summarise, summary_request
from voice_agent.bot.engine import Answer, BotProfile, Memory, answer
from voice_agent.bot.handover import HandOver, hand_over_notice, pick_assignee
from voice_agent.bot.scoring import Signal
from voice_agent.conversations import scores
from voice_agent.conversations.access import _managers as managers
from voice_agent.conversations.service import assign_user, lock_customer
from voice_agent.integrations.llm.base import LLMClient, Usage
from voice_agent.integrations.llm.connect import chat_client_for_profile, provider_price
from voice_agent.integrations.llm.errors import LLMError
from voice_agent.integrations.whatsapp.outbound import queue_message, send, send_read_receipt
from voice_agent.locks import held_lock, read_committed
from voice_agent.site_time import to_utc
from voice_agent.site_user import as_administrator
from voice_agent.warm_jobs import WarmJobs

CONVERSATION = "WhatsApp Conversation"
MESSAGE = "WhatsApp Message"
ACCOUNT = "WhatsApp Account"
PROFILE = "Voice Agent Profile"
# A job waits this long for the one before it on the same conversation (a turn takes a few seconds).
LOCK_WAIT_SEC = 120
# Turns one job takes at most: messages that came in while it answered are answered by it.
MAX_TURNS_PER_JOB = 5
MODEL_BUDGET_SEC = 30.0
SEND_TIMEOUT_SEC = 10.0
# Messages read per turn: the context window and the few before it (the summary's bookkeeping).
MESSAGES_READ = ContextLimits().max_messages + ContextLimits().summary_batch
IGNORED_KINDS = ("reaction", "system")
# Bot jobs stay warm for the next message (a new job would start about half a second late).
TURNS = WarmJobs("whatsapp-bot", "voice_agent.conversations.bot.answer_conversations", queue="short")
REASON_LABELS = {
    "customer_asked": "The customer asked for a person",
    "tool_failures": "A tool kept failing",
    "model_unsure": "The bot was not sure how to help",
    "score_threshold": "The lead score reached the threshold",
    "max_turns": "The bot reached its maximum number of replies",
    "bot_unavailable": "The bot could not answer",
    "person_took_over": "A person took over",
}


# -- entry points ---------------------------------------------------------------------------------

def on_customer_message(conversation: Any, message: Any) -> None:
    """After an inbound message is stored (the caller commits): the bot's job, if the bot answers here."""
    if message.message_type in IGNORED_KINDS or conversation.bot_state in ("Handed over", "Off"):
        return
    if bot_profile_for(conversation.account):
        _enqueue(conversation.name)


def answer_conversations(item: str | None = None, waiter: str | None = None) -> None:
    """The job: this conversation (none: a job standing by), then the ones submitted while it stays warm
    (voice_agent/warm_jobs.py). As the site, whoever queued it (a webhook as Guest, a person giving the
    conversation back): the job serves whichever conversations come next."""
    with as_administrator():
        TURNS.serve(item, answer_conversation, waiter)


def answers_here() -> Any:
    """Within (the web process that stored a webhook, right after answering Meta): a customer message no
    warm bot job waits for is answered in this process, by `answer_kept`, instead of by a new job."""
    return TURNS.kept_here()


def answer_kept() -> None:
    with as_administrator():
        TURNS.handle_kept(answer_conversation)


def answers_for(accounts: list[str]) -> bool:
    """The bot answers the customers of one of these numbers."""
    return any(bot_profile_for(account) for account in accounts)


def expect_customer_message() -> None:
    """A webhook with customers' messages the bot answers was stored: a bot job starts beside its
    processing, not after it."""
    TURNS.expect()


def answer_conversation(conversation: str) -> None:
    """All turns due on one conversation."""
    read_committed()
    with held_lock(f"bot:{conversation}", LOCK_WAIT_SEC) as granted:
        if not granted:
            # The job before is stuck on this conversation for minutes: the sweep tries again later.
            frappe.log_error(title=f"WhatsApp bot: {conversation} stayed locked for {LOCK_WAIT_SEC} s")
            return
        for _turn in range(MAX_TURNS_PER_JOB):
            if take_turn(conversation) is None:
                return


def answer_now(conversation: str) -> Answer | None:
    """One turn now, in this request (``process_message``), under the conversation's lock."""
    read_committed()
    with held_lock(f"bot:{conversation}", LOCK_WAIT_SEC) as granted:
        if not granted:
            frappe.throw(_("The bot is still busy with this conversation; try again in a moment."))
        return take_turn(conversation)


def answer_waiting() -> None:
    """Every minute: conversations whose customer wrote last, 1 to 30 minutes ago, with the bot on and no
    hand-over, or whose pause has ended (a crashed job, a lost queue, a cap that held the reply)."""
    now = now_datetime()
    rows = frappe.db.sql("""
        SELECT c.name FROM `tabWhatsApp Conversation` c
        JOIN `tabWhatsApp Account` a ON a.name = c.account
        WHERE a.bot_enabled = 1 AND a.enabled = 1 AND COALESCE(c.bot_state, '') IN ('', 'Active')
          AND c.last_inbound_at = c.last_message_at
          AND ((c.last_inbound_at BETWEEN %(oldest)s AND %(newest)s)
               OR (c.bot_paused_until IS NOT NULL AND c.bot_paused_until <= %(now)s))
        LIMIT 200""", {"oldest": add_to_date(now, minutes=-30), "newest": add_to_date(now, minutes=-1), "now": now})
    for (name,) in rows:
        _enqueue(name)


# -- one turn -------------------------------------------------------------------------------------

def take_turn(name: str) -> Answer | None:
    """Answer what the customer wrote since the bot's last answer; None when there was nothing to do."""
    conversation = frappe.get_doc(CONVERSATION, name)
    profile_name = bot_profile_for(conversation.account)
    if not profile_name or conversation.bot_state in ("Handed over", "Off"):
        return None
    account = frappe.get_cached_doc(ACCOUNT, conversation.account)
    profile = frappe.get_cached_doc(PROFILE, profile_name)
    messages = _recent_messages(name)
    memory = _memory(conversation)
    now = now_datetime()

    verdict = limits.check(_spends({"conversation": name}, now, days=1), _account_spends(account, now),
                           _caps(account), to_utc(now))
    if isinstance(verdict, limits.Paused):
        frappe.db.rollback()
        _send_after_commit(_paused(conversation, verdict, memory))
        return None

    last_inbound = next((m for m in reversed(messages) if m.direction == "inbound"), None)
    if last_inbound is not None and last_inbound.ref != memory.answered_upto:
        _typing(last_inbound.ref)
    client = chat_client_for_profile(profile)
    caller = ToolCaller(profile=profile.name, whatsapp_conversation=name)
    try:
        result = answer(_bot_profile_of(profile), memory, messages, client,
                        lambda tool, args: call_tool(caller, tool, args),
                        now=to_utc(now).astimezone(ZoneInfo(get_system_timezone())),
                        party_facts=_party_facts(profile, conversation), customer_phone=conversation.phone,
                        timeout=MODEL_BUDGET_SEC)
    except LLMError as exc:
        frappe.db.rollback()
        _reload_locked(conversation)
        _send_after_commit(hand_over(conversation, HandOver(
            "bot_unavailable", _("The model could not answer: {0}").format(exc.message)), language=memory.language))
        return None
    finally:
        _close(client)
    if result.action == "nothing":
        return None
    frappe.db.rollback()  # the tools committed their own work; read the conversation as it is now
    _reload_locked(conversation)
    _send_after_commit(_store(conversation, profile, result))
    _summarise(conversation.name, profile)
    return result


def _store(conversation: Any, profile: Any, result: Answer) -> str | None:
    """The reply queued and the conversation updated, in the caller's transaction."""
    usage = result.turn.usage if result.turn else Usage()
    cost = _cost(profile, result)
    model = result.turn.replies[-1].model if result.turn and result.turn.replies else None
    answered_message = result.answered[-1] if result.answered else None
    scores.record_score(conversation, result.score, result.previous_score, result.new_signals, answered_message)
    conversation.bot_language = result.language
    conversation.bot_cost = float(conversation.bot_cost or 0) + cost
    conversation.bot_input_tokens = (conversation.bot_input_tokens or 0) + usage.input_tokens
    conversation.bot_output_tokens = (conversation.bot_output_tokens or 0) + usage.output_tokens
    conversation.bot_paused_until = None
    conversation.bot_note = _("Reply held back: {0}").format(result.turn.guarded) \
        if result.turn and result.turn.guarded else None
    conversation.bot_memory = _memory_json(result.memory)
    if not conversation.bot_state:
        conversation.bot_state = "Active"
    bot_fields = {"bot_model": model, "bot_rounds": result.turn.rounds if result.turn else 0,
                  "bot_model_ms": round(result.turn.model_ms, 1) if result.turn else 0,
                  "bot_input_tokens": usage.input_tokens, "bot_output_tokens": usage.output_tokens, "bot_cost": cost}
    if result.action == "hand_over":
        assert result.hand_over is not None
        return hand_over(conversation, result.hand_over, notice=result.text, bot_fields=bot_fields)
    conversation.save(ignore_permissions=True)
    if result.action == "choices":
        sent = queue_message(conversation, "buttons", text=result.text,
                             options=[{"id": f"choice-{i}", "title": c} for i, c in enumerate(result.choices, 1)],
                             bot_reply=bot_fields)
    else:
        sent = queue_message(conversation, "text", text=result.text, bot_reply=bot_fields)
    return sent.name


# -- hand-over ------------------------------------------------------------------------------------

def hand_over(conversation: Any, why: HandOver, *, notice: str | None = None, language: str | None = None,
              bot_fields: dict[str, Any] | None = None, to_user: str | None = None) -> str | None:
    """The bot stops on this conversation; a person gets it (``to_user``, else the Lead owner or the next in
    the account's round robin) and is told. ``notice``: what the customer is told (queued here, in the
    caller's transaction); returns that message's name to send after the commit."""
    account = frappe.get_cached_doc(ACCOUNT, conversation.account)
    user = to_user or _next_person(conversation, account)
    conversation.bot_state = "Handed over"
    conversation.handover_reason = why.reason
    conversation.handover_detail = why.detail
    conversation.handed_over_at = now_datetime()
    conversation.bot_paused_until = None
    if user and user != conversation.assigned_to:
        assign_user(conversation, user)  # saves
        if not to_user:
            frappe.db.set_value(ACCOUNT, account.name, "bot_last_assignee", user, update_modified=False)
    else:
        conversation.save(ignore_permissions=True)
    notice_name = None
    if why.reason != "person_took_over" and conversation.window_open():
        text = notice or hand_over_notice(language or conversation.bot_language)
        notice_name = queue_message(conversation, "text", text=text, bot_reply=bot_fields or {}).name
    if why.reason != "person_took_over":
        _notify(conversation, why, user)
    conversation.publish("conversation")
    return notice_name


def take_over(conversation: Any, user: str, detail: str) -> None:
    """A person takes the conversation from the bot (they pressed Take over, or replied themselves)."""
    hand_over(conversation, HandOver("person_took_over", detail), to_user=user)


def give_back(conversation: Any) -> None:
    """A person hands the conversation back to the bot: it answers from the next customer message on (and
    what the customer wrote after the person's last reply)."""
    memory = _memory(conversation)
    messages = _recent_messages(conversation.name)
    last_ours = max((i for i, m in enumerate(messages) if m.direction == "outbound"), default=-1)
    answered = next((m.ref for m in reversed(messages[:last_ours + 1]) if m.direction == "inbound"),
                    memory.answered_upto)
    memory = Memory(signals=memory.signals, language=memory.language, summary=memory.summary,
                    answered_upto=answered)
    conversation.bot_state = "Active"
    conversation.handover_reason = conversation.handover_detail = conversation.handed_over_at = None
    conversation.bot_note = None
    conversation.bot_memory = _memory_json(memory)
    conversation.save(ignore_permissions=True)
    conversation.publish("conversation")
    _enqueue(conversation.name)


def _next_person(conversation: Any, account: Any) -> str | None:
    team = [m.user for m in account.get("team") or [] if m.user]
    available = set(frappe.get_all("User", filters={"name": ("in", team), "enabled": 1,
                                                    "user_type": "System User"}, pluck="name")) if team else set()
    owner = None
    if conversation.party_doctype == "Lead" and conversation.party_name:
        owner = frappe.db.get_value("Lead", conversation.party_name, "lead_owner")
    profile = frappe.get_cached_doc(PROFILE, account.bot_profile) if account.bot_profile else None
    chosen = pick_assignee(available, account.bot_last_assignee or None, owner,
                           bool(profile and profile.handover_to_lead_owner))
    return chosen.user if chosen else (account.default_owner or None)


def _notify(conversation: Any, why: HandOver, user: str | None) -> None:
    who = conversation.party_title or conversation.profile_name or conversation.wa_id
    subject = _("WhatsApp: {0} is waiting for you. {1}.").format(who, _(REASON_LABELS[why.reason]))
    recipients = [user] if user else list(managers())
    # A Notification Log reaches the desk's bell at once (Frappe pushes it); the conversation's own push
    # updates the panels and the inbox.
    for recipient in recipients:
        frappe.get_doc({"doctype": "Notification Log", "subject": subject, "for_user": recipient,
                        "type": "Alert", "document_type": CONVERSATION, "document_name": conversation.name,
                        "email_content": why.detail}).insert(ignore_permissions=True)


# -- what the turn reads ----------------------------------------------------------------------------

def bot_profile_for(account: str) -> str | None:
    """The profile of the account's bot, when the bot is on."""
    row = frappe.get_cached_doc(ACCOUNT, account)
    return row.bot_profile if row.enabled and row.bot_enabled and row.bot_profile else None


def _bot_profile_of(profile: Any) -> BotProfile:
    tools = tuple(TOOLS[target.tool] for target in offered_tools(profile))
    prompt = profile.system_prompt or ""
    return BotProfile(prompt=prompt, tools=tools, handover=profile.handover_config(),
                      weights=profile.score_weights(), allowed_languages=tuple(profile.allowed_languages()),
                      default_language=profile.chat_default_language or "en",
                      temperature=profile.chat_temperature, max_tokens=profile.chat_max_tokens or 600,
                      phone_region=frappe.get_cached_doc("WhatsApp Settings").default_phone_region or None)


def _recent_messages(conversation: str) -> list[Message]:
    # In the order we stored them (creation, to the microsecond): Meta's timestamps have whole seconds, and
    # a customer's message and our reply often share one.
    rows = frappe.get_all(MESSAGE, filters={"conversation": conversation},
                          fields=["name", "direction", "message_type", "text", "creation"],
                          order_by="creation desc", limit=MESSAGES_READ)
    return [Message("inbound" if row.direction == "Inbound" else "outbound", row.message_type or "unknown",
                    row.text or "", to_utc(row.creation), row.name) for row in reversed(rows)]


def _memory(conversation: Any) -> Memory:
    data = json.loads(conversation.bot_memory) if conversation.bot_memory else {}
    return Memory(signals=tuple(Signal.from_dict(s) for s in data.get("signals") or []),
                  language=data.get("language"), summary=conversation.bot_summary or None,
                  bot_replies=int(data.get("bot_replies") or 0),
                  tool_failures_in_a_row=int(data.get("tool_failures_in_a_row") or 0),
                  failing_tool=data.get("failing_tool"), answered_upto=data.get("answered_upto"))


def _memory_json(memory: Memory) -> str:
    return json.dumps({"signals": [s.as_dict() for s in memory.signals], "language": memory.language,
                       "bot_replies": memory.bot_replies, "tool_failures_in_a_row": memory.tool_failures_in_a_row,
                       "failing_tool": memory.failing_tool, "answered_upto": memory.answered_upto},
                      ensure_ascii=False)


def _party_facts(profile: Any, conversation: Any) -> PartyFacts | None:
    doctype, name = conversation.party_doctype, conversation.party_name
    number = conversation.phone or None  # their own number: a tool that needs one need not ask
    if not (doctype and name):
        return PartyFacts(whatsapp_number=number) if number else None
    title = conversation.party_title if profile.share_party_name else None
    orders: tuple[str, ...] = ()
    issues: tuple[str, ...] = ()
    customer = name if doctype == "Customer" else None
    if profile.share_open_orders and customer and frappe.db.exists("DocType", "Sales Order"):
        orders = tuple(f"{r.name}: {r.status}, delivery {r.delivery_date}" for r in frappe.get_all(
            "Sales Order", filters={"customer": customer, "docstatus": ("<", 2),
                                    "status": ("not in", ("Completed", "Closed", "Cancelled"))},
            fields=["name", "status", "delivery_date"], order_by="creation desc", limit=5))
    if profile.share_open_issues and frappe.db.exists("DocType", "Issue"):
        filters: dict[str, Any] = {"status": ("in", ("Open", "Replied", "On Hold"))}
        if customer:
            filters["customer"] = customer
        elif conversation.customer_email:
            filters["raised_by"] = conversation.customer_email
        else:
            filters = {}
        if filters:
            issues = tuple(f"{r.name}: {r.subject} ({r.status})" for r in frappe.get_all(
                "Issue", filters=filters, fields=["name", "subject", "status"], order_by="creation desc", limit=5))
    if not (title or orders or issues or number):
        return None
    return PartyFacts(name=title or None, open_orders=orders, open_issues=issues, whatsapp_number=number)


# -- caps, costs, summary ---------------------------------------------------------------------------

def _caps(account: Any) -> limits.Caps:
    per_conversation = int(account.bot_replies_per_conversation_per_hour or 0)
    conversation_rate = (limits.RateCap(6, timedelta(minutes=1)),)
    if per_conversation:
        conversation_rate += (limits.RateCap(per_conversation, timedelta(hours=1)),)
    return limits.Caps(
        conversation_rate=conversation_rate,
        conversation_cost=limits.CostCap(float(account.bot_cost_cap_per_conversation))
        if account.bot_cost_cap_per_conversation else None,
        account_rate=(limits.RateCap(int(account.bot_replies_per_hour), timedelta(hours=1)),)
        if account.bot_replies_per_hour else (),
        account_cost=limits.CostCap(float(account.bot_cost_cap_per_day), timedelta(days=1))
        if account.bot_cost_cap_per_day else None)


def _spends(filters: dict[str, Any], now: Any, days: int) -> list[limits.Spend]:
    if "conversation" not in filters:
        filters = {**filters, "creation": (">", add_to_date(now, days=-days))}
    rows = frappe.get_all(MESSAGE, filters={**filters, "bot_reply": 1}, fields=["creation", "bot_cost"],
                          order_by="creation asc")
    return [limits.Spend(to_utc(row.creation), float(row.bot_cost or 0)) for row in rows]


def _account_spends(account: Any, now: Any) -> list[limits.Spend]:
    if not (account.bot_replies_per_hour or account.bot_cost_cap_per_day):
        return []
    return _spends({"account": account.name}, now, days=1)


def _paused(conversation: Any, verdict: limits.Paused, memory: Memory) -> str | None:
    """A cap holds the bot: a rate cap until ``until`` (the sweep answers then), a cost cap for good
    (a person takes over). Returns the hand-over notice to send, if any."""
    if verdict.until is None:
        return hand_over(conversation, HandOver("bot_unavailable", verdict.detail), language=memory.language)
    until = convert_utc_to_system_timezone(verdict.until).replace(tzinfo=None)
    if conversation.bot_paused_until != until:
        conversation.bot_paused_until = until
        conversation.bot_note = verdict.detail
        conversation.save(ignore_permissions=True)
        conversation.publish("conversation")
    return None


def _cost(profile: Any, result: Answer) -> float:
    if not result.turn:
        return 0.0
    return round(sum(_cost_of(profile, reply) for reply in result.turn.replies), 8)


def _price(profile: Any, model: str) -> limits.ModelPrice | None:
    for name in (profile.chat_provider, profile.chat_fallback_provider):
        if not name:
            continue
        configured = frappe.get_cached_value("Voice Agent LLM Provider", name, ["model", "azure_deployment"])
        if configured and any(m and model.startswith(m) for m in configured):
            return provider_price(name)
    return limits.price_for(model)


def _summarise(conversation: str, profile: Any) -> None:
    """Fold messages that left the window into the rolling summary (after the reply went: it costs the
    customer no time). Best effort: without a summary the model sees "earlier messages not shown"."""
    doc = frappe.get_doc(CONVERSATION, conversation)
    messages = _recent_messages(conversation)
    if not should_summarise(messages, doc.bot_summary_upto or None):
        return
    request = summary_request(doc.bot_summary, messages, doc.bot_summary_upto or None)
    if request is None:
        return
    client = chat_client_for_profile(profile)
    try:
        reply = client.chat(request.system, request.turns, [], max_tokens=400, timeout=MODEL_BUDGET_SEC)
    except LLMError as exc:
        frappe.log_error(title=f"WhatsApp bot: summary of {conversation} failed", message=exc.message)
        return
    finally:
        _close(client)
    frappe.db.set_value(CONVERSATION, conversation, {"bot_summary": reply.text.strip() or doc.bot_summary,
                                                      "bot_summary_upto": request.upto,
                                                      "bot_cost": float(doc.bot_cost or 0) + _cost_of(profile, reply)},
                        update_modified=False)
    frappe.db.commit()


def _cost_of(profile: Any, reply: Any) -> float:
    price = _price(profile, reply.model)
    return limits.cost(reply.usage, price) if price else 0.0


# -- small helpers ----------------------------------------------------------------------------------

def _reload_locked(conversation: Any) -> None:
    """Read the conversation again holding its customer's lock until the commit: a message landing or its
    new Lead being linked meanwhile would make our save fail (the document changed since it was read)."""
    lock_customer(conversation.account, conversation.wa_id)
    conversation.reload()


def _send_after_commit(message: str | None) -> None:
    frappe.db.commit()
    if message is not None:
        send(message, timeout=SEND_TIMEOUT_SEC)


def _enqueue(conversation: str) -> None:
    TURNS.submit(conversation)


def _typing(message: str) -> None:
    try:
        send_read_receipt(message, typing=True)
    except Exception:  # best effort: the reply matters, not the dots
        frappe.log_error(title="WhatsApp bot: typing indicator failed")


def _close(client: LLMClient) -> None:
    close = getattr(client, "close", None)
    if close:
        close()
