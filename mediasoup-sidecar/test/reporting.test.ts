import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { DatabaseSync } from 'node:sqlite';
import path from 'node:path';
import pino from 'pino';
import client from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CallEventReporter, registerReporterMetrics, type CallEventReporterOptions } from '../src/reporting/index.js';
import { parseRetryAfter } from '../src/reporting/frappe-client.js';
import { FrappeReceiver, type ReceivedEvent } from './fakes/frappe-receiver.js';

interface LogLine {
	level: number;
	msg: string;
	[key: string]: unknown;
}

const WARN = 40;
const ERROR = 50;

let dir: string;
let receiver: FrappeReceiver;
let logs: LogLine[];
const reporters: CallEventReporter[] = [];

beforeEach(async () => {
	dir = mkdtempSync(path.join(os.tmpdir(), 'outbox-test-'));
	receiver = await FrappeReceiver.start();
	logs = [];
});

afterEach(async () => {
	for (const r of reporters.splice(0)) r.close();
	if (receiver.listening) await receiver.stop();
	rmSync(dir, { recursive: true, force: true });
	// Every body the sidecar ever sent must have matched the contract and the auth.
	expect(receiver.violations).toEqual([]);
});

function logger(): pino.Logger {
	return pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) });
}

async function open(overrides: Partial<CallEventReporterOptions> = {}): Promise<CallEventReporter> {
	const reporter = await CallEventReporter.create({
		outboxPath: dir,
		frappeUrl: receiver.url,
		apiKey: receiver.apiKey,
		apiSecret: receiver.apiSecret,
		logger: logger(),
		sidecarId: 'sidecar-test',
		retryBaseDelayMs: 20,
		retryMaxDelayMs: 200,
		requestTimeoutMs: 2_000,
		...overrides,
	});
	reporters.push(reporter);
	return reporter;
}

/** A quality summary whose `samples` field numbers it (n + 1: the contract wants at least one), so tests can follow each event. */
function summary(n: number): object {
	return { samples: n + 1, packetLossPct: 0.5, jitterMs: 3, rttMs: null, bitrateKbps: 32, final: false };
}

function numberOf(e: ReceivedEvent): number {
	return (e.payload.samples as number) - 1;
}

function expectContiguous(events: ReceivedEvent[]): void {
	expect(events.map((e) => e.sequence)).toEqual(events.map((_, i) => i + 1));
}

