import type { types as ms } from 'mediasoup';
import { validateAndNormalizeRtpCapabilities } from 'mediasoup/ortc';
import type { Logger } from 'pino';
import { callStates } from './contracts.js';
import { EnhancedEventEmitter } from './EnhancedEventEmitter.js';
import { InvalidRequestError, InvalidStateError, NotFoundError, SidecarError } from './errors.js';
import type { CallEventSink } from './events.js';
import { BrowserLeg, type BrowserConnection, type ConsumerAppData, type Leg, WHATSAPP_RTP_CAPABILITIES, WhatsAppLeg, type WhatsAppLegTimeouts } from './legs/index.js';
import { type QualityCounters, QualitySummary, sampleLeg } from './quality.js';
import type {
	CallState,
	CallTokenClaims,
	EndReason,
	ParticipantInfo,
	ParticipantLeftReason,
	QualitySample,
	RoomStatus,
	SignalingPushes,
	SignalingRequests,
	TransportOptions,
} from './types.js';
import type { WorkerPool, WorkerSlot } from './WorkerPool.js';

const MAX_DURATION_WARNING_MS = 30_000;

export const MEDIA_CODECS: ms.RouterRtpCodecCapability[] = [
	{
		kind: 'audio',
		mimeType: 'audio/opus',
		clockRate: 48000,
		channels: 2,
		parameters: { useinbandfec: 1, usedtx: 1 },
	},
];

type RoomEvents = {
	close: [];
};

export interface RoomTimeouts {
	emptyTimeoutSec: number;
	ringTimeoutSec: number;
	maxDurationSec: number;
	/** How often each leg's quality is sampled (pushed to the browsers). */
	qualityIntervalSec: number;
	/** How often Frappe gets the call's quality summary, while there are new samples. */
	qualityReportSec: number;
}

/** Where a WhatsApp leg binds and how long it may stay without a connection or without Meta's audio. */
export interface WhatsAppSettings {
	listenIp: string;
	announcedAddress?: string;
	portRange?: { min: number; max: number };
	timeouts: WhatsAppLegTimeouts;
}

export interface AddWhatsAppLegOptions {
	participantId: string;
	name?: string;
	waCallId?: string;
	/** Meta's offer (user-initiated call): the leg answers it; without one, the leg makes an offer. */
	offer?: string;
}

export interface RoomCreateOptions {
	callId: string;
	pool: WorkerPool;
	timeouts: RoomTimeouts;
	whatsapp: WhatsAppSettings;
	sink: CallEventSink;
	logger: Logger;
	counters?: QualityCounters;
}

const TERMINAL = new Set<CallState>(['ended', 'missed', 'failed']);

/**
 * One call: one router on the least-loaded worker, its legs (one per party,
 * each owning its transports), its state machine (contracts/call-states.json)
 * and its timers. It learns of a leg leaving from the leg's 'close' event and
 * tells legs what happens through leg.notify().
 *
 * State rule (parties = joined agent/customer/whatsapp legs; supervisors don't count):
 * created -> ringing when the first party joins; -> connecting when a second party joins;
 * -> connected when two parties each have a producer; connected/on_hold -> reconnecting when
 * a leg's media goes down (a browser's ICE 'disconnected') or a party leaves without hanging
 * up; back to connected (or on_hold) when that is over. A party's hang-up ends the call.
 */
export class Room extends EnhancedEventEmitter<RoomEvents> {
	readonly callId: string;
	readonly createdAt = new Date();
	readonly #router: ms.Router;
	readonly #slot: WorkerSlot;
	readonly #pool: WorkerPool;
	readonly #timeouts: RoomTimeouts;
	readonly #whatsapp: WhatsAppSettings;
	readonly #sink: CallEventSink;
	readonly #logger: Logger;
	readonly #counters?: QualityCounters;
	readonly #legs = new Map<string, Leg>();
	readonly #addingWhatsApp = new Map<string, Promise<WhatsAppLeg>>();
	#state: CallState = 'created';
	#endReason?: EndReason;
	#connectedAt?: Date;
	#endedAt?: Date;
	#onHold = false;
	#closed = false;
	#ringTimer?: NodeJS.Timeout;
	#maxDurationTimer?: NodeJS.Timeout;
	#maxDurationWarningTimer?: NodeJS.Timeout;
	#emptyTimer?: NodeJS.Timeout;
	#qualityTimer?: NodeJS.Timeout;
	#qualityReportTimer?: NodeJS.Timeout;
	readonly #qualitySummary = new QualitySummary();

