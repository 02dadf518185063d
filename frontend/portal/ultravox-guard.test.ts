import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { UltravoxSession } from "ultravox-client";
import { guardSession, type SessionFault } from "./ultravox-guard";

/** The SDK's audio element as far as the guard and the SDK use it; each play() answers `nextPlay`. */
class FakeAudio {
  static nextPlay: () => Promise<void> = () => Promise.resolve();
  plays = 0;
  play(): Promise<void> {
    this.plays += 1;
    return FakeAudio.nextPlay();
  }
  pause(): void {}
}

const domError = (name: string, message: string) => Object.assign(new Error(message), { name });

let unhandled: unknown[];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeEach(() => {
  unhandled = [];
  process.on("unhandledRejection", onUnhandled);
  // What the SDK's constructor touches: the real class is guarded, not a stand-in of it.
  vi.stubGlobal("Audio", FakeAudio);
  vi.stubGlobal("AudioContext", class {});
});

afterEach(() => {
  process.off("unhandledRejection", onUnhandled);
  vi.unstubAllGlobals();
  FakeAudio.nextPlay = () => Promise.resolve();
});

function guarded() {
  const faults: SessionFault[] = [];
  const session = guardSession(new UltravoxSession(), (fault) => faults.push(fault));
  const internals = session as unknown as { audioElement: FakeAudio; handleSocketMessage(event: { data: string }): Promise<void> };
  return { session, internals, faults };
}

/** Lets rejections that nobody handled reach process 'unhandledRejection'. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe("guardSession on the pinned ultravox-client", () => {
  it("finds the members it guards (a new SDK version that renames them fails here)", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const { internals } = guarded();
    expect(internals.audioElement).toBeInstanceOf(FakeAudio);
    expect(Object.hasOwn(internals, "handleSocketMessage")).toBe(true);
    expect(warn).not.toHaveBeenCalled();
    warn.mockRestore();
  });

  it("an interrupted warm-up play() (the SDK's own pause, a new source) is no fault and not uncaught", async () => {
    const { internals, faults } = guarded();
    FakeAudio.nextPlay = () => Promise.reject(domError("AbortError", "The play() request was interrupted by a call to pause()."));
    void internals.audioElement.play();
    await settle();
    expect(faults).toEqual([]);
    expect(unhandled).toEqual([]);
    expect(internals.audioElement.plays).toBe(1);
  });

  it("a refused play() (autoplay policy) is reported, not uncaught", async () => {
    const { internals, faults } = guarded();
    const refusal = domError("NotAllowedError", "play() failed because the user didn't interact with the document first.");
    FakeAudio.nextPlay = () => Promise.reject(refusal);
    void internals.audioElement.play();
    await settle();
    expect(faults).toEqual([{ kind: "audio", error: refusal }]);
    expect(unhandled).toEqual([]);
  });

  it("a join-socket message the SDK fails on reaches onFault with its error", async () => {
    const { internals, faults } = guarded();
    await internals.handleSocketMessage({ data: "not json" });
    await settle();
    expect(faults).toHaveLength(1);
    expect(faults[0]?.kind).toBe("connect");
    expect(faults[0]?.error).toBeInstanceOf(SyntaxError);
    expect(unhandled).toEqual([]);
  });

  it("an object without those members is returned as it is, with a warning", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const other = {} as UltravoxSession;
    expect(guardSession(other, () => undefined)).toBe(other);
    expect(warn).toHaveBeenCalledOnce();
    warn.mockRestore();
  });
});
