import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sidecar } from '../src/Sidecar.js';
import type { Health } from '../src/types.js';
import { assertNoLeaks, createRoom, joinParty, type MemorySink, ok, startSidecar, waitFor } from './helpers.js';

let sidecar: Sidecar;
let sink: MemorySink;

beforeAll(async () => {
	({ sidecar, sink } = await startSidecar({ SIDECAR_NUM_WORKERS: '2' }));
});
afterAll(async () => sidecar.close());

describe('worker death', () => {
	it('places rooms on the least-loaded worker', async () => {
		await createRoom(sidecar, 'VC-place-1');
		await createRoom(sidecar, 'VC-place-2');
		const pids = ['VC-place-1', 'VC-place-2'].map((id) => sidecar.getRoom(id)?.workerPid);
		expect(new Set(pids).size).toBe(2);
		await assertNoLeaks(sidecar);
	});

	it('SIGKILL of a worker: its calls are reported failed(worker_died) within 2 s, other calls go on, the worker is replaced and a new call works', async () => {
		await createRoom(sidecar, 'VC-die-1');
		await createRoom(sidecar, 'VC-survive');
		const victimPid = sidecar.getRoom('VC-die-1')!.workerPid;
		expect(sidecar.getRoom('VC-survive')!.workerPid).not.toBe(victimPid);
		const agent = await joinParty(sidecar, 'VC-die-1', 'agent-die', 'agent');
		await joinParty(sidecar, 'VC-die-1', 'cust-die', 'customer');

		const killedAt = Date.now();
		process.kill(victimPid, 'SIGKILL');
		await waitFor(() => sink.states('VC-die-1').includes('failed(worker_died)'), 2000, 'failed(worker_died) reported');
		expect(Date.now() - killedAt).toBeLessThan(2000);
		const pushed = await waitFor(() => agent.pushes.find((p) => p.event === 'call:state' && (p.payload as { state: string }).state === 'failed'));
		expect(pushed.payload).toEqual({ state: 'failed', reason: 'worker_died' });
		expect(sidecar.getRoom('VC-die-1')).toBeUndefined();
		expect(sidecar.getRoom('VC-survive')?.state).toBe('created');

		const replaced = await waitFor(() => {
			const pids = sidecar.pool.slots.map((s) => s.worker.pid);
			return pids.length === 2 && !pids.includes(victimPid) && sidecar.pool.slots.every((s) => !s.worker.died);
		}, 5000, 'worker replaced');
		expect(replaced).toBe(true);
		const health = (await (await fetch(`${sidecar.url}/health`)).json()) as Health;
		expect(health.status).toBe('ok');

		await createRoom(sidecar, 'VC-after');
		const a = await joinParty(sidecar, 'VC-after', 'agent-after', 'agent');
		await joinParty(sidecar, 'VC-after', 'cust-after', 'customer');
		expect(sidecar.getRoom('VC-after')?.state).toBe('connected');
		await ok(a.socket, 'call:hangup', {});
		await assertNoLeaks(sidecar);
	});
});
