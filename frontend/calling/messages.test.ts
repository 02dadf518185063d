import { describe, expect, it } from "vitest";
import callStates from "../../contracts/call-states.json";
import { endMessage, endReasonText, endingText, secondsLeft } from "./messages";
import type { EndReason, Role } from "./signaling-types";

const READERS: Role[] = ["agent", "customer", "supervisor"];

describe("end reasons, told from the reader's side", () => {
  it("every end reason of the contract has a sentence for every reader", () => {
    for (const reason of callStates.endReasons as EndReason[]) {
      for (const reader of READERS) {
        const text = endReasonText(reason, reader);
        expect(text, `${reason} for ${reader}`).toMatch(/^[A-Z].{10,}\.$/);
      }
    }
  });

  it("the reader's own hang-up says so; a supervisor leaving is no hang-up", () => {
    expect(endMessage({ kind: "hangup" }, "agent")).toEqual({ title: "Call ended", detail: "You hung up.", isError: false });
    expect(endMessage({ kind: "hangup" }, "customer").detail).toBe("You hung up.");
    expect(endMessage({ kind: "hangup" }, "supervisor")).toEqual({
      title: "Left the call",
      detail: "You left the call; it goes on without you.",
      isError: false,
    });
  });

  it("someone else's hang-up names them as the reader knows them", () => {
    const detail = (reader: Role, by?: Role) => endMessage({ kind: "remote_ended", reason: "hangup", by }, reader).detail;
    expect(detail("agent", "customer")).toBe("The customer hung up.");
    expect(detail("supervisor", "customer")).toBe("The customer hung up.");
    expect(detail("supervisor", "agent")).toBe("The agent hung up.");
    expect(detail("customer", "agent")).toBe("The other side hung up.");
    expect(detail("agent")).toBe("The call was hung up from the desk.");
    expect(endReasonText("remote_hangup", "agent")).toBe("The customer hung up.");
  });

  it("ends nobody asked for say why, and what the agent can do", () => {
    expect(endReasonText("sidecar_shutdown", "customer")).toBe("The call server was shut down for maintenance.");
    expect(endReasonText("sidecar_shutdown", "agent")).toBe("The call server was shut down for maintenance. You can call again once it is back.");
    expect(endReasonText("room_empty", "agent")).toBe("The customer left the call and did not come back.");
    expect(endReasonText("room_empty", "customer")).toBe("The other side left the call and did not come back.");
    expect(endMessage({ kind: "failed", reason: "worker_died" }, "agent")).toMatchObject({ title: "Call failed", isError: true });
    expect(endMessage({ kind: "missed" }, "agent").detail).toBe("Nobody joined before the ring timeout; the call is marked missed.");
  });

  it("a customer is not sent to the sidecar's settings", () => {
    const cause = { kind: "sidecar_unreachable", detail: "no answer from the call server" } as const;
    expect(endMessage(cause, "agent").detail).toContain("MediaSoup WebRTC Settings");
    expect(endMessage(cause, "customer").detail).not.toContain("Settings");
  });
});

describe("the countdown before an announced end", () => {
  it("reads as the users will see it", () => {
    expect(endingText("sidecar_shutdown", 30)).toBe("This call will end in 30 s: the call server is restarting for maintenance.");
    expect(endingText("max_duration", 5)).toBe("This call will end in 5 s: it reaches its maximum length.");
  });

  it("rounds up, so it reaches 0 s only at the end", () => {
    expect(secondsLeft(30_000, 0)).toBe(30);
    expect(secondsLeft(30_000, 1)).toBe(30);
    expect(secondsLeft(30_000, 29_001)).toBe(1);
    expect(secondsLeft(30_000, 30_000)).toBe(0);
    expect(secondsLeft(30_000, 45_000)).toBe(0);
  });
});
