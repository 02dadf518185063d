import type { CallEndCause, CallStatus } from "./call-session";
import type { EndReason, QualitySample } from "./signaling-types";

export const STATUS_TEXT: Record<CallStatus, string> = {
  connecting: "Connecting…",
  ringing: "Ringing…",
  connected: "Connected",
  on_hold: "On hold",
  reconnecting: "Reconnecting…",
  ended: "Call ended",
};

const END_REASON_TEXT: Record<EndReason, string> = {
  hangup: "The other side hung up.",
  remote_hangup: "The other side hung up.",
  no_answer: "Nobody answered.",
  room_empty: "Everyone else left the call.",
  worker_died: "The call server lost this call (media worker restarted).",
  sidecar_shutdown: "The call server was restarted.",
  media_failed: "The audio connection could not be kept up.",
  ended_by_frappe: "The call was ended from the desk.",
  max_duration: "The call reached its maximum length.",
};

/** A title and a sentence saying what happened and, when it helps, what to do. */
export function endMessage(cause: CallEndCause | undefined, role: string): { title: string; detail: string; isError: boolean } {
  switch (cause?.kind) {
    case undefined:
    case "hangup":
      return { title: "Call ended", detail: "You hung up.", isError: false };
    case "remote_ended":
      return { title: "Call ended", detail: cause.reason ? END_REASON_TEXT[cause.reason] : "The call was ended.", isError: false };
    case "missed":
      return {
        title: role === "agent" ? "Customer never joined" : "Call missed",
        detail: role === "agent" ? "Nobody joined before the ring timeout; the call is marked missed." : "The call was not answered in time.",
        isError: true,
      };
    case "failed":
      return { title: "Call failed", detail: cause.reason ? END_REASON_TEXT[cause.reason] : "The call server ended the call with an error.", isError: true };
    case "sidecar_unreachable":
      return {
        title: "Call server unreachable",
        detail: `The call server does not answer (${cause.detail}). Check that the sidecar is running (MediaSoup WebRTC Settings → Test connection).`,
        isError: true,
      };
    case "token_refused":
      return {
        title: "Call refused",
        detail:
          cause.code === "expired"
            ? "The pass for this call has expired. Start or open the call again."
            : cause.code === "not_found"
              ? "This call is no longer running on the call server."
              : `The call server refused to let you in (${cause.code}: ${cause.detail}).`,
        isError: true,
      };
    case "microphone_denied":
      return {
        title: "Microphone blocked",
        detail: "The browser did not give access to a microphone. Allow the microphone for this site (the icon in the address bar) and try again.",
        isError: true,
      };
    case "error":
      return { title: "Call failed", detail: cause.detail, isError: true };
  }
}

export type QualityGrade = "good" | "fair" | "poor";

/** A rough grade from what the listener experiences; the MOS computed by Frappe is the one stored. */
export function gradeQuality(sample: QualitySample): QualityGrade {
  const rtt = sample.rttMs ?? 0;
  if (sample.packetLossPct >= 5 || sample.jitterMs >= 60 || rtt >= 400) return "poor";
  if (sample.packetLossPct >= 1 || sample.jitterMs >= 30 || rtt >= 200) return "fair";
  return "good";
}

export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mmss = `${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
  return h > 0 ? `${h}:${mmss}` : mmss;
}
