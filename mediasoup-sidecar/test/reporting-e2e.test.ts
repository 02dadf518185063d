import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Sidecar } from '../src/Sidecar.js';
import { FrappeReceiver } from './fakes/frappe-receiver.js';
import { joinParty, SECRET, type Party } from './helpers.js';

const root = path.resolve(import.meta.dirname, '..');
const authJson = { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' };

interface Cli {
	proc: ChildProcess;
	url: string;
	exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

let dir: string;
let receiver: FrappeReceiver;
const clis: ChildProcess[] = [];
const parties: Party[] = [];

beforeEach(async () => {
	dir = mkdtempSync(path.join(os.tmpdir(), 'sidecar-outbox-e2e-'));
	receiver = await FrappeReceiver.start();
});

afterEach(async () => {
	for (const p of parties.splice(0)) p.socket.close();
	for (const proc of clis.splice(0)) if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
	await receiver.stop();
	rmSync(dir, { recursive: true, force: true });
	expect(receiver.violations).toEqual([]);
});

/** The real sidecar CLI (dist/main.js, built by test/global-setup.ts), reporting to the loopback receiver. */
async function startCli(): Promise<Cli> {
	const proc = spawn(process.execPath, [path.join(root, 'dist', 'main.js')], {
		env: {
			PATH: process.env.PATH,
			MEDIASOUP_WORKER_BIN: process.env.MEDIASOUP_WORKER_BIN ?? '',
			SIDECAR_PORT: '0',
			SIDECAR_RTC_PORT: '0',
			SIDECAR_NUM_WORKERS: '1',
			SIDECAR_SECRET: SECRET,
			SIDECAR_OUTBOX_PATH: path.join(dir, 'outbox'),
			SIDECAR_ID: 'sidecar-e2e',
			SIDECAR_LOG_LEVEL: 'info',
			FRAPPE_URL: receiver.url,
			FRAPPE_API_KEY: receiver.apiKey,
			FRAPPE_API_SECRET: receiver.apiSecret,
		},
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	clis.push(proc);
	const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
	let stderr = '';
	proc.stderr!.on('data', (d) => (stderr += d));
	const url = await new Promise<string>((resolve, reject) => {
		createInterface({ input: proc.stdout! }).on('line', (line) => {
			if (!line.startsWith('{')) return;
			const entry = JSON.parse(line) as { msg?: string; url?: string };
			if (entry.msg === 'sidecar listening') resolve(entry.url!);
		});
		void exited.then(({ code }) => reject(new Error(`sidecar exited ${code}: ${stderr}`)));
	});
	return { proc, url, exited };
}

/** One short call: the room is created, the agent joins (ringing), Frappe ends it. */
async function runCall(cli: Cli, callId: string): Promise<void> {
	expect((await fetch(`${cli.url}/api/rooms`, { method: 'POST', headers: authJson, body: JSON.stringify({ callId }) })).status).toBe(201);
	parties.push(await joinParty({ url: cli.url } as Sidecar, callId, `agent-${callId}`, 'agent', { produce: false }));
	const end = await fetch(`${cli.url}/api/rooms/${callId}/end`, { method: 'POST', headers: authJson, body: JSON.stringify({ reason: 'hangup' }) });
	expect(end.status).toBe(200);
}

describe('outbox durability of the real sidecar', () => {
	it('killed mid-delivery and restarted, it delivers every call event exactly once, in order per call', async () => {
		// Frappe acknowledges the first POST, then stores the next ones without ever answering.
		receiver.plan.push({ status: 200 });
		receiver.fallback = { hang: true };
		const first = await startCli();
		const callIds = Array.from({ length: 8 }, (_, i) => `VC-e2e-${i}`);
		for (const callId of callIds) await runCall(first, callId);
		await expect.poll(() => receiver.requests.some((r) => r.status === 'hang'), { timeout: 5_000 }).toBe(true);
		const storedBeforeKill = receiver.events.size;

		first.proc.kill('SIGKILL');
		expect((await first.exited).signal).toBe('SIGKILL');
		for (const p of parties.splice(0)) p.socket.close();

		receiver.fallback = { status: 200 };
		const second = await startCli();
		await expect
			.poll(() => callIds.every((id) => receiver.eventsOf(id).some((e) => e.type === 'call.state_changed' && e.payload.to === 'ended')), { timeout: 10_000 })
			.toBe(true);
		expect(receiver.events.size).toBeGreaterThan(storedBeforeKill);
		// Redeliveries happened and were dropped by eventId.
		expect(receiver.duplicates).toBeGreaterThan(0);

		for (const callId of callIds) {
			const events = receiver.eventsOf(callId);
			// One copy of each event: sequences are exactly 1..n (a re-created event would repeat one).
			expect(events.map((e) => e.sequence)).toEqual(events.map((_, i) => i + 1));
			expect(events.every((e) => e.sidecarId === 'sidecar-e2e')).toBe(true);
			const states = events.filter((e) => e.type === 'call.state_changed').map((e) => e.payload as { from: string; to: string; reason?: string });
			expect(states.map((s) => s.to)).toEqual(['ringing', 'ended']);
			expect(states[0]!.from).toBe('created');
			expect(states[1]).toEqual({ from: 'ringing', to: 'ended', reason: 'hangup' });
			expect(events.filter((e) => e.type === 'participant.joined').map((e) => e.payload.participantId)).toEqual([`agent-${callId}`]);
			expect(events.filter((e) => e.type === 'participant.left').map((e) => e.payload.participantId)).toEqual([`agent-${callId}`]);
		}

		const health = (await (await fetch(`${second.url}/health`)).json()) as { outboxPending: number };
		expect(health.outboxPending).toBe(0);
		const metrics = await (await fetch(`${second.url}/metrics`)).text();
		expect(metrics).toMatch(/^sidecar_outbox_pending 0$/m);
		// The restarted process delivered what the killed one had not had acknowledged.
		const deliveredAfterRestart = Number(/^sidecar_call_events_delivered_total (\d+)$/m.exec(metrics)?.[1]);
		expect(deliveredAfterRestart).toBeGreaterThan(0);

		// SIGTERM drains the (now empty) outbox and exits cleanly.
		second.proc.kill('SIGTERM');
		expect((await second.exited).code).toBe(0);
	});
});
