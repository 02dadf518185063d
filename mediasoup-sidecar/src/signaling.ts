import type { Server as HttpServer } from 'node:http';
import type { types as ms } from 'mediasoup';
import type { Logger } from 'pino';
import { Server, type Socket } from 'socket.io';
import { signalingRequestValidator, signalingSchema, assertValid } from './contracts.js';
import { PayloadTooLargeError, SidecarError } from './errors.js';
import type { BrowserConnection, BrowserLeg } from './legs/index.js';
import type { Room } from './Room.js';
import { CallTokenError, verifyCallToken } from './tokens.js';
import type { Ack, ClientToServerEvents, ServerToClientEvents, SignalingPushes, SignalingRequests } from './types.js';

export const MAX_PAYLOAD_BYTES = 64 * 1024;

interface SocketData {
	room: Room;
	leg: BrowserLeg;
}

type SignalingSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
export type SignalingServer = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

export interface SignalingOptions {
	httpServer: HttpServer;
	secret: string;
	logger: Logger;
	getRoom(callId: string): Room | undefined;
	isDraining(): boolean;
}

/** A refused connection: the client's connect_error has message = code and data = { code, message }. */
class ConnectError extends Error {
	readonly data: { code: string; message: string };
	constructor(code: string, message: string) {
		super(code);
		this.data = { code, message };
	}
}

/**
 * `afterAck` defers work until the request's ack has been written: a hang-up ends the call,
 * which pushes the end to every socket and disconnects them, and the caller's ack must go first.
 */
type Handler<E extends keyof SignalingRequests> = (
	socket: SignalingSocket,
	payload: SignalingRequests[E][0],
	afterAck: (work: () => void) => void,
) => Promise<SignalingRequests[E][1]> | SignalingRequests[E][1];

const handlers: { [E in keyof SignalingRequests]: Handler<E> } = {
	'router:capabilities': (s) => s.data.room.routerCapabilities(),
	'transport:create': (s, p) => s.data.room.createTransport(s.data.leg, p.direction),
	'transport:connect': async (s, p) => {
		await s.data.leg.connectTransport(p.transportId, p.dtlsParameters as ms.DtlsParameters);
		return {};
	},
	'transport:restartIce': (s, p) => s.data.leg.restartIce(p.transportId),
	'call:join': (s, p) => s.data.room.join(s.data.leg, p.rtpCapabilities as unknown as ms.RtpCapabilities),
	'producer:create': (s, p) => s.data.room.produce(s.data.leg, p.transportId, p.rtpParameters as unknown as ms.RtpParameters),
	'consumer:resume': async (s, p) => {
		await s.data.room.resumeConsumer(s.data.leg, p.consumerId);
		return {};
	},
	'producer:mute': async (s, p) => {
		await s.data.room.setMuted(s.data.leg, p.producerId, true);
		return {};
	},
	'producer:unmute': async (s, p) => {
		await s.data.room.setMuted(s.data.leg, p.producerId, false);
		return {};
	},
	'call:hold': async (s, p) => {
		await s.data.room.hold(s.data.leg, p.onHold);
		return {};
	},
	'call:hangup': (s, _payload, afterAck) => {
		afterAck(() => s.data.room.hangup(s.data.leg));
		return {};
	},
	'stats:get': async (s) => ({ samples: await s.data.room.stats() }),
};

const validators = Object.fromEntries(Object.keys(signalingSchema.requests).map((e) => [e, signalingRequestValidator(e)]));

