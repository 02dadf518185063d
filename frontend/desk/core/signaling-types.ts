// Browser-side mirror of contracts/signaling.schema.json (the sidecar's
// src/types.ts is the server mirror; both follow the same schema).

export type Role = "agent" | "customer" | "supervisor" | "whatsapp";

export type SidecarCallState =
  | "created"
  | "ringing"
  | "connecting"
  | "connected"
  | "on_hold"
  | "reconnecting"
  | "ended"
  | "missed"
  | "failed";

export type EndReason =
  | "hangup"
  | "remote_hangup"
  | "no_answer"
  | "room_empty"
  | "worker_died"
  | "sidecar_shutdown"
  | "media_failed"
  | "ended_by_frappe"
  | "max_duration";

export type AckErrorCode = "invalid_request" | "payload_too_large" | "not_found" | "invalid_state" | "forbidden" | "internal";
export type Ack<T> = { ok: true; data: T } | { ok: false; error: { code: AckErrorCode; message: string } };

export interface ParticipantInfo {
  participantId: string;
  role: Role;
  name?: string;
  muted: boolean;
  listenOnly?: boolean;
}

export interface TransportOptions {
  transportId: string;
  iceParameters: object;
  iceCandidates: unknown[];
  dtlsParameters: object;
  iceServers?: unknown[];
}

export interface NewConsumer {
  consumerId: string;
  producerId: string;
  participantId: string;
  kind: "audio";
  rtpParameters: object;
}

export interface QualitySample {
  participantId: string;
  role: Role;
  direction: "inbound" | "outbound";
  packetLossPct: number;
  jitterMs: number;
  rttMs?: number | null;
  bitrateKbps: number;
  packets: number;
  bytes?: number;
}

type Empty = Record<string, never>;

/** Client -> sidecar requests: [payload, ack data]. */
export interface SignalingRequests {
  "router:capabilities": [Empty, { rtpCapabilities: object }];
  "transport:create": [{ direction: "send" | "recv" }, TransportOptions];
  "transport:connect": [{ transportId: string; dtlsParameters: object }, Empty];
  "transport:restartIce": [{ transportId: string }, { iceParameters: object }];
  "call:join": [{ rtpCapabilities: object }, { participantId: string; role: Role; state: SidecarCallState; participants: ParticipantInfo[] }];
  "producer:create": [{ transportId: string; kind: "audio"; rtpParameters: object }, { producerId: string }];
  "consumer:resume": [{ consumerId: string }, Empty];
  "producer:mute": [{ producerId: string }, Empty];
  "producer:unmute": [{ producerId: string }, Empty];
  "call:hold": [{ onHold: boolean }, Empty];
  "call:hangup": [Empty, Empty];
  "stats:get": [Empty, { samples: QualitySample[] }];
}

export interface SignalingPushes {
  "participant:joined": ParticipantInfo;
  "participant:left": { participantId: string; reason?: string };
  "participant:muted": { participantId: string; muted: boolean };
  "consumer:new": NewConsumer;
  "consumer:closed": { consumerId: string };
  "call:state": { state: SidecarCallState; reason?: EndReason };
  "quality:sample": QualitySample;
}

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
