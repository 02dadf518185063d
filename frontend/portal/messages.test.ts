import { describe, expect, it } from "vitest";
import { FrappeCallError } from "../shared/frappe-call";
import { failureFromCall, failureFromMediaError } from "./messages";

const call = (status: number, message = "") => failureFromCall(new FrappeCallError(status, "", message));

describe("failureFromCall", () => {
  it.each([
    [0, "network"],
    [429, "rate_limited"],
    [403, "origin_refused"],
    [503, "service_busy"],
    [502, "agent_unavailable"],
    [417, "invalid_request"],
    [400, "invalid_request"],
    [500, "server_error"],
  ])("HTTP %i → %s", (status, kind) => {
    const f = call(status);
    expect(f.kind).toBe(kind);
    expect(f.title.length).toBeGreaterThan(5);
    expect(f.detail.length).toBeGreaterThan(20);
  });

  it("shows the server's explanation for capacity and validation refusals only", () => {
    expect(call(503, "Too many live sessions").detail).toBe("Too many live sessions");
    expect(call(417, "Profile is not public").detail).toBe("Profile is not public");
    expect(call(429, "You hit the rate limit").detail).not.toContain("hit the rate limit");
    expect(call(502, "Traceback: KeyError").detail).not.toContain("Traceback");
  });

  it("origin refusal is not retryable", () => {
    expect(call(403).retry).toBe(false);
  });
});

describe("failureFromMediaError", () => {
  const named = (name: string) => Object.assign(new Error("x"), { name });
  it.each([
    ["NotAllowedError", "mic_denied"],
    ["NotFoundError", "mic_missing"],
    ["NotReadableError", "mic_missing"],
    ["TypeError", "mic_unsupported"],
    ["SecurityError", "mic_unsupported"],
  ])("%s → %s", (name, kind) => expect(failureFromMediaError(named(name)).kind).toBe(kind));

  it("anything unknown reads as a refusal", () => {
    expect(failureFromMediaError("?").kind).toBe("mic_denied");
  });
});
