import { FrappeCallError } from "../shared/frappe-call";
import { __ } from "../shared/i18n";

export type FailureKind =
  | "rate_limited"
  | "origin_refused"
  | "service_busy"
  | "agent_unavailable"
  | "invalid_request"
  | "network"
  | "server_error"
  | "mic_denied"
  | "mic_missing"
  | "mic_unsupported"
  | "call_ended"
  | "connection_lost"
  | "connect_timeout"
  | "audio_blocked";

export interface Failure {
  kind: FailureKind;
  title: string;
  detail: string;
  /** Whether pressing Start again may help. */
  retry: boolean;
}

const TEXT: Record<FailureKind, Omit<Failure, "kind">> = {
  rate_limited: {
    title: "Too many attempts",
    detail: "You have started several conversations in a short time. Please wait a few minutes and try again.",
    retry: true,
  },
  origin_refused: {
    title: "Not available on this website",
    detail: "This website is not allowed to start conversations with our voice assistant. Please visit our site directly.",
    retry: false,
  },
  service_busy: {
    title: "All lines are busy",
    detail: "Our voice assistant is busy or temporarily unavailable. Please try again in a moment.",
    retry: true,
  },
  agent_unavailable: {
    title: "Voice service unavailable",
    detail: "We could not reach our voice service. Please try again in a few minutes.",
    retry: true,
  },
  invalid_request: {
    title: "Could not start the conversation",
    detail: "The request was not accepted. Please choose an assistant and try again.",
    retry: true,
  },
  network: {
    title: "No connection",
    detail: "We could not reach the server. Check your internet connection and try again.",
    retry: true,
  },
  server_error: {
    title: "Something went wrong",
    detail: "The server could not start the conversation. Please try again later.",
    retry: true,
  },
  mic_denied: {
    title: "Microphone blocked",
    detail: "Allow microphone access for this site in your browser settings, then press Start again.",
    retry: true,
  },
  mic_missing: {
    title: "No microphone found",
    detail: "Connect a microphone (or use a device that has one), then press Start again.",
    retry: true,
  },
  mic_unsupported: {
    title: "Microphone not available here",
    detail: "This browser cannot use a microphone on this page. Open it over https:// in an up-to-date browser.",
    retry: false,
  },
  call_ended: {
    title: "Conversation ended",
    detail: "The conversation has ended. Thank you for talking with us.",
    retry: true,
  },
  connection_lost: {
    title: "Connection lost",
    detail: "The connection to the voice service was interrupted. Please start a new conversation.",
    retry: true,
  },
  connect_timeout: {
    title: "Could not connect",
    detail: "The voice service did not answer in time. Please check your connection and try again.",
    retry: true,
  },
  audio_blocked: {
    title: __("No sound"),
    detail: __("Your browser did not let this page play the assistant's voice. Allow sound for this site, then press Start again."),
    retry: true,
  },
};

export function failure(kind: FailureKind, detail?: string): Failure {
  const text = TEXT[kind];
  return { kind, ...text, detail: detail || text.detail };
}

/** Server messages that explain a validation or capacity refusal are worth showing; others are replaced by ours. */
export function failureFromCall(error: FrappeCallError): Failure {
  switch (error.status) {
    case 0:
      return failure("network");
    case 429:
      return failure("rate_limited");
    case 403:
      return failure("origin_refused");
    case 503:
      return failure("service_busy", error.serverMessage);
    case 502:
      return failure("agent_unavailable");
    case 400:
    case 404:
    case 409:
    case 417:
    case 422:
      return failure("invalid_request", error.serverMessage);
    default:
      return failure("server_error");
  }
}

/** getUserMedia rejections: NotAllowedError (denied or blocked by policy), NotFoundError (no device). */
export function failureFromMediaError(error: unknown): Failure {
  const name = error instanceof DOMException || error instanceof Error ? error.name : "";
  if (name === "TypeError" || name === "NotSupportedError" || name === "SecurityError") return failure("mic_unsupported");
  if (name === "NotFoundError" || name === "OverconstrainedError" || name === "NotReadableError") {
    return failure("mic_missing");
  }
  return failure("mic_denied");
}
