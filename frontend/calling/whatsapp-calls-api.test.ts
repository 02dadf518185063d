/// <reference path="../../tests/node_modules/@types/node/index.d.ts" />
// (Node's types come with the test tooling, never with the bundles' packages.)
// The endpoints and events of WhatsApp calling as the server defines them: method names and argument
// names read from voice_agent/api/whatsapp_calls.py, event names from integrations/whatsapp/calls.py, and
// the fixtures the other tests use checked against contracts/frappe-api.schema.json.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadContracts } from "../../tests/e2e/support/contracts";
import type { MethodCaller } from "../shared/frappe-call";
import { incomingCall, joinAnswer, permission } from "./whatsapp-call-fixtures";
import { createWhatsAppCallsApi, WHATSAPP_CALL_EVENTS, WHATSAPP_CALLS_MODULE } from "./whatsapp-calls-api";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const API_PY = readFileSync(`${ROOT}voice_agent/api/whatsapp_calls.py`, "utf8");
const CALLS_PY = readFileSync(`${ROOT}voice_agent/integrations/whatsapp/calls.py`, "utf8");

/** Whitelisted functions of the module: name → [argument, required][]. */
function whitelisted(source: string): Map<string, [string, boolean][]> {
  const out = new Map<string, [string, boolean][]>();
  const re = /@frappe\.whitelist\([^)]*\)\s*\ndef (\w+)\(([^)]*)\)/g;
  for (const m of source.matchAll(re)) {
    const args = (m[2] ?? "")
      .split(",")
      .map((a) => a.trim())
      .filter(Boolean)
      .map((a): [string, boolean] => [a.split(":")[0]!.trim(), !a.includes("=")]);
    out.set(m[1]!, args);
  }
  return out;
}

function recorder(): { caller: MethodCaller; posted: { method: string; args: Record<string, unknown> }[] } {
  const posted: { method: string; args: Record<string, unknown> }[] = [];
  return { posted, caller: { post: async <T>(method: string, args: Record<string, unknown> = {}) => (posted.push({ method, args }), undefined as T) } };
}

describe("WhatsApp calls API", () => {
  it("posts to whitelisted methods with their argument names, every required one present", async () => {
    const methods = whitelisted(API_PY);
    expect([...methods.keys()].sort()).toEqual([
      "accept_whatsapp_call", "decline_whatsapp_call", "get_call_permission", "get_incoming_whatsapp_calls", "request_call_permission", "start_whatsapp_call",
    ]);
    const { caller, posted } = recorder();
    const api = createWhatsAppCallsApi(caller);
    await api.startCall("Lead", "CRM-LEAD-2026-00001");
    await api.startCall("Lead", "CRM-LEAD-2026-00001", "WA-ACC-0002");
    await api.getPermission({ reference_doctype: "Lead", reference_name: "CRM-LEAD-2026-00001" });
    await api.getPermission({ reference_doctype: "Lead", reference_name: "CRM-LEAD-2026-00001", account: "WA-ACC-0002" });
    await api.getPermission({ conversation: "WA-CONV-00001" });
    await api.requestPermission("WA-CONV-00001");
    await api.accept("VC-2026-00001");
    await api.decline("VC-2026-00001");
    await api.incoming();
    const used = new Set<string>();
    for (const { method, args } of posted) {
      expect(method.startsWith(WHATSAPP_CALLS_MODULE)).toBe(true);
      const name = method.slice(WHATSAPP_CALLS_MODULE.length);
      used.add(name);
      const params = methods.get(name);
      expect(params, name).toBeDefined();
      const names = params!.map(([n]) => n);
      for (const key of Object.keys(args)) expect(names, `${name}(${key})`).toContain(key);
      for (const [n, required] of params!) if (required) expect(args, `${name} needs ${n}`).toHaveProperty(n);
      for (const value of Object.values(args)) expect(value === undefined || value === null).toBe(false);
    }
    expect([...used].sort()).toEqual([...methods.keys()].sort());
  });

  it("listens to the events the server publishes", () => {
    for (const [constant, name] of [["INCOMING_EVENT", WHATSAPP_CALL_EVENTS.incoming], ["ANSWERED_EVENT", WHATSAPP_CALL_EVENTS.answered],
      ["ENDED_EVENT", WHATSAPP_CALL_EVENTS.ended], ["PERMISSION_EVENT", WHATSAPP_CALL_EVENTS.permission]]) {
      expect(CALLS_PY).toContain(`${constant} = "${name}"`);
    }
  });

  it("tests with answers and events the contract allows", () => {
    const contracts = loadContracts(ROOT);
    const file = "frappe-api.schema.json";
    contracts.check(file, "IncomingWhatsAppCall", incomingCall());
    contracts.check(file, "IncomingWhatsAppCalls", { calls: [incomingCall({ party: null, last_messages: [], ring_deadline: null })] });
    contracts.check(file, "JoinAnswer", joinAnswer());
    contracts.check(file, "CallPermission", permission());
    contracts.check(file, "CallPermission", permission({ status: "Temporary", expires_at: "2026-12-06T10:00:00+00:00", can_call: true, calls_remaining: 97,
      limits: { start_call: [{ time_period: "PT24H", max_allowed: 100, current_usage: 3, remaining: 97, limit_expiration_time: null }], send_call_permission_request: [] } }));
    contracts.check(file, "WhatsAppCallAnswered", { call: "VC-2026-00001", answered_by: "colleague@example.com", answered_by_name: "Casey Colleague" });
    contracts.check(file, "WhatsAppCallEnded", { call: "VC-2026-00001", state: "missed", end_reason: "no_answer", answered_by: null });
    expect(() => contracts.check(file, "CallPermission", { ...permission(), status: "Maybe" })).toThrow(/does not match/);
  });
});
