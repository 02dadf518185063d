export { registerReporterMetrics } from './metrics.js';
export type { DeadLetter } from './outbox.js';
export {
	CallEventReporter,
	type CallEvent,
	type CallEventReporterOptions,
	type CallEventSink,
	type CallEventType,
	type ReporterStats,
} from './reporter.js';
