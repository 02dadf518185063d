import { EventEmitter } from 'node:events';
import type { types as ms } from 'mediasoup';
import { validateAndNormalizeRtpCapabilities } from 'mediasoup/ortc';
import type { Logger } from 'pino';
import { callStates } from './contracts.js';
import { InvalidRequestError, InvalidStateError, SidecarError } from './errors.js';
import type { CallEventSink } from './events.js';
import { type ConsumerAppData, Participant, type TransportAppData } from './Participant.js';
import { type QualityCounters, sampleParticipant } from './quality.js';
import type {
	CallState,
	CallTokenClaims,
	EndReason,
	ParticipantInfo,
	ParticipantLeftReason,
	QualitySample,
	RoomStatus,
	ServerToClientEvents,
	SignalingRequests,
	TransportOptions,
} from './types.js';
import type { WorkerPool, WorkerSlot } from './WorkerPool.js';

export const MEDIA_CODECS: ms.RouterRtpCodecCapability[] = [
	{
		kind: 'audio',
		mimeType: 'audio/opus',
		clockRate: 48000,
		channels: 2,
		parameters: { useinbandfec: 1, usedtx: 1 },
	},
];

/** Pushes to one participant's socket (set by the signaling layer). */
export type PushFn = <E extends keyof ServerToClientEvents>(event: E, ...args: Parameters<ServerToClientEvents[E]>) => void;

type RoomEvents = {
	close: [];
	statechange: [from: CallState, to: CallState, reason?: EndReason];
};

export interface RoomTimeouts {
	emptyTimeoutSec: number;
	ringTimeoutSec: number;
	maxDurationSec: number;
	qualityIntervalSec: number;
}

export interface RoomCreateOptions {
	callId: string;
	pool: WorkerPool;
	timeouts: RoomTimeouts;
	sink: CallEventSink;
	logger: Logger;
	metadata?: Record<string, unknown>;
	counters?: QualityCounters;
}

const TERMINAL = new Set<CallState>(['ended', 'missed', 'failed']);

// Per participant: an audio call needs one send and one recv transport and one producer;
// the slack covers a client recreating a failed transport. A token holder gets no more.
const MAX_TRANSPORTS_PER_PARTICIPANT = 4;
const MAX_PRODUCERS_PER_PARTICIPANT = 2;

/**
 * One call: one router on the least-loaded worker, its participants, its
 * state machine (contracts/call-states.json) and its timers.
 *
 * State rule (parties = joined agent/customer/whatsapp participants; supervisors don't count):
 * created -> ringing when the first party joins; -> connecting when a second party joins;
 * -> connected when two parties each have a producer; connected/on_hold -> reconnecting when
 * a WebRtcTransport's ICE goes 'disconnected' or a party leaves without hanging up; back to
 * connected (or on_hold) when that is over. A party's hang-up ends the call.
 */
export class Room extends EventEmitter<RoomEvents> {
	readonly callId: string;
	readonly createdAt = new Date();
	readonly metadata?: Record<string, unknown>;
	readonly #router: ms.Router;
	readonly #slot: WorkerSlot;
	readonly #pool: WorkerPool;
	readonly #timeouts: RoomTimeouts;
	readonly #sink: CallEventSink;
	readonly #logger: Logger;
	readonly #counters?: QualityCounters;
	readonly #participants = new Map<string, Participant>();
	readonly #pushes = new Map<Participant, PushFn>();
	#state: CallState = 'created';
	#endReason?: EndReason;
	#connectedAt?: Date;
	#endedAt?: Date;
	#onHold = false;
	#closed = false;
	#ringTimer?: NodeJS.Timeout;
	#maxDurationTimer?: NodeJS.Timeout;
	#emptyTimer?: NodeJS.Timeout;
	#qualityTimer?: NodeJS.Timeout;

	static async create(o: RoomCreateOptions): Promise<Room> {
		const slot = o.pool.leastLoaded();
		const router = await slot.worker.createRouter({ mediaCodecs: MEDIA_CODECS, appData: { callId: o.callId } });
		return new Room(o, slot, router);
	}

