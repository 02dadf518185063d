export { registerReporterMetrics } from './metrics.js';
export type { DeadLetter } from './outbox.js';
export { CallEventReporter, type CallEvent, type CallEventReporterOptions } from './reporter.js';
