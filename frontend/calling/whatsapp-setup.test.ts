import { describe, expect, it } from "vitest";
import { periodText, permissionSummary } from "./whatsapp-setup";
import { permission } from "./whatsapp-call-fixtures";

const when = (iso: string) => `<${iso.slice(0, 16)}>`;
const limit = (remaining: number, max = 100) => ({ time_period: "PT24H", max_allowed: max, current_usage: max - remaining, remaining, limit_expiration_time: null });

describe("the permission the WhatsApp panel shows", () => {
  it("none: Ask permission offered, no call", () => {
    const s = permissionSummary(permission(), when);
    expect(s).toMatchObject({ kind: "none", state: "None: the customer has not allowed calls", canCall: false, canAsk: true, allowance: null, notes: [] });
  });

  it("never read nor asked", () => {
    const s = permissionSummary(permission({ status: null, checked_at: null, can_call: null, can_request: null, requests_remaining: null }), when);
    expect(s).toMatchObject({ kind: "unknown", canCall: false, canAsk: true });
  });

  it("temporary until …, with the calls Graph still allows", () => {
    const s = permissionSummary(
      permission({ status: "Temporary", expires_at: "2026-12-06T10:00:00+00:00", can_call: true, can_request: false, calls_remaining: 97,
        limits: { start_call: [limit(97)], send_call_permission_request: [] } }),
      when,
    );
    expect(s).toEqual({
      kind: "temporary",
      state: "Temporary: calls allowed until <2026-12-06T10:00>",
      allowance: "97 of 100 calls left per 24 hours",
      notes: [],
      canCall: true,
      canAsk: false,
    });
  });

  it("permanent; a call limit reached says from when calls are allowed again", () => {
    const s = permissionSummary(
      permission({ status: "Permanent", can_call: false, calls_remaining: 0, next_call_at: "2026-11-30T09:00:00+00:00",
        limits: { start_call: [limit(0, 5)], send_call_permission_request: [] } }),
      when,
    );
    expect(s.kind).toBe("permanent");
    expect(s.state).toBe("Permanent: the customer allows calls");
    expect(s.allowance).toBe("No calls left until <2026-11-30T09:00>");
    expect(s.notes).toEqual(["WhatsApp allows the next call from <2026-11-30T09:00>."]);
    expect([s.canCall, s.canAsk]).toEqual([false, false]);
  });

  it("the realtime event's null figures do not block a granted call", () => {
    const s = permissionSummary(permission({ status: "Permanent", can_call: null, can_request: null, calls_remaining: null }), when);
    expect([s.canCall, s.allowance]).toEqual([true, null]);
  });

  it("asked and waiting; declined; the window closed; the request limit; calling off", () => {
    expect(permissionSummary(permission({ requested_at: "2026-11-29T09:59:30+00:00" }), when).notes).toEqual([
      "Permission asked <2026-11-29T09:59>: waiting for the customer's answer.",
    ]);
    expect(permissionSummary(permission({ requested_at: "2026-11-29T09:00:00+00:00", answer: "Declined", answered_at: "2026-11-29T09:05:00+00:00" }), when).notes)
      .toEqual(["The customer declined on <2026-11-29T09:05>."]);
    // Just asked (Graph's one request a day used): waiting says it all.
    const waiting = permissionSummary(permission({ requested_at: "2026-11-29T09:59:30+00:00", can_request: false, next_request_at: "2026-11-30T09:59:30+00:00" }), when);
    expect([waiting.canAsk, waiting.notes.length]).toEqual([false, 1]);
    const closed = permissionSummary(permission({ window_open: false }), when);
    expect([closed.canAsk, closed.notes]).toEqual([false, ["A permission request can only be sent within 24 hours of the customer's last message."]]);
    const limited = permissionSummary(permission({ can_request: false, next_request_at: "2026-11-30T09:00:00+00:00" }), when);
    expect([limited.canAsk, limited.notes]).toEqual([false, ["WhatsApp's limit of permission requests is reached: ask again after <2026-11-30T09:00>."]]);
    const off = permissionSummary(permission({ calling_enabled: false, status: "Permanent", can_call: true }), when);
    expect([off.canCall, off.canAsk, off.notes]).toEqual([false, false, ["Calling is off for this WhatsApp number."]]);
  });

  it("an expired temporary permission (no expiry left) is none", () => {
    expect(permissionSummary(permission({ status: "Temporary", expires_at: null }), when).kind).toBe("none");
  });

  it("words Graph's limit periods", () => {
    expect([periodText("PT24H"), periodText("P7D"), periodText("P1D"), periodText("PT1H"), periodText("PT30M"), periodText("P1DT2H")])
      .toEqual(["24 hours", "7 days", "1 day", "1 hour", "30 minutes", "P1DT2H"]);
  });
});
