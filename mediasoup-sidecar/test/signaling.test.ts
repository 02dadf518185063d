import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { signalingDefValidator } from '../src/contracts.js';
import type { Sidecar } from '../src/Sidecar.js';
import type { Ack } from '../src/types.js';
import {
	assertNoLeaks,
	connect,
	createRoom,
	FAKE_DTLS,
	joinParty,
	type MemorySink,
	ok,
	opusRtpParameters,
	type Party,
	request,
	startSidecar,
	tokenFor,
	waitFor,
} from './helpers.js';

let sidecar: Sidecar;
let sink: MemorySink;
let n = 0;
const nextCallId = () => `VC-sig-${++n}`;

beforeAll(async () => {
	({ sidecar, sink } = await startSidecar());
});
afterEach(async () => assertNoLeaks(sidecar));
afterAll(async () => sidecar.close());

/** What must not change when a request is refused. */
async function snapshot(callId: string) {
	const room = sidecar.getRoom(callId)!;
	return { state: room.state, dump: await room.router.dump(), events: sink.events.length, participants: [...room.legs.keys()] };
}

describe('call tokens at the socket handshake', () => {
	it('refuses forged, expired, other-call and malformed tokens with connect_error', async () => {
		const callId = nextCallId();
		await createRoom(sidecar, callId);
		const cases: [string, Promise<string> | string, Record<string, unknown>, string][] = [
			['forged (other secret)', tokenFor(callId, 'a', 'agent', { secret: 'not-the-secret-0123456789abcdef' }), {}, 'bad_signature'],
			['expired', tokenFor(callId, 'a', 'agent', { issuedAt: Math.floor(Date.now() / 1000) - 700, ttlSec: 600 }), {}, 'expired'],
			['lifetime over an hour', tokenFor(callId, 'a', 'agent', { ttlSec: 7200 }), {}, 'invalid_claims'],
			['other call (no such room)', tokenFor('VC-other', 'a', 'agent'), {}, 'not_found'],
			['token for this call, joining another', tokenFor(callId, 'a', 'agent'), { callId: 'VC-other' }, 'wrong_call'],
			['malformed', 'not.a.jwt', {}, 'malformed'],
			['missing', '', {}, 'malformed'],
		];
		for (const [name, token, auth, code] of cases) {
			const err = await connect(sidecar, await token, auth).then(
				(s) => {
					s.close();
					return null;
				},
				(e: Error & { data?: { code: string } }) => e,
			);
			expect(err, name).not.toBeNull();
			expect(err?.data?.code, name).toBe(code);
		}
		expect(sidecar.getRoom(callId)?.legs.size).toBe(0);
		expect(sidecar.getRoom(callId)?.state).toBe('created');
	});

	it('accepts a valid token and binds the socket to its call', async () => {
		const callId = nextCallId();
		await createRoom(sidecar, callId);
		const socket = await connect(sidecar, await tokenFor(callId, 'agent@x', 'agent'), { callId });
		expect(sidecar.getRoom(callId)?.legs.has('agent@x')).toBe(true);
		socket.close();
	});
});

