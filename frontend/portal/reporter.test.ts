import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { MethodCaller } from "../shared/frappe-call";
import { DisplayReporter, type TranscriptLine } from "./reporter";

function recordingCaller(fail = false) {
  const calls: { method: string; args: Record<string, unknown> }[] = [];
  const caller: MethodCaller = {
    async post<T>(method: string, args: Record<string, unknown> = {}): Promise<T> {
      calls.push({ method: method.split(".").pop() ?? method, args });
      if (fail) throw new Error("offline");
      return undefined as T;
    },
  };
  return { caller, calls };
}

const line = (ordinal: number, text: string, isFinal = true): TranscriptLine => ({ speaker: "user", text, ordinal, isFinal, medium: "voice" });
const session = { session_id: "VS-1", client_token: "tok" };

describe("DisplayReporter", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("coalesces a burst of statuses into the last one and skips repeats", async () => {
    const { caller, calls } = recordingCaller();
    const r = new DisplayReporter(caller, session, { statusMs: 100, transcriptMs: 1000 });
    r.status("connecting");
    r.status("idle");
    r.status("listening");
    await vi.advanceTimersByTimeAsync(150);
    r.status("listening");
    await vi.advanceTimersByTimeAsync(150);
    expect(calls).toEqual([{ method: "update_session_status", args: { ...session, status: "listening" } }]);
  });

  it("sends only final transcript lines, once they settle", async () => {
    const { caller, calls } = recordingCaller();
    const r = new DisplayReporter(caller, session, { statusMs: 100, transcriptMs: 1000 });
    r.transcripts([line(0, "Hel", false)]);
    await vi.advanceTimersByTimeAsync(500);
    r.transcripts([line(0, "Hello"), line(1, "Hi the", false)]);
    await vi.advanceTimersByTimeAsync(999);
    expect(calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(2);
    expect(calls).toEqual([{ method: "process_transcript", args: { ...session, transcripts: [line(0, "Hello")] } }]);
    r.transcripts([line(0, "Hello"), line(1, "Hi the", false)]);
    await vi.advanceTimersByTimeAsync(1500);
    expect(calls).toHaveLength(1);
  });

  it("close flushes what is pending and ignores later updates", async () => {
    const { caller, calls } = recordingCaller();
    const r = new DisplayReporter(caller, session, { statusMs: 100, transcriptMs: 1000 });
    r.status("speaking");
    r.transcripts([line(0, "Bye")]);
    await r.close();
    r.status("idle");
    await vi.advanceTimersByTimeAsync(5000);
    expect(calls.map((c) => c.method).sort()).toEqual(["process_transcript", "update_session_status"]);
  });

  it("a failing endpoint never throws into the page", async () => {
    const { caller, calls } = recordingCaller(true);
    const r = new DisplayReporter(caller, session, { statusMs: 10, transcriptMs: 10 });
    r.status("idle");
    r.transcripts([line(0, "x")]);
    await vi.advanceTimersByTimeAsync(50);
    await expect(r.close()).resolves.toBeUndefined();
    expect(calls).toHaveLength(2);
  });
});
