import { __ } from "../shared/i18n";
import type { CallEndCause, CallStatus } from "./call-session";
import type { EndReason, QualitySample, Role } from "./signaling-types";

export function statusText(status: CallStatus): string {
  switch (status) {
    case "connecting":
      return __("Connecting…");
    case "ringing":
      return __("Ringing…");
    case "connected":
      return __("Connected");
    case "on_hold":
      return __("On hold");
    case "reconnecting":
      return __("Reconnecting…");
    case "ended":
      return __("Call ended");
  }
}

/**
 * Why a call ended, told from the reader's side: the one mapping of end reasons
 * (contracts/call-states.json) to words, for every panel (agent, supervisor, and
 * the customer's invite page). `by` is the role of the participant whose hang-up
 * ended the call, when one did; the reader's own hang-up never comes here.
 */
export function endReasonText(reason: EndReason, reader: Role, by?: Role): string {
  const customerSide = reader === "customer" || reader === "whatsapp";
  switch (reason) {
    case "hangup":
      return customerSide ? __("The other side hung up.") : hungUpBy(by);
    case "remote_hangup":
      return customerSide ? __("The other side hung up.") : __("The customer hung up.");
    case "no_answer":
      if (customerSide) return __("The call was not answered in time.");
      return reader === "agent"
        ? __("Nobody joined before the ring timeout; the call is marked missed.")
        : __("Nobody answered before the ring timeout.");
    case "room_empty":
      if (customerSide) return __("The other side left the call and did not come back.");
      return reader === "agent" ? __("The customer left the call and did not come back.") : __("Both parties left the call.");
    case "worker_died":
      return reader === "agent"
        ? __("The call server lost this call: its media process stopped. You can call again.")
        : __("The call server lost this call: its media process stopped.");
    case "sidecar_shutdown":
      return reader === "agent"
        ? __("The call server was shut down for maintenance. You can call again once it is back.")
        : __("The call server was shut down for maintenance.");
    case "media_failed":
      return __("The audio connection could not be kept up.");
    case "ended_by_frappe":
      return customerSide ? __("The other side ended the call.") : __("The call was ended from the desk.");
    case "max_duration":
      return __("The call reached its maximum length.");
    case "call_lost":
      return reader === "agent"
        ? __("The call server no longer knew this call (it stopped or restarted), so it was closed. You can call again.")
        : __("The call server no longer knew this call (it stopped or restarted), so it was closed.");
    case "rejected":
      if (customerSide) return __("The call was declined.");
      return by === "whatsapp" || by === "customer"
        ? __("The customer declined the WhatsApp call.")
        : __("The call was declined from the desk.");
    case "unavailable":
      return customerSide
        ? __("Nobody can take calls right now.")
        : __("The call came outside the WhatsApp number's call hours, or with calling switched off.");
    case "whatsapp_error":
      return __("WhatsApp ended the call with an error.");
  }
  return assertNever(reason);
}

/** Who hung up, for the agent or a supervisor. */
function hungUpBy(by: Role | undefined): string {
  switch (by) {
    case "customer":
    case "whatsapp":
      return __("The customer hung up.");
    case "agent":
      return __("The agent hung up.");
    case "supervisor":
      return __("The supervisor hung up.");
    case undefined:
      // Frappe ended it with "hangup" (end_call from another tab of the agent, or a manager).
      return __("The call was hung up from the desk.");
  }
}

/** The warning shown while a call counts down to an end nobody asked for. */
export function endingText(reason: EndReason, secondsLeft: number): string {
  switch (reason) {
    case "sidecar_shutdown":
      return __("This call will end in {0} s: the call server is restarting for maintenance.", [secondsLeft]);
    case "max_duration":
      return __("This call will end in {0} s: it reaches its maximum length.", [secondsLeft]);
    default:
      return __("This call will end in {0} s.", [secondsLeft]);
  }
}

/** Whole seconds left until `endsAt` (rounded up, so "0 s" only once it is over). */
export function secondsLeft(endsAt: number, now: number): number {
  return Math.max(0, Math.ceil((endsAt - now) / 1000));
}

/** A title and a sentence saying what happened and, when it helps, what to do. */
export function endMessage(cause: CallEndCause | undefined, reader: Role): { title: string; detail: string; isError: boolean } {
  switch (cause?.kind) {
    case undefined:
    case "hangup":
      return reader === "supervisor"
        ? { title: __("Left the call"), detail: __("You left the call; it goes on without you."), isError: false }
        : { title: __("Call ended"), detail: __("You hung up."), isError: false };
    case "remote_ended":
      return {
        title: __("Call ended"),
        detail: cause.reason ? endReasonText(cause.reason, reader, cause.by) : __("The call was ended."),
        isError: false,
      };
    case "missed":
      return {
        title: reader === "agent" ? __("Customer never joined") : __("Call missed"),
        detail: endReasonText("no_answer", reader),
        isError: true,
      };
    case "failed":
      return {
        title: __("Call failed"),
        detail: cause.reason ? endReasonText(cause.reason, reader) : __("The call server ended the call with an error."),
        isError: true,
      };
    case "sidecar_unreachable":
      return {
        title: __("Call server unreachable"),
        detail:
          reader === "customer"
            ? __("The call server does not answer ({0}). Please try again later.", [cause.detail])
            : __("The call server does not answer ({0}). Check that the sidecar is running (MediaSoup WebRTC Settings → Test connection).", [
                cause.detail,
              ]),
        isError: true,
      };
    case "token_refused":
      return {
        title: __("Call refused"),
        detail:
          cause.code === "expired"
            ? __("The pass for this call has expired. Start or open the call again.")
            : cause.code === "not_found"
              ? __("This call is no longer running on the call server.")
              : __("The call server refused to let you in ({0}: {1}).", [cause.code, cause.detail]),
        isError: true,
      };
    case "microphone_denied":
      return {
        title: __("Microphone blocked"),
        detail: __("The browser did not give access to a microphone. Allow the microphone for this site (the icon in the address bar) and try again."),
        isError: true,
      };
    case "error":
      return { title: __("Call failed"), detail: cause.detail, isError: true };
  }
}

function assertNever(value: never): never {
  throw new Error(`unexpected end reason ${String(value)}`);
}

export type QualityGrade = "good" | "fair" | "poor";

/** A rough grade from what the listener experiences; the MOS computed by Frappe is the one stored. */
export function gradeQuality(sample: QualitySample): QualityGrade {
  const rtt = sample.rttMs ?? 0;
  if (sample.packetLossPct >= 5 || sample.jitterMs >= 60 || rtt >= 400) return "poor";
  if (sample.packetLossPct >= 1 || sample.jitterMs >= 30 || rtt >= 200) return "fair";
  return "good";
}
