// The reporting interface agreed with src/reporting/ (CallEventReporter implements it).
import type { ReporterStats } from './reporting/index.js';

export type CallEventType = 'call.state_changed' | 'participant.joined' | 'participant.left' | 'quality.sample';

export interface CallEventSink {
	/** Synchronous, durable append; event id, sequence and occurredAt are assigned by the sink. */
	report(callId: string, type: CallEventType, payload: object): void;
}

/** What the sidecar needs from the reporter beyond report(). */
export interface CallEventReporterLike extends CallEventSink {
	readonly pending: number;
	drain(timeoutMs: number): Promise<boolean>;
	close(): void;
	/** Outbox figures for /metrics, when the reporter keeps them. */
	stats?(): ReporterStats;
}
