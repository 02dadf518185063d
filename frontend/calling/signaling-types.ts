// Wire types are generated from contracts/*.schema.json (contracts/signaling.d.ts shared with the
// sidecar, contracts/frappe-api.d.ts for Frappe's answers); what follows them here is the browser's own.
import type { Ack } from "../../contracts/signaling";
export type { EndCallAnswer, InviteAnswer, JoinAnswer, VoiceCallUpdate } from "../../contracts/frappe-api";

export type {
  Ack,
  CallEnding,
  CallState as SidecarCallState,
  CallStatePush,
  EndReason,
  ParticipantInfo,
  QualitySample,
  Role,
  SignalingPushes,
  SignalingRequests,
} from "../../contracts/signaling";

/** What CallSession needs from a socket.io client socket (a fake one in unit tests). */
export interface SignalingSocket {
  readonly connected: boolean;
  emit(event: string, payload: unknown, ack: (ack: Ack<unknown>) => void): unknown;
  on(event: string, listener: (...args: never[]) => void): unknown;
  connect(): unknown;
  disconnect(): unknown;
  io: { on(event: string, listener: (...args: never[]) => void): unknown };
}
