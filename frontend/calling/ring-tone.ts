// The ring of an incoming WhatsApp call, synthesised with WebAudio (no sound file to ship).
import type { Ringer } from "./incoming-call";

interface GestureTarget {
  addEventListener(type: string, listener: () => void, options: { capture: boolean }): void;
  removeEventListener(type: string, listener: () => void, options: { capture: boolean }): void;
}

export interface RingerOptions {
  createContext?: () => AudioLike | undefined;
  /** Whether the page had a user gesture yet (navigator.userActivation). */
  hadGesture?: () => boolean;
  /** Where the first click or key press is awaited (window). */
  gestures?: GestureTarget;
}

export interface AudioLike {
  readonly state: string;
  readonly currentTime: number;
  readonly destination: unknown;
  resume(): Promise<void>;
  close(): Promise<void>;
  createOscillator(): { frequency: { value: number }; connect(node: unknown): unknown; start(at?: number): void; stop(at?: number): void };
  createGain(): {
    gain: { setValueAtTime(v: number, t: number): unknown; linearRampToValueAtTime(v: number, t: number): unknown };
    connect(node: unknown): unknown;
  };
}

/**
 * The ring, synthesised (no sound file to ship): a 440 + 480 Hz double burst every 3 s. Browsers keep
 * audio silent until the page had a user gesture: without one the context is made on the first click or
 * key press, and the popup rings silently until then.
 */
export class WebAudioRinger implements Ringer {
  #ctx: AudioLike | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #playing = false;
  #waitingForGesture = false;
  #sounding: { stop(at?: number): void }[] = [];
  readonly #create: () => AudioLike | undefined;
  readonly #hadGesture: () => boolean;
  readonly #gestures: GestureTarget;

  constructor(opts: RingerOptions = {}) {
    this.#create = opts.createContext ?? defaultAudioContext;
    this.#hadGesture = opts.hadGesture ?? (() => (navigator as { userActivation?: { hasBeenActive: boolean } }).userActivation?.hasBeenActive ?? true);
    this.#gestures = opts.gestures ?? window;
  }

  get playing(): boolean {
    return this.#playing;
  }

  start(): void {
    if (this.#playing) return;
    this.#playing = true;
    if (!this.#hadGesture()) this.#waitForGesture();
    else this.#play();
  }

  stop(): void {
    this.#playing = false;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#stopWaiting();
    // The burst under way stops now, not at its end.
    for (const osc of this.#sounding.splice(0)) {
      try {
        osc.stop();
      } catch {
        // already stopped
      }
    }
  }

  readonly #onGesture = (): void => {
    this.#stopWaiting();
    if (this.#playing) this.#play();
  };

  #waitForGesture(): void {
    if (this.#waitingForGesture) return;
    this.#waitingForGesture = true;
    for (const type of ["pointerdown", "keydown"]) this.#gestures.addEventListener(type, this.#onGesture, { capture: true });
  }

  #stopWaiting(): void {
    if (!this.#waitingForGesture) return;
    this.#waitingForGesture = false;
    for (const type of ["pointerdown", "keydown"]) this.#gestures.removeEventListener(type, this.#onGesture, { capture: true });
  }

  #play(): void {
    try {
      this.#ctx ??= this.#create();
    } catch {
      this.#ctx = undefined;
    }
    const ctx = this.#ctx;
    if (!ctx) return; // no WebAudio: the popup alone
    if (ctx.state === "suspended") ctx.resume().catch(() => undefined);
    this.#burst();
    clearInterval(this.#timer);
    this.#timer = setInterval(() => this.#burst(), 3000);
  }

  #burst(): void {
    const ctx = this.#ctx;
    if (!ctx || !this.#playing || ctx.state !== "running") return;
    const gain = ctx.createGain();
    const t = ctx.currentTime;
    gain.gain.setValueAtTime(0, t);
    for (const [from, to] of [[t, t + 0.4], [t + 0.6, t + 1.0]] as const) {
      gain.gain.linearRampToValueAtTime(0.08, from + 0.02);
      gain.gain.setValueAtTime(0.08, to - 0.02);
      gain.gain.linearRampToValueAtTime(0, to);
    }
    gain.connect(ctx.destination);
    this.#sounding = [];
    for (const hz of [440, 480]) {
      const osc = ctx.createOscillator();
      osc.frequency.value = hz;
      osc.connect(gain);
      osc.start(t);
      osc.stop(t + 1.0);
      this.#sounding.push(osc);
    }
  }
}

function defaultAudioContext(): AudioLike | undefined {
  const w = window as { AudioContext?: new () => AudioLike; webkitAudioContext?: new () => AudioLike };
  const Ctor = w.AudioContext ?? w.webkitAudioContext;
  return Ctor ? new Ctor() : undefined;
}

