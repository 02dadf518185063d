import type { types as ms } from 'mediasoup';
import type { Logger } from 'pino';
import { EnhancedEventEmitter } from '../EnhancedEventEmitter.js';
import { ForbiddenError, InvalidStateError, NotFoundError } from '../errors.js';
import type { ParticipantInfo, ParticipantLeftReason, ParticipantStatus, QualitySample, Role, SignalingPushes } from '../types.js';

export type LegEvents = {
	/** The leg left the call by itself (hang-up, lost connection, replaced). Not emitted when the room closed it. */
	close: [reason: ParticipantLeftReason];
	/** The leg made a producer: the room lets the others consume it. */
	newproducer: [producer: ms.Producer];
	/** Its media path went down or came back (the room derives 'reconnecting' from mediaDown). */
	mediastatechange: [];
};

export interface ConsumerAppData extends ms.AppData {
	/** Whose producer this consumer receives. */
	participantId: string;
	/** That participant's role (a WhatsApp leg picks which consumer Meta hears by it). */
	role: Role;
	/** The far end said it is ready (consumer:resume); hold may still keep it paused. */
	clientResumed: boolean;
}

/**
 * The outbound path of a leg whose far end is not a mediasoup transport (a WhatsApp
 * leg: Meta): what the leg sent to it, and what the far end's RTCP receiver reports say.
 */
export interface FarEndReport {
	packets: number;
	bytes: number;
	bitrateKbps: number;
	/** From the far end's latest receiver report; absent before one came. */
	packetLossPct?: number;
	jitterMs?: number;
	rttMs: number | null;
}

export interface LegOptions {
	/** The participant id of the call token (a browser) or the id given to the leg. */
	id: string;
	role: Role;
	name?: string;
	listenOnly?: boolean;
	logger: Logger;
}

/**
 * One party's way into a call: a browser over socket.io (BrowserLeg), and later a
 * WhatsApp call bridged through a PlainTransport, a recorder or an AI bridge.
 *
 * A leg owns its transports (their producers and consumers close with them); the
 * room owns the legs and only uses what is declared here: the RTP capabilities
 * the leg receives with, the transport to create its consumers on, its producers,
 * notify() to tell its far end what happened, and its events.
 *
 * close() is for the leg's own end and tells the room ('close'); roomClosed() is
 * the room closing it and tells the room nothing (mediasoup's close() vs routerClosed()).
 */
export abstract class Leg extends EnhancedEventEmitter<LegEvents> {
	readonly id: string;
	readonly role: Role;
	readonly name?: string;
	readonly listenOnly: boolean;
	readonly joinedAt = new Date();
	/** The last quality samples the room took of this leg (RoomStatus). */
	lastQuality: QualitySample[] = [];
	protected readonly logger: Logger;
	readonly #producers = new Map<string, ms.Producer>();
	readonly #consumers = new Map<string, ms.Consumer<ConsumerAppData>>();
	#rtpCapabilities?: ms.RtpCapabilities;
	#closed = false;

	protected constructor(options: LegOptions) {
		const logger = options.logger.child({ participantId: options.id, role: options.role });
		super(logger);
		this.id = options.id;
		this.role = options.role;
		this.name = options.name;
		this.listenOnly = options.listenOnly ?? false;
		this.logger = logger;
	}

	/** The transports this leg owns, by id. */
	abstract get transports(): ReadonlyMap<string, ms.Transport>;

	/** The transport the room creates this leg's consumers on (none yet: the room consumes later). */
	abstract get consumerTransport(): ms.Transport | undefined;

	/** Whether its media path is down now (ICE disconnected for a browser). */
	abstract get mediaDown(): boolean;

	/**
	 * For a leg whose far end is not a mediasoup transport (a WhatsApp leg): its outbound
	 * path as the leg knows it. The outbound quality sample is taken from it, since
	 * mediasoup's own figures would only describe the loopback hop to the leg.
	 */
	farEndReport(): FarEndReport | undefined {
		return undefined;
	}

