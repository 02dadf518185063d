import { afterEach, beforeEach, describe, expect, it, vi, type Mock } from "vitest";
import { EXPIRED_MS, IncomingCalls, OUTCOME_MS, REFUSED_MS, endedText, ringSecondsLeft, type PopupActions, type PopupState, type PopupView } from "./incoming-call";
import { FrappeCallError } from "../shared/frappe-errors";
import { NOW, incomingCall, joinAnswer } from "./whatsapp-call-fixtures";
import type { IncomingWhatsAppCall, JoinAnswer, WhatsAppCallsApi } from "./whatsapp-calls-api";

const ME = "agent@example.com";

/** What a popup showed, in order, and the buttons it offered. */
class FakeView implements PopupView {
  states: PopupState[] = [];
  countdowns: (number | null)[] = [];
  outcomeShown: [string, string] | null = null;
  statusText = "";
  removed = false;
  shown: IncomingWhatsAppCall[] = [];
  constructor(readonly actions: PopupActions) {}
  show(call: IncomingWhatsAppCall) {
    this.shown.push(call);
  }
  setState(state: PopupState) {
    this.states.push(state);
  }
  countdown(left: number | null) {
    this.countdowns.push(left);
  }
  outcome(title: string, detail: string) {
    this.outcomeShown = [title, detail];
  }
  status(text: string) {
    this.statusText = text;
  }
  remove() {
    this.removed = true;
  }
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}
function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

let now = NOW;
let views: Map<string, FakeView>;
let ringer: { start: Mock<() => void>; stop: Mock<() => void>; on: boolean };
let accepted: { call: string; answer: JoinAnswer }[];
let api: { accept: ReturnType<typeof vi.fn>; decline: ReturnType<typeof vi.fn>; incoming: ReturnType<typeof vi.fn> };
let calls: IncomingCalls;

function make(): IncomingCalls {
  return new IncomingCalls({
    api: api as unknown as Pick<WhatsAppCallsApi, "accept" | "decline" | "incoming">,
    currentUser: ME,
    now: () => now,
    fullName: (u) => ({ "colleague@example.com": "Casey Colleague" })[u] ?? u,
    ringer,
    createView: (call, actions) => {
      const v = new FakeView(actions);
      views.set(call.call, v);
      return v;
    },
    onAccepted: (call, answer) => accepted.push({ call: call.call, answer }),
  });
}

beforeEach(() => {
  vi.useFakeTimers();
  now = NOW;
  views = new Map();
  accepted = [];
  ringer = { on: false, start: vi.fn(() => void (ringer.on = true)), stop: vi.fn(() => void (ringer.on = false)) };
  api = { accept: vi.fn(), decline: vi.fn(), incoming: vi.fn() };
  calls = make();
});

afterEach(() => {
  calls.destroy();
  vi.useRealTimers();
});

const view = (call = "VC-2026-00001") => views.get(call) as FakeView;

