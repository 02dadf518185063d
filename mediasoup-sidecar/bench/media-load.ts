// Bridged 1:1 audio calls over PlainTransports, fed by an RTP generator on
// loopback: each party sends Opus-rate RTP (50 packets/s, 160-byte payloads)
// and receives the other party's stream back from the SFU.
import { createSocket, type Socket } from 'node:dgram';
import type { types as ms } from 'mediasoup';

export const PACKETS_PER_SEC = 50;
export const PAYLOAD_BYTES = 160;
const OPUS = { mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2, parameters: { useinbandfec: 1 } } as const;

interface Party {
	socket: Socket;
	port: number;
	ssrc: number;
	seq: number;
	timestamp: number;
	sent: number;
	received: number;
}

export interface BridgedCall {
	parties: [Party, Party];
	close(): void;
}

let nextSsrc = 1000;

async function party(router: ms.Router): Promise<{ p: Party; transport: ms.PlainTransport; producer: ms.Producer }> {
	const transport = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: true });
	const ssrc = nextSsrc++;
	const producer = await transport.produce({ kind: 'audio', rtpParameters: { codecs: [OPUS], encodings: [{ ssrc }] } });
	const socket = createSocket('udp4');
	await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
	const p: Party = { socket, port: transport.tuple.localPort, ssrc, seq: 0, timestamp: 0, sent: 0, received: 0 };
	socket.on('message', () => void p.received++);
	return { p, transport, producer };
}

/** Two parties on `router`, each consuming the other (router: one per call). */
export async function bridgeCall(router: ms.Router): Promise<BridgedCall> {
	const a = await party(router);
	const b = await party(router);
	for (const [me, other] of [[a, b], [b, a]] as const) {
		await me.transport.consume({ producerId: other.producer.id, rtpCapabilities: router.rtpCapabilities });
	}
	// comedia: the transport learns each party's address from its first packet.
	return {
		parties: [a.p, b.p],
		close() {
			a.p.socket.close();
			b.p.socket.close();
		},
	};
}

function send(p: Party): void {
	// A fresh buffer each time: dgram reads it only when the send actually happens.
	const packet = Buffer.alloc(12 + PAYLOAD_BYTES);
	packet[0] = 0x80;
	packet[1] = OPUS.payloadType;
	packet.writeUInt16BE(p.seq, 2);
	packet.writeUInt32BE(p.timestamp >>> 0, 4);
	packet.writeUInt32BE(p.ssrc, 8);
	p.seq = (p.seq + 1) & 0xffff;
	p.timestamp += 960;
	p.sent++;
	p.socket.send(packet, p.port, '127.0.0.1');
}

/** Sends one packet per party every 20 ms, spread over the tick. */
export function startGenerator(calls: () => readonly BridgedCall[]): () => void {
	const timer = setInterval(() => {
		for (const call of calls()) for (const p of call.parties) send(p);
	}, 1000 / PACKETS_PER_SEC);
	return () => clearInterval(timer);
}

export function totals(calls: readonly BridgedCall[]): { sent: number; received: number } {
	let sent = 0;
	let received = 0;
	for (const c of calls) for (const p of c.parties) {
		sent += p.sent;
		received += p.received;
	}
	return { sent, received };
}
