import client from 'prom-client';
import type { ReporterStats } from '../events.js';

/**
 * Registers the outbox figures on a prom-client registry; they are read from
 * stats() at scrape time, so the reporter keeps no prom-client state itself.
 */
export function registerReporterMetrics(registry: client.Registry, reporter: { stats(): ReporterStats }): void {
	const registers = [registry];
	const gauges: [string, string, (s: ReporterStats) => number][] = [
		['sidecar_outbox_pending', 'Call events in the outbox not yet acknowledged by Frappe', (s) => s.pending],
		['sidecar_outbox_dead_letters', 'Call events Frappe refused for good, kept in the dead-letter table', (s) => s.deadLetterStored],
	];
	for (const [name, help, read] of gauges) {
		new client.Gauge({
			name,
			help,
			registers,
			collect() {
				this.set(read(reporter.stats()));
			},
		});
	}
	const counters: [string, string, (s: ReporterStats) => number][] = [
		['sidecar_call_events_delivered_total', 'Call events acknowledged by Frappe', (s) => s.delivered],
		['sidecar_call_event_post_failures_total', 'POSTs of call events that failed (retried or refused)', (s) => s.failedAttempts],
		['sidecar_call_events_dead_lettered_total', 'Call events moved to the dead-letter table', (s) => s.deadLettered],
		['sidecar_call_events_invalid_total', 'Call events dropped because they broke the contract (a bug)', (s) => s.invalidDropped],
	];
	for (const [name, help, read] of counters) {
		// The stats are monotonic since process start: add what grew since the last scrape.
		let seen = 0;
		new client.Counter({
			name,
			help,
			registers,
			collect() {
				const now = read(reporter.stats());
				if (now > seen) this.inc(now - seen);
				seen = Math.max(seen, now);
			},
		});
	}
}
