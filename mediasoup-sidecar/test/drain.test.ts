import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { signalingPushValidator } from '../src/contracts.js';
import type { Sidecar } from '../src/Sidecar.js';
import { CLIENT_RTP_CAPABILITIES, connect, createRoom, joinParty, ok, SECRET, startSidecar, tokenFor, waitFor } from './helpers.js';

const root = path.resolve(import.meta.dirname, '..');
let child: ChildProcess | undefined;
let dir: string | undefined;

afterEach(() => {
	if (child && child.exitCode === null) child.kill('SIGKILL');
	if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Starts the real CLI (dist/main.js) and resolves once it listens. */
async function startCli(env: Record<string, string>) {
	dir = mkdtempSync(path.join(tmpdir(), 'sidecar-drain-'));
	child = spawn(process.execPath, [path.join(root, 'dist', 'main.js')], {
		env: {
			PATH: process.env.PATH,
			MEDIASOUP_WORKER_BIN: process.env.MEDIASOUP_WORKER_BIN ?? '',
			SIDECAR_PORT: '0',
			SIDECAR_RTC_PORT: '0',
			SIDECAR_NUM_WORKERS: '1',
			SIDECAR_SECRET: SECRET,
			SIDECAR_OUTBOX_PATH: path.join(dir, 'outbox'),
			SIDECAR_LOG_LEVEL: 'info',
			...env,
		},
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	const logs: Record<string, unknown>[] = [];
	const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
	const lines = createInterface({ input: child.stdout! });
	let stderr = '';
	child.stderr!.on('data', (d) => (stderr += d));
	const url = await new Promise<string>((resolve, reject) => {
		lines.on('line', (line) => {
			if (!line.startsWith('{')) return;
			const entry = JSON.parse(line) as Record<string, unknown>;
			logs.push(entry);
			if (entry.msg === 'sidecar listening') resolve(entry.url as string);
		});
		void exited.then((code) => reject(new Error(`sidecar exited ${code}: ${stderr}`)));
	});
	// Only url and port are used by the socket helpers.
	const handle = { url } as Sidecar;
	return { url, logs, exited, handle };
}

const authJson = { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' };

describe('SIGTERM drain of the real CLI', () => {
	it('refuses new calls and connections while draining, lets the live call end, exits 0', async () => {
		const { url, logs, exited, handle } = await startCli({ SIDECAR_DRAIN_GRACE_SEC: '30' });
		expect(logs.find((l) => l.msg === 'sidecar configuration')).toMatchObject({ config: { secret: expect.stringMatching(/^tes…ij \(32 chars\)$/) } });
		expect(JSON.stringify(logs)).not.toContain(SECRET);

		expect((await fetch(`${url}/api/rooms`, { method: 'POST', headers: authJson, body: JSON.stringify({ callId: 'VC-drain' }) })).status).toBe(201);
		const agent = await joinParty(handle, 'VC-drain', 'agent-drain', 'agent');
		const customer = await joinParty(handle, 'VC-drain', 'cust-drain', 'customer');

		const signalled = Date.now();
		child!.kill('SIGTERM');
		// Everyone on the call is warned at once, with the time left (the pushes are checked against the contract).
		for (const party of [agent, customer]) {
			const warning = await waitFor(() => party.pushes.find((p) => p.event === 'call:ending'), 3000, 'call:ending');
			expect(warning.payload).toMatchObject({ reason: 'sidecar_shutdown' });
			const endsInMs = (warning.payload as { endsInMs: number }).endsInMs;
			expect(endsInMs).toBeLessThanOrEqual(30_000);
			expect(endsInMs).toBeGreaterThan(30_000 - (Date.now() - signalled) - 50);
		}
		await expect.poll(() => logs.find((l) => l.msg === 'call ending announced')).toMatchObject({ callId: 'VC-drain', reason: 'sidecar_shutdown' });
		await expect.poll(async () => ((await (await fetch(`${url}/health`)).json()) as { status: string }).status, { timeout: 3000 }).toBe('draining');
		const refused = await fetch(`${url}/api/rooms`, { method: 'POST', headers: authJson, body: JSON.stringify({ callId: 'VC-late' }) });
		expect(refused.status).toBe(503);
		expect(await refused.json()).toMatchObject({ error: 'draining' });
		const err = await connect(handle, await tokenFor('VC-drain', 'late-joiner', 'supervisor')).then(
			(s) => (s.close(), null),
			(e: Error & { data?: { code: string } }) => e,
		);
		expect(err?.data?.code).toBe('draining');
		expect(child!.exitCode).toBeNull();

		// The live call ends on its own; the process then exits cleanly.
		agent.socket.emit('call:hangup', {}, () => {});
		expect(await exited).toBe(0);
		expect(logs.some((l) => l.msg === 'call state' && l.to === 'ended' && l.reason === 'hangup')).toBe(true);
		expect(logs.some((l) => l.msg === 'sidecar closed')).toBe(true);
	});

	it('ends calls still live after the grace period with sidecar_shutdown, then exits 0', async () => {
		const { url, logs, exited, handle } = await startCli({ SIDECAR_DRAIN_GRACE_SEC: '0.5' });
		await fetch(`${url}/api/rooms`, { method: 'POST', headers: authJson, body: JSON.stringify({ callId: 'VC-grace' }) });
		const agent = await joinParty(handle, 'VC-grace', 'agent-g', 'agent');
		const ended = new Promise((r) => agent.socket.on('call:state', (p) => p.state === 'ended' && r(p)));
		child!.kill('SIGTERM');
		expect(await exited).toBe(0);
		expect(await ended).toEqual({ state: 'ended', reason: 'sidecar_shutdown' });
		// Warned first, with the half second it had left.
		const events = agent.pushes.map((p) => p.event);
		expect(events.indexOf('call:ending')).toBeGreaterThanOrEqual(0);
		expect(events.indexOf('call:ending')).toBeLessThan(events.lastIndexOf('call:state'));
		expect((agent.pushes.find((p) => p.event === 'call:ending')!.payload as { endsInMs: number }).endsInMs).toBeLessThanOrEqual(500);
		expect(logs.some((l) => l.msg === 'call state' && l.reason === 'sidecar_shutdown')).toBe(true);
	});
});


describe('drain warning in process', () => {
	it('warns a participant still joining too, who may then join the call until it ends', async () => {
		const { sidecar } = await startSidecar();
		try {
			await createRoom(sidecar, 'VC-late-warn');
			await joinParty(sidecar, 'VC-late-warn', 'agent-w', 'agent');
			// Connected before the drain (new connections are refused after it), not joined yet.
			const socket = await connect(sidecar, await tokenFor('VC-late-warn', 'cust-w', 'customer'));
			const pushes: { event: string; payload: unknown }[] = [];
			socket.onAny((event: string, payload: unknown) => {
				expect(signalingPushValidator(event)(payload), `push ${event}`).toBe(true);
				pushes.push({ event, payload });
			});
			const drainStarted = Date.now();
			const drained = sidecar.drain(3000);
			const warning = await waitFor(() => pushes.find((p) => p.event === 'call:ending'), 2000, 'call:ending');
			expect(warning.payload).toMatchObject({ reason: 'sidecar_shutdown' });
			const { endsInMs } = warning.payload as { endsInMs: number };
			expect(endsInMs).toBeLessThanOrEqual(3000);
			expect(endsInMs).toBeGreaterThan(3000 - (Date.now() - drainStarted) - 50);
			await ok(socket, 'router:capabilities', {});
			await ok(socket, 'call:join', { rtpCapabilities: CLIENT_RTP_CAPABILITIES });
			expect(sidecar.getRoom('VC-late-warn')?.state).toBe('connecting');
			await drained;
			expect(Date.now() - drainStarted).toBeGreaterThanOrEqual(2900);
			expect(pushes.find((p) => p.event === 'call:state' && (p.payload as { state: string }).state === 'ended')?.payload).toEqual({
				state: 'ended',
				reason: 'sidecar_shutdown',
			});
		} finally {
			await sidecar.close();
		}
	});
});
