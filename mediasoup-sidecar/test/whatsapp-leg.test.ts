import dgram from 'node:dgram';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as mediasoup from 'mediasoup';
import type { types as ms } from 'mediasoup';
import { httpDefValidator } from '../src/contracts.js';
import { WhatsAppLeg } from '../src/legs/index.js';
import type { Room } from '../src/Room.js';
import type { Sidecar } from '../src/Sidecar.js';
import type { RoomStatus, WhatsAppSession } from '../src/types.js';
import { sequenceDiff } from '../src/whatsapp/rtp.js';
import { assertNoLeaks, createRoom, joinParty, type MemorySink, ok, SECRET, startSidecar, waitFor } from './helpers.js';
import { MetaPeer, type MetaSdpShape, type ReceivedRtp } from './support/meta-peer.js';

let sidecar: Sidecar;
let sink: MemorySink;
let peerWorker: ms.Worker;
const peers: MetaPeer[] = [];
let n = 0;
const nextCallId = () => `VC-wa-${++n}`;

beforeAll(async () => {
	({ sidecar, sink } = await startSidecar({ SIDECAR_WHATSAPP_MEDIA_TIMEOUT_SEC: '1', SIDECAR_WHATSAPP_CONNECT_TIMEOUT_SEC: '10', SIDECAR_QUALITY_INTERVAL_SEC: '0.5' }));
	// Meta's side runs on a worker of its own, as it would on its own host.
	peerWorker = await mediasoup.createWorker({ logLevel: 'error', ...(process.env.MEDIASOUP_WORKER_BIN ? { workerBin: process.env.MEDIASOUP_WORKER_BIN } : {}) });
});
afterEach(async () => {
	await Promise.all(peers.splice(0).map((p) => p.close()));
	await assertNoLeaks(sidecar);
});
afterAll(async () => {
	await sidecar.close();
	peerWorker.close();
});

