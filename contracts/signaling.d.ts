// TypeScript shapes of signaling.schema.json and the enums of sidecar-http.schema.json,
// imported (types only) by the sidecar (src/types.ts) and the browser bundles
// (frontend/desk/core/signaling-types.ts, the sidecar demo page). The sidecar's test/contracts.test.ts
// checks the enums against the schemas; the schemas validate every message at run time.

export type Role = "agent" | "customer" | "supervisor" | "whatsapp";

export type CallState =
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

export type ParticipantLeftReason = "hangup" | "disconnected" | "kicked" | "call_ended";

export type AckError = {
  code: "invalid_request" | "payload_too_large" | "not_found" | "invalid_state" | "forbidden" | "internal";
  message: string;
};
export type Ack<T> = { ok: true; data: T } | { ok: false; error: AckError };

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

export interface CallStatePush {
  state: CallState;
  reason?: EndReason;
}

type Empty = Record<string, never>;

// RTP capabilities and parameters are mediasoup's own types on both sides; the schema checks their shape.
/** Client -> sidecar requests: [payload, ack data]. */
export interface SignalingRequests {
  "router:capabilities": [Empty, { rtpCapabilities: object }];
  "transport:create": [{ direction: "send" | "recv" }, TransportOptions];
  "transport:connect": [
    { transportId: string; dtlsParameters: { role?: "auto" | "client" | "server"; fingerprints: { algorithm: string; value: string }[] } },
    Empty,
  ];
  "transport:restartIce": [{ transportId: string }, { iceParameters: object }];
  "call:join": [{ rtpCapabilities: object }, { participantId: string; role: Role; state: CallState; participants: ParticipantInfo[] }];
  "producer:create": [{ transportId: string; kind: "audio"; rtpParameters: object }, { producerId: string }];
  "consumer:resume": [{ consumerId: string }, Empty];
  "producer:mute": [{ producerId: string }, Empty];
  "producer:unmute": [{ producerId: string }, Empty];
  "call:hold": [{ onHold: boolean }, Empty];
  "call:hangup": [Empty, Empty];
  "stats:get": [Empty, { samples: QualitySample[] }];
}

/** Sidecar -> client pushes: their payload. */
export interface SignalingPushes {
  "participant:joined": ParticipantInfo;
  "participant:left": { participantId: string; reason?: string };
  "participant:muted": { participantId: string; muted: boolean };
  "consumer:new": NewConsumer;
  "consumer:closed": { consumerId: string };
  "call:state": CallStatePush;
  "quality:sample": QualitySample;
}