describe('signaling error paths leave the room untouched', () => {
	let callId: string;
	let agent: Party;

	async function expectRefused(event: string, payload: unknown, code: string) {
		const before = await snapshot(callId);
		const ack = await request(agent.socket, event as 'producer:create', payload);
		expect(signalingDefValidator('Ack')(ack), JSON.stringify(ack)).toBe(true);
		expect(ack, `${event} ${JSON.stringify(payload).slice(0, 100)}`).toMatchObject({ ok: false, error: { code } });
		expect(await snapshot(callId)).toEqual(before);
	}

	it('unknown ids -> not_found', async () => {
		callId = nextCallId();
		await createRoom(sidecar, callId);
		agent = await joinParty(sidecar, callId, 'agent-1', 'agent');
		await expectRefused('transport:connect', { transportId: 'no-such-transport', dtlsParameters: FAKE_DTLS }, 'not_found');
		await expectRefused('transport:restartIce', { transportId: 'no-such-transport' }, 'not_found');
		await expectRefused('producer:create', { transportId: 'nope', kind: 'audio', rtpParameters: opusRtpParameters(5) }, 'not_found');
		await expectRefused('consumer:resume', { consumerId: 'nope' }, 'not_found');
		await expectRefused('producer:mute', { producerId: 'nope' }, 'not_found');
		// Another participant's ids are unknown to this one.
		const customer = await joinParty(sidecar, callId, 'cust-1', 'customer');
		await expectRefused('producer:mute', { producerId: customer.producerId }, 'not_found');
	});

	it('bad RTP parameters -> invalid_request', async () => {
		callId = nextCallId();
		await createRoom(sidecar, callId);
		agent = await joinParty(sidecar, callId, 'agent-2', 'agent');
		const transportId = agent.sendTransportId;
		const good = opusRtpParameters(77);
		await expectRefused('producer:create', { transportId, kind: 'audio', rtpParameters: { ...good, codecs: [{ ...good.codecs[0], mimeType: 'audio/PCMU', clockRate: 8000, channels: 1 }] } }, 'invalid_request');
		await expectRefused('producer:create', { transportId, kind: 'audio', rtpParameters: { ...good, codecs: [{ mimeType: 'audio/opus' }] } }, 'invalid_request');
		await expectRefused('producer:create', { transportId, kind: 'audio', rtpParameters: { ...good, encodings: [{ ssrc: 'x' }] } }, 'invalid_request');
		await expectRefused('producer:create', { transportId, kind: 'video', rtpParameters: good }, 'invalid_request');
		await expectRefused('producer:create', { transportId, kind: 'audio', rtpParameters: { codecs: [] } }, 'invalid_request');
		// A recv transport cannot produce.
		await expectRefused('producer:create', { transportId: agent.recvTransportId, kind: 'audio', rtpParameters: good }, 'invalid_request');
		await expectRefused('call:join', { rtpCapabilities: { codecs: [] } }, 'invalid_state');
		// Capabilities mediasoup refuses are refused at join, before any consumer is made with them.
		const late = await connect(sidecar, await tokenFor(callId, 'late-3', 'customer'));
		for (const rtpCapabilities of [{ codecs: ['opus'] }, { codecs: [{ kind: 'audio', mimeType: 'audio/opus' }] }, { codecs: [{ kind: 'audio', mimeType: 'audio/PCMU', clockRate: 8000, preferredPayloadType: 0 }] }]) {
			const ack = await request(late, 'call:join', { rtpCapabilities });
			expect(ack, JSON.stringify(rtpCapabilities)).toMatchObject({ ok: false, error: { code: 'invalid_request' } });
		}
		expect(sidecar.getRoom(callId)?.legs.get('late-3')?.joined).toBe(false);
		late.close();
	});

	it('malformed payloads -> invalid_request', async () => {
		callId = nextCallId();
		await createRoom(sidecar, callId);
		agent = await joinParty(sidecar, callId, 'agent-3', 'agent');
		await expectRefused('transport:create', { direction: 'sideways' }, 'invalid_request');
		await expectRefused('transport:create', 'send', 'invalid_request');
		await expectRefused('transport:create', null, 'invalid_request');
		await expectRefused('transport:connect', { transportId: agent.recvTransportId }, 'invalid_request');
		await expectRefused('transport:connect', { transportId: agent.recvTransportId, dtlsParameters: { fingerprints: [] } }, 'invalid_request');
		await expectRefused('consumer:resume', { consumerId: 'a b c' }, 'invalid_request');
		await expectRefused('call:hold', { onHold: 'yes' }, 'invalid_request');
		await expectRefused('router:capabilities', { extra: 1 }, 'invalid_request');
		await expectRefused('no:such:event', {}, 'invalid_request');
	});

	it('oversized payloads -> payload_too_large', async () => {
		callId = nextCallId();
		await createRoom(sidecar, callId);
		agent = await joinParty(sidecar, callId, 'agent-4', 'agent');
		const big = { transportId: agent.sendTransportId, kind: 'audio', rtpParameters: { ...opusRtpParameters(9), padding: 'x'.repeat(70 * 1024) } };
		await expectRefused('producer:create', big, 'payload_too_large');
		// Far beyond the limit, engine.io drops the connection rather than buffer it.
		const closed = new Promise<string>((r) => agent.socket.once('disconnect', r));
		agent.socket.emit('producer:create', { padding: 'x'.repeat(1024 * 1024) } as never, () => {});
		expect(await closed).toMatch(/transport/);
	});

	it('caps transports and producers per participant', async () => {
		callId = nextCallId();
		await createRoom(sidecar, callId);
		agent = await joinParty(sidecar, callId, 'agent-5', 'agent');
		await ok(agent.socket, 'producer:create', { transportId: agent.sendTransportId, kind: 'audio', rtpParameters: opusRtpParameters(555) });
		await expectRefused('producer:create', { transportId: agent.sendTransportId, kind: 'audio', rtpParameters: opusRtpParameters(556) }, 'invalid_state');
		await ok(agent.socket, 'transport:create', { direction: 'recv' });
		await ok(agent.socket, 'transport:create', { direction: 'recv' });
		await expectRefused('transport:create', { direction: 'recv' }, 'invalid_state');
	});

	it('a request before call:join is refused with invalid_state', async () => {
		callId = nextCallId();
		await createRoom(sidecar, callId);
		const socket = await connect(sidecar, await tokenFor(callId, 'early', 'agent'));
		const send = await request(socket, 'transport:create', { direction: 'send' });
		expect(send.ok).toBe(true);
		const ack = await request(socket, 'producer:create', { transportId: send.ok ? send.data.transportId : '', kind: 'audio', rtpParameters: opusRtpParameters(3) });
		expect(ack).toMatchObject({ ok: false, error: { code: 'invalid_state' } });
		socket.close();
	});
});