describe("a ringing call", () => {
  it("shows the caller, rings, and counts down to the ring deadline", () => {
    calls.ring(incomingCall());
    expect(calls.stateOf("VC-2026-00001")).toBe("ringing");
    expect(view().shown[0]?.caller_name).toBe("Ann Example");
    expect(view().countdowns).toEqual([30]);
    expect(ringer.on).toBe(true);
    now += 12_400;
    vi.advanceTimersByTime(1000);
    expect(view().countdowns.at(-1)).toBe(18);
  });

  it("stops ringing at the deadline, says so, and goes if the server never says how it ended", () => {
    calls.ring(incomingCall());
    now += 30_000;
    vi.advanceTimersByTime(1000);
    expect(calls.stateOf("VC-2026-00001")).toBe("expired");
    expect(view().outcomeShown).toEqual(["No answer", "The call stopped ringing."]);
    expect(ringer.on).toBe(false);
    vi.advanceTimersByTime(EXPIRED_MS);
    expect(view().removed).toBe(true);
    expect(calls.shown).toEqual([]);
  });

  it("is one popup when the same call is rung again (the event, then the list of ringing calls)", () => {
    calls.ring(incomingCall());
    calls.ring(incomingCall({ caller_name: "Ann E." }));
    expect(calls.shown).toEqual(["VC-2026-00001"]);
    expect(view().shown.map((c) => c.caller_name)).toEqual(["Ann Example", "Ann E."]);
  });

  it("stacks several calls, and rings until the last one is settled", async () => {
    calls.ring(incomingCall());
    calls.ring(incomingCall({ call: "VC-2026-00002", caller_name: "Bob" }));
    expect(calls.shown).toEqual(["VC-2026-00001", "VC-2026-00002"]);
    expect(calls.ringingCount).toBe(2);
    calls.answered({ call: "VC-2026-00001", answered_by: "colleague@example.com", answered_by_name: "Casey Colleague" });
    expect(ringer.on).toBe(true);
    api.decline.mockResolvedValue({ call: "VC-2026-00002", state: "ringing", end_reason: null, declined_by: [ME] });
    await calls.decline("VC-2026-00002");
    expect(ringer.on).toBe(false);
    expect(ringer.stop).toHaveBeenCalled();
  });

  it("lists what rings already when the page opens", async () => {
    api.incoming.mockResolvedValue({ calls: [incomingCall(), incomingCall({ call: "VC-2026-00002" })] });
    await calls.loadRinging();
    expect(calls.shown).toEqual(["VC-2026-00001", "VC-2026-00002"]);
    expect(api.incoming).toHaveBeenCalledOnce();
  });
});

describe("what other users and tabs did", () => {
  it("answered by someone else: says who, stops ringing, closes after a few seconds", () => {
    calls.ring(incomingCall());
    calls.answered({ call: "VC-2026-00001", answered_by: "colleague@example.com", answered_by_name: "Casey Colleague" });
    expect(calls.stateOf("VC-2026-00001")).toBe("answered");
    expect(view().outcomeShown).toEqual(["Answered", "Answered by Casey Colleague"]);
    expect(ringer.on).toBe(false);
    // The ended event that follows does not overwrite who took it.
    calls.ended({ call: "VC-2026-00001", state: "ended", end_reason: "hangup", answered_by: "colleague@example.com" });
    expect(view().outcomeShown).toEqual(["Answered", "Answered by Casey Colleague"]);
    vi.advanceTimersByTime(OUTCOME_MS - 1);
    expect(view().removed).toBe(false);
    vi.advanceTimersByTime(1);
    expect(view().removed).toBe(true);
  });

  it("missed, or the customer hung up: the reason shown briefly", () => {
    calls.ring(incomingCall());
    calls.ring(incomingCall({ call: "VC-2026-00002" }));
    calls.ended({ call: "VC-2026-00001", state: "missed", end_reason: "no_answer", answered_by: null });
    calls.ended({ call: "VC-2026-00002", state: "missed", end_reason: "remote_hangup", answered_by: null });
    expect(view("VC-2026-00001").outcomeShown).toEqual(["Missed call", "Nobody answered in time."]);
    expect(view("VC-2026-00002").outcomeShown).toEqual(["Missed call", "The customer hung up."]);
    expect(calls.stateOf("VC-2026-00001")).toBe("ended");
    expect(ringer.on).toBe(false);
    vi.advanceTimersByTime(OUTCOME_MS);
    expect(calls.shown).toEqual([]);
  });

  it("taken by this user in another tab (voice_call_update): the popup just goes", () => {
    calls.ring(incomingCall());
    calls.callUpdate({ call: "VC-2026-00001", state: "ringing", end_reason: null, agent: ME });
    expect(view().removed).toBe(true);
    expect(ringer.on).toBe(false);
  });

  it("ignores events of calls it does not show", () => {
    calls.answered({ call: "VC-X", answered_by: "colleague@example.com", answered_by_name: null });
    calls.ended({ call: "VC-X", state: "missed", end_reason: null, answered_by: null });
    expect(calls.shown).toEqual([]);
  });
});

