// Every shape that crosses to Frappe or a browser is generated from contracts/*.schema.json into
// contracts/*.d.ts (contracts/codegen.py); the lists below are compile-time checked against them.
import type { Ack, CallState, EndReason, Role, SignalingPushes, SignalingRequests } from '../../contracts/signaling.js';

export type {
	Ack,
	AckError,
	CallState,
	CreateRoomRequest,
	EndCallRequest,
	EndReason,
	Health,
	ParticipantInfo,
	ParticipantLeftReason,
	ParticipantStatus,
	QualitySample,
	Role,
	RoomList,
	RoomStatus,
	RoomSummary,
	SignalingPushes,
	SignalingRequests,
	TransportOptions,
} from '../../contracts/signaling.js';
export type {
	WhatsAppAnswerRequest,
	WhatsAppEndRequest,
	WhatsAppOfferRequest,
	WhatsAppRemoteAnswerRequest,
	WhatsAppSession,
} from '../../contracts/sidecar-http.js';
export type { CallTokenClaims } from '../../contracts/call-token.js';

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
	'call_lost',
	'rejected',
	'unavailable',
	'whatsapp_error',
] as const;
true satisfies Exactly<(typeof END_REASONS)[number], EndReason>;

// socket.io (contracts/signaling.schema.json)

export type AckFn<T> = (ack: Ack<T>) => void;

export type ClientToServerEvents = {
	[E in keyof SignalingRequests]: (payload: SignalingRequests[E][0], ack: AckFn<SignalingRequests[E][1]>) => void;
};

export type ServerToClientEvents = {
	[E in keyof SignalingPushes]: (payload: SignalingPushes[E]) => void;
};
