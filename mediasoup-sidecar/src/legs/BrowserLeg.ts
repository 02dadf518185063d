import type { types as ms } from 'mediasoup';
import { asInvalidRequest, InvalidRequestError, InvalidStateError, NotFoundError } from '../errors.js';
import type { SignalingPushes, TransportOptions } from '../types.js';
import { Leg, type LegOptions } from './Leg.js';

export interface TransportAppData extends ms.AppData {
	direction: 'send' | 'recv';
}

/** The browser's end of the signaling connection, as far as its leg needs it. */
export interface BrowserConnection {
	push<E extends keyof SignalingPushes>(event: E, payload: SignalingPushes[E]): void;
	/** Closes the connection once what was already sent on it has gone out. */
	disconnect(): void;
}

export interface BrowserLegOptions extends LegOptions {
	connection: BrowserConnection;
	/** The call's router: the leg creates its own transports on it. */
	router: ms.Router;
	webRtcTransportOptions: ms.WebRtcTransportOptions;
}

// An audio call needs one send and one recv transport and one producer; the
// slack covers a client recreating a failed transport. A token holder gets no more.
const MAX_TRANSPORTS = 4;
const MAX_PRODUCERS = 2;

/**
 * A browser in the call: a socket.io connection and the WebRtcTransports it
 * asked for, which the leg owns (their producers and consumers close with them).
 */
export class BrowserLeg extends Leg {
	readonly #connection: BrowserConnection;
	readonly #router: ms.Router;
	readonly #webRtcTransportOptions: ms.WebRtcTransportOptions;
	readonly #transports = new Map<string, ms.WebRtcTransport<TransportAppData>>();

	constructor(options: BrowserLegOptions) {
		super(options);
		this.#connection = options.connection;
		this.#router = options.router;
		this.#webRtcTransportOptions = options.webRtcTransportOptions;
	}

	override get transports(): ReadonlyMap<string, ms.WebRtcTransport<TransportAppData>> {
		return this.#transports;
	}

	override get consumerTransport(): ms.WebRtcTransport<TransportAppData> | undefined {
		for (const t of this.#transports.values()) if (t.appData.direction === 'recv' && !t.closed) return t;
		return undefined;
	}

	override get mediaDown(): boolean {
		return [...this.#transports.values()].some((t) => t.iceState === 'disconnected');
	}

	override notify<E extends keyof SignalingPushes>(event: E, payload: SignalingPushes[E]): void {
		if (!this.closed) this.#connection.push(event, payload);
	}

	async createTransport(direction: 'send' | 'recv'): Promise<TransportOptions> {
		if (direction === 'send') this.assertMayProduce();
		if (this.#transports.size >= MAX_TRANSPORTS) throw new InvalidStateError(`at most ${MAX_TRANSPORTS} transports per participant`);
		const transport = await this.#router.createWebRtcTransport<TransportAppData>({ ...this.#webRtcTransportOptions, appData: { direction } });
		if (this.closed) {
			transport.close();
			throw new InvalidStateError('participant left');
		}
		this.#transports.set(transport.id, transport);
		transport.observer.on('close', () => this.#transports.delete(transport.id));
		transport.on('icestatechange', () => this.safeEmit('mediastatechange'));
		transport.on('dtlsstatechange', (state) => {
			if (state === 'failed' || state === 'closed') transport.close();
		});
		return {
			transportId: transport.id,
			iceParameters: transport.iceParameters,
			iceCandidates: transport.iceCandidates,
			dtlsParameters: transport.dtlsParameters,
		};
	}

	async connectTransport(transportId: string, dtlsParameters: ms.DtlsParameters): Promise<void> {
		const transport = this.#assertAndGetTransport(transportId);
		await asInvalidRequest(() => transport.connect({ dtlsParameters }));
	}

	async restartIce(transportId: string): Promise<{ iceParameters: object }> {
		return { iceParameters: await this.#assertAndGetTransport(transportId).restartIce() };
	}

	/** The browser's microphone, on one of its send transports. */
	async produce(transportId: string, rtpParameters: ms.RtpParameters): Promise<ms.Producer> {
		this.assertMayProduce();
		if (!this.joined) throw new InvalidStateError('join the call before producing');
		const transport = this.#assertAndGetTransport(transportId, 'send');
		if (this.producers.size >= MAX_PRODUCERS) throw new InvalidStateError(`at most ${MAX_PRODUCERS} producers per participant`);
		const producer = await asInvalidRequest(() => transport.produce({ kind: 'audio', rtpParameters, appData: { participantId: this.id } }));
		this.addProducer(producer);
		return producer;
	}

	protected override disconnect(): void {
		this.#connection.disconnect();
	}

	#assertAndGetTransport(transportId: string, direction?: 'send' | 'recv'): ms.WebRtcTransport<TransportAppData> {
		const transport = this.#transports.get(transportId);
		if (!transport) throw new NotFoundError('Transport', transportId);
		if (direction && transport.appData.direction !== direction) throw new InvalidRequestError(`transport ${transportId} is not a ${direction} transport`);
		return transport;
	}
}