describe("Accept", () => {
  it("takes the call and opens the panel with the join answer", async () => {
    calls.ring(incomingCall());
    const reply = deferred<JoinAnswer>();
    api.accept.mockReturnValue(reply.promise);
    const done = calls.accept("VC-2026-00001");
    expect(calls.stateOf("VC-2026-00001")).toBe("accepting");
    expect(view().statusText).toBe("Connecting…");
    expect(ringer.on).toBe(false);
    reply.resolve(joinAnswer());
    await done;
    expect(api.accept).toHaveBeenCalledWith("VC-2026-00001");
    expect(accepted).toEqual([{ call: "VC-2026-00001", answer: joinAnswer() }]);
    expect(view().removed).toBe(true);
    // A second click (or Enter) while it is on its way does not accept twice.
    await calls.accept("VC-2026-00001");
    expect(api.accept).toHaveBeenCalledOnce();
  });

  it("someone else was first: the server's sentence, kept longer, with Close", async () => {
    calls.ring(incomingCall());
    api.accept.mockRejectedValue(new FrappeCallError(409, "CallTaken", "This call was answered by Casey Colleague."));
    await calls.accept("VC-2026-00001");
    expect(calls.stateOf("VC-2026-00001")).toBe("refused");
    expect(view().outcomeShown).toEqual(["Not connected", "This call was answered by Casey Colleague."]);
    expect(accepted).toEqual([]);
    // The answered event arriving after the refusal does not replace the sentence.
    calls.answered({ call: "VC-2026-00001", answered_by: "colleague@example.com", answered_by_name: "Casey Colleague" });
    vi.advanceTimersByTime(OUTCOME_MS);
    expect(view().removed).toBe(false);
    view().actions.close();
    expect(view().removed).toBe(true);
    calls.ring(incomingCall({ call: "VC-2026-00003" }));
    api.accept.mockRejectedValue(new FrappeCallError(409, "CallTaken", "This call has ended (missed)."));
    await calls.accept("VC-2026-00003");
    vi.advanceTimersByTime(REFUSED_MS);
    expect(view("VC-2026-00003").removed).toBe(true);
  });
});

describe("Decline", () => {
  it("hides the popup for this user only", async () => {
    calls.ring(incomingCall());
    const reply = deferred<unknown>();
    api.decline.mockReturnValue(reply.promise);
    view().actions.decline();
    expect(calls.stateOf("VC-2026-00001")).toBe("declining");
    expect(ringer.on).toBe(false);
    reply.resolve({ call: "VC-2026-00001", state: "ringing", end_reason: null, declined_by: [ME] });
    await vi.waitFor(() => expect(view().removed).toBe(true));
    expect(api.decline).toHaveBeenCalledWith("VC-2026-00001");
    expect(view().states).toEqual(["ringing", "declining", "declined"]);
  });

  it("a refused decline says why", async () => {
    calls.ring(incomingCall());
    api.decline.mockRejectedValue(new FrappeCallError(403, "PermissionError", "This call rings for the team of another WhatsApp number."));
    await calls.decline("VC-2026-00001");
    expect(view().outcomeShown).toEqual(["Could not decline", "This call rings for the team of another WhatsApp number."]);
  });
});

describe("texts", () => {
  it("counts whole seconds up, never below zero", () => {
    expect(ringSecondsLeft("2026-11-29T10:00:30+00:00", NOW + 100)).toBe(30);
    expect(ringSecondsLeft("2026-11-29T10:00:30+00:00", NOW + 40_000)).toBe(0);
    expect(ringSecondsLeft(null, NOW)).toBeNull();
    expect(ringSecondsLeft("soon", NOW)).toBeNull();
  });

  it("words every end reason a ringing call can have", () => {
    const name = (u: string) => u.toUpperCase();
    expect(endedText({ call: "c", state: "missed", end_reason: "unavailable", answered_by: null }, name).detail).toBe("Outside call hours, or calling is off.");
    expect(endedText({ call: "c", state: "missed", end_reason: "rejected", answered_by: null }, name).detail).toBe("Declined by everyone it rang.");
    expect(endedText({ call: "c", state: "failed", end_reason: "whatsapp_error", answered_by: null }, name)).toEqual({ title: "Call failed", detail: "WhatsApp ended the call." });
    expect(endedText({ call: "c", state: "ended", end_reason: "hangup", answered_by: "x@y" }, name)).toEqual({ title: "Answered", detail: "Answered by X@Y" });
  });
});
