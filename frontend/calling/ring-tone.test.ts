import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { WebAudioRinger, type AudioLike } from "./ring-tone";

class FakeAudio implements AudioLike {
  state = "running";
  currentTime = 5;
  destination = {};
  started: number[] = [];
  stopped = 0;
  resume = vi.fn(async () => {
    this.state = "running";
  });
  close = vi.fn(async () => undefined);
  createOscillator() {
    return {
      frequency: { value: 0 },
      connect: () => undefined,
      start: () => void this.started.push(this.currentTime),
      stop: (at?: number) => {
        if (at === undefined) this.stopped += 1;
      },
    };
  }
  createGain() {
    return { gain: { setValueAtTime: () => undefined, linearRampToValueAtTime: () => undefined }, connect: () => undefined };
  }
}

class Gestures {
  listeners = new Map<string, () => void>();
  addEventListener(type: string, fn: () => void) {
    this.listeners.set(type, fn);
  }
  removeEventListener(type: string) {
    this.listeners.delete(type);
  }
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe("the ring", () => {
  it("bursts two tones every 3 s while ringing, and stops the burst under way", () => {
    const audio = new FakeAudio();
    const ringer = new WebAudioRinger({ createContext: () => audio, hadGesture: () => true, gestures: new Gestures() });
    ringer.start();
    ringer.start(); // idempotent: one ring, not two
    expect(audio.started.length).toBe(2);
    vi.advanceTimersByTime(6000);
    expect(audio.started.length).toBe(6);
    ringer.stop();
    expect(audio.stopped).toBe(2);
    vi.advanceTimersByTime(6000);
    expect(audio.started.length).toBe(6);
    expect(ringer.playing).toBe(false);
  });

  it("before any user gesture makes no audio context, and starts on the first click or key", () => {
    const audio = new FakeAudio();
    const create = vi.fn(() => audio);
    const gestures = new Gestures();
    const ringer = new WebAudioRinger({ createContext: create, hadGesture: () => false, gestures });
    ringer.start();
    expect(create).not.toHaveBeenCalled();
    expect([...gestures.listeners.keys()].sort()).toEqual(["keydown", "pointerdown"]);
    gestures.listeners.get("keydown")?.();
    expect(create).toHaveBeenCalledOnce();
    expect(audio.started.length).toBe(2);
    expect(gestures.listeners.size).toBe(0);
    ringer.stop();
  });

  it("a call settled before any gesture leaves nothing waiting", () => {
    const gestures = new Gestures();
    const create = vi.fn(() => new FakeAudio());
    const ringer = new WebAudioRinger({ createContext: create, hadGesture: () => false, gestures });
    ringer.start();
    ringer.stop();
    expect(gestures.listeners.size).toBe(0);
    expect(create).not.toHaveBeenCalled();
  });

  it("a suspended context is resumed, and stays silent without errors if the browser refuses", async () => {
    const audio = new FakeAudio();
    audio.state = "suspended";
    audio.resume = vi.fn(() => Promise.reject(new Error("not allowed")));
    const ringer = new WebAudioRinger({ createContext: () => audio, hadGesture: () => true, gestures: new Gestures() });
    ringer.start();
    await Promise.resolve();
    expect(audio.resume).toHaveBeenCalled();
    expect(audio.started.length).toBe(0);
    ringer.stop();
  });

  it("without WebAudio the popup rings silently", () => {
    const ringer = new WebAudioRinger({ createContext: () => { throw new Error("no AudioContext"); }, hadGesture: () => true, gestures: new Gestures() });
    expect(() => (ringer.start(), ringer.stop())).not.toThrow();
  });
});