	private constructor(o: RoomCreateOptions, slot: WorkerSlot, router: ms.Router) {
		super();
		this.callId = o.callId;
		this.metadata = o.metadata;
		this.#router = router;
		this.#slot = slot;
		this.#pool = o.pool;
		this.#timeouts = o.timeouts;
		this.#sink = o.sink;
		this.#counters = o.counters;
		this.#logger = o.logger.child({ callId: o.callId, workerPid: slot.worker.pid });
		slot.rooms++;

		router.on('workerclose', () => this.close('failed', 'worker_died'));
		this.#ringTimer = setTimeout(() => this.close('missed', 'no_answer'), o.timeouts.ringTimeoutSec * 1000);
		this.#maxDurationTimer = setTimeout(() => this.close('ended', 'max_duration'), o.timeouts.maxDurationSec * 1000);
		this.#qualityTimer = setInterval(() => void this.#sampleQuality(), o.timeouts.qualityIntervalSec * 1000);
		this.#logger.info('room created');
	}

	get state(): CallState {
		return this.#state;
	}

	get closed(): boolean {
		return this.#closed;
	}

	get router(): ms.Router {
		return this.#router;
	}

	get workerPid(): number {
		return this.#slot.worker.pid;
	}

	get participants(): ReadonlyMap<string, Participant> {
		return this.#participants;
	}

