"""The issue's "Done when" for flow A, on the real site against the fake Ultravox:
a session starts, the fake drives tool calls that create an Appointment/Event, a Sales Order and an
Issue (one retried to show idempotency, one clash refused), a signed call.ended completes the
session with its transcript, and a forged one changes nothing.

    .venv/bin/python -m tests.bench.flow_a_check        (site at VA_SITE_URL, default http://127.0.0.1:8000)
"""

from __future__ import annotations

import json
import random
import sys
import time
from datetime import date, timedelta

import requests

from tests.bench.site_setup import PROFILE, SITE, WEBHOOK_SECRET, admin_session, configure
from tests.fakes.ultravox import FakeUltravox, drive_tool_call, send_webhook, signed_webhook_headers

METHOD = f"{SITE}/api/method/voice_agent.api"
WEBHOOK = f"{METHOD}.webhook_handlers.ultravox_webhook"
failures: list[str] = []


def check(label: str, ok: bool, detail: object = "") -> None:
    print(f"[{'PASS' if ok else 'FAIL'}] {label}" + (f" -> {detail}" if detail != "" else ""))
    if not ok:
        failures.append(label)


def get_doc(http: requests.Session, doctype: str, name: str) -> dict:
    return http.get(f"{SITE}/api/resource/{doctype}/{requests.utils.quote(name, safe='')}", timeout=30).json()["data"]


