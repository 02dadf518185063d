import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, joinParty, SECRET, tokenFor } from './helpers.js';
import type { Sidecar } from '../src/Sidecar.js';

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
		await joinParty(handle, 'VC-drain', 'cust-drain', 'customer');

		child!.kill('SIGTERM');
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
		expect(logs.some((l) => l.msg === 'call state' && l.reason === 'sidecar_shutdown')).toBe(true);
	});
});