	static async create(o: RoomCreateOptions): Promise<Room> {
		const slot = o.pool.leastLoaded();
		const router = await slot.worker.createRouter({ mediaCodecs: MEDIA_CODECS, appData: { callId: o.callId } });
		return new Room(o, slot, router);
	}

	private constructor(o: RoomCreateOptions, slot: WorkerSlot, router: ms.Router) {
		const logger = o.logger.child({ callId: o.callId, workerPid: slot.worker.pid });
		super(logger);
		this.callId = o.callId;
		this.#router = router;
		this.#slot = slot;
		this.#pool = o.pool;
		this.#timeouts = o.timeouts;
		this.#whatsapp = o.whatsapp;
		this.#sink = o.sink;
		this.#counters = o.counters;
		this.#logger = logger;
		slot.rooms++;

		router.on('workerclose', () => this.close('failed', 'worker_died'));
		this.#ringTimer = setTimeout(() => this.close('missed', 'no_answer'), o.timeouts.ringTimeoutSec * 1000);
		const maxDurationMs = o.timeouts.maxDurationSec * 1000;
		this.#maxDurationTimer = setTimeout(() => this.close('ended', 'max_duration'), maxDurationMs);
		// Nobody is cut off unwarned: the parties hear of the end MAX_DURATION_WARNING_MS before it (half the call when shorter).
		const warnBeforeMs = Math.min(MAX_DURATION_WARNING_MS, maxDurationMs / 2);
		const endsAt = Date.now() + maxDurationMs;
		this.#maxDurationWarningTimer = setTimeout(() => this.warnEnding('max_duration', endsAt), maxDurationMs - warnBeforeMs);
		this.#qualityTimer = setInterval(() => void this.#sampleQuality(), o.timeouts.qualityIntervalSec * 1000);
		this.#qualityReportTimer = setInterval(() => {
			if (this.#qualitySummary.hasUnreportedSamples) this.#sink.report(this.callId, 'quality.summary', this.#qualitySummary.take(false));
		}, o.timeouts.qualityReportSec * 1000);
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

	/** The legs in the call, by participant id. */
	get legs(): ReadonlyMap<string, Leg> {
		return this.#legs;
	}

	/** A browser authenticated with a token for this call: it replaces an earlier connection of the same participant. */
	addBrowserLeg(claims: CallTokenClaims, connection: BrowserConnection): BrowserLeg {
		this.#assertOpen();
		const leg = new BrowserLeg({
			id: claims.sub,
			role: claims.role,
			name: claims.name,
			listenOnly: claims.listenOnly,
			logger: this.#logger,
			connection,
			router: this.#router,
			webRtcTransportOptions: this.#pool.webRtcTransportOptions(this.#slot),
		});
		this.#addLeg(leg);
		return leg;
	}

	/**
	 * A WhatsApp call's leg (WhatsAppLeg), joined at once as a party: it answers Meta's
	 * offer, or makes an offer (business-initiated) that applyWhatsAppAnswer() completes.
	 * A retried request for the same participant and the same offer returns the same leg;
	 * anything else for a participant already in the call is refused.
	 */
	async addWhatsAppLeg(o: AddWhatsAppLegOptions): Promise<WhatsAppLeg> {
		this.#assertOpen();
		const existing = this.#legs.get(o.participantId) ?? this.#addingWhatsApp.get(o.participantId);
		if (existing) {
			const leg = existing instanceof Promise ? await existing.catch(() => undefined) : existing;
			if (leg instanceof WhatsAppLeg && !leg.closed && leg.sdpType === (o.offer ? 'answer' : 'offer') && leg.waCallId === o.waCallId && leg.remoteOffer === o.offer) return leg;
			throw new InvalidStateError(`participant ${o.participantId} is already in the call`);
		}
		let leg!: WhatsAppLeg;
		const creating = WhatsAppLeg.create(
			{
				id: o.participantId,
				name: o.name,
				waCallId: o.waCallId,
				logger: this.#logger,
				router: this.#router,
				...this.#whatsapp,
				resumeConsumer: (consumerId) => this.resumeConsumer(leg, consumerId),
			},
			o.offer !== undefined ? { kind: 'answer', offer: o.offer } : { kind: 'offer' },
		);
		this.#addingWhatsApp.set(o.participantId, creating);
		try {
			leg = await creating;
		} finally {
			this.#addingWhatsApp.delete(o.participantId);
		}
		if (this.#closed) {
			leg.roomClosed();
			throw new InvalidStateError(`the call is ${this.#state}`);
		}
		this.#addLeg(leg);
		leg.on('close', (reason) => {
			// A WhatsApp call cannot come back once its media is gone: the call fails with it.
			if (reason === 'connection_failed' || reason === 'media_timeout') this.close('failed', 'media_failed');
		});
		this.join(leg, WHATSAPP_RTP_CAPABILITIES);
		return leg;
	}

