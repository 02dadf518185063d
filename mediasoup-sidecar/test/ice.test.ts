import { createHmac, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sidecar } from '../src/Sidecar.js';
import {
	assertNoLeaks,
	browserLeg,
	CLIENT_RTP_CAPABILITIES,
	connect,
	createRoom,
	FAKE_DTLS,
	joinParty,
	type MemorySink,
	ok,
	opusRtpParameters,
	startSidecar,
	tokenFor,
	waitFor,
} from './helpers.js';

function crc32(buf: Buffer): number {
	let crc = 0xffffffff;
	for (const byte of buf) {
		let c = (crc ^ byte) & 0xff;
		for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
		crc = (crc >>> 8) ^ c;
	}
	return (crc ^ 0xffffffff) >>> 0;
}

/** A STUN Binding request with USE-CANDIDATE, as a browser (ICE controlling) sends to nominate the pair. */
function stunBindingRequest(ice: { usernameFragment: string; password: string }): Buffer {
	const attrs: Buffer[] = [];
	const attr = (type: number, value: Buffer) => {
		const b = Buffer.alloc(4 + value.length + ((4 - (value.length % 4)) % 4));
		b.writeUInt16BE(type, 0);
		b.writeUInt16BE(value.length, 2);
		value.copy(b, 4);
		attrs.push(b);
	};
	attr(0x0006, Buffer.from(`${ice.usernameFragment}:peer`));
	const priority = Buffer.alloc(4);
	priority.writeUInt32BE(0x6e001eff);
	attr(0x0024, priority);
	attr(0x0025, Buffer.alloc(0));
	attr(0x802a, randomBytes(8));
	const tid = randomBytes(12);
	const header = (len: number) => {
		const h = Buffer.alloc(20);
		h.writeUInt16BE(0x0001, 0);
		h.writeUInt16BE(len, 2);
		h.writeUInt32BE(0x2112a442, 4);
		tid.copy(h, 8);
		return h;
	};
	let body = Buffer.concat(attrs);
	const integrity = createHmac('sha1', ice.password).update(Buffer.concat([header(body.length + 24), body])).digest();
	const mi = Buffer.alloc(24);
	mi.writeUInt16BE(0x0008, 0);
	mi.writeUInt16BE(20, 2);
	integrity.copy(mi, 4);
	body = Buffer.concat([body, mi]);
	const fp = Buffer.alloc(8);
	fp.writeUInt16BE(0x8028, 0);
	fp.writeUInt16BE(4, 2);
	fp.writeUInt32BE((crc32(Buffer.concat([header(body.length + 8), body])) ^ 0x5354554e) >>> 0, 4);
	return Buffer.concat([header(body.length + 8), body, fp]);
}

let sidecar: Sidecar;
let sink: MemorySink;

beforeAll(async () => {
	({ sidecar, sink } = await startSidecar({ SIDECAR_ICE_CONSENT_TIMEOUT_SEC: '10' }));
});
afterAll(async () => sidecar.close());

describe('ICE', () => {
	it('lost ICE consent -> reconnecting; ICE restart and a new binding -> connected again', { timeout: 30_000 }, async () => {
		await createRoom(sidecar, 'VC-ice');
		// The agent's transport is created by hand to keep its ICE parameters and candidate.
		const agentSocket = await connect(sidecar, await tokenFor('VC-ice', 'agent-ice', 'agent'));
		await ok(agentSocket, 'call:join', { rtpCapabilities: CLIENT_RTP_CAPABILITIES });
		const send = await ok(agentSocket, 'transport:create', { direction: 'send' });
		await ok(agentSocket, 'transport:connect', { transportId: send.transportId, dtlsParameters: FAKE_DTLS });
		await ok(agentSocket, 'producer:create', { transportId: send.transportId, kind: 'audio', rtpParameters: opusRtpParameters(4242) });
		await joinParty(sidecar, 'VC-ice', 'cust-ice', 'customer');
		const room = sidecar.getRoom('VC-ice')!;
		expect(room.state).toBe('connected');

		const udp = dgram.createSocket('udp4');
		await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
		const candidate = (send.iceCandidates as { protocol: string; port: number; address: string }[]).find((c) => c.protocol === 'udp')!;
		const transport = browserLeg(room, 'agent-ice').transports.get(send.transportId)!;
		udp.send(stunBindingRequest(send.iceParameters as { usernameFragment: string; password: string }), candidate.port, candidate.address);
		await waitFor(() => transport.iceState === 'completed', 3000, 'ICE completed');
		expect(room.state).toBe('connected');

		// No more consent requests: after the consent timeout ICE is 'disconnected'.
		const states: string[] = [];
		agentSocket.on('call:state', (p) => states.push(p.state));
		await waitFor(() => room.state === 'reconnecting', 15_000, 'reconnecting');
		expect(transport.iceState).toBe('disconnected');

		const restarted = await ok(agentSocket, 'transport:restartIce', { transportId: send.transportId });
		udp.send(stunBindingRequest(restarted.iceParameters as { usernameFragment: string; password: string }), candidate.port, candidate.address);
		await waitFor(() => room.state === 'connected', 3000, 'connected again');
		expect(states).toEqual(['reconnecting', 'connected']);
		expect(sink.states('VC-ice')).toEqual(['ringing', 'connecting', 'connected', 'reconnecting', 'connected']);
		udp.close();
		agentSocket.close();
		await assertNoLeaks(sidecar);
	});
});
