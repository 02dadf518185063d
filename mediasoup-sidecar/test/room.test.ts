import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { httpDefValidator, signalingPushValidator, signalingResponseValidator } from '../src/contracts.js';
import type { Sidecar } from '../src/Sidecar.js';
import type { RoomStatus } from '../src/types.js';
import { assertNoLeaks, createRoom, joinParty, type MemorySink, ok, type Party, startSidecar, waitFor } from './helpers.js';

let sidecar: Sidecar;
let sink: MemorySink;
let n = 0;
const nextCallId = () => `VC-room-${++n}`;

beforeAll(async () => {
	({ sidecar, sink } = await startSidecar({ SIDECAR_QUALITY_INTERVAL_SEC: '0.3', SIDECAR_QUALITY_REPORT_SEC: '10' }));
});
afterEach(async () => assertNoLeaks(sidecar));
afterAll(async () => sidecar.close());

describe('room lifecycle', () => {
	it('runs created -> ringing -> connecting -> connected -> on_hold -> connected -> ended(hangup), with paused consumers and no leak', async () => {
		const callId = nextCallId();
		const status = await createRoom(sidecar, callId);
		expect(httpDefValidator('RoomStatus')(status)).toBe(true);
		expect(status.state).toBe('created');

		const agent = await joinParty(sidecar, callId, 'agent@example.com', 'agent');
		expect(sidecar.getRoom(callId)?.state).toBe('ringing');
		const customer = await joinParty(sidecar, callId, 'INV-1', 'customer');
		expect(sidecar.getRoom(callId)?.state).toBe('connected');
		expect(sink.states(callId)).toEqual(['ringing', 'connecting', 'connected']);

		// Each side got a paused consumer of the other's producer.
		for (const [me, other] of [
			[agent, customer],
			[customer, agent],
		] as const) {
			const push = await waitFor(() => me.pushes.find((p) => p.event === 'consumer:new'), 3000, 'consumer:new');
			expect(signalingPushValidator('consumer:new')(push.payload)).toBe(true);
			const payload = push.payload as { consumerId: string; producerId: string; participantId: string };
			expect(payload.producerId).toBe(other.producerId);
			expect(payload.participantId).toBe(other.participantId);
			const consumer = sidecar.getRoom(callId)?.legs.get(me.participantId)?.consumers.get(payload.consumerId);
			expect(consumer?.paused).toBe(true);
			await ok(me.socket, 'consumer:resume', { consumerId: payload.consumerId });
			expect(consumer?.paused).toBe(false);
		}
		const routerDump = await sidecar.getRoom(callId)!.router.dump();
		expect(routerDump.transportIds).toHaveLength(4);
		expect(Object.keys(routerDump.mapProducerIdConsumerIds)).toHaveLength(2);

		// Mute is pushed to the other side.
		await ok(agent.socket, 'producer:mute', { producerId: agent.producerId });
		const muted = await waitFor(() => customer.pushes.find((p) => p.event === 'participant:muted'));
		expect(muted.payload).toEqual({ participantId: 'agent@example.com', muted: true });
		await ok(agent.socket, 'producer:unmute', { producerId: agent.producerId });

		// Hold pauses every party's consumers; only the agent may hold.
		const customerHold = await customer.socket.timeout(3000).emitWithAck('call:hold', { onHold: true });
		expect(customerHold).toMatchObject({ ok: false, error: { code: 'forbidden' } });
		await ok(agent.socket, 'call:hold', { onHold: true });
		const room = sidecar.getRoom(callId)!;
		expect(room.state).toBe('on_hold');
		for (const p of room.legs.values()) for (const c of p.consumers.values()) expect(c.paused).toBe(true);
		await ok(agent.socket, 'call:hold', { onHold: false });
		expect(room.state).toBe('connected');
		for (const p of room.legs.values()) for (const c of p.consumers.values()) expect(c.paused).toBe(false);

		const restarted = await ok(agent.socket, 'transport:restartIce', { transportId: agent.sendTransportId });
		expect(signalingResponseValidator('transport:restartIce')(restarted)).toBe(true);
		expect(room.state).toBe('connected');

		const stats = await ok(agent.socket, 'stats:get', {});
		expect(signalingResponseValidator('stats:get')(stats)).toBe(true);
		expect(stats.samples.map((s) => `${s.participantId}/${s.direction}`).sort()).toEqual(['INV-1/inbound', 'INV-1/outbound', 'agent@example.com/inbound', 'agent@example.com/outbound']);

		const res = await fetch(`${sidecar.url}/api/rooms/${callId}`, { headers: { authorization: `Bearer test-secret-0123456789abcdefghij` } });
		const live = (await res.json()) as RoomStatus;
		expect(httpDefValidator('RoomStatus')(live)).toBe(true);
		expect(live.participants).toHaveLength(2);

		const ended = waitFor(() => customer.pushes.find((p) => p.event === 'call:state' && (p.payload as { state: string }).state === 'ended'));
		const disconnected = new Promise((r) => customer.socket.once('disconnect', r));
		await ok(agent.socket, 'call:hangup', {});
		expect((await ended).payload).toEqual({ state: 'ended', reason: 'hangup', endedBy: { participantId: 'agent@example.com', role: 'agent' } });
		await disconnected;
		expect(sidecar.getRoom(callId)).toBeUndefined();
		expect(sink.states(callId)).toEqual(['ringing', 'connecting', 'connected', 'on_hold', 'connected', 'ended(hangup)']);
		// Frappe learns who hung up, as the browsers do.
		const end = sink.events.find((e) => e.callId === callId && e.type === 'call.state_changed' && e.payload.to === 'ended');
		expect(end?.payload.endedBy).toEqual({ participantId: 'agent@example.com', role: 'agent' });
		const left = sink.events.filter((e) => e.callId === callId && e.type === 'participant.left').map((e) => e.payload);
		expect(left).toEqual(
			expect.arrayContaining([
				{ participantId: 'agent@example.com', role: 'agent', reason: 'call_ended' },
				{ participantId: 'INV-1', role: 'customer', reason: 'call_ended' },
			]),
		);
		expect(sink.events.filter((e) => e.callId === callId && e.type === 'participant.joined')).toHaveLength(2);
		const final = await (await fetch(`${sidecar.url}/api/rooms/${callId}`, { headers: { authorization: `Bearer test-secret-0123456789abcdefghij` } })).json();
		expect(final).toMatchObject({ callId, state: 'ended', endReason: 'hangup' });
	});

	it('pushes a quality sample per participant and direction to the room; Frappe gets only the final quality.summary, just before the end', async () => {
		const callId = nextCallId();
		await createRoom(sidecar, callId);
		const agent = await joinParty(sidecar, callId, 'agent-q', 'agent');
		const customer = await joinParty(sidecar, callId, 'cust-q', 'customer');
		const samplesOf = (party: Party) => party.pushes.filter((p) => p.event === 'quality:sample').map((p) => p.payload as { participantId: string; direction: string });
		await waitFor(() => samplesOf(agent).length >= 8, 3000, 'two rounds of quality samples');
		expect(signalingPushValidator('quality:sample')(agent.pushes.find((p) => p.event === 'quality:sample')!.payload)).toBe(true);
		expect(new Set(samplesOf(customer).map((s) => `${s.participantId}/${s.direction}`))).toEqual(new Set(['agent-q/inbound', 'agent-q/outbound', 'cust-q/inbound', 'cust-q/outbound']));

		await ok(agent.socket, 'call:hangup', {});
		await waitFor(() => sidecar.getRoom(callId) === undefined, 3000, 'room closed');
		const reported = sink.events.filter((e) => e.callId === callId);
		expect(reported.filter((e) => (e.type as string) === 'quality.sample')).toEqual([]);
		const summaries = reported.filter((e) => e.type === 'quality.summary');
		expect(summaries).toHaveLength(1);
		// Over every sample taken (no RTP flows between Node peers: the figures are zeros, RTT unknown).
		// And per participant, over both directions of their leg.
		const zeros = { packetLossPct: 0, jitterMs: 0, rttMs: null, bitrateKbps: 0 };
		const samples = summaries[0]!.payload.samples as number;
		expect(summaries[0]!.payload).toEqual({
			samples,
			...zeros,
			final: true,
			participants: { 'agent-q': { role: 'agent', samples: samples / 2, ...zeros }, 'cust-q': { role: 'customer', samples: samples / 2, ...zeros } },
		});
		expect(samples).toBeGreaterThanOrEqual(8);
		expect(samples % 4).toBe(0);
		// Frappe has the final figures when the end arrives.
		const types = reported.map((e) => (e.type === 'call.state_changed' ? `state:${String(e.payload.to)}` : e.type));
		expect(types.slice(types.indexOf('quality.summary'))).toEqual(['quality.summary', 'state:ended', 'participant.left', 'participant.left']);
	});

	it('reports a running quality.summary every SIDECAR_QUALITY_REPORT_SEC while there are new samples', async () => {
		const callId = nextCallId();
		await createRoom(sidecar, callId);
		await joinParty(sidecar, callId, 'agent-qs', 'agent');
		await joinParty(sidecar, callId, 'cust-qs', 'customer');
		const summaries = () => sink.events.filter((e) => e.callId === callId && e.type === 'quality.summary').map((e) => e.payload);
		const running = await waitFor(() => summaries()[0], 12_000, 'the first quality.summary');
		expect(running).toMatchObject({ packetLossPct: 0, jitterMs: 0, rttMs: null, bitrateKbps: 0, final: false });
		// About 10 s of 4 samples every 0.3 s.
		expect(running.samples).toBeGreaterThanOrEqual(4 * 25);
		expect(running.samples).toBeLessThanOrEqual(4 * 34);
		sidecar.endCall(callId, 'ended_by_frappe');
		expect(summaries()).toHaveLength(2);
		expect(summaries()[1]).toMatchObject({ final: true });
		expect(summaries()[1]!.samples).toBeGreaterThanOrEqual(running.samples as number);
	}, 20_000);

	it('a listen-only supervisor consumes but may not produce, and does not count as a party', async () => {
		const callId = nextCallId();
		await createRoom(sidecar, callId);
		const agent = await joinParty(sidecar, callId, 'agent-s', 'agent');
		const supervisor = await joinParty(sidecar, callId, 'sup-s', 'supervisor', { listenOnly: true });
		expect(sidecar.getRoom(callId)?.state).toBe('ringing');
		const refused = await supervisor.socket.timeout(3000).emitWithAck('transport:create', { direction: 'send' });
		expect(refused).toMatchObject({ ok: false, error: { code: 'forbidden' } });
		await waitFor(() => supervisor.pushes.find((p) => p.event === 'consumer:new' && (p.payload as { producerId: string }).producerId === agent.producerId));
		// A supervisor's hang-up only takes the supervisor out.
		await ok(supervisor.socket, 'call:hangup', {});
		expect(sidecar.getRoom(callId)?.state).toBe('ringing');
		await waitFor(() => agent.pushes.find((p) => p.event === 'participant:left'));
	});

	it('ring timeout: the second party never joins -> missed(no_answer)', async () => {
		const callId = nextCallId();
		await sidecar.createRoom({ callId, ringTimeoutSec: 0.3 });
		const agent = await joinParty(sidecar, callId, 'agent-r', 'agent');
		await waitFor(() => agent.pushes.find((p) => p.event === 'call:state' && (p.payload as { state: string }).state === 'missed'));
		expect(sink.states(callId)).toEqual(['ringing', 'missed(no_answer)']);
	});

	it('empty timeout: everybody left -> ended(room_empty); a party coming back in time cancels it', async () => {
		const callId = nextCallId();
		await sidecar.createRoom({ callId, emptyTimeoutSec: 0.5 });
		const agent = await joinParty(sidecar, callId, 'agent-e', 'agent');
		agent.socket.close();
		await new Promise((r) => setTimeout(r, 200));
		const again = await joinParty(sidecar, callId, 'agent-e', 'agent');
		await new Promise((r) => setTimeout(r, 500));
		expect(sidecar.getRoom(callId)?.state).toBe('ringing');
		again.socket.close();
		await waitFor(() => sidecar.getRoom(callId) === undefined, 3000, 'room closed');
		expect(sink.states(callId)).toEqual(['ringing', 'ended(room_empty)']);
	});

	it('a connected call that loses a party goes reconnecting, and connected again when it is back', async () => {
		const callId = nextCallId();
		await createRoom(sidecar, callId);
		await joinParty(sidecar, callId, 'agent-x', 'agent');
		const customer = await joinParty(sidecar, callId, 'cust-x', 'customer');
		customer.socket.close();
		await waitFor(() => sidecar.getRoom(callId)?.state === 'reconnecting', 3000, 'reconnecting');
		await joinParty(sidecar, callId, 'cust-x', 'customer');
		expect(sidecar.getRoom(callId)?.state).toBe('connected');
		expect(sink.states(callId)).toEqual(['ringing', 'connecting', 'connected', 'reconnecting', 'connected']);
	});

	it('max duration ends the call', async () => {
		const callId = nextCallId();
		await sidecar.createRoom({ callId, maxDurationSec: 0.3 });
		await waitFor(() => sidecar.getRoom(callId) === undefined, 3000, 'room closed');
		expect(sink.states(callId)).toEqual(['ended(max_duration)']);
	});

	it('the parties are warned before the maximum duration ends the call', async () => {
		const callId = nextCallId();
		await sidecar.createRoom({ callId, maxDurationSec: 2 });
		const agent = await joinParty(sidecar, callId, 'agent-md', 'agent');
		const warning = await waitFor(() => agent.pushes.find((p) => p.event === 'call:ending'), 3000, 'call:ending');
		const { reason, endsInMs } = warning.payload as { reason: string; endsInMs: number };
		expect(reason).toBe('max_duration');
		// Warned half-way (the call is shorter than twice the 30 s warning), with the time actually left.
		expect(endsInMs).toBeGreaterThan(500);
		expect(endsInMs).toBeLessThanOrEqual(1000);
		expect(sidecar.getRoom(callId)).toBeDefined();
		await waitFor(() => sidecar.getRoom(callId) === undefined, 3000, 'room closed');
		const events = agent.pushes.map((p) => p.event);
		expect(events.indexOf('call:ending')).toBeLessThan(events.lastIndexOf('call:state'));
	});

	it('a reconnecting socket of the same participant replaces the old one', async () => {
		const callId = nextCallId();
		await createRoom(sidecar, callId);
		const first = await joinParty(sidecar, callId, 'agent-d', 'agent');
		const gone = new Promise((r) => first.socket.once('disconnect', r));
		await joinParty(sidecar, callId, 'agent-d', 'agent');
		await gone;
		expect(sidecar.getRoom(callId)?.legs.size).toBe(1);
	});
});