def main() -> int:
    with FakeUltravox(api_key="flow-a-key") as fake:
        admin = admin_session()
        configure(admin, fake.base_url, "flow-a-key")
        print(f"site {SITE}, fake Ultravox {fake.base_url}")

        profiles = requests.get(f"{METHOD}.voice_processor.get_public_profiles", timeout=30).json()["message"]
        check("public profiles list our profile without prompts", any(p["name"] == PROFILE for p in profiles)
              and all("system_prompt" not in p for p in profiles))

        guest = requests.Session()
        r = guest.post(f"{METHOD}.voice_processor.create_session", json={
            "profile": PROFILE, "page_url": f"{SITE}/voice-agent", "context": {"source": "page"}},
            headers={"Origin": SITE}, timeout=60)
        check("create_session answers 200", r.status_code == 200, r.status_code)
        started = r.json()["message"]
        session_id = started["session_id"]
        check("browser gets join URL, session id and client token only",
              set(started) == {"session_id", "client_token", "join_url", "max_duration_sec", "profile_title"}, started["join_url"])
        call = fake.state.calls[started["join_url"].rsplit("/", 1)[-1]]
        check("Ultravox call is webRtc with tools for this site", call["medium"] == {"webRtc": {}}
              and [t["temporaryTool"]["modelToolName"] for t in call["selectedTools"]]
              == ["book_appointment", "place_restaurant_order", "create_support_ticket"])
        check("no key in the call metadata or response", "flow-a-key" not in json.dumps(started))

        r = guest.post(f"{METHOD}.voice_processor.create_session", json={"profile": PROFILE},
                       headers={"Origin": "https://evil.example.net"}, timeout=30)
        check("foreign origin refused with 403", r.status_code == 403, r.status_code)

        day = date.today() + timedelta(days=random.randint(30, 700))
        slot = f"{random.randint(9, 15):02d}:{random.choice(['00', '15', '30'])}"
        booking = {"customer_name": "Ada Lovelace", "phone": "+1 555 0101", "email": "ada@example.com",
                   "date": str(day), "time": slot, "service": "Consultation"}
        r = drive_tool_call(call, "book_appointment", booking)
        reply = r.json()["message"]
        check("book_appointment creates an Appointment or Event", r.status_code == 200
              and reply.get("document", {}).get("doctype") in ("Appointment", "Event"), reply.get("result"))
        appointment = reply.get("document", {})
        r = drive_tool_call(call, "book_appointment", booking)
        check("the same tool call retried creates nothing new", r.json()["message"].get("result") == reply.get("result"))
        r = drive_tool_call(call, "book_appointment", {**booking, "customer_name": "Grace Hopper"})
        check("a clashing booking is refused with free slots", "nearest free times" in r.json()["message"]["result"],
              r.json()["message"]["result"])

        order_args = {"customer_name": f"Check Customer {random.randint(1000, 9999)}", "phone": "+1 555 0102",
                      "items": [{"item": "margherita pizza", "qty": 2}, {"item": "Garlic Breads", "qty": 1}]}
        r = drive_tool_call(call, "place_restaurant_order", order_args)
        reply = r.json()["message"]
        check("place_restaurant_order creates a Sales Order", reply.get("document", {}).get("doctype") == "Sales Order",
              reply.get("result"))
        if reply.get("document"):
            so = get_doc(admin, "Sales Order", reply["document"]["name"])
            check("order: priced from the price list, submitted, delivery not in the past",
                  so["grand_total"] == 27.25 and so["docstatus"] == 1 and so["delivery_date"] >= so["transaction_date"],
                  {k: so[k] for k in ("customer", "company", "grand_total", "docstatus", "delivery_date")})
        r = drive_tool_call(call, "place_restaurant_order", {**order_args, "items": [{"item": "pizza", "qty": 1}]})
        check("an unclear item is answered with close matches", "Did you mean" in r.json()["message"]["result"],
              r.json()["message"]["result"])

        r = drive_tool_call(call, "create_support_ticket", {"customer_name": "Ada Lovelace", "subject": "Login fails",
                                                            "description": "The portal says my password is wrong.",
                                                            "priority": "Medium"})
        reply = r.json()["message"]
        check("create_support_ticket creates an Issue", reply.get("document", {}).get("doctype") == "Issue",
              reply.get("result"))
        r = drive_tool_call(call, "create_support_ticket", {"customer_name": "Ada", "subject": "Login fails",
                                                            "description": "x", "priority": "Catastrophic"})
        check("an unknown priority is refused with the options", "options are" in r.json()["message"]["result"],
              r.json()["message"]["result"])

        forged_call = json.loads(json.dumps(call))
        for tool in forged_call["selectedTools"]:
            for p in tool["temporaryTool"]["staticParameters"]:
                if p["location"] == "PARAMETER_LOCATION_HEADER":
                    p["value"] = "not-the-secret"
        r = drive_tool_call(forged_call, "create_support_ticket", {"customer_name": "Mallory", "subject": "Forged",
                                                                   "description": "x"})
        check("a tool call without the session secret is refused (403)", r.status_code == 403, r.status_code)

        fake.finish_call(call["callId"], summary="Ada booked a consultation, ordered food and reported a login issue.")
        forged_raw = json.dumps({"event": "call.ended", "call": {"callId": call["callId"]}}).encode()
        headers = signed_webhook_headers("wrong-secret", forged_raw)
        r = requests.post(WEBHOOK, data=forged_raw, headers=headers, timeout=30)
        time.sleep(1)
        session = get_doc(admin, "Voice Session", session_id)
        check("a forged call.ended is refused (401) and changes nothing", r.status_code == 401
              and session["status"] in ("Starting", "Live"), (r.status_code, session["status"]))

        t0 = time.perf_counter()
        r = send_webhook(WEBHOOK, WEBHOOK_SECRET, "call.ended", call)
        ack_ms = (time.perf_counter() - t0) * 1000
        check("a signed call.ended is acknowledged", r.status_code == 200 and r.json()["message"]["status"] == "accepted",
              f"{r.status_code} in {ack_ms:.0f} ms")
        r = send_webhook(WEBHOOK, WEBHOOK_SECRET, "call.ended", call)
        check("its redelivery is recognised as a duplicate", r.json()["message"]["status"] == "duplicate")
        for attempt in range(60):
            session = get_doc(admin, "Voice Session", session_id)
            if session["status"] == "Ended":
                break
            if attempt == 20:
                print("  (not processed after 20 s: redelivering, which re-enqueues an unprocessed event)")
                send_webhook(WEBHOOK, WEBHOOK_SECRET, "call.ended", call)
            time.sleep(1)
        check("the session is Ended with transcript, summary and reason", session["status"] == "Ended"
              and "Agent: Hello, how can I help?" in (session.get("transcript") or "")
              and session.get("short_summary") and session.get("end_reason") == "hangup",
              {k: session.get(k) for k in ("status", "end_reason", "duration_sec", "outcome", "short_summary")})
        print("documents created:", (session.get("documents_created") or "").replace("\n", "; "))
        interactions = admin.get(f"{SITE}/api/resource/Voice Interaction", params={
            "filters": json.dumps([["voice_session", "=", session_id]]), "fields": '["tool","status"]',
            "limit_page_length": 50}, timeout=30).json()["data"]
        check("every tool call is logged as a Voice Interaction", len(interactions) >= 6,
              sorted(f"{i['tool']}:{i['status']}" for i in interactions))
        r = drive_tool_call(call, "create_support_ticket", {"customer_name": "Late", "subject": "After the end",
                                                            "description": "x"})
        check("tools refuse once the session has ended", r.status_code == 403, r.status_code)
        if appointment:
            print("appointment:", appointment)
    print(f"\n{'ALL PASSED' if not failures else f'{len(failures)} FAILED: {failures}'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