async function api<T>(path: string, body: unknown): Promise<{ status: number; body: T }> {
	const res = await fetch(`${sidecar.url}${path}`, {
		method: 'POST',
		headers: { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' },
		body: JSON.stringify(body),
	});
	return { status: res.status, body: (await res.json()) as T };
}

async function newPeer(): Promise<MetaPeer> {
	const peer = await MetaPeer.create({ worker: peerWorker });
	peers.push(peer);
	return peer;
}

/** A user-initiated call: the peer offers, the sidecar answers over HTTP, the peer connects. */
async function inboundLeg(callId: string, participantId: string, shape: MetaSdpShape = {}): Promise<{ peer: MetaPeer; leg: WhatsAppLeg; session: WhatsAppSession }> {
	const peer = await newPeer();
	const res = await api<WhatsAppSession>(`/api/rooms/${callId}/whatsapp/answer`, { participantId, waCallId: `wacid.${participantId}`, offer: peer.offer(shape) });
	expect(res.status, JSON.stringify(res.body)).toBe(201);
	expect(httpDefValidator('WhatsAppSession')(res.body)).toBe(true);
	await peer.acceptAnswer(res.body.sdp);
	const leg = sidecar.getRoom(callId)!.legs.get(participantId);
	if (!(leg instanceof WhatsAppLeg)) throw new Error('no WhatsApp leg');
	return { peer, leg, session: res.body };
}

/** A business-initiated call: the sidecar offers, the peer answers, Frappe hands the answer over. */
async function outboundLeg(callId: string, participantId: string): Promise<{ peer: MetaPeer; leg: WhatsAppLeg }> {
	const peer = await newPeer();
	const res = await api<WhatsAppSession>(`/api/rooms/${callId}/whatsapp/offer`, { participantId });
	expect(res.status, JSON.stringify(res.body)).toBe(201);
	expect(res.body.sdpType).toBe('offer');
	const answer = await peer.answer(res.body.sdp);
	const applied = await api<RoomStatus>(`/api/rooms/${callId}/whatsapp/remote-answer`, { participantId, waCallId: `wacid.${participantId}`, answer });
	expect(applied.status, JSON.stringify(applied.body)).toBe(200);
	const leg = sidecar.getRoom(callId)!.legs.get(participantId);
	if (!(leg instanceof WhatsAppLeg)) throw new Error('no WhatsApp leg');
	return { peer, leg };
}

/** Counts the RTP a room participant would get of the leg's producer (a DirectTransport consumer on the call's router). */
async function countRoomReceives(room: Room, leg: WhatsAppLeg): Promise<{ count: () => number }> {
	const producer = await waitFor(() => [...leg.producers.values()][0], 5000, 'the leg\'s producer');
	const direct = await room.router.createDirectTransport();
	const consumer = await direct.consume({ producerId: producer.id, rtpCapabilities: room.router.rtpCapabilities });
	let count = 0;
	consumer.on('rtp', () => count++);
	return { count: () => count };
}

/** No sequence number goes back or repeats, and every packet has one SSRC. */
function assertContinuous(received: ReceivedRtp[], ssrc: number): void {
	expect(new Set(received.map((r) => r.ssrc))).toEqual(new Set([ssrc]));
	for (let i = 1; i < received.length; i++) {
		const step = sequenceDiff(received[i]!.sequenceNumber, received[i - 1]!.sequenceNumber);
		expect(step, `sequence step at packet ${i}`).toBeGreaterThan(0);
		expect(step, `sequence step at packet ${i}`).toBeLessThan(10);
		expect((received[i]!.timestamp - received[i - 1]!.timestamp) >>> 0, `timestamp step at packet ${i}`).toBeLessThan(48000 * 2);
	}
}

describe('WhatsApp leg', () => {
	it('answers a Meta offer, carries audio both ways and reports the leg like any participant', async () => {
		const callId = nextCallId();
		await createRoom(sidecar, callId);
		const t0 = performance.now();
		const a = await inboundLeg(callId, 'wa-a');
		const b = await inboundLeg(callId, 'wa-b');
		const room = sidecar.getRoom(callId)!;
		await waitFor(() => a.leg.connectionState === 'connected' && b.leg.connectionState === 'connected', 9000, 'both legs connected');
		const setupMs = performance.now() - t0;

		// Silence goes to Meta before anyone speaks.
		await a.peer.waitForPackets(10);
		expect(a.peer.received.slice(0, 10).every((r) => r.payloadSize === 3)).toBe(true);

		const countA = await countRoomReceives(room, a.leg);
		a.peer.startSending();
		b.peer.startSending();
		await waitFor(() => room.state === 'connected', 5000, 'connected');
		const before = b.peer.received.length;
		await new Promise((r) => setTimeout(r, 1000));
		a.peer.stopSending();
		b.peer.stopSending();
		// ~50 packets/s each way: peer A -> leg A -> the room (a consumer) and -> leg B -> peer B.
		expect(countA.count()).toBeGreaterThan(40);
		const fromA = b.peer.received.slice(before).filter((r) => r.payloadSize > 3).length;
		expect(fromA).toBeGreaterThan(40);
		assertContinuous(b.peer.received, Number(/a=ssrc:(\d+)/.exec(b.session.sdp)![1]));
		// Loopback: request -> DTLS up takes ~5-30 ms; seconds would mean a lost DTLS flight being retransmitted.
		expect(setupMs).toBeLessThan(3000);
		expect(a.leg.timings.connectedAfterMs).toBeLessThan(1500);

		const status = sidecar.getRoom(callId)!.status();
		expect(httpDefValidator('RoomStatus')(status)).toBe(true);
		expect(status.participants.map((p) => [p.participantId, p.role, p.waCallId])).toEqual([
			['wa-a', 'whatsapp', 'wacid.wa-a'],
			['wa-b', 'whatsapp', 'wacid.wa-b'],
		]);
		expect(sink.events.filter((e) => e.callId === callId && e.type === 'participant.joined').map((e) => e.payload)).toEqual([
			{ participantId: 'wa-a', role: 'whatsapp' },
			{ participantId: 'wa-b', role: 'whatsapp' },
		]);
	});

	it('makes the offer of a business-initiated call, applies Meta\'s answer and carries audio both ways', async () => {
		const callId = nextCallId();
		await createRoom(sidecar, callId);
		const a = await outboundLeg(callId, 'wa-out-a');
		const b = await outboundLeg(callId, 'wa-out-b');
		const room = sidecar.getRoom(callId)!;
		await waitFor(() => a.leg.connectionState === 'connected' && b.leg.connectionState === 'connected', 9000, 'both legs connected');
		expect(a.leg.waCallId).toBe('wacid.wa-out-a');
		const countA = await countRoomReceives(room, a.leg);
		a.peer.startSending();
		b.peer.startSending();
		await new Promise((r) => setTimeout(r, 1000));
		a.peer.stopSending();
		b.peer.stopSending();
		expect(countA.count()).toBeGreaterThan(40);
		expect(b.peer.received.filter((r) => r.payloadSize > 3).length).toBeGreaterThan(40);
		expect(a.peer.received.filter((r) => r.payloadSize > 3).length).toBeGreaterThan(40);
		assertContinuous(a.peer.received, a.leg.ssrcTowardMeta);
		expect(room.state).toBe('connected');

		// A second answer for the same leg is refused; an answer for nobody is a 404.
		const again = await api<{ error: string }>(`/api/rooms/${callId}/whatsapp/remote-answer`, { participantId: 'wa-out-a', waCallId: 'wacid.x', answer: 'v=0' });
		expect(again.status).toBe(409);
		const nobody = await api<{ error: string }>(`/api/rooms/${callId}/whatsapp/remote-answer`, { participantId: 'nobody', waCallId: 'wacid.x', answer: 'v=0' });
		expect([nobody.status, nobody.body.error]).toEqual([404, 'participant_not_found']);
	});

	it.each<[string, MetaSdpShape]>([
		['a=ice-lite at media level only', { iceLite: 'media' }],
		['extra codecs before Opus', { extraCodecs: true }],
		['telephone-event offered', { telephoneEvent: true }],
		['IPv6 and TCP candidates', { extraCandidates: true }],
		['a mid of its own', { mid: 'audio' }],
	])('connects to an offer with %s, answering Opus only on the offer\'s mid', async (_what, shape) => {
		const callId = nextCallId();
		await createRoom(sidecar, callId);
		const { peer, leg, session } = await inboundLeg(callId, 'wa-edge', shape);
		const answer = session.sdp;
		expect(answer).toMatch(/^a=setup:active\r$/m);
		expect(answer).toContain(`a=mid:${shape.mid ?? '0'}`);
		expect(/^m=audio \d+ UDP\/TLS\/RTP\/SAVPF 111\r$/m.test(answer)).toBe(true);
		expect(answer).not.toMatch(/telephone-event|PCMU|G722/);
		expect(answer).not.toMatch(/a=candidate:\S+ \d+ (tcp|TCP)|a=candidate:\S+ \d+ udp \d+ [0-9a-f:]*:[0-9a-f:]* /);
		const room = sidecar.getRoom(callId)!;
		await waitFor(() => leg.connectionState === 'connected', 9000, 'connected');
		const count = await countRoomReceives(room, leg);
		peer.startSending();
		await peer.waitForPackets(20);
		await waitFor(() => count.count() > 20, 3000, 'Meta\'s audio in the room');
		peer.stopSending();
	});

	it('refuses garbage SDP with a clear error and leaves nothing behind', async () => {
		const callId = nextCallId();
		await createRoom(sidecar, callId);
		const room = sidecar.getRoom(callId)!;
		const udpSockets = () => process.getActiveResourcesInfo().filter((r) => r === 'UDPWRAP').length;
		const socketsBefore = udpSockets();
		const peer = await newPeer();
		const good = peer.offer();
		const cases: [string, unknown, RegExp][] = [
			['not an SDP', 'hello', /sdp: the offer is not an SDP/],
			['no audio line', 'v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\n', /exactly one active audio line/],
			['no Opus', good.replace(/opus\/48000\/2/, 'PCMA/8000'), /no opus\/48000 codec/],
			['no ICE credentials', good.replace(/a=ice-pwd:.*\r\n/, ''), /no ICE credentials/],
			['no fingerprint', good.replace(/a=fingerprint:.*\r\n/, ''), /no DTLS fingerprint/],
			['only TCP and IPv6 candidates', good.replace(/a=candidate:1 1 udp 2130706431 127\.0\.0\.1/, 'a=candidate:1 1 tcp 2130706431 127.0.0.1').replace('a=end-of-candidates', 'a=candidate:2 1 udp 1 ::1 9 typ host\r\na=end-of-candidates'), /none of the 2 ICE candidates is UDP over IPv4/],
			['plain RTP', good.replace('UDP/TLS/RTP/SAVPF', 'RTP/AVP'), /is not DTLS-SRTP/],
			['a fingerprint the WebRTC stack refuses', good.replace(/a=fingerprint:sha-256 \S+/, 'a=fingerprint:sha-256 ZZ'), /sdp: /],
		];
		for (const [what, offer, message] of cases) {
			const res = await api<{ error: string; message: string }>(`/api/rooms/${callId}/whatsapp/answer`, { participantId: 'wa-bad', waCallId: 'wacid.bad', offer });
			expect(res.status, what).toBe(400);
			expect(res.body.error, what).toBe('invalid_request');
			expect(res.body.message, what).toMatch(message);
		}
		expect(room.legs.size).toBe(0);
		expect((await room.router.dump()).transportIds).toEqual([]);
		expect(udpSockets()).toBe(socketsBefore);
		expect(room.state).toBe('created');
	});

	it('keeps one SSRC and never-restarting sequence numbers toward Meta across source changes and hold', async () => {
		const callId = nextCallId();
		await createRoom(sidecar, callId);
		const a = await inboundLeg(callId, 'wa-src-a');
		const b = await inboundLeg(callId, 'wa-src-b');
		await waitFor(() => a.leg.connectionState === 'connected' && b.leg.connectionState === 'connected', 9000, 'both legs connected');
		await waitFor(() => a.leg.producers.size === 1, 3000, 'A producing');
		a.peer.startSending();
		const audioHeard = () => b.peer.received.filter((r) => r.payloadSize > 3).length;
		await waitFor(() => audioHeard() > 20, 3000, 'A heard by B');

		// An agent joins: B's Meta now hears the agent (who sends nothing here: silence), not A.
		const agent = await joinParty(sidecar, callId, 'agent-src', 'agent');
		await waitFor(() => b.leg.sourceParticipantId === 'agent-src', 3000, 'B switched to the agent');
		await new Promise((r) => setTimeout(r, 300));
		const mark = b.peer.received.length;
		await new Promise((r) => setTimeout(r, 400));
		expect(b.peer.received.slice(mark).every((r) => r.payloadSize === 3)).toBe(true);
		expect(b.peer.received.length - mark).toBeGreaterThan(14);

		// A newer party that is not an agent does not take the agent's place.
		const c = await inboundLeg(callId, 'wa-src-c');
		await waitFor(() => c.leg.producers.size === 1 && [...b.leg.consumers.values()].some((k) => k.appData.participantId === 'wa-src-c'), 3000, 'B consuming C');
		expect(b.leg.sourceParticipantId).toBe('agent-src');

		// On hold every party's consumers are paused: Meta still gets its silence, and the stream goes on after.
		await ok(agent.socket, 'call:hold', { onHold: true });
		await new Promise((r) => setTimeout(r, 300));
		await ok(agent.socket, 'call:hold', { onHold: false });

		// The agent leaves: B's Meta hears the newest other party, C, as soon as C speaks.
		agent.socket.close();
		await waitFor(() => b.leg.sourceParticipantId === 'wa-src-c', 3000, 'B switched to C');
		c.peer.startSending();
		const before = audioHeard();
		await waitFor(() => audioHeard() > before + 20, 3000, 'C heard by B');
		a.peer.stopSending();
		c.peer.stopSending();

		assertContinuous(b.peer.received, b.leg.ssrcTowardMeta);
		expect(b.peer.received.length).toBeGreaterThan(80);
	});

	it('reports a dead leg (Meta stops sending) with its reason, fails the call and frees everything', async () => {
		const callId = nextCallId();
		await createRoom(sidecar, callId);
		const a = await inboundLeg(callId, 'wa-dead');
		await waitFor(() => a.leg.connectionState === 'connected', 9000, 'connected');
		a.peer.startSending();
		await waitFor(() => a.leg.producers.size === 1 && a.leg.timings.firstRemoteRtpAfterMs !== undefined, 3000, 'Meta\'s audio');
		a.peer.stopSending();
		await waitFor(() => sidecar.getRoom(callId) === undefined, 4000, 'the call to end');
		expect(a.leg.closed).toBe(true);
		expect(sink.events.filter((e) => e.callId === callId && e.type === 'participant.left').map((e) => e.payload)).toEqual([
			{ participantId: 'wa-dead', role: 'whatsapp', reason: 'media_timeout' },
		]);
		expect(sink.states(callId).at(-1)).toBe('failed(media_failed)');
	});

	it('reports a leg whose connection never comes up (connection_failed) and frees everything', async () => {
		// A sidecar of its own: a connect timeout short enough for a test.
		const quick = await startSidecar({ SIDECAR_WHATSAPP_CONNECT_TIMEOUT_SEC: '1' });
		// Meta's address in the offer is a socket that swallows everything: ICE never succeeds.
		const blackhole = dgram.createSocket('udp4');
		await new Promise<void>((r) => blackhole.bind(0, '127.0.0.1', r));
		try {
			await createRoom(quick.sidecar, 'VC-wa-never');
			const peer = await newPeer();
			const offer = peer.offer().replace(/(a=candidate:1 1 udp \d+ 127\.0\.0\.1 )\d+/, `$1${blackhole.address().port}`);
			const res = await fetch(`${quick.sidecar.url}/api/rooms/VC-wa-never/whatsapp/answer`, {
				method: 'POST',
				headers: { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' },
				body: JSON.stringify({ participantId: 'wa-never', waCallId: 'wacid.never', offer }),
			});
			expect(res.status).toBe(201);
			const t0 = performance.now();
			await waitFor(() => quick.sidecar.getRoom('VC-wa-never') === undefined, 4000, 'the call to end');
			expect(performance.now() - t0).toBeGreaterThan(800);
			expect(quick.sink.events.filter((e) => e.type === 'participant.left').map((e) => e.payload)).toEqual([
				{ participantId: 'wa-never', role: 'whatsapp', reason: 'connection_failed' },
			]);
			expect(quick.sink.states('VC-wa-never')).toEqual(['ringing', 'failed(media_failed)']);
			await assertNoLeaks(quick.sidecar);
		} finally {
			blackhole.close();
			await quick.sidecar.close();
		}
	});

	it('ends the call when Frappe ends the leg (Meta terminated), idempotently', async () => {
		const callId = nextCallId();
		await createRoom(sidecar, callId);
		const retried = await newPeer();
		const offer = retried.offer();
		const first = await api<WhatsAppSession>(`/api/rooms/${callId}/whatsapp/answer`, { participantId: 'wa-end', waCallId: 'wacid.end', offer });
		const second = await api<WhatsAppSession>(`/api/rooms/${callId}/whatsapp/answer`, { participantId: 'wa-end', waCallId: 'wacid.end', offer });
		expect([first.status, second.status]).toEqual([201, 201]);
		expect(second.body.sdp).toBe(first.body.sdp);
		const other = await api<{ error: string }>(`/api/rooms/${callId}/whatsapp/answer`, { participantId: 'wa-end', waCallId: 'wacid.end', offer: (await newPeer()).offer() });
		expect(other.status).toBe(409);
		await retried.acceptAnswer(first.body.sdp);
		const ended = await api<RoomStatus>(`/api/rooms/${callId}/whatsapp/end`, { participantId: 'wa-end', reason: 'hangup' });
		expect(ended.status).toBe(200);
		expect(httpDefValidator('RoomStatus')(ended.body)).toBe(true);
		expect([ended.body.state, ended.body.endReason]).toEqual(['ended', 'remote_hangup']);
		const again = await api<RoomStatus>(`/api/rooms/${callId}/whatsapp/end`, { participantId: 'wa-end' });
		expect([again.status, again.body.state]).toEqual([200, 'ended']);
		const unknown = await api<{ error: string }>(`/api/rooms/VC-no-such-call/whatsapp/end`, { participantId: 'wa-end' });
		expect([unknown.status, unknown.body.error]).toEqual([404, 'room_not_found']);
		const invalid = await api<{ error: string; message: string }>(`/api/rooms/${callId}/whatsapp/offer`, { participantId: 'wa-x', sdp: 'v=0' });
		expect([invalid.status, invalid.body.error]).toEqual([400, 'invalid_request']);
	});

	it('authenticates and validates the WhatsApp routes like the others, creating nothing when refused', async () => {
		const callId = nextCallId();
		await createRoom(sidecar, callId);
		const room = sidecar.getRoom(callId)!;
		const offer = (await newPeer()).offer();
		const post = (action: string, body: unknown, headers: Record<string, string> = { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' }) =>
			fetch(`${sidecar.url}/api/rooms/${callId}/whatsapp/${action}`, { method: 'POST', headers, body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, body: (await r.json()) as { error: string; message: string } }));
		expect((await post('answer', { participantId: 'wa-v', waCallId: 'wacid.v', offer }, { authorization: 'Bearer wrong' })).status).toBe(401);
		expect((await fetch(`${sidecar.url}/api/rooms/${callId}/whatsapp/offer`, { headers: { authorization: `Bearer ${SECRET}` } })).status).toBe(405);
		const bad: [string, unknown][] = [
			['answer', { participantId: 'wa-v', offer }],
			['answer', { participantId: 'wa-v', waCallId: 'not-a-wacid', offer }],
			['answer', { participantId: 'wa-v', waCallId: 'wacid.v', offer: '' }],
			['answer', { participantId: 'wa-v', waCallId: 'wacid.v', offer: 'v=0\r\n'.padEnd(17_000, 'a') }],
			['answer', { participantId: 'has space', waCallId: 'wacid.v', offer }],
			['offer', { participantId: 'wa-v', offer }],
			['remote-answer', { participantId: 'wa-v', answer: 'v=0' }],
			['end', { participantId: 'wa-v', reason: 'bored' }],
			['end', {}],
		];
		for (const [action, body] of bad) {
			const res = await post(action, body);
			expect([res.status, res.body.error], `${action} ${JSON.stringify(body).slice(0, 80)}`).toEqual([400, 'invalid_request']);
		}
		const noRoom = await fetch(`${sidecar.url}/api/rooms/VC-none/whatsapp/answer`, { method: 'POST', headers: { authorization: `Bearer ${SECRET}` }, body: JSON.stringify({ participantId: 'wa-v', waCallId: 'wacid.v', offer }) });
		expect(noRoom.status).toBe(404);
		expect((await post('end', { participantId: 'nobody' })).status).toBe(404);
		expect(room.legs.size).toBe(0);
		expect((await room.router.dump()).transportIds).toEqual([]);
		expect(sink.events.filter((e) => e.callId === callId)).toEqual([]);
	});

	it('samples the leg\'s quality, outbound from Meta\'s receiver reports', { timeout: 20_000 }, async () => {
		const callId = nextCallId();
		await createRoom(sidecar, callId);
		const a = await inboundLeg(callId, 'wa-q');
		await waitFor(() => a.leg.connectionState === 'connected', 9000, 'connected');
		a.peer.startSending();
		// mediasoup (Meta here) sends receiver reports every few seconds; RTT needs one echoing our 5 s sender report.
		await waitFor(() => a.leg.farEndReport()?.rttMs != null, 12_000, 'a receiver report with an RTT');
		const samples = await sidecar.getRoom(callId)!.stats();
		a.peer.stopSending();
		const outbound = samples.find((s) => s.participantId === 'wa-q' && s.direction === 'outbound');
		const inbound = samples.find((s) => s.participantId === 'wa-q' && s.direction === 'inbound');
		expect(outbound).toMatchObject({ role: 'whatsapp', packetLossPct: 0 });
		expect(outbound!.rttMs).toBeGreaterThanOrEqual(0);
		// Loopback: anything near a second would be a unit error (a loaded CI box adds event-loop delay, not seconds).
		expect(outbound!.rttMs).toBeLessThan(900);
		expect(outbound!.packets).toBeGreaterThan(100);
		expect(inbound!.packets).toBeGreaterThan(0);
		expect(httpDefValidator('QualitySample')(outbound)).toBe(true);

		// Frappe gets the leg's own figures in the call's quality summary, RTT from Meta's receiver reports.
		await waitFor(() => a.leg.lastQuality.some((s) => s.direction === 'outbound' && s.rttMs !== null), 3000, 'a room sample with the RTT');
		sidecar.endCall(callId, 'ended_by_frappe');
		const summary = sink.events.find((e) => e.callId === callId && e.type === 'quality.summary')?.payload;
		const leg = (summary?.participants as Record<string, { role: string; samples: number; rttMs: number | null }> | undefined)?.['wa-q'];
		expect(leg).toMatchObject({ role: 'whatsapp', samples: summary?.samples });
		expect(leg!.rttMs).toBeGreaterThanOrEqual(0);
		expect(leg!.rttMs).toBeLessThan(900);
	});
});