	/** A socket authenticated with a token for this call: it replaces an earlier connection of the same participant. */
	addParticipant(claims: CallTokenClaims, push: PushFn): Participant {
		this.#assertOpen();
		this.#participants.get(claims.sub)?.close('kicked');
		const participant = new Participant({ id: claims.sub, role: claims.role, name: claims.name, listenOnly: claims.listenOnly });
		this.#participants.set(participant.id, participant);
		this.#pushes.set(participant, push);
		participant.on('close', (reason) => this.#onParticipantClosed(participant, reason));
		participant.on('icestatechange', () => this.#evaluate());
		return participant;
	}

	routerCapabilities(): SignalingRequests['router:capabilities'][1] {
		return { rtpCapabilities: this.#router.rtpCapabilities };
	}

	join(participant: Participant, rtpCapabilities: ms.RtpCapabilities): SignalingRequests['call:join'][1] {
		this.#assertOpen();
		if (participant.joined) throw new InvalidStateError('already joined');
		const normalized = structuredClone(rtpCapabilities);
		try {
			validateAndNormalizeRtpCapabilities(normalized);
		} catch (err) {
			throw new InvalidRequestError(`rtpCapabilities: ${(err as Error).message}`);
		}
		const opus = normalized.codecs?.some((c) => c.kind === 'audio' && c.mimeType.toLowerCase() === 'audio/opus' && c.clockRate === 48000);
		if (!opus) throw new InvalidRequestError('rtpCapabilities: no audio/opus 48000 codec');
		participant.rtpCapabilities = rtpCapabilities;
		this.#sink.report(this.callId, 'participant.joined', {
			participantId: participant.id,
			role: participant.role,
			...(participant.listenOnly ? { listenOnly: true } : {}),
		});
		this.#broadcast('participant:joined', [participant.info()], participant);
		const others: ParticipantInfo[] = [...this.#participants.values()].filter((p) => p !== participant && p.joined).map((p) => p.info());
		this.#evaluate();
		// Consumers for the producers already there, if a recv transport exists yet.
		this.#consumeAll(participant);
		return { participantId: participant.id, role: participant.role, state: this.#state, participants: others };
	}

	async createTransport(participant: Participant, direction: 'send' | 'recv'): Promise<TransportOptions> {
		this.#assertOpen();
		if (direction === 'send') participant.assertMayProduce();
		if (participant.transports.size >= MAX_TRANSPORTS_PER_PARTICIPANT) throw new InvalidStateError(`at most ${MAX_TRANSPORTS_PER_PARTICIPANT} transports per participant`);
		const transport = await this.#router.createWebRtcTransport<TransportAppData>({
			...this.#pool.webRtcTransportOptions(this.#slot),
			appData: { direction },
		});
		if (participant.closed || this.#closed) {
			transport.close();
			throw new InvalidStateError('participant left');
		}
		participant.addTransport(transport);
		if (direction === 'recv' && participant.joined) this.#consumeAll(participant);
		return {
			transportId: transport.id,
			iceParameters: transport.iceParameters,
			iceCandidates: transport.iceCandidates,
			dtlsParameters: transport.dtlsParameters,
		};
	}

	async connectTransport(participant: Participant, transportId: string, dtlsParameters: ms.DtlsParameters): Promise<void> {
		const transport = participant.assertAndGetTransport(transportId);
		await asInvalidRequest(() => transport.connect({ dtlsParameters }));
	}

	async restartIce(participant: Participant, transportId: string): Promise<{ iceParameters: object }> {
		const transport = participant.assertAndGetTransport(transportId);
		return { iceParameters: await transport.restartIce() };
	}

	async produce(participant: Participant, transportId: string, rtpParameters: ms.RtpParameters): Promise<{ producerId: string }> {
		this.#assertOpen();
		participant.assertMayProduce();
		if (!participant.joined) throw new InvalidStateError('join the call before producing');
		const transport = participant.assertAndGetTransport(transportId, 'send');
		if (participant.producers.size >= MAX_PRODUCERS_PER_PARTICIPANT) throw new InvalidStateError(`at most ${MAX_PRODUCERS_PER_PARTICIPANT} producers per participant`);
		const producer = await asInvalidRequest(() => transport.produce({ kind: 'audio', rtpParameters, appData: { participantId: participant.id } }));
		participant.addProducer(producer);
		for (const other of this.#participants.values()) if (other !== participant) this.#consumeLogged(other, participant, producer);
		this.#evaluate();
		return { producerId: producer.id };
	}

	async resumeConsumer(participant: Participant, consumerId: string): Promise<void> {
		const consumer = participant.assertAndGetConsumer(consumerId);
		consumer.appData.clientResumed = true;
		await this.#applyConsumerState(participant, consumer);
	}

	async setMuted(participant: Participant, producerId: string, muted: boolean): Promise<void> {
		const producer = participant.assertAndGetProducer(producerId);
		if (muted) await producer.pause();
		else await producer.resume();
		this.#broadcast('participant:muted', [{ participantId: participant.id, muted: participant.muted }], participant);
	}

	async hold(participant: Participant, onHold: boolean): Promise<void> {
		this.#assertOpen();
		if (participant.role !== 'agent') throw new SidecarError('forbidden', 'only the agent can put the call on hold', 403);
		if (onHold === this.#onHold) return;
		const from = onHold ? 'connected' : 'on_hold';
		if (this.#state !== from && this.#state !== 'reconnecting') throw new InvalidStateError(`cannot ${onHold ? 'hold' : 'resume'} a call that is ${this.#state}`);
		this.#onHold = onHold;
		if (this.#state === from) this.#transition(onHold ? 'on_hold' : 'connected');
		await Promise.all(
			[...this.#participants.values()].flatMap((p) => [...p.consumers.values()].map((c) => this.#applyConsumerState(p, c))),
		);
	}

	/** A party hanging up ends the call; a supervisor only leaves. */
	hangup(participant: Participant): void {
		if (participant.isParty) this.close('ended', 'hangup');
		else participant.close('hangup');
	}

	async stats(): Promise<QualitySample[]> {
		const samples = await Promise.all([...this.#participants.values()].filter((p) => p.joined).map((p) => sampleParticipant(p)));
		return samples.flat();
	}

	status(): RoomStatus {
		return {
			callId: this.callId,
			state: this.#state,
			...(this.#endReason ? { endReason: this.#endReason } : {}),
			createdAt: this.createdAt.toISOString(),
			...(this.#connectedAt ? { connectedAt: this.#connectedAt.toISOString() } : {}),
			...(this.#endedAt ? { endedAt: this.#endedAt.toISOString() } : {}),
			workerPid: this.#slot.worker.pid,
			participants: [...this.#participants.values()].filter((p) => p.joined).map((p) => p.status()),
		};
	}

	/** Ends the call in a terminal state. Idempotent. */
	close(state: 'ended' | 'missed' | 'failed', reason: EndReason): void {
		if (this.#closed) return;
		this.#closed = true;
		for (const timer of [this.#ringTimer, this.#maxDurationTimer, this.#emptyTimer]) clearTimeout(timer);
		clearInterval(this.#qualityTimer);
		this.#endReason = reason;
		this.#endedAt = new Date();
		this.#transition(this.#allowed(this.#state, state) ? state : 'failed', reason);
		for (const participant of [...this.#participants.values()]) participant.close('call_ended');
		this.#router.close();
		this.#slot.rooms--;
		this.#logger.info({ state: this.#state, reason }, 'room closed');
		this.emit('close');
	}

	#assertOpen(): void {
		if (this.#closed) throw new InvalidStateError(`the call is ${this.#state}`);
	}

	#allowed(from: CallState, to: CallState): boolean {
		return callStates.transitions[from]?.includes(to) ?? false;
	}

	#transition(to: CallState, reason?: EndReason): void {
		const from = this.#state;
		if (from === to) return;
		if (!this.#allowed(from, to)) {
			this.#logger.error({ from, to }, 'refused call state transition');
			return;
		}
		this.#state = to;
		if (to === 'connected' && !this.#connectedAt) this.#connectedAt = new Date();
		if (to !== 'created' && to !== 'ringing') clearTimeout(this.#ringTimer);
		this.#logger.info({ from, to, reason }, 'call state');
		this.#sink.report(this.callId, 'call.state_changed', { from, to, ...(reason ? { reason } : {}) });
		this.#broadcast('call:state', [{ state: to, ...(reason ? { reason } : {}) }]);
		this.emit('statechange', from, to, reason);
	}

	/** Derives the state from who is here and what they send (see the class comment). */
	#evaluate(): void {
		if (this.#closed || TERMINAL.has(this.#state)) return;
		const parties = [...this.#participants.values()].filter((p) => p.joined && p.isParty && !p.closed);
		const producing = parties.filter((p) => p.producers.size > 0).length;
		const iceDown = [...this.#participants.values()].some((p) => [...p.transports.values()].some((t) => t.iceState === 'disconnected'));
		if (this.#state === 'created' && parties.length >= 1) this.#transition('ringing');
		if (this.#state === 'ringing' && parties.length >= 2) this.#transition('connecting');
		if (this.#state === 'connecting' && producing >= 2 && !iceDown) this.#transition('connected');
		if ((this.#state === 'connected' || this.#state === 'on_hold') && (iceDown || parties.length < 2)) this.#transition('reconnecting');
		if (this.#state === 'reconnecting' && !iceDown && parties.length >= 2 && producing >= 2) this.#transition(this.#onHold ? 'on_hold' : 'connected');

		// Empty: nobody left, or a started call down to one party.
		const started = !['created', 'ringing'].includes(this.#state);
		const empty = (parties.length === 0 && this.#state !== 'created') || (started && parties.length < 2);
		if (empty && !this.#emptyTimer) {
			this.#emptyTimer = setTimeout(() => this.close('ended', 'room_empty'), this.#timeouts.emptyTimeoutSec * 1000);
		} else if (!empty && this.#emptyTimer) {
			clearTimeout(this.#emptyTimer);
			this.#emptyTimer = undefined;
		}
	}

	#onParticipantClosed(participant: Participant, reason: ParticipantLeftReason): void {
		// A replaced connection already has its successor in the map.
		if (this.#participants.get(participant.id) === participant) this.#participants.delete(participant.id);
		this.#pushes.delete(participant);
		if (participant.joined) {
			this.#sink.report(this.callId, 'participant.left', { participantId: participant.id, role: participant.role, reason });
			if (!this.#closed) this.#broadcast('participant:left', [{ participantId: participant.id, reason }]);
		}
		this.#evaluate();
	}

	#consumeAll(consumer: Participant): void {
		for (const other of this.#participants.values()) {
			if (other === consumer) continue;
			for (const producer of other.producers.values()) this.#consumeLogged(consumer, other, producer);
		}
	}

	#consumeLogged(consumer: Participant, producerOwner: Participant, producer: ms.Producer): void {
		this.#consume(consumer, producerOwner, producer).catch((err: unknown) =>
			this.#logger.error({ err, participantId: consumer.id, producerId: producer.id }, 'could not create a consumer'),
		);
	}

	async #consume(consumer: Participant, producerOwner: Participant, producer: ms.Producer): Promise<void> {
		const transport = consumer.recvTransport();
		if (!consumer.joined || !transport || !consumer.rtpCapabilities) return;
		if ([...consumer.consumers.values()].some((c) => c.producerId === producer.id)) return;
		if (!this.#router.canConsume({ producerId: producer.id, rtpCapabilities: consumer.rtpCapabilities })) {
			this.#logger.warn({ participantId: consumer.id, producerId: producer.id }, 'participant cannot consume this producer');
			return;
		}
		let created: ms.Consumer<ConsumerAppData>;
		try {
			created = await transport.consume<ConsumerAppData>({
				producerId: producer.id,
				rtpCapabilities: consumer.rtpCapabilities,
				paused: true,
				appData: { participantId: producerOwner.id, clientResumed: false },
			});
		} catch (err) {
			// The producer or transport closed meanwhile.
			this.#logger.debug({ err }, 'consume failed');
			return;
		}
		if (consumer.closed) {
			created.close();
			return;
		}
		consumer.addConsumer(created);
		created.on('producerclose', () => {
			created.close();
			this.#pushes.get(consumer)?.('consumer:closed', { consumerId: created.id });
		});
		this.#pushes.get(consumer)?.('consumer:new', {
			consumerId: created.id,
			producerId: producer.id,
			participantId: producerOwner.id,
			kind: 'audio',
			rtpParameters: created.rtpParameters,
		});
	}

	async #applyConsumerState(owner: Participant, consumer: ms.Consumer<ConsumerAppData>): Promise<void> {
		if (consumer.closed) return;
		const run = consumer.appData.clientResumed && !(this.#onHold && owner.isParty);
		if (run && consumer.paused) await consumer.resume();
		else if (!run && !consumer.paused) await consumer.pause();
	}

	async #sampleQuality(): Promise<void> {
		for (const participant of this.#participants.values()) {
			if (!participant.joined || participant.closed) continue;
			let samples: QualitySample[];
			try {
				samples = await sampleParticipant(participant, this.#counters);
			} catch (err) {
				if (!this.#closed) this.#logger.warn({ err }, 'quality sampling failed');
				continue;
			}
			if (this.#closed) return;
			participant.lastQuality = samples;
			for (const sample of samples) {
				this.#sink.report(this.callId, 'quality.sample', sample);
				this.#broadcast('quality:sample', [sample]);
			}
		}
	}

	#broadcast<E extends keyof ServerToClientEvents>(event: E, args: Parameters<ServerToClientEvents[E]>, except?: Participant): void {
		for (const [participant, push] of this.#pushes) if (participant !== except) push(event, ...args);
	}
}

/**
 * mediasoup refuses parameters it cannot use with TypeError / UnsupportedError (and
 * worker errors such as a MID already in use): the caller's fault, and nothing was created.
 */
async function asInvalidRequest<T>(fn: () => Promise<T>): Promise<T> {
	try {
		return await fn();
	} catch (err) {
		if (err instanceof SidecarError || !(err instanceof Error)) throw err;
		if (err.name === 'InvalidStateError') throw new InvalidStateError(err.message);
		throw new InvalidRequestError(err.message);
	}
}
