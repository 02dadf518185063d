import { expect } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import { pino } from 'pino';
import { loadConfig, type SidecarConfig } from '../src/config.js';
import { ajv, signalingPushValidator, signalingResponseValidator } from '../src/contracts.js';
import type { CallEventReporterLike, CallEventType } from '../src/events.js';
import { BrowserLeg } from '../src/legs/index.js';
import type { Room } from '../src/Room.js';
import { Sidecar } from '../src/Sidecar.js';
import { mintCallToken } from '../src/tokens.js';
import type { Ack, ClientToServerEvents, Role, RoomStatus, ServerToClientEvents, SignalingRequests } from '../src/types.js';

export const SECRET = 'test-secret-0123456789abcdefghij';

export interface RecordedEvent {
	callId: string;
	type: CallEventType;
	payload: Record<string, unknown>;
}

/** In-memory sink (tests only): every payload is checked against contracts/call-events.schema.json. */
export class MemorySink implements CallEventReporterLike {
	readonly events: RecordedEvent[] = [];
	readonly pending = 0;
	/** What undeliveredCallIds() answers: events of these calls are "waiting for Frappe". */
	readonly undelivered = new Set<string>();
	report(callId: string, type: CallEventType, payload: object): void {
		const event = { eventId: crypto.randomUUID(), callId, sequence: this.events.length + 1, occurredAt: new Date().toISOString(), sidecarId: 'test', type, payload };
		const validate = ajv.getSchema('https://voice-agent.local/contracts/call-events.schema.json#/$defs/CallEvent');
		if (!validate?.(event)) throw new Error(`event outside the contract: ${JSON.stringify(event)} ${JSON.stringify(validate?.errors)}`);
		this.events.push({ callId, type, payload: payload as Record<string, unknown> });
	}
	undeliveredCallIds(): string[] {
		return [...this.undelivered];
	}
	async drain(): Promise<boolean> {
		return true;
	}
	close(): void {}
	states(callId: string): string[] {
		return this.events.filter((e) => e.callId === callId && e.type === 'call.state_changed').map((e) => `${e.payload.to}${e.payload.reason ? `(${e.payload.reason})` : ''}`);
	}
}

export function testConfig(env: Record<string, string> = {}): SidecarConfig {
	return loadConfig({
		SIDECAR_PORT: '0',
		SIDECAR_SECRET: SECRET,
		SIDECAR_NUM_WORKERS: '1',
		SIDECAR_RTC_PORT: '0',
		SIDECAR_LOG_LEVEL: process.env.SIDECAR_LOG_LEVEL ?? 'silent',
		MEDIASOUP_WORKER_BIN: process.env.MEDIASOUP_WORKER_BIN ?? '',
		...env,
	} as NodeJS.ProcessEnv);
}

export async function startSidecar(env: Record<string, string> = {}): Promise<{ sidecar: Sidecar; sink: MemorySink }> {
	const sink = new MemorySink();
	const config = testConfig(env);
	const sidecar = await Sidecar.create(config, { reporter: sink, logger: pino({ level: config.logLevel }) });
	return { sidecar, sink };
}

/** Ends every room, then asserts via worker.dump() that no router (hence transport, producer, consumer) is left. */
export async function assertNoLeaks(sidecar: Sidecar): Promise<void> {
	for (const callId of [...sidecar.rooms.keys()]) sidecar.endCall(callId, 'ended_by_frappe');
	await new Promise((r) => setTimeout(r, 50));
	for (const slot of sidecar.pool.slots) {
		const dump = await slot.worker.dump();
		expect(dump.routerIds, `routers left on worker ${slot.worker.pid}`).toEqual([]);
		if (slot.webRtcServer) {
			const serverDump = await slot.webRtcServer.dump();
			expect(serverDump.webRtcTransportIds, 'transports left on the WebRtcServer').toEqual([]);
		}
	}
}

export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export async function tokenFor(callId: string, participantId: string, role: Role, extra: { listenOnly?: boolean; secret?: string; ttlSec?: number; issuedAt?: number } = {}): Promise<string> {
	return mintCallToken({ secret: extra.secret ?? SECRET, callId, participantId, role, name: participantId, ...extra });
}

/** Connects; resolves with the socket or rejects with the connect_error. */
export function connect(sidecar: Sidecar, token: unknown, extraAuth: Record<string, unknown> = {}): Promise<ClientSocket> {
	const socket: ClientSocket = io(sidecar.url, { auth: { token, ...extraAuth }, transports: ['websocket'], reconnection: false, forceNew: true });
	return new Promise((resolve, reject) => {
		socket.once('connect', () => resolve(socket));
		socket.once('connect_error', (err) => {
			socket.close();
			reject(err);
		});
	});
}

