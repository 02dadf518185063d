// Hand-typed mirror of contracts/*.json; test/contracts.test.ts checks it against the schemas.

export const ROLES = ['agent', 'customer', 'supervisor', 'whatsapp'] as const;
export type Role = (typeof ROLES)[number];

export const CALL_STATES = ['created', 'ringing', 'connecting', 'connected', 'on_hold', 'reconnecting', 'ended', 'missed', 'failed'] as const;
export type CallState = (typeof CALL_STATES)[number];

export const END_REASONS = [
	'hangup',
	'remote_hangup',
	'no_answer',
	'room_empty',
	'worker_died',
	'sidecar_shutdown',
	'media_failed',
	'ended_by_frappe',
	'max_duration',
] as const;
export type EndReason = (typeof END_REASONS)[number];

export type ParticipantLeftReason = 'hangup' | 'disconnected' | 'kicked' | 'call_ended';

export interface QualitySample {
	participantId: string;
	role: Role;
	direction: 'inbound' | 'outbound';
	packetLossPct: number;
	jitterMs: number;
	rttMs?: number | null;
	bitrateKbps: number;
	packets: number;
	bytes?: number;
}

export interface CallTokenClaims {
	iss: 'voice_agent';
	aud: 'voice-agent-sidecar';
	sub: string;
	call: string;
	role: Role;
	listenOnly?: boolean;
	name?: string;
	iat: number;
	exp: number;
	jti: string;
}

export interface CreateRoomRequest {
	callId: string;
	emptyTimeoutSec?: number;
	ringTimeoutSec?: number;
	maxDurationSec?: number;
	metadata?: Record<string, string | number | boolean | null>;
}

export interface EndCallRequest {
	reason?: EndReason;
}

export interface ParticipantStatus {
	participantId: string;
	role: Role;
	joinedAt: string;
	muted: boolean;
	listenOnly?: boolean;
	quality?: QualitySample[];
}

export interface RoomStatus {
	callId: string;
	state: CallState;
	endReason?: EndReason;
	createdAt: string;
	connectedAt?: string;
	endedAt?: string;
	workerPid?: number;
	participants: ParticipantStatus[];
}

export interface Health {
	status: 'ok' | 'degraded' | 'draining';
	version: string;
	uptimeSec: number;
	rooms: number;
	participants: number;
	outboxPending?: number;
	workers: { pid: number; alive: boolean; rooms: number; cpuPercent?: number }[];
}

// socket.io (contracts/signaling.schema.json)

export type AckError = { code: 'invalid_request' | 'payload_too_large' | 'not_found' | 'invalid_state' | 'forbidden' | 'internal'; message: string };
export type Ack<T> = { ok: true; data: T } | { ok: false; error: AckError };
export type AckFn<T> = (ack: Ack<T>) => void;

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
	kind: 'audio';
	rtpParameters: object;
}

export interface CallStatePush {
	state: CallState;
	reason?: EndReason;
}

type Empty = Record<string, never>;

/** Client -> server events: [request, ack data]. */
export interface SignalingRequests {
	'router:capabilities': [Empty, { rtpCapabilities: object }];
	'transport:create': [{ direction: 'send' | 'recv' }, TransportOptions];
	'transport:connect': [{ transportId: string; dtlsParameters: { role?: 'auto' | 'client' | 'server'; fingerprints: { algorithm: string; value: string }[] } }, Empty];
	'transport:restartIce': [{ transportId: string }, { iceParameters: object }];
	'call:join': [{ rtpCapabilities: { codecs: unknown[] } & Record<string, unknown> }, { participantId: string; role: Role; state: CallState; participants: ParticipantInfo[] }];
	'producer:create': [{ transportId: string; kind: 'audio'; rtpParameters: { codecs: unknown[] } & Record<string, unknown> }, { producerId: string }];
	'consumer:resume': [{ consumerId: string }, Empty];
	'producer:mute': [{ producerId: string }, Empty];
	'producer:unmute': [{ producerId: string }, Empty];
	'call:hold': [{ onHold: boolean }, Empty];
	'call:hangup': [Empty, Empty];
	'stats:get': [Empty, { samples: QualitySample[] }];
}

export type ClientToServerEvents = {
	[E in keyof SignalingRequests]: (payload: SignalingRequests[E][0], ack: AckFn<SignalingRequests[E][1]>) => void;
};

export interface ServerToClientEvents {
	'participant:joined': (p: ParticipantInfo) => void;
	'participant:left': (p: { participantId: string; reason?: string }) => void;
	'participant:muted': (p: { participantId: string; muted: boolean }) => void;
	'consumer:new': (p: NewConsumer) => void;
	'consumer:closed': (p: { consumerId: string }) => void;
	'call:state': (p: CallStatePush) => void;
	'quality:sample': (p: QualitySample) => void;
}