	/** Meta's answer to a WhatsApp leg's offer. */
	applyWhatsAppAnswer(participantId: string, answer: string, waCallId: string): void {
		this.#assertOpen();
		this.#assertAndGetWhatsAppLeg(participantId).applyAnswer(answer, waCallId);
	}

	/**
	 * Frappe ends a WhatsApp leg: Meta's terminate or reject ends the call as the
	 * customer's hang-up; a failure reported by Meta fails it.
	 */
	endWhatsAppLeg(participantId: string, reason: 'hangup' | 'rejected' | 'connection_failed' | 'media_timeout'): void {
		if (this.#closed) return;
		const leg = this.#assertAndGetWhatsAppLeg(participantId);
		if (reason === 'hangup' || reason === 'rejected') this.close('ended', 'remote_hangup', leg);
		else leg.close(reason);
	}

	routerCapabilities(): SignalingRequests['router:capabilities'][1] {
		return { rtpCapabilities: this.#router.rtpCapabilities };
	}

	join(leg: Leg, rtpCapabilities: ms.RtpCapabilities): SignalingRequests['call:join'][1] {
		this.#assertOpen();
		if (leg.joined) throw new InvalidStateError('already joined');
		const normalized = structuredClone(rtpCapabilities);
		try {
			validateAndNormalizeRtpCapabilities(normalized);
		} catch (err) {
			throw new InvalidRequestError(`rtpCapabilities: ${(err as Error).message}`);
		}
		const opus = normalized.codecs?.some((c) => c.kind === 'audio' && c.mimeType.toLowerCase() === 'audio/opus' && c.clockRate === 48000);
		if (!opus) throw new InvalidRequestError('rtpCapabilities: no audio/opus 48000 codec');
		leg.join(rtpCapabilities);
		this.#sink.report(this.callId, 'participant.joined', {
			participantId: leg.id,
			role: leg.role,
			...(leg.listenOnly ? { listenOnly: true } : {}),
		});
		this.#broadcast('participant:joined', leg.info(), leg);
		const others: ParticipantInfo[] = [...this.#legs.values()].filter((other) => other !== leg && other.joined).map((other) => other.info());
		this.#evaluate();
		// Consumers for the producers already there, if the leg has a transport to receive them yet.
		this.#consumeAll(leg);
		return { participantId: leg.id, role: leg.role, state: this.#state, participants: others };
	}

	async createTransport(leg: BrowserLeg, direction: 'send' | 'recv'): Promise<TransportOptions> {
		this.#assertOpen();
		const transport = await leg.createTransport(direction);
		if (direction === 'recv' && leg.joined) this.#consumeAll(leg);
		return transport;
	}

	async produce(leg: BrowserLeg, transportId: string, rtpParameters: ms.RtpParameters): Promise<{ producerId: string }> {
		this.#assertOpen();
		// The others start consuming it from the leg's 'newproducer'.
		const producer = await leg.produce(transportId, rtpParameters);
		return { producerId: producer.id };
	}

	async resumeConsumer(leg: Leg, consumerId: string): Promise<void> {
		const consumer = leg.assertAndGetConsumer(consumerId);
		consumer.appData.clientResumed = true;
		await this.#applyConsumerState(leg, consumer);
	}

	async setMuted(leg: Leg, producerId: string, muted: boolean): Promise<void> {
		const producer = leg.assertAndGetProducer(producerId);
		if (muted) await producer.pause();
		else await producer.resume();
		this.#broadcast('participant:muted', { participantId: leg.id, muted: leg.muted }, leg);
	}

	async hold(leg: Leg, onHold: boolean): Promise<void> {
		this.#assertOpen();
		if (leg.role !== 'agent') throw new SidecarError('forbidden', 'only the agent can put the call on hold', 403);
		if (onHold === this.#onHold) return;
		const from = onHold ? 'connected' : 'on_hold';
		if (this.#state !== from && this.#state !== 'reconnecting') throw new InvalidStateError(`cannot ${onHold ? 'hold' : 'resume'} a call that is ${this.#state}`);
		this.#onHold = onHold;
		if (this.#state === from) this.#transition(onHold ? 'on_hold' : 'connected');
		await Promise.all([...this.#legs.values()].flatMap((leg) => [...leg.consumers.values()].map((c) => this.#applyConsumerState(leg, c))));
	}

	/** A party hanging up ends the call; a supervisor only leaves. */
	hangup(leg: Leg): void {
		if (leg.isParty) this.close('ended', 'hangup', leg);
		else leg.close('hangup');
	}

	/**
	 * Tells every leg (joined or still joining) that the call will end at `at` (epoch ms) for
	 * `reason`, so nobody is cut off unwarned. The time left is sent, not `at`: clocks differ.
	 */
	warnEnding(reason: EndReason, at: number): void {
		if (this.#closed) return;
		const push: SignalingPushes['call:ending'] = { reason, endsInMs: Math.max(0, Math.round(at - Date.now())) };
		this.#logger.info(push, 'call ending announced');
		this.#broadcast('call:ending', push);
	}

	async stats(): Promise<QualitySample[]> {
		const samples = await Promise.all([...this.#legs.values()].filter((leg) => leg.joined).map((leg) => sampleLeg(leg)));
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
			participants: [...this.#legs.values()].filter((leg) => leg.joined).map((leg) => leg.status()),
		};
	}

	/** Ends the call in a terminal state; `endedBy` is the leg whose hang-up ended it. Idempotent. */
	close(state: 'ended' | 'missed' | 'failed', reason: EndReason, endedBy?: Leg): void {
		if (this.#closed) return;
		this.#closed = true;
		for (const timer of [this.#ringTimer, this.#maxDurationTimer, this.#maxDurationWarningTimer, this.#emptyTimer]) clearTimeout(timer);
		clearInterval(this.#qualityTimer);
		clearInterval(this.#qualityReportTimer);
		this.#endReason = reason;
		this.#endedAt = new Date();
		// Frappe has the final figures when the end arrives.
		if (this.#qualitySummary.samples > 0) this.#sink.report(this.callId, 'quality.summary', this.#qualitySummary.take(true));
		this.#transition(this.#allowed(this.#state, state) ? state : 'failed', reason, endedBy);
		for (const leg of [...this.#legs.values()]) {
			if (leg.joined) this.#sink.report(this.callId, 'participant.left', { participantId: leg.id, role: leg.role, reason: 'call_ended' });
			leg.roomClosed();
		}
		this.#legs.clear();
		this.#router.close();
		this.#slot.rooms--;
		this.#logger.info({ state: this.#state, reason }, 'room closed');
		this.safeEmit('close');
	}

	#addLeg(leg: Leg): void {
		this.#legs.get(leg.id)?.close('kicked');
		this.#legs.set(leg.id, leg);
		leg.on('close', (reason) => this.#onLegClosed(leg, reason));
		leg.on('newproducer', (producer) => {
			for (const other of this.#legs.values()) if (other !== leg) this.#consumeLogged(other, leg, producer);
			this.#evaluate();
		});
		leg.on('mediastatechange', () => this.#evaluate());
	}

	#assertAndGetWhatsAppLeg(participantId: string): WhatsAppLeg {
		const leg = this.#legs.get(participantId);
		if (!(leg instanceof WhatsAppLeg)) throw new NotFoundError('Participant', participantId);
		return leg;
	}

	#assertOpen(): void {
		if (this.#closed) throw new InvalidStateError(`the call is ${this.#state}`);
	}

	#allowed(from: CallState, to: CallState): boolean {
		return callStates.transitions[from]?.includes(to) ?? false;
	}

	#transition(to: CallState, reason?: EndReason, endedBy?: Leg): void {
		const from = this.#state;
		if (from === to) return;
		if (!this.#allowed(from, to)) {
			this.#logger.error({ from, to }, 'refused call state transition');
			return;
		}
		this.#state = to;
		if (to === 'connected' && !this.#connectedAt) this.#connectedAt = new Date();
		if (to !== 'created' && to !== 'ringing') clearTimeout(this.#ringTimer);
		this.#logger.info({ from, to, reason, ...(endedBy ? { endedBy: endedBy.id } : {}) }, 'call state');
		this.#sink.report(this.callId, 'call.state_changed', {
			from,
			to,
			...(reason ? { reason } : {}),
			...(endedBy ? { endedBy: { participantId: endedBy.id, role: endedBy.role } } : {}),
		});
		this.#broadcast('call:state', {
			state: to,
			...(reason ? { reason } : {}),
			...(endedBy ? { endedBy: { participantId: endedBy.id, role: endedBy.role } } : {}),
		});
	}

	/** Derives the state from who is here and what they send (see the class comment). */
	#evaluate(): void {
		if (this.#closed || TERMINAL.has(this.#state)) return;
		const parties = [...this.#legs.values()].filter((leg) => leg.joined && leg.isParty && !leg.closed);
		const producing = parties.filter((leg) => leg.producers.size > 0).length;
		const mediaDown = [...this.#legs.values()].some((leg) => leg.mediaDown);
		if (this.#state === 'created' && parties.length >= 1) this.#transition('ringing');
		if (this.#state === 'ringing' && parties.length >= 2) this.#transition('connecting');
		if (this.#state === 'connecting' && producing >= 2 && !mediaDown) this.#transition('connected');
		if ((this.#state === 'connected' || this.#state === 'on_hold') && (mediaDown || parties.length < 2)) this.#transition('reconnecting');
		if (this.#state === 'reconnecting' && !mediaDown && parties.length >= 2 && producing >= 2) this.#transition(this.#onHold ? 'on_hold' : 'connected');

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

	#onLegClosed(leg: Leg, reason: ParticipantLeftReason): void {
		// A replaced connection already has its successor in the map.
		if (this.#legs.get(leg.id) === leg) this.#legs.delete(leg.id);
		if (leg.joined) {
			this.#sink.report(this.callId, 'participant.left', { participantId: leg.id, role: leg.role, reason });
			this.#broadcast('participant:left', { participantId: leg.id, reason });
		}
		this.#evaluate();
	}

	#consumeAll(consumerLeg: Leg): void {
		for (const other of this.#legs.values()) {
			if (other === consumerLeg) continue;
			for (const producer of other.producers.values()) this.#consumeLogged(consumerLeg, other, producer);
		}
	}

	#consumeLogged(consumerLeg: Leg, producerLeg: Leg, producer: ms.Producer): void {
		this.#consume(consumerLeg, producerLeg, producer).catch((err: unknown) =>
			this.#logger.error({ err, participantId: consumerLeg.id, producerId: producer.id }, 'consume() | could not create a consumer'),
		);
	}

	async #consume(consumerLeg: Leg, producerLeg: Leg, producer: ms.Producer): Promise<void> {
		const transport = consumerLeg.consumerTransport;
		const rtpCapabilities = consumerLeg.rtpCapabilities;
		if (!transport || !rtpCapabilities) return;
		if ([...consumerLeg.consumers.values()].some((c) => c.producerId === producer.id)) return;
		if (!this.#router.canConsume({ producerId: producer.id, rtpCapabilities })) {
			this.#logger.warn({ participantId: consumerLeg.id, producerId: producer.id }, 'consume() | leg cannot consume this producer');
			return;
		}
		let created: ms.Consumer<ConsumerAppData>;
		try {
			created = await transport.consume<ConsumerAppData>({
				producerId: producer.id,
				rtpCapabilities,
				paused: true,
				appData: { participantId: producerLeg.id, role: producerLeg.role, clientResumed: false },
			});
		} catch (err) {
			// The producer or transport closed meanwhile.
			this.#logger.debug({ err }, 'consume() | consume failed');
			return;
		}
		if (consumerLeg.closed) {
			created.close();
			return;
		}
		consumerLeg.addConsumer(created);
		created.on('producerclose', () => {
			created.close();
			consumerLeg.notify('consumer:closed', { consumerId: created.id });
		});
		consumerLeg.notify('consumer:new', {
			consumerId: created.id,
			producerId: producer.id,
			participantId: producerLeg.id,
			kind: 'audio',
			rtpParameters: created.rtpParameters,
		});
	}

	async #applyConsumerState(owner: Leg, consumer: ms.Consumer<ConsumerAppData>): Promise<void> {
		if (consumer.closed) return;
		const run = consumer.appData.clientResumed && !(this.#onHold && owner.isParty);
		if (run && consumer.paused) await consumer.resume();
		else if (!run && !consumer.paused) await consumer.pause();
	}

	async #sampleQuality(): Promise<void> {
		for (const leg of this.#legs.values()) {
			if (!leg.joined || leg.closed) continue;
			let samples: QualitySample[];
			try {
				samples = await sampleLeg(leg, this.#counters);
			} catch (err) {
				if (!this.#closed) this.#logger.warn({ err }, '#sampleQuality() | quality sampling failed');
				continue;
			}
			if (this.#closed) return;
			leg.lastQuality = samples;
			for (const sample of samples) {
				this.#qualitySummary.add(sample);
				this.#broadcast('quality:sample', sample);
			}
		}
	}

	#broadcast<E extends keyof SignalingPushes>(event: E, payload: SignalingPushes[E], except?: Leg): void {
		for (const leg of this.#legs.values()) if (leg !== except) leg.notify(event, payload);
	}
}