export function request<E extends keyof SignalingRequests>(socket: ClientSocket, event: E, payload: unknown): Promise<Ack<SignalingRequests[E][1]>> {
	return (socket.timeout(5000) as unknown as { emitWithAck(e: string, p: unknown): Promise<Ack<SignalingRequests[E][1]>> }).emitWithAck(event, payload);
}

export async function ok<E extends keyof SignalingRequests>(socket: ClientSocket, event: E, payload: unknown): Promise<SignalingRequests[E][1]> {
	const ack = await request(socket, event, payload);
	if (!ack.ok) throw new Error(`${event} failed: ${ack.error.code} ${ack.error.message}`);
	// Every successful ack the tests see must match the contract's response schema.
	const validate = signalingResponseValidator(event);
	if (!validate(ack.data)) throw new Error(`${event} ack outside the contract: ${JSON.stringify(validate.errors)}`);
	return ack.data;
}

export const CLIENT_RTP_CAPABILITIES = {
	codecs: [{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2, preferredPayloadType: 111, parameters: { useinbandfec: 1 }, rtcpFeedback: [{ type: 'transport-cc' }] }],
	headerExtensions: [],
};

export function opusRtpParameters(ssrc: number) {
	return {
		mid: String(ssrc % 1000),
		codecs: [{ mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2, parameters: { useinbandfec: 1, usedtx: 1 }, rtcpFeedback: [] }],
		headerExtensions: [],
		encodings: [{ ssrc }],
		rtcp: { cname: `peer-${ssrc}`, reducedSize: true },
	};
}

export const FAKE_DTLS = {
	role: 'client',
	fingerprints: [{ algorithm: 'sha-256', value: 'E5:F5:CA:A7:2D:93:E6:16:AC:21:09:9F:23:51:62:8C:D0:66:E9:0C:22:54:2B:82:0C:DF:E0:C5:2C:7E:CD:53' }],
};

export interface Party {
	socket: ClientSocket;
	participantId: string;
	sendTransportId?: string;
	recvTransportId: string;
	producerId?: string;
	pushes: { event: string; payload: unknown }[];
}

/**
 * A signaling-level peer: it creates real WebRtcTransports and a real Producer
 * on the worker (ICE/DTLS are not run, so no RTP flows; browser e2e covers media).
 */
export async function joinParty(sidecar: Sidecar, callId: string, participantId: string, role: Role, opts: { produce?: boolean; listenOnly?: boolean } = {}): Promise<Party> {
	const socket = await connect(sidecar, await tokenFor(callId, participantId, role, { listenOnly: opts.listenOnly }));
	const pushes: Party['pushes'] = [];
	socket.onAny((event: string, payload: unknown) => {
		const validate = signalingPushValidator(event);
		if (!validate(payload)) throw new Error(`push ${event} outside the contract: ${JSON.stringify(validate.errors)}`);
		pushes.push({ event, payload });
	});
	await ok(socket, 'router:capabilities', {});
	const recv = await ok(socket, 'transport:create', { direction: 'recv' });
	await ok(socket, 'transport:connect', { transportId: recv.transportId, dtlsParameters: FAKE_DTLS });
	await ok(socket, 'call:join', { rtpCapabilities: CLIENT_RTP_CAPABILITIES });
	const party: Party = { socket, participantId, recvTransportId: recv.transportId, pushes };
	if (opts.produce !== false && !opts.listenOnly) {
		const send = await ok(socket, 'transport:create', { direction: 'send' });
		await ok(socket, 'transport:connect', { transportId: send.transportId, dtlsParameters: FAKE_DTLS });
		party.sendTransportId = send.transportId;
		party.producerId = (await ok(socket, 'producer:create', { transportId: send.transportId, kind: 'audio', rtpParameters: opusRtpParameters(1000 + Math.floor(Math.random() * 1e6)) })).producerId;
	}
	return party;
}

export async function waitFor<T>(read: () => T | undefined | false, timeoutMs = 3000, what = 'condition'): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const value = read();
		if (value) return value;
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 20));
	}
}

export async function createRoom(sidecar: Sidecar, callId: string, extra: Record<string, unknown> = {}): Promise<RoomStatus> {
	const res = await fetch(`${sidecar.url}/api/rooms`, {
		method: 'POST',
		headers: { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' },
		body: JSON.stringify({ callId, ...extra }),
	});
	expect(res.status).toBe(201);
	return (await res.json()) as RoomStatus;
}

/** A participant's browser leg (tests read its WebRtcTransports). */
export function browserLeg(room: Room, participantId: string): BrowserLeg {
	const leg = room.legs.get(participantId);
	if (!(leg instanceof BrowserLeg)) throw new Error(`${participantId} has no browser leg in ${room.callId}`);
	return leg;
}
