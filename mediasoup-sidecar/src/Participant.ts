import { EventEmitter } from 'node:events';
import type { types as ms } from 'mediasoup';
import { ForbiddenError, InvalidRequestError, NotFoundError } from './errors.js';
import type { ParticipantInfo, ParticipantLeftReason, ParticipantStatus, QualitySample, Role } from './types.js';

type ParticipantEvents = {
	close: [reason: ParticipantLeftReason];
	/** ICE of one of its transports changed (the room derives 'reconnecting'). */
	icestatechange: [state: ms.IceState];
};

export interface TransportAppData extends ms.AppData {
	direction: 'send' | 'recv';
}

export interface ConsumerAppData extends ms.AppData {
	participantId: string;
	/** The client said it is ready (consumer:resume); hold may still keep it paused. */
	clientResumed: boolean;
}

/**
 * One person in a call. Owns its WebRtcTransports; their producers and
 * consumers close with them, so closing the participant frees everything.
 */
export class Participant extends EventEmitter<ParticipantEvents> {
	readonly id: string;
	readonly role: Role;
	readonly name?: string;
	readonly listenOnly: boolean;
	readonly joinedAt = new Date();
	readonly transports = new Map<string, ms.WebRtcTransport<TransportAppData>>();
	readonly producers = new Map<string, ms.Producer>();
	readonly consumers = new Map<string, ms.Consumer<ConsumerAppData>>();
	/** Set by call:join: until then the participant is connected but not in the call. */
	rtpCapabilities?: ms.RtpCapabilities;
	lastQuality: QualitySample[] = [];
	#closed = false;

	constructor(init: { id: string; role: Role; name?: string; listenOnly?: boolean }) {
		super();
		this.id = init.id;
		this.role = init.role;
		this.name = init.name;
		this.listenOnly = init.listenOnly ?? false;
	}

	get closed(): boolean {
		return this.#closed;
	}

	get joined(): boolean {
		return this.rtpCapabilities !== undefined;
	}

	/** A party of the call (agent, customer, whatsapp leg), as opposed to a supervisor listening in. */
	get isParty(): boolean {
		return this.role !== 'supervisor';
	}

	get mayProduce(): boolean {
		return !this.listenOnly;
	}

	get muted(): boolean {
		if (this.producers.size === 0) return false;
		return [...this.producers.values()].every((p) => p.paused);
	}

	addTransport(transport: ms.WebRtcTransport<TransportAppData>): void {
		this.transports.set(transport.id, transport);
		transport.observer.on('close', () => this.transports.delete(transport.id));
		transport.on('icestatechange', (state) => this.emit('icestatechange', state));
		transport.on('dtlsstatechange', (state) => {
			if (state === 'failed' || state === 'closed') transport.close();
		});
	}

	addProducer(producer: ms.Producer): void {
		this.producers.set(producer.id, producer);
		producer.observer.on('close', () => this.producers.delete(producer.id));
	}

	addConsumer(consumer: ms.Consumer<ConsumerAppData>): void {
		this.consumers.set(consumer.id, consumer);
		consumer.observer.on('close', () => this.consumers.delete(consumer.id));
	}

	assertAndGetTransport(transportId: string, direction?: 'send' | 'recv'): ms.WebRtcTransport<TransportAppData> {
		const transport = this.transports.get(transportId);
		if (!transport) throw new NotFoundError('Transport', transportId);
		if (direction && transport.appData.direction !== direction) throw new InvalidRequestError(`transport ${transportId} is not a ${direction} transport`);
		return transport;
	}

	assertAndGetProducer(producerId: string): ms.Producer {
		const producer = this.producers.get(producerId);
		if (!producer) throw new NotFoundError('Producer', producerId);
		return producer;
	}

	assertAndGetConsumer(consumerId: string): ms.Consumer<ConsumerAppData> {
		const consumer = this.consumers.get(consumerId);
		if (!consumer) throw new NotFoundError('Consumer', consumerId);
		return consumer;
	}

	assertMayProduce(): void {
		if (!this.mayProduce) throw new ForbiddenError('a listen-only participant may not produce');
	}

	recvTransport(): ms.WebRtcTransport<TransportAppData> | undefined {
		for (const t of this.transports.values()) if (t.appData.direction === 'recv' && !t.closed) return t;
		return undefined;
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

	close(reason: ParticipantLeftReason): void {
		if (this.#closed) return;
		this.#closed = true;
		for (const transport of [...this.transports.values()]) transport.close();
		this.emit('close', reason);
	}
}
