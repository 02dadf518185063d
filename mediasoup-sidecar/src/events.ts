// Call events as the rest of the sidecar sees them (contracts/call-events.schema.json);
// src/reporting/ implements the sink durably, tests use an in-memory one.
import type { CallState, EndReason, ParticipantLeftReason, Role } from './types.js';

/** The call's quality so far, as Frappe gets it (QualitySummarized in the contract). */
export interface QualitySummaryPayload {
	/** Quality samples the means are over (one per participant and direction per sampling). */
	samples: number;
	packetLossPct: number;
	jitterMs: number;
	/** Over the samples that had an RTT; null when none had. */
	rttMs: number | null;
	bitrateKbps: number;
	/** The summary sent when the call ends. */
	final: boolean;
}

/** Each event type and its payload. */
export interface CallEventPayloads {
	'call.state_changed': { from: CallState; to: CallState; reason?: EndReason };
	'participant.joined': { participantId: string; role: Role; listenOnly?: true };
	'participant.left': { participantId: string; role: Role; reason: ParticipantLeftReason };
	'quality.summary': QualitySummaryPayload;
}

export type CallEventType = keyof CallEventPayloads;

export interface CallEventSink {
	/** Synchronous, durable append; event id, sequence and occurredAt are assigned by the sink. */
	report<T extends CallEventType>(callId: string, type: T, payload: CallEventPayloads[T]): void;
}

/** Counters for /metrics: the first four count since the reporter started. */
export interface ReporterStats {
	delivered: number;
	failedAttempts: number;
	deadLettered: number;
	/** Events refused by the contract check in report() and never stored. */
	invalidDropped: number;
	/** Events in the outbox not yet acknowledged by Frappe. */
	pending: number;
	/** Events kept in the dead-letter table, over the outbox's whole life. */
	deadLetterStored: number;
}

/** What the sidecar needs from the reporter beyond report(). */
export interface CallEventReporterLike extends CallEventSink {
	readonly pending: number;
	drain(timeoutMs: number): Promise<boolean>;
	close(): void;
	/** Outbox figures for /metrics, when the reporter keeps them. */
	stats?(): ReporterStats;
}
