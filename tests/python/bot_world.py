"""The world the bot's pytest suites run in, without Frappe: an in-memory stand-in for ERPNext behind the
agent's tools, and the LLM clients pointed at the loopback fake.

``World.run_tool`` answers as ``voice_agent.actions.runner.call_tool`` does: a tool the profile does not
offer is refused, the arguments go through ``validate_args`` (its ``ToolArgumentError`` is the refusal),
a request already answered for this conversation returns the first reply again, without its document
(idempotency key of the conversation's scope), and the action itself follows ``voice_agent.actions.{appointments,orders,
tickets}`` with the same pure helpers (``scheduling``, ``matching``) and the same sentences: a booking
in the past, outside opening hours or over another booking is refused with the nearest free slots; an
order names the item it cannot match (with suggestions when some are close); a ticket checks its
priority and category. A tool made to break (``World.broken``) fails as an exception in the action
does. Every call is kept in ``calls``, every document made in ``documents``.
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from voice_agent.agent.matching import match_items
from voice_agent.agent.scheduling import describe_slot, nearest_free_slots, overlaps, within_hours
from voice_agent.agent.tools import (
    TOOLS,
    ToolArgumentError,
    ToolOutcome,
    idempotency_key,
    parse_local_datetime,
    validate_args,
)
from voice_agent.integrations.llm import AnthropicClient, OpenAICompatClient

ROOT = Path(__file__).resolve().parents[2]


def _runner_constant(name: str) -> str:
    # The runner imports frappe, so its sentence is read from its source rather than imported.
    tree = ast.parse((ROOT / "voice_agent/actions/runner.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise LookupError(f"voice_agent/actions/runner.py has no constant {name}.")


GENERIC_FAILURE = _runner_constant("GENERIC_FAILURE")
WHATSAPP_SCOPE = _runner_constant("WHATSAPP_SCOPE")

MENU: dict[str, float | None] = {
    "Margherita Pizza": 9.5,
    "Pepperoni Pizza": 11.0,
    "Tiramisu": 5.0,
    "Cola": 2.5,
}
TICKET_PRIORITIES = ("Low", "Medium", "High", "Urgent")
TICKET_TYPES = ("Unspecified", "Bug", "Question")


@dataclass(frozen=True)
class Document:
    doctype: str
    name: str
    fields: Mapping[str, Any]


@dataclass(frozen=True)
class CallRecord:
    tool: str
    arguments: Mapping[str, Any]
    outcome: ToolOutcome


# The actions' own sentences, by module (voice_agent/actions/<module>.py): test_bot_turn checks that
# each is still written there, so the stand-in cannot drift from what the model reads on a real site.
SENTENCES: dict[str, frozenset[str]] = {
    "runner": frozenset({"I cannot do that in this conversation."}),
    "appointments": frozenset({
        "I have no free slots in the coming week.", "The nearest free times are {0}.", "That time has already passed.",
        "We take appointments between {0} and {1}.", "That time is already booked.",
        "I need an email address to confirm the booking.",
        "You are booked for {0} until {1} ({2} time). Your reference is {3}."}),
    "orders": frozenset({
        "I am not sure what you mean by {0}. Did you mean {1}?", "Sorry, {0} is not on our menu.",
        "That date has already passed. Would you like it today instead?", "Sorry, {0} cannot be ordered right now.",
        "Your order {0} is placed for {1}. The total is {2}."}),
    "tickets": frozenset({
        "{0} is not a {1} I know. The options are {2}.",
        "I have opened ticket {0} about {1}. Our team will contact you."}),
}


def say(module: str, template: str, *values: Any) -> str:
    if template not in SENTENCES[module]:
        raise KeyError(f"{template!r} is not among the sentences of voice_agent/actions/{module}.py listed here.")
    return template.format(*values)


class Refusal(Exception):
    """As ``voice_agent.actions.base.Refusal``: the sentence the agent should say."""


@dataclass
class World:
    """ERPNext as the tools see it. ``now``: the site's local time (naive, as ``now_datetime()``).
    ``appointment_doctype``: ``Appointment`` (ERPNext: needs an email) or ``Event``; ``ticket_doctype``:
    ``HD Ticket`` (Helpdesk) or ``Issue``; ``menu``: item name -> selling price (None: no price)."""

    now: datetime
    offered: Collection[str] = tuple(TOOLS)
    conversation: str = "WAC-0001"
    appointment_doctype: str = "Appointment"
    ticket_doctype: str = "HD Ticket"
    opening: time = time(9, 0)
    closing: time = time(17, 0)
    appointment_minutes: int = 30
    menu: Mapping[str, float | None] = field(default_factory=lambda: dict(MENU))
    currency_symbol: str = "€"
    time_zone: str = "Europe/Lisbon"
    broken: set[str] = field(default_factory=set)
    documents: list[Document] = field(default_factory=list)
    existing: list[Document] = field(default_factory=list)
    calls: list[CallRecord] = field(default_factory=list)
    _answered: dict[str, ToolOutcome] = field(default_factory=dict)
    _counters: dict[str, int] = field(default_factory=dict)

    # -- the runner ------------------------------------------------------------------------------

    def run_tool(self, tool: str, raw_args: dict[str, Any]) -> ToolOutcome:
        outcome = self._call(tool, raw_args)
        self.calls.append(CallRecord(tool, dict(raw_args), outcome))
        return outcome

    def _call(self, tool: str, raw_args: dict[str, Any]) -> ToolOutcome:
        if tool not in self.offered:
            return ToolOutcome("refused", say("runner", "I cannot do that in this conversation."))
        try:
            args = validate_args(tool, raw_args)
        except ToolArgumentError as exc:
            return ToolOutcome("refused", str(exc))
        key = idempotency_key(f"{WHATSAPP_SCOPE}{self.conversation}", tool, args)
        if key in self._answered:  # as the runner: the first reply again, the document counted once
            return ToolOutcome("success", self._answered[key].reply)
        try:
            if tool in self.broken:
                raise RuntimeError(f"{tool} is broken in this test")
            document, reply = {"book_appointment": self._book, "place_restaurant_order": self._order,
                               "create_support_ticket": self._ticket}[tool](args)
        except Refusal as exc:
            return ToolOutcome("refused", str(exc))
        except RuntimeError:
            return ToolOutcome("failed", GENERIC_FAILURE)
        self.documents.append(document)
        outcome = ToolOutcome("success", reply, (document.doctype, document.name))
        self._answered[key] = outcome
        return outcome

    # -- what the tests read ---------------------------------------------------------------------

    def of(self, doctype: str) -> list[Document]:
        """The documents of ``doctype`` the tools made."""
        return [d for d in self.documents if d.doctype == doctype]

    def add_booking(self, start: datetime, customer: str = "Earlier Customer") -> Document:
        """A booking made before the test (by a colleague, or for another customer)."""
        document = self._make(self.appointment_doctype, self._booking_fields(start, customer))
        self.existing.append(document)
        return document

    # -- book_appointment (voice_agent.actions.appointments) ------------------------------------

    def _book(self, args: dict[str, Any]) -> tuple[Document, str]:
        duration = timedelta(minutes=self.appointment_minutes)
        start = parse_local_datetime(args["date"], args["time"])
        busy = [(d.fields["start"], d.fields["end"]) for d in (*self.existing, *self.documents)
                if d.doctype == self.appointment_doctype
                and start - timedelta(days=1) <= d.fields["start"] <= start + timedelta(days=9)]

        def alternatives() -> str:
            slots = nearest_free_slots(start, duration, busy, self.opening, self.closing, not_before=self.now)
            if not slots:
                return say("appointments", "I have no free slots in the coming week.")
            return say("appointments", "The nearest free times are {0}.", ", ".join(describe_slot(s) for s in slots))

        if start < self.now:
            raise Refusal(say("appointments", "That time has already passed.") + " " + alternatives())
        if not within_hours(start, duration, self.opening, self.closing):
            raise Refusal(say("appointments", "We take appointments between {0} and {1}.", self.opening.strftime("%H:%M"),
                              self.closing.strftime("%H:%M")) + " " + alternatives())
        if overlaps(start, start + duration, busy):
            raise Refusal(say("appointments", "That time is already booked.") + " " + alternatives())
        if self.appointment_doctype == "Appointment" and not args.get("email"):
            raise Refusal(say("appointments", "I need an email address to confirm the booking."))
        document = self._make(self.appointment_doctype, {**self._booking_fields(start, args["customer_name"]),
                                                         **{k: v for k, v in args.items() if k not in ("date", "time")}})
        end = document.fields["end"]
        reply = say("appointments", "You are booked for {0} until {1} ({2} time). Your reference is {3}.",
                    describe_slot(start), end.strftime("%H:%M"), self.time_zone, document.name)
        return document, reply

    def _booking_fields(self, start: datetime, customer: str) -> dict[str, Any]:
        return {"start": start, "end": start + timedelta(minutes=self.appointment_minutes), "customer_name": customer}

    # -- place_restaurant_order (voice_agent.actions.orders) ------------------------------------

    def _order(self, args: dict[str, Any]) -> tuple[Document, str]:
        wanted = args["items"]
        matches = match_items([w["item"] for w in wanted], {name: name for name in self.menu})
        unsure = [m for m in matches if m.item is None]
        if unsure:
            first = unsure[0]
            if first.suggestions:
                raise Refusal(say("orders", "I am not sure what you mean by {0}. Did you mean {1}?", first.requested,
                                  " or ".join(first.suggestions)))
            raise Refusal(say("orders", "Sorry, {0} is not on our menu.", first.requested))
        today = self.now.date()
        delivery = date.fromisoformat(args["delivery_date"]) if args.get("delivery_date") else today
        if delivery < today:
            raise Refusal(say("orders", "That date has already passed. Would you like it today instead?"))
        missing = [m.requested for m in matches if self.menu.get(m.item or "") is None]
        if missing:
            raise Refusal(say("orders", "Sorry, {0} cannot be ordered right now.", missing[0]))
        items = [{"item_code": m.item, "qty": w["qty"], "rate": self.menu[m.item or ""]}
                 for m, w in zip(matches, wanted, strict=True)]
        total = sum(i["qty"] * i["rate"] for i in items)
        document = self._make("Sales Order", {"customer": args["customer_name"], "phone": args["phone"],
                                              "delivery_date": delivery, "items": items, "grand_total": total})
        reply = say("orders", "Your order {0} is placed for {1}. The total is {2}.", document.name,
                    "today" if delivery == today else delivery.strftime("%A %d %B"),
                    f"{self.currency_symbol} {total:,.2f}")
        return document, reply

    # -- create_support_ticket (voice_agent.actions.tickets) ------------------------------------

    def _ticket(self, args: dict[str, Any]) -> tuple[Document, str]:
        fields: dict[str, Any] = {"subject": args["subject"], "description": args["description"]}
        for arg, options in (("priority", TICKET_PRIORITIES), ("category", TICKET_TYPES)):
            if not args.get(arg):
                continue
            # The database's match ignores case, as MariaDB's does.
            match = next((o for o in options if o.casefold() == args[arg].casefold()), None)
            if match is None:
                raise Refusal(say("tickets", "{0} is not a {1} I know. The options are {2}.", args[arg], arg,
                                  ", ".join(options[:6]) or "none"))
            fields[arg] = match
        if args.get("email"):
            fields["raised_by"] = args["email"]
        document = self._make(self.ticket_doctype, fields)
        reply = say("tickets", "I have opened ticket {0} about {1}. Our team will contact you.", document.name,
                    args["subject"])
        return document, reply

    # -- naming ----------------------------------------------------------------------------------

    def _make(self, doctype: str, fields: dict[str, Any]) -> Document:
        number = self._counters[doctype] = self._counters.get(doctype, 0) + 1
        year = self.now.year
        name = {"Appointment": f"APMT-{year}-{number:05d}", "Event": f"EV{number:05d}",
                "Sales Order": f"SAL-ORD-{year}-{number:05d}", "HD Ticket": str(number),
                "Issue": f"ISS-{year}-{number:05d}"}[doctype]
        return Document(doctype, name, fields)


# -- the model --------------------------------------------------------------------------------------

def client_for(fake: Any, api: str, **kw: Any) -> OpenAICompatClient | AnthropicClient:
    """A client of ``api`` (``openai`` or ``anthropic``) against a ``tests.fakes.llm.FakeLLM``. Retries
    wait no time: a test of a provider outage runs in milliseconds."""
    kw.setdefault("read_timeout", 5.0)
    kw.setdefault("sleep", lambda seconds: None)
    kw.setdefault("rng", lambda: 0.5)
    if api == "openai":
        return OpenAICompatClient(api_key=fake.openai_key, model="gpt-4o-mini", base_url=fake.openai_base_url, **kw)
    if api == "anthropic":
        return AnthropicClient(api_key=fake.anthropic_key, model="claude-sonnet-4-5", base_url=fake.anthropic_base_url,
                               **kw)
    raise ValueError(f"api is openai or anthropic, not {api!r}")
