import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FrappeReceiver, type ReceivedEvent } from './fakes/frappe-receiver.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const CALLS = ['call-a', 'call-b', 'call-c'];

interface Child {
	proc: ChildProcess;
	/** Event numbers whose report() had returned, as the child printed them. */
	reported: number[];
	stdout: string[];
	stderr: string;
	exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

let dir: string;
let receiver: FrappeReceiver;
const children: Child[] = [];

beforeEach(async () => {
	dir = mkdtempSync(path.join(os.tmpdir(), 'outbox-restart-'));
	receiver = await FrappeReceiver.start();
});

afterEach(async () => {
	for (const c of children.splice(0)) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
	await receiver.stop();
	rmSync(dir, { recursive: true, force: true });
	expect(receiver.violations).toEqual([]);
});

/** Runs test/fixtures/report-events.ts in its own Node process (TypeScript run directly by Node 24). */
function startChild(env: Record<string, string>): Child {
	const proc = spawn(
		process.execPath,
		['--experimental-transform-types', '--no-warnings', '--import', path.join(here, 'fixtures', 'ts-resolve.mjs'), path.join(here, 'fixtures', 'report-events.ts')],
		{
			env: {
				...process.env,
				OUTBOX_PATH: dir,
				FRAPPE_URL: receiver.url,
				FRAPPE_API_KEY: receiver.apiKey,
				FRAPPE_API_SECRET: receiver.apiSecret,
				REPORT_CALLS: CALLS.join(','),
				...env,
			},
			stdio: ['ignore', 'pipe', 'pipe'],
		},
	);
	const child: Child = {
		proc,
		reported: [],
		stdout: [],
		stderr: '',
		exited: new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal }))),
	};
	let buffer = '';
	proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
		buffer += chunk;
		const lines = buffer.split('\n');
		buffer = lines.pop()!;
		for (const line of lines) {
			child.stdout.push(line);
			const m = /^reported (\d+)$/.exec(line);
			if (m) child.reported.push(Number(m[1]));
		}
	});
	proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => (child.stderr += chunk));
	children.push(child);
	return child;
}

async function until(what: string, condition: () => boolean, timeoutMs = 15_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!condition()) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 5));
	}
}

async function runToCompletion(env: Record<string, string>): Promise<Child> {
	const child = startChild(env);
	const { code } = await child.exited;
	expect(code, child.stderr).toBe(0);
	expect(child.stdout.at(-1)).toBe('drained true');
	return child;
}

function numbers(events: Iterable<ReceivedEvent>): number[] {
	return [...events].map((e) => (e.payload.samples as number) - 1).sort((a, b) => a - b);
}

function expectContiguousPerCall(): void {
	for (const callId of CALLS) {
		const sequences = receiver.eventsOf(callId).map((e) => e.sequence);
		expect(sequences, callId).toEqual(sequences.map((_, i) => i + 1));
	}
}

describe('outbox durability across a SIGKILL', () => {
	it('a reporter killed mid-delivery and mid-reporting, then restarted, delivers every reported event exactly once', async () => {
		// Frappe acknowledges two requests, then stores the next one but never answers.
		receiver.plan.push({ status: 200 }, { status: 200 });
		receiver.fallback = { hang: true };
		const first = startChild({ REPORT_COUNT: '2000', REPORT_BATCH_SIZE: '10' });
		await until('a request left hanging and 60 events reported', () => receiver.requests.some((r) => r.status === 'hang') && first.reported.length >= 60);
		first.proc.kill('SIGKILL');
		expect((await first.exited).signal).toBe('SIGKILL');
		const lastReported = first.reported.at(-1)!;
		expect(lastReported).toBeLessThan(1999);
		const storedBeforeKill = receiver.events.size;
		expect(storedBeforeKill).toBeLessThan(lastReported + 1);

		receiver.fallback = { status: 200 };
		await runToCompletion({ REPORT_COUNT: '0' });

		// Every event whose report() returned arrived; at most one more, written before its line was printed.
		const arrived = numbers(receiver.events.values());
		const through = arrived.at(-1)!;
		expect([lastReported, lastReported + 1]).toContain(through);
		expect(arrived).toEqual([...Array(through + 1).keys()]);
		// The hanging batch was stored and then redelivered: Frappe's dedupe by eventId kept one copy.
		expect(receiver.duplicates).toBeGreaterThan(0);
		expectContiguousPerCall();

		// Sequences go on where the killed process left them.
		await runToCompletion({ REPORT_COUNT: '30', REPORT_FIRST: String(through + 1) });
		expect(numbers(receiver.events.values())).toEqual([...Array(through + 31).keys()]);
		expectContiguousPerCall();
	});

	it('a reporter killed while Frappe is slow to acknowledge delivers the unacknowledged batch again after restart', async () => {
		receiver.fallback = { status: 200, delayMs: 5_000 };
		const first = startChild({ REPORT_COUNT: '20', REPORT_BATCH_SIZE: '100' });
		await until('the first slow request', () => receiver.requests.length > 0 && first.reported.length === 20);
		first.proc.kill('SIGKILL');
		await first.exited;
		const sentBeforeKill = receiver.events.size;
		expect(sentBeforeKill).toBeGreaterThan(0);

		receiver.fallback = { status: 200 };
		await runToCompletion({ REPORT_COUNT: '0' });
		expect(numbers(receiver.events.values())).toEqual([...Array(20).keys()]);
		expect(receiver.duplicates).toBe(sentBeforeKill);
		expectContiguousPerCall();
	});
});
