import type { UltravoxSession } from "ultravox-client";

/**
 * Something the Ultravox SDK started on its own failed: its warm-up `play()` of the
 * assistant's audio element was refused ("audio"), or its join-socket handler could not
 * connect the media room or the microphone ("connect").
 */
export interface SessionFault {
  kind: "audio" | "connect";
  error: unknown;
}

/** The SDK members the guard wraps: private in its typings, present in the pinned ultravox-client (ultravox-guard.test.ts). */
interface SessionInternals {
  audioElement?: { play(): Promise<void> };
  handleSocketMessage?: (event: MessageEvent) => Promise<void>;
}

/**
 * Gives the promises ultravox-client (0.5.0, the latest) leaves unhandled a handler, so
 * nothing ends up as an uncaught rejection and real failures reach `onFault`:
 * - `audioElement.play()` when the join socket answers. When the attempt fails, the SDK's own
 *   pause() interrupts it before any audio came ("The play() request was interrupted by a call
 *   to pause()"), and LiveKit attaching the track interrupts it too ("…by a new load request"):
 *   both are AbortErrors and expected. Any other refusal (autoplay policy) means no sound.
 * - `handleSocketMessage`, an async socket handler that connects LiveKit and the microphone:
 *   its rejection is the real reason a connection attempt failed.
 */
export function guardSession<S extends UltravoxSession>(session: S, onFault: (fault: SessionFault) => void): S {
  const internals = session as unknown as SessionInternals;
  const audio = internals.audioElement;
  const handle = internals.handleSocketMessage;
  if (!audio || typeof audio.play !== "function" || typeof handle !== "function") {
    console.warn("voice-agent: this ultravox-client has no audioElement/handleSocketMessage to guard; its failures may go uncaught");
    return session;
  }
  const play = audio.play;
  audio.play = () => {
    const playing = play.call(audio);
    playing.catch((error: unknown) => {
      if (errorName(error) !== "AbortError") onFault({ kind: "audio", error });
    });
    return playing;
  };
  internals.handleSocketMessage = (event) => handle.call(session, event).catch((error: unknown) => onFault({ kind: "connect", error }));
  return session;
}

function errorName(error: unknown): string {
  return typeof error === "object" && error !== null && "name" in error ? String(error.name) : "";
}
