import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { httpDefValidator } from '../src/contracts.js';
import type { Sidecar } from '../src/Sidecar.js';
import { assertNoLeaks, type MemorySink, SECRET, startSidecar } from './helpers.js';

let sidecar: Sidecar;
let sink: MemorySink;
const auth = { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' };
const isError = httpDefValidator('ErrorBody');

beforeAll(async () => {
	({ sidecar, sink } = await startSidecar({ SIDECAR_DEMO: '1' }));
});
afterEach(async () => assertNoLeaks(sidecar));
afterAll(async () => sidecar.close());

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = auth) {
	const res = await fetch(`${sidecar.url}${path}`, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
	const text = await res.text();
	return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : text };
}

describe('HTTP API', () => {
	it('refuses missing or wrong bearer secrets with 401 and creates nothing', async () => {
		for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: `Basic ${SECRET}` }, { authorization: `Bearer ${SECRET}x` }]) {
			const res = await call('POST', '/api/rooms', { callId: 'VC-auth' }, headers as Record<string, string>);
			expect(res.status).toBe(401);
			expect(isError(res.body)).toBe(true);
			expect(res.body.error).toBe('unauthorized');
		}
		expect((await call('GET', '/api/rooms/VC-auth', undefined, {})).status).toBe(401);
		expect(sidecar.rooms.size).toBe(0);
	});

	it('validates bodies against the contract: 400 with the Error shape, nothing created', async () => {
		const bad = [
			'{not json',
			'',
			{},
			{ callId: '' },
			{ callId: 'has spaces' },
			{ callId: 'VC-1', extra: true },
			{ callId: 'VC-1', ringTimeoutSec: 1 },
			{ callId: 'VC-1', metadata: { nested: { a: 1 } } },
			[],
		];
		for (const body of bad) {
			const res = await call('POST', '/api/rooms', body);
			expect(res.status, JSON.stringify(body)).toBe(400);
			expect(isError(res.body)).toBe(true);
			expect(res.body.error).toBe('invalid_request');
		}
		expect((await call('POST', '/api/rooms', { callId: 'x'.repeat(70 * 1024) })).status).toBe(413);
		expect(sidecar.rooms.size).toBe(0);
		expect(sink.events).toHaveLength(0);
	});

	it('creates (idempotently), reports status, ends (idempotently)', async () => {
		const created = await call('POST', '/api/rooms', { callId: 'VC-http-1', ringTimeoutSec: 30 });
		expect(created.status).toBe(201);
		expect(httpDefValidator('RoomStatus')(created.body)).toBe(true);
		expect(created.body).toMatchObject({ callId: 'VC-http-1', state: 'created', participants: [] });
		const again = await call('POST', '/api/rooms', { callId: 'VC-http-1' });
		expect(again.status).toBe(200);
		expect(sidecar.rooms.size).toBe(1);

		const status = await call('GET', '/api/rooms/VC-http-1');
		expect(status.status).toBe(200);
		expect(httpDefValidator('RoomStatus')(status.body)).toBe(true);

		expect((await call('POST', '/api/rooms/VC-http-1/end', { reason: 'nonsense' })).status).toBe(400);
		expect(sidecar.rooms.size).toBe(1);
		const ended = await call('POST', '/api/rooms/VC-http-1/end', { reason: 'ended_by_frappe' });
		expect(ended.status).toBe(200);
		expect(ended.body).toMatchObject({ state: 'ended', endReason: 'ended_by_frappe' });
		expect(httpDefValidator('RoomStatus')(ended.body)).toBe(true);
		expect((await call('POST', '/api/rooms/VC-http-1/end')).body).toMatchObject({ state: 'ended' });
		expect(sink.states('VC-http-1')).toEqual(['ended(ended_by_frappe)']);
		// An ended call cannot be reopened.
		expect((await call('POST', '/api/rooms', { callId: 'VC-http-1' })).status).toBe(409);
	});

	it('lists the calls it still knows (live rooms, calls with undelivered events) for Frappe\'s reconciliation', async () => {
		const isRoomList = httpDefValidator('RoomList');
		expect((await call('GET', '/api/rooms', undefined, {})).status).toBe(401);
		expect((await call('GET', '/api/rooms', undefined, { authorization: 'Bearer wrong' })).status).toBe(401);
		expect((await call('PUT', '/api/rooms', {})).status).toBe(405);

		const empty = await call('GET', '/api/rooms');
		expect(empty.status).toBe(200);
		expect(isRoomList(empty.body)).toBe(true);
		expect(empty.body).toEqual({ sidecarId: sidecar.config.sidecarId, startedAt: new Date(sidecar.startedAt).toISOString(), rooms: [], unreportedCallIds: [] });

		await call('POST', '/api/rooms', { callId: 'VC-list-live' });
		await call('POST', '/api/rooms', { callId: 'VC-list-ended' });
		await call('POST', '/api/rooms/VC-list-ended/end', { reason: 'hangup' });
		sink.undelivered.add('VC-list-ended');
		try {
			const listed = await call('GET', '/api/rooms');
			expect(listed.status).toBe(200);
			expect(isRoomList(listed.body), JSON.stringify(isRoomList.errors)).toBe(true);
			expect(listed.body.rooms).toEqual([{ callId: 'VC-list-live', state: 'created', createdAt: sidecar.getRoom('VC-list-live')!.createdAt.toISOString() }]);
			expect(listed.body.unreportedCallIds).toEqual(['VC-list-ended']);
		} finally {
			sink.undelivered.clear();
		}
		// Once its end has reached Frappe, an ended call is not listed (its final status stays readable).
		const after = await call('GET', '/api/rooms');
		expect(after.body.rooms.map((r: { callId: string }) => r.callId)).toEqual(['VC-list-live']);
		expect(after.body.unreportedCallIds).toEqual([]);
		expect((await call('GET', '/api/rooms/VC-list-ended')).body.state).toBe('ended');
	});

	it('unknown calls -> 404 room_not_found', async () => {
		for (const [method, path] of [
			['GET', '/api/rooms/VC-nope'],
			['POST', '/api/rooms/VC-nope/end'],
		] as const) {
			const res = await call(method, path);
			expect(res.status).toBe(404);
			expect(res.body.error).toBe('room_not_found');
		}
	});

	it('/health (no auth) matches the contract', async () => {
		const res = await call('GET', '/health', undefined, {});
		expect(res.status).toBe(200);
		expect(httpDefValidator('Health')(res.body)).toBe(true);
		expect(res.body).toMatchObject({ status: 'ok', rooms: 0, participants: 0, outboxPending: 0 });
		expect(res.body.workers).toEqual([expect.objectContaining({ alive: true, rooms: 0 })]);
	});

	it('/metrics (no auth) exposes rooms, participants, transports, packets and worker CPU', async () => {
		await call('POST', '/api/rooms', { callId: 'VC-metrics' });
		const res = await call('GET', '/metrics', undefined, {});
		expect(res.status).toBe(200);
		for (const name of ['sidecar_rooms 1', 'sidecar_participants 0', 'sidecar_transports 0', 'sidecar_producers', 'sidecar_consumers', 'sidecar_rtp_packets_total', 'sidecar_worker_cpu_seconds{pid=', 'sidecar_process_resident_memory_bytes']) {
			expect(res.body).toContain(name);
		}
	});

	it('dev demo route mints two call tokens for a new room (SIDECAR_DEMO=1 only)', async () => {
		const res = await call('POST', '/demo/api/calls', undefined, {});
		expect(res.status).toBe(201);
		expect(res.body.agent.token).toMatch(/^ey/);
		expect(res.body.customer.role).toBe('customer');
		expect(sidecar.getRoom(res.body.callId)?.state).toBe('created');
	});
});

describe('demo off', () => {
	it('has no demo routes without SIDECAR_DEMO', async () => {
		const { sidecar: plain } = await startSidecar();
		try {
			const res = await fetch(`${plain.url}/demo/api/calls`, { method: 'POST' });
			expect(res.status).toBe(404);
			expect(plain.rooms.size).toBe(0);
		} finally {
			await plain.close();
		}
	});
});
