// Wire types come from contracts/signaling.d.ts (shared with the browser bundles); the rest are
// the sidecar's own mirrors of contracts/*.json, which test/contracts.test.ts checks against the schemas.
import type { Ack, CallState, EndReason, QualitySample, Role, SignalingPushes, SignalingRequests } from '../../contracts/signaling.js';

export type {
	Ack,
	AckError,
	CallState,
	EndReason,
	ParticipantInfo,
	ParticipantLeftReason,
	QualitySample,
	Role,
	SignalingPushes,
	SignalingRequests,
	TransportOptions,
} from '../../contracts/signaling.js';

/** Compiles only when the list has exactly the members of the contract's union. */
type Exactly<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;

export const ROLES = ['agent', 'customer', 'supervisor', 'whatsapp'] as const;
true satisfies Exactly<(typeof ROLES)[number], Role>;

export const CALL_STATES = ['created', 'ringing', 'connecting', 'connected', 'on_hold', 'reconnecting', 'ended', 'missed', 'failed'] as const;
true satisfies Exactly<(typeof CALL_STATES)[number], CallState>;

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
true satisfies Exactly<(typeof END_REASONS)[number], EndReason>;

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
	/** In the contract and sent by Frappe's client; the sidecar keeps nothing of it. */
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

export type AckFn<T> = (ack: Ack<T>) => void;

export type ClientToServerEvents = {
	[E in keyof SignalingRequests]: (payload: SignalingRequests[E][0], ack: AckFn<SignalingRequests[E][1]>) => void;
};

export type ServerToClientEvents = {
	[E in keyof SignalingPushes]: (payload: SignalingPushes[E]) => void;
};