	/** Tells the leg's far end about the call (a push to a browser); nothing once the leg is closed. */
	abstract notify<E extends keyof SignalingPushes>(event: E, payload: SignalingPushes[E]): void;

	/** Cuts the far end off, after what was already sent to it (both kinds of close call it). */
	protected abstract disconnect(): void;

	get producers(): ReadonlyMap<string, ms.Producer> {
		return this.#producers;
	}

	get consumers(): ReadonlyMap<string, ms.Consumer<ConsumerAppData>> {
		return this.#consumers;
	}

	/** What this leg can receive; set when it joins the call. */
	get rtpCapabilities(): ms.RtpCapabilities | undefined {
		return this.#rtpCapabilities;
	}

	/** In the call (as opposed to connected and not joined yet). */
	get joined(): boolean {
		return this.#rtpCapabilities !== undefined;
	}

	get closed(): boolean {
		return this.#closed;
	}

	/** A party of the call (agent, customer, whatsapp leg), as opposed to a supervisor listening in. */
	get isParty(): boolean {
		return this.role !== 'supervisor';
	}

	get mayProduce(): boolean {
		return !this.listenOnly;
	}

	get muted(): boolean {
		if (this.#producers.size === 0) return false;
		return [...this.#producers.values()].every((p) => p.paused);
	}

	/** Enters the call, able to receive what these (validated) capabilities allow. */
	join(rtpCapabilities: ms.RtpCapabilities): void {
		if (this.joined) throw new InvalidStateError('already joined');
		this.#rtpCapabilities = rtpCapabilities;
	}

	/** Takes a consumer the room made on consumerTransport: it closes with that transport. */
	addConsumer(consumer: ms.Consumer<ConsumerAppData>): void {
		this.#consumers.set(consumer.id, consumer);
		consumer.observer.on('close', () => this.#consumers.delete(consumer.id));
	}

	assertAndGetProducer(producerId: string): ms.Producer {
		const producer = this.#producers.get(producerId);
		if (!producer) throw new NotFoundError('Producer', producerId);
		return producer;
	}

	assertAndGetConsumer(consumerId: string): ms.Consumer<ConsumerAppData> {
		const consumer = this.#consumers.get(consumerId);
		if (!consumer) throw new NotFoundError('Consumer', consumerId);
		return consumer;
	}

	assertMayProduce(): void {
		if (!this.mayProduce) throw new ForbiddenError('a listen-only participant may not produce');
	}

	info(): ParticipantInfo {
		return { participantId: this.id, role: this.role, ...(this.name !== undefined ? { name: this.name } : {}), muted: this.muted, listenOnly: this.listenOnly };
	}

	status(): ParticipantStatus {
		return {
			participantId: this.id,
			role: this.role,
			joinedAt: this.joinedAt.toISOString(),
			muted: this.muted,
			listenOnly: this.listenOnly,
			quality: this.lastQuality,
		};
	}

	/** The leg leaves the call; the room learns it from 'close'. Idempotent. */
	close(reason: ParticipantLeftReason): void {
		if (this.#closed) return;
		this.#release();
		this.logger.debug({ reason }, 'close() | leg closed');
		this.safeEmit('close', reason);
	}

	/** The room is closing and takes the leg down with it: the room is not told. Idempotent. */
	roomClosed(): void {
		if (this.#closed) return;
		this.#release();
		this.logger.debug('roomClosed() | leg closed with its room');
	}

	/** Records a producer the leg made on one of its transports and tells the room. */
	protected addProducer(producer: ms.Producer): void {
		this.#producers.set(producer.id, producer);
		producer.observer.on('close', () => this.#producers.delete(producer.id));
		this.safeEmit('newproducer', producer);
	}

	#release(): void {
		this.#closed = true;
		for (const transport of [...this.transports.values()]) transport.close();
		this.disconnect();
	}
}