describe('hang-up', () => {
	it('the party that hangs up gets its {ok:true} before the call ends, every time', async () => {
		for (let i = 0; i < 20; i++) {
			const callId = nextCallId();
			await createRoom(sidecar, callId);
			const agent = await joinParty(sidecar, callId, `agent-h${i}`, 'agent');
			const customer = await joinParty(sidecar, callId, `cust-h${i}`, 'customer');
			// As the demo page and the desk do: a client leaves as soon as it hears that its call is over.
			const heard: string[] = [];
			agent.socket.on('call:state', (p) => {
				heard.push(p.state);
				if (p.state === 'ended') agent.socket.disconnect();
			});
			const ack = await new Promise((resolve) =>
				agent.socket.timeout(5000).emit('call:hangup', {}, (err: Error | null, answer?: Ack<Record<string, never>>) => {
					heard.push('ack');
					resolve(err ? { ok: false, error: { code: 'client', message: err.message } } : answer);
				}),
			);
			expect(ack, `hang-up ${i + 1} of 20`).toEqual({ ok: true, data: {} });
			await waitFor(() => heard.includes('ended'), 3000, 'call:state ended');
			expect(heard, 'the ack arrives before the end of the call').toEqual(['ack', 'ended']);
			// The other side still hears the end, and both sockets are closed by the sidecar.
			await waitFor(() => customer.pushes.some((p) => p.event === 'call:state' && (p.payload as { state: string }).state === 'ended'), 3000, 'call:state ended');
			await waitFor(() => agent.socket.disconnected && customer.socket.disconnected, 3000, 'sockets closed');
			expect(sink.states(callId).at(-1)).toBe('ended(hangup)');
		}
	});
});