/** socket.io server: one connection = one browser leg of the call named by its token. */
export function createSignalingServer(o: SignalingOptions): SignalingServer {
	const logger = o.logger.child({ module: 'signaling' });
	const io: SignalingServer = new Server(o.httpServer, {
		path: '/socket.io',
		// Frames a bit over the per-event limit still reach the handler, which answers with an error ack;
		// anything far larger is dropped by engine.io itself.
		maxHttpBufferSize: 2 * MAX_PAYLOAD_BYTES,
		serveClient: false,
		cors: { origin: true, credentials: false },
	});

	io.use((socket, next) => {
		void (async () => {
			if (o.isDraining()) return next(new ConnectError('draining', 'the sidecar is draining'));
			const auth = socket.handshake.auth as { token?: unknown; callId?: unknown };
			try {
				const claims = await verifyCallToken(auth.token, o.secret, { expectedCall: typeof auth.callId === 'string' ? auth.callId : undefined });
				const room = o.getRoom(claims.call);
				if (!room || room.closed) return next(new ConnectError('not_found', `call ${claims.call} has no room`));
				socket.data.room = room;
				socket.data.leg = room.addBrowserLeg(claims, connectionOf(socket));
				next();
			} catch (err) {
				if (err instanceof CallTokenError) {
					logger.info({ code: err.code, address: socket.handshake.address }, 'call token refused');
					return next(new ConnectError(err.code, err.message));
				}
				logger.error({ err }, 'handshake failed');
				next(new ConnectError('internal', 'handshake failed'));
			}
		})();
	});

	io.on('connection', (socket) => {
		const { room, leg } = socket.data;
		const log = logger.child({ callId: room.callId, participantId: leg.id });
		log.info({ role: leg.role }, 'participant connected');
		socket.on('disconnect', (reason) => {
			log.info({ reason }, 'participant disconnected');
			leg.close('disconnected');
		});

		for (const event of Object.keys(handlers) as (keyof SignalingRequests)[]) {
			socket.on(event, (payload: unknown, ack: unknown) => {
				if (typeof ack !== 'function') {
					log.warn({ event }, 'event without acknowledgement ignored');
					return;
				}
				void handle(socket, event, payload).then(({ answer, afterAck }) => {
					(ack as (a: Ack<unknown>) => void)(answer);
					afterAck?.();
				});
			});
		}
		socket.onAny((event: string, ...args: unknown[]) => {
			if (event in handlers) return;
			const ack = args.at(-1);
			if (typeof ack === 'function') ack({ ok: false, error: { code: 'invalid_request', message: `unknown event ${JSON.stringify(event).slice(0, 80)}` } });
		});
	});

	/** The ack to send and, when the request succeeded, the work to do once it is sent. */
	async function handle(socket: SignalingSocket, event: keyof SignalingRequests, payload: unknown): Promise<{ answer: Ack<unknown>; afterAck?: () => void }> {
		const later: { work?: () => void } = {};
		try {
			const size = Buffer.byteLength(JSON.stringify(payload ?? null) ?? '');
			if (size > MAX_PAYLOAD_BYTES) throw new PayloadTooLargeError(MAX_PAYLOAD_BYTES);
			const validator = validators[event];
			if (!validator) throw new Error(`no validator for ${event}`);
			const request = assertValid<never>(validator, payload, event);
			const handler = handlers[event] as Handler<typeof event>;
			const data = await handler(socket, request, (work) => (later.work = work));
			const { work } = later;
			return { answer: { ok: true, data }, afterAck: work && (() => runAfterAck(socket, event, work)) };
		} catch (err) {
			if (err instanceof SidecarError) return { answer: { ok: false, error: { code: err.code, message: err.message } } };
			logger.error({ err, event, callId: socket.data.room.callId }, 'signaling handler failed');
			return { answer: { ok: false, error: { code: 'internal', message: 'internal error' } } };
		}
	}

	function runAfterAck(socket: SignalingSocket, event: keyof SignalingRequests, work: () => void): void {
		try {
			work();
		} catch (err) {
			logger.error({ err, event, callId: socket.data.room.callId }, 'runAfterAck() | work after the ack failed');
		}
	}

	return io;
}

/** The socket as its leg sees it: pushes, and a disconnect that lets what was already sent go out first. */
function connectionOf(socket: SignalingSocket): BrowserConnection {
	return {
		push<E extends keyof SignalingPushes>(event: E, payload: SignalingPushes[E]): void {
			socket.emit(event, ...([payload] as Parameters<ServerToClientEvents[E]>));
		},
		disconnect: () => setImmediate(() => socket.disconnect(true)),
	};
}
