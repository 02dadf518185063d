// Contract-shaped examples of the WhatsApp calling answers and events for the unit tests
// (whatsapp-calls-api.test.ts checks them against contracts/frappe-api.schema.json).
import type { CallPermission, IncomingWhatsAppCall, JoinAnswer } from "./whatsapp-calls-api";

export const NOW = Date.parse("2026-11-29T10:00:00Z");

export function incomingCall(over: Partial<IncomingWhatsAppCall> = {}): IncomingWhatsAppCall {
  return {
    call: "VC-2026-00001",
    account: "WA-ACC-0001",
    account_title: "Sales +1 555-078-3881",
    conversation: "WA-CONV-00001",
    wa_id: "16505550123",
    phone: "+16505550123",
    caller_name: "Ann Example",
    party: { doctype: "Lead", name: "CRM-LEAD-2026-00001", title: "Ann Example" },
    last_messages: [
      { direction: "inbound", kind: "text", text: "Can you call me about the kettle?", at: "2026-11-29T09:58:00+00:00" },
      { direction: "outbound", kind: "text", text: "Sure, in a minute.", at: "2026-11-29T09:59:00+00:00" },
    ],
    started_at: "2026-11-29T10:00:00+00:00",
    ring_deadline: "2026-11-29T10:00:30+00:00",
    ...over,
  };
}

export function joinAnswer(call = "VC-2026-00001"): JoinAnswer {
  return {
    call,
    signaling_url: "https://calls.example.com",
    token: "eyJhbGciOiJIUzI1NiJ9.eyJjYWxsIjoiVkMifQ.c2lnbmF0dXJl",
    expires_at: "2026-11-29T10:10:00+00:00",
    ice_servers: [],
    role: "agent",
    participant_id: "agent@example.com",
  };
}

export function permission(over: Partial<CallPermission> = {}): CallPermission {
  return {
    conversation: "WA-CONV-00001",
    account: "WA-ACC-0001",
    wa_id: "16505550123",
    calling_enabled: true,
    window_open: true,
    status: "No permission",
    expires_at: null,
    checked_at: "2026-11-29T09:59:00+00:00",
    requested_at: null,
    answer: null,
    answered_at: null,
    can_call: false,
    can_request: true,
    calls_remaining: null,
    requests_remaining: 1,
    next_call_at: null,
    next_request_at: null,
    limits: { start_call: [], send_call_permission_request: [] },
    ...over,
  };
}
