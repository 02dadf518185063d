// Call events as the rest of the sidecar sees them (contracts/call-events.schema.json);
// src/reporting/ implements the sink durably, tests use an in-memory one.
import type { CallEventPayloads, CallEventType } from '../../contracts/call-events.js';

export type { CallEventPayloads, CallEventType };

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
	/** The calls with events Frappe has not acknowledged yet. */
	undeliveredCallIds(): string[];
	drain(timeoutMs: number): Promise<boolean>;
	close(): void;
	/** Outbox figures for /metrics, when the reporter keeps them. */
	stats?(): ReporterStats;
}