describe('CallEventReporter', () => {
	it('posts events in report order, at most 100 per POST, with contiguous sequences per call', async () => {
		const reporter = await open();
		const calls = ['call-a', 'call-b', 'call-c'];
		for (let n = 0; n < 250; n++) reporter.report(calls[n % 3]!, 'quality.summary', summary(n));
		expect(reporter.pending).toBe(250);

		await expect(reporter.drain(5_000)).resolves.toBe(true);

		expect(receiver.requests.map((r) => r.eventIds.length)).toEqual([100, 100, 50]);
		const arrived = receiver.requests.flatMap((r) => r.eventIds.map((id) => receiver.events.get(id)!));
		expect(arrived.map(numberOf)).toEqual([...Array(250).keys()]);
		for (const callId of calls) expectContiguous(receiver.eventsOf(callId));
		expect(arrived.every((e) => e.sidecarId === 'sidecar-test')).toBe(true);
		expect(new Set(arrived.map((e) => e.eventId)).size).toBe(250);
		expect(receiver.duplicates).toBe(0);
		expect(reporter.stats()).toMatchObject({ delivered: 250, failedAttempts: 0, deadLettered: 0, pending: 0 });
	});

	it('honours a smaller batchSize; refuses bad options and an unusable outbox with a clear error', async () => {
		const reporter = await open({ batchSize: 4 });
		for (let n = 0; n < 10; n++) reporter.report('call-a', 'quality.summary', summary(n));
		await expect(reporter.drain(5_000)).resolves.toBe(true);
		expect(receiver.requests.map((r) => r.eventIds.length)).toEqual([4, 4, 2]);
		await expect(open({ batchSize: 101 })).rejects.toThrow(/batchSize/);
		await expect(open({ apiSecret: undefined })).rejects.toThrow(/apiKey and apiSecret/);
		await expect(open({ frappeUrl: 'ftp://frappe' })).rejects.toThrow(/http/);
		writeFileSync(path.join(dir, 'not-a-dir'), 'x');
		await expect(open({ outboxPath: path.join(dir, 'not-a-dir') })).rejects.toThrow(/cannot open the call-event outbox .*not-a-dir/);
		const garbage = path.join(dir, 'garbage');
		mkdirSync(garbage);
		writeFileSync(path.join(garbage, 'call-events.sqlite'), 'this is not a database, just bytes '.repeat(100));
		await expect(open({ outboxPath: garbage })).rejects.toThrow(/cannot open the call-event outbox .*garbage.*not a database/);
	});

	it('delivers every event of one report burst in the same order it was reported, across event types', async () => {
		const reporter = await open();
		reporter.report('call-a', 'call.state_changed', { from: 'created', to: 'ringing' });
		reporter.report('call-a', 'participant.joined', { participantId: 'agent-1', role: 'agent' });
		reporter.report('call-a', 'participant.joined', { participantId: 'cust+1@x', role: 'customer', listenOnly: false });
		reporter.report('call-a', 'call.state_changed', { from: 'ringing', to: 'connected' });
		reporter.report('call-a', 'participant.left', { participantId: 'cust+1@x', role: 'customer', reason: 'hangup' });
		reporter.report('call-a', 'call.state_changed', { from: 'connected', to: 'ended', reason: 'remote_hangup' });
		await expect(reporter.drain(5_000)).resolves.toBe(true);
		const events = receiver.eventsOf('call-a');
		expect(events.map((e) => e.type)).toEqual([
			'call.state_changed',
			'participant.joined',
			'participant.joined',
			'call.state_changed',
			'participant.left',
			'call.state_changed',
		]);
		expectContiguous(events);
		for (const e of events) {
			expect(e.eventId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
			expect(new Date(e.occurredAt).toISOString()).toBe(e.occurredAt);
		}
	});

	it('drops an event that violates the contract, loudly, without storing it or using up a sequence', async () => {
		const reporter = await open();
		reporter.report('call-a', 'call.state_changed', { from: 'created', to: 'teleported' });
		reporter.report('call a with spaces', 'call.state_changed', { from: 'created', to: 'ringing' });
		reporter.report('call-a', 'quality.summary', { ...summary(1), packetLossPct: 140 });
		// 0/0 from empty stats: JSON would turn it into null, which the contract refuses.
		reporter.report('call-a', 'quality.summary', { ...summary(2), jitterMs: Number.NaN });
		expect(reporter.pending).toBe(0);
		expect(reporter.stats().invalidDropped).toBe(4);
		const errors = logs.filter((l) => l.level === ERROR && l.msg.includes('violates contracts/call-events.schema.json'));
		expect(errors).toHaveLength(4);
		expect(errors[0]).toHaveProperty('event.payload.to', 'teleported');

		// An undefined optional field is simply absent on the wire.
		reporter.report('call-a', 'call.state_changed', { from: 'created', to: 'ringing', reason: undefined });
		await expect(reporter.drain(5_000)).resolves.toBe(true);
		expect(receiver.eventsOf('call-a').map((e) => e.sequence)).toEqual([1]);
		expect(receiver.eventsOf('call-a')[0]!.payload).toEqual({ from: 'created', to: 'ringing' });
		expect(receiver.events.size).toBe(1);
	});

	it('backs off on 500, 429 (honouring Retry-After) and a timeout, then delivers each event once', async () => {
		receiver.plan.push({ status: 500 }, { status: 429, headers: { 'retry-after': '1' } }, { hang: true });
		const reporter = await open({ requestTimeoutMs: 300 });
		for (let n = 0; n < 5; n++) reporter.report('call-a', 'quality.summary', summary(n));

		await receiver.waitForEvents(5, 10_000);
		await expect(reporter.drain(5_000)).resolves.toBe(true);

		expect(receiver.requests.map((r) => r.status)).toEqual([500, 429, 'hang', 200]);
		const [, tooMany, hung, ok] = receiver.requests;
		expect(hung!.at - tooMany!.at).toBeGreaterThanOrEqual(990);
		expect(ok!.at - hung!.at).toBeGreaterThanOrEqual(300);
		// The hung request was stored before it stalled: the retry is a duplicate Frappe drops.
		expect(receiver.duplicates).toBe(5);
		expect(receiver.events.size).toBe(5);
		expectContiguous(receiver.eventsOf('call-a'));
		expect(reporter.stats()).toMatchObject({ delivered: 5, failedAttempts: 3, deadLettered: 0, pending: 0 });
		expect(logs.filter((l) => l.level === WARN && l.msg.includes('will retry'))).toHaveLength(3);
		expect(logs.filter((l) => l.level === WARN).map((l) => l.reason)).toEqual([
			expect.stringMatching(/^HTTP 500/),
			expect.stringMatching(/^HTTP 429/),
			'no answer within 300 ms',
		]);
	});

	it('waits exponentially longer between failures, with jitter, up to the cap', async () => {
		receiver.plan.push(...Array.from({ length: 7 }, () => ({ status: 503 })));
		const reporter = await open({ retryBaseDelayMs: 20, retryMaxDelayMs: 160 });
		reporter.report('call-a', 'quality.summary', summary(0));
		await receiver.waitForEvents(1, 10_000);

		const at = receiver.requests.map((r) => r.at);
		const gaps = at.slice(1).map((t, i) => t - at[i]!);
		expect(gaps).toHaveLength(7);
		// Equal jitter: the wait after failure k lies in [c/2, c] with c = min(160, 20·2^(k-1)); timers may fire 1–2 ms early.
		gaps.forEach((gap, i) => {
			const ceiling = Math.min(160, 20 * 2 ** i);
			expect(gap).toBeGreaterThanOrEqual(ceiling / 2 - 2);
			// Generous slack for a loaded machine; without the cap the last waits would reach 640–1280 ms.
			expect(gap).toBeLessThanOrEqual(ceiling + 400);
		});
		expect(reporter.stats().failedAttempts).toBe(7);
	});

	it('moves an event Frappe refuses (400) to the dead-letter table and delivers the rest of its batch and the queue', async () => {
		receiver.rejectEvent = (e) => numberOf(e) === 3;
		const reporter = await open();
		for (let n = 0; n < 10; n++) reporter.report('call-a', 'quality.summary', summary(n));
		await expect(reporter.drain(5_000)).resolves.toBe(true);

		expect([...receiver.events.values()].map(numberOf).sort((a, b) => a - b)).toEqual([0, 1, 2, 4, 5, 6, 7, 8, 9]);
		const dead = reporter.deadLetters();
		expect(dead).toHaveLength(1);
		expect(dead[0]).toMatchObject({ status: 400, callId: 'call-a' });
		expect(JSON.parse(dead[0]!.body)).toMatchObject({ sequence: 4, payload: { samples: 4 } });
		expect(reporter.stats()).toMatchObject({ delivered: 9, deadLettered: 1, deadLetterStored: 1, pending: 0 });
		expect(logs.some((l) => l.level === ERROR && l.msg.includes('dead-letter') && (l.eventIds as string[])[0] === dead[0]!.eventId)).toBe(true);

		// The queue is not blocked: later events go out in full batches again.
		for (let n = 10; n < 15; n++) reporter.report('call-a', 'quality.summary', summary(n));
		await expect(reporter.drain(5_000)).resolves.toBe(true);
		expect(receiver.requests.at(-1)!.eventIds).toHaveLength(5);
		expect(receiver.events.size).toBe(14);
	});

	it('keeps events and retries when Frappe refuses the credentials (401), rather than dead-lettering them', async () => {
		const reporter = await open({ apiSecret: 'wrong-secret' });
		receiver.violations.length = 0;
		reporter.report('call-a', 'quality.summary', summary(0));
		await expect(reporter.drain(300)).resolves.toBe(false);
		receiver.violations.length = 0; // the fake records the bad header on purpose
		expect(reporter.pending).toBe(1);
		expect(reporter.stats()).toMatchObject({ deadLettered: 0, delivered: 0 });
		expect(reporter.stats().failedAttempts).toBeGreaterThanOrEqual(2);
		expect(logs.some((l) => l.level === ERROR && l.msg.includes('check FRAPPE_URL'))).toBe(true);
	});

	it('survives a Frappe outage: events reported while it is down all arrive once it is back', async () => {
		await receiver.stop();
		const reporter = await open({ retryMaxDelayMs: 100 });
		for (let n = 0; n < 30; n++) reporter.report(n % 2 ? 'call-a' : 'call-b', 'quality.summary', summary(n));
		await new Promise((r) => setTimeout(r, 400));
		expect(reporter.pending).toBe(30);
		expect(reporter.undeliveredCallIds()).toEqual(['call-a', 'call-b']);
		expect(reporter.stats().failedAttempts).toBeGreaterThanOrEqual(3);
		expect(logs.some((l) => typeof l.reason === 'string' && l.reason.includes('ECONNREFUSED'))).toBe(true);

		await receiver.listen();
		await receiver.waitForEvents(30, 5_000);
		await expect.poll(() => reporter.pending, { timeout: 5_000 }).toBe(0);
		expect(reporter.undeliveredCallIds()).toEqual([]);
		expectContiguous(receiver.eventsOf('call-a'));
		expectContiguous(receiver.eventsOf('call-b'));
		expect(receiver.duplicates).toBe(0);
	});

	it('keeps events in a local outbox without a Frappe URL, continues sequences after a restart, and delivers once one is set', async () => {
		const fetchSpy = (): Promise<Response> => Promise.reject(new Error('must not fetch in local-only mode'));
		const local = await open({ frappeUrl: undefined, fetch: fetchSpy });
		for (let n = 0; n < 3; n++) local.report('call-a', 'quality.summary', summary(n));
		expect(local.pending).toBe(3);
		await expect(local.drain(50)).resolves.toBe(false);
		local.close();
		expect(local.pending).toBe(3);
		expect(logs.filter((l) => l.msg.includes('local outbox only'))).toHaveLength(1);

		const again = await open({ frappeUrl: undefined, fetch: fetchSpy });
		expect(again.pending).toBe(3);
		for (let n = 3; n < 5; n++) again.report('call-a', 'quality.summary', summary(n));
		again.close();

		// A reporter that can reach Frappe picks the stored events up by itself.
		await open();
		await receiver.waitForEvents(5, 5_000);
		const events = receiver.eventsOf('call-a');
		expectContiguous(events);
		expect(events.map(numberOf)).toEqual([0, 1, 2, 3, 4]);
	});

	it('drops quality.sample events left in the outbox by an older sidecar, with one log line, so they cannot hold up the real events', async () => {
		const old = await open({ frappeUrl: undefined });
		old.report('call-a', 'call.state_changed', { from: 'created', to: 'ringing' });
		old.report('call-a', 'call.state_changed', { from: 'ringing', to: 'connecting' });
		old.close();
		// What an older sidecar left behind: quality.sample events between the state changes.
		const db = new DatabaseSync(path.join(dir, 'call-events.sqlite'));
		const insert = db.prepare('INSERT INTO events (event_id, call_id, body) VALUES (?, ?, ?)');
		for (const n of [1, 2]) {
			const eventId = crypto.randomUUID();
			const body = { eventId, callId: 'call-a', sequence: 10 + n, occurredAt: new Date().toISOString(), sidecarId: 'old', type: 'quality.sample', payload: { participantId: 'agent-1', role: 'agent', direction: 'inbound', packetLossPct: 0, jitterMs: 1, bitrateKbps: 32, packets: n } };
			insert.run(eventId, 'call-a', JSON.stringify(body));
		}
		db.close();
		logs.length = 0;

		const reporter = await open();
		reporter.report('call-a', 'call.state_changed', { from: 'connecting', to: 'connected' });
		await expect(reporter.drain(5_000)).resolves.toBe(true);
		expect(receiver.eventsOf('call-a').map((e) => e.payload.to)).toEqual(['ringing', 'connecting', 'connected']);
		expect(reporter.stats()).toMatchObject({ deadLettered: 0, deadLetterStored: 0, pending: 0, failedAttempts: 0 });
		const dropped = logs.filter((l) => l.msg.includes('quality.sample'));
		expect(dropped).toHaveLength(1);
		expect(dropped[0]).toMatchObject({ level: WARN, dropped: 2 });
	});

	it('forgets the sequence counter of a call idle for a week once its events are delivered, never before', async () => {
		const local = await open({ frappeUrl: undefined });
		local.report('call-old', 'quality.summary', summary(0));
		local.report('call-done', 'quality.summary', summary(1));
		local.close();
		// As if call-done's event had been delivered, and a week had passed.
		const db = new DatabaseSync(path.join(dir, 'call-events.sqlite'));
		db.prepare("DELETE FROM events WHERE call_id = 'call-done'").run();
		db.prepare('UPDATE call_sequences SET updated_at = ?').run(Date.now() - 8 * 24 * 3600 * 1000);
		db.close();

		const reporter = await open({ frappeUrl: undefined });
		reporter.report('call-old', 'quality.summary', summary(2));
		reporter.report('call-done', 'quality.summary', summary(3));
		expect(reporter.pending).toBe(3);
		reporter.close();
		const check = new DatabaseSync(path.join(dir, 'call-events.sqlite'));
		const bodies = check.prepare('SELECT body FROM events ORDER BY row_id').all();
		check.close();
		const sequences = bodies.map((r) => JSON.parse(String(r.body)) as ReceivedEvent).map((e) => `${e.callId}#${e.sequence}`);
		// call-old still had an undelivered event: its counter is kept. call-done's counter was idle and empty: dropped.
		expect(sequences).toEqual(['call-old#1', 'call-old#2', 'call-done#1']);
	});

	it('close() is idempotent, cancels a request in flight, and a later report() is logged, not thrown', async () => {
		receiver.fallback = { hang: true };
		const reporter = await open({ requestTimeoutMs: 10_000 });
		reporter.report('call-a', 'quality.summary', summary(0));
		await receiver.waitForEvents(1);
		reporter.close();
		reporter.close();
		expect(reporter.pending).toBe(1);
		expect(() => reporter.report('call-a', 'quality.summary', summary(1))).not.toThrow();
		expect(logs.some((l) => l.level === ERROR && l.msg.includes('already closed'))).toBe(true);
		await expect(reporter.drain(100)).resolves.toBe(false);
	});
});

describe('registerReporterMetrics', () => {
	it('exposes pending, delivered, failures and dead letters for Prometheus', async () => {
		receiver.rejectEvent = (e) => numberOf(e) === 1;
		receiver.plan.push({ status: 503 });
		const reporter = await open();
		const registry = new client.Registry();
		registerReporterMetrics(registry, reporter);
		for (let n = 0; n < 4; n++) reporter.report('call-a', 'quality.summary', summary(n));
		expect(await registry.getSingleMetricAsString('sidecar_outbox_pending')).toMatch(/^sidecar_outbox_pending 4$/m);

		await expect(reporter.drain(5_000)).resolves.toBe(true);
		const text = await registry.metrics();
		expect(text).toMatch(/^sidecar_outbox_pending 0$/m);
		expect(text).toMatch(/^sidecar_outbox_dead_letters 1$/m);
		expect(text).toMatch(/^sidecar_call_events_delivered_total 3$/m);
		expect(text).toMatch(/^sidecar_call_events_dead_lettered_total 1$/m);
		// The 503, the refused batch of four, then the single refused event.
		expect(text).toMatch(/^sidecar_call_event_post_failures_total 3$/m);
		// Counters only grow, scrape after scrape.
		expect(await registry.metrics()).toMatch(/^sidecar_call_events_delivered_total 3$/m);
	});
});

describe('parseRetryAfter', () => {
	it('reads delta-seconds and HTTP dates, and ignores garbage', () => {
		const now = Date.parse('2026-01-01T00:00:00Z');
		expect(parseRetryAfter('7', now)).toBe(7_000);
		expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:03 GMT', now)).toBe(3_000);
		expect(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now)).toBe(0);
		expect(parseRetryAfter('soon', now)).toBeUndefined();
		expect(parseRetryAfter(null, now)).toBeUndefined();
	});
});
