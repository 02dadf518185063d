// The sidecar's wire types live in contracts/signaling.d.ts, shared with the sidecar;
// what follows them here is the browser's own.
import type { Ack, Role } from "../../contracts/signaling";

export type {
  Ack,
  CallState as SidecarCallState,
  EndReason,
  ParticipantInfo,
  QualitySample,
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

/** The answer of initiate_call / join_invite / join_as_supervisor (docs/desk-calling.md). */
export interface JoinAnswer {
  call: string;
  signaling_url: string;
  token: string;
  expires_at: string;
  ice_servers: RTCIceServer[];
  codec_preferences?: Record<string, unknown>;
  role: Role;
  participant_id: string;
}
