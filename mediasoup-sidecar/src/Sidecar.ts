import { readFileSync } from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino, type Logger } from 'pino';
import { describeConfig, type SidecarConfig } from './config.js';
import { DrainingError, InvalidStateError, NotFoundError } from './errors.js';
import type { CallEventReporterLike } from './events.js';
import { createHttpHandler, type HttpBackend } from './http.js';
import { SidecarMetrics } from './metrics.js';
import { CallEventReporter, registerReporterMetrics } from './reporting/index.js';
import { Room } from './Room.js';
import { createSignalingServer, type SignalingServer } from './signaling.js';
import type {
	CreateRoomRequest,
	EndReason,
	Health,
	RoomList,
	RoomStatus,
	WhatsAppAnswerRequest,
	WhatsAppEndRequest,
	WhatsAppOfferRequest,
	WhatsAppRemoteAnswerRequest,
	WhatsAppSession,
} from './types.js';
import { WorkerPool } from './WorkerPool.js';

const packageJson = JSON.parse(readFileSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'package.json'), 'utf8')) as { version: string };
export const SIDECAR_VERSION = packageJson.version;

/** Statuses of finished calls kept for GET /api/rooms/{callId} (Frappe may ask after the end). */
const ENDED_ROOMS_KEPT = 1000;

export interface SidecarOptions {
	logger?: Logger;
	/** Where call events go; by default the durable CallEventReporter of src/reporting/. */
	reporter?: CallEventReporterLike;
}

/**
 * The process-level owner: worker pool, rooms by call id, HTTP + socket.io
 * server, metrics and the reporter. create() starts listening; close() frees all.
 */
export class Sidecar implements HttpBackend {
	readonly config: SidecarConfig;
	readonly logger: Logger;
	readonly metrics: SidecarMetrics;
	readonly reporter: CallEventReporterLike;
	readonly startedAt = Date.now();
	readonly #pool: WorkerPool;
	readonly #rooms = new Map<string, Room>();
	readonly #creating = new Map<string, Promise<Room>>();
	readonly #ended = new Map<string, RoomStatus>();
	readonly #http: HttpServer;
	#io?: SignalingServer;
	#draining = false;
	#closed = false;

	static async create(config: SidecarConfig, options: SidecarOptions = {}): Promise<Sidecar> {
		const logger = options.logger ?? pino({ level: config.logLevel, base: { service: 'mediasoup-sidecar', sidecarId: config.sidecarId } });
		logger.info({ config: describeConfig(config) }, 'sidecar configuration');
		const reporter = options.reporter ?? (await createDefaultReporter(config, logger));
		let pool: WorkerPool;
		try {
			pool = await WorkerPool.create({ numWorkers: config.numWorkers, rtc: config.rtc, workerBin: config.workerBin, logger });
		} catch (err) {
			if (!options.reporter) reporter.close();
			throw err;
		}
		const sidecar = new Sidecar(config, logger, reporter, pool);
		try {
			await sidecar.#listen();
		} catch (err) {
			await sidecar.close();
			throw err;
		}
		return sidecar;
	}

	private constructor(config: SidecarConfig, logger: Logger, reporter: CallEventReporterLike, pool: WorkerPool) {
		this.config = config;
		this.logger = logger;
		this.reporter = reporter;
		this.#pool = pool;
		this.metrics = new SidecarMetrics({ rooms: () => this.#rooms.values(), pool: () => this.#pool });
		pool.on('workerdied', () => this.metrics.workerDeaths.inc());
		if (reporter.stats) registerReporterMetrics(this.metrics.registry, { stats: () => reporter.stats!() });
		this.#http = createServer(createHttpHandler(this, logger));
		this.#http.headersTimeout = 10_000;
		this.#http.requestTimeout = 30_000;
	}

	get port(): number {
		return (this.#http.address() as AddressInfo).port;
	}

	get url(): string {
		const host = this.config.host.includes(':') ? `[${this.config.host}]` : this.config.host;
		return `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${this.port}`;
	}

	get draining(): boolean {
		return this.#draining;
	}

	get pool(): WorkerPool {
		return this.#pool;
	}

	get rooms(): ReadonlyMap<string, Room> {
		return this.#rooms;
	}

	getRoom(callId: string): Room | undefined {
		return this.#rooms.get(callId);
	}

	assertAndGetRoom(callId: string): Room {
		const room = this.#rooms.get(callId);
		if (!room) throw new NotFoundError('Room', callId);
		return room;
	}

	/** Idempotent: a retried create for a live call returns that call's room. */
	async createRoom(request: CreateRoomRequest): Promise<{ status: RoomStatus; created: boolean }> {
		if (this.#draining || this.#closed) throw new DrainingError();
		const existing = this.#rooms.get(request.callId) ?? (await this.#creating.get(request.callId));
		if (existing && !existing.closed) return { status: existing.status(), created: false };
		if (this.#ended.has(request.callId)) throw new InvalidStateError(`call ${request.callId} has already ended`);
		const creating = Room.create({
			callId: request.callId,
			pool: this.#pool,
			sink: this.reporter,
			logger: this.logger,
			counters: this.metrics,
			whatsapp: {
				listenIp: this.config.rtc.listenIp,
				announcedAddress: this.config.rtc.announcedAddress,
				...(this.config.whatsappPortRange ? { portRange: this.config.whatsappPortRange } : {}),
				timeouts: { connectTimeoutSec: this.config.whatsappConnectTimeoutSec, mediaTimeoutSec: this.config.whatsappMediaTimeoutSec },
			},
			timeouts: {
				emptyTimeoutSec: request.emptyTimeoutSec ?? this.config.emptyRoomTimeoutSec,
				ringTimeoutSec: request.ringTimeoutSec ?? this.config.ringTimeoutSec,
				maxDurationSec: request.maxDurationSec ?? this.config.maxCallDurationSec,
				qualityIntervalSec: this.config.qualityIntervalSec,
				qualityReportSec: this.config.qualityReportSec,
			},
		});
		this.#creating.set(request.callId, creating);
		let room: Room;
		try {
			room = await creating;
		} finally {
			this.#creating.delete(request.callId);
		}
		this.#rooms.set(room.callId, room);
		room.once('close', () => {
			this.#rooms.delete(room.callId);
			this.#ended.set(room.callId, room.status());
			if (this.#ended.size > ENDED_ROOMS_KEPT) this.#ended.delete(this.#ended.keys().next().value as string);
		});
		return { status: room.status(), created: true };
	}

	/** Ends a live call (idempotent: an ended call returns its final status). */
	endCall(callId: string, reason: EndReason): RoomStatus {
		const room = this.#rooms.get(callId);
		if (!room) {
			const ended = this.#ended.get(callId);
			if (ended) return ended;
			throw new NotFoundError('Room', callId);
		}
		room.close('ended', reason);
		return this.#ended.get(callId) ?? room.status();
	}

	/** A user-initiated WhatsApp call: the leg answers Meta's offer (idempotent for a retried request). */
	async answerWhatsApp(callId: string, request: WhatsAppAnswerRequest): Promise<WhatsAppSession> {
		if (this.#draining) throw new DrainingError();
		const leg = await this.assertAndGetRoom(callId).addWhatsAppLeg({ participantId: request.participantId, name: request.name, waCallId: request.waCallId, offer: request.offer });
		return { participantId: leg.id, waCallId: request.waCallId, sdpType: 'answer', sdp: leg.localSdp };
	}

	/** A business-initiated WhatsApp call: the leg's offer, for Graph connect. */
	async offerWhatsApp(callId: string, request: WhatsAppOfferRequest): Promise<WhatsAppSession> {
		if (this.#draining) throw new DrainingError();
		const leg = await this.assertAndGetRoom(callId).addWhatsAppLeg({ participantId: request.participantId, name: request.name });
		return { participantId: leg.id, ...(leg.waCallId ? { waCallId: leg.waCallId } : {}), sdpType: 'offer', sdp: leg.localSdp };
	}

	applyWhatsAppAnswer(callId: string, request: WhatsAppRemoteAnswerRequest): RoomStatus {
		const room = this.assertAndGetRoom(callId);
		room.applyWhatsAppAnswer(request.participantId, request.answer, request.waCallId);
		return room.status();
	}

	/** Ends a WhatsApp leg (idempotent once the call has ended: its final status). */
	endWhatsAppLeg(callId: string, request: WhatsAppEndRequest): RoomStatus {
		const room = this.#rooms.get(callId);
		if (!room) {
			const ended = this.#ended.get(callId);
			if (ended) return ended;
			throw new NotFoundError('Room', callId);
		}
		room.endWhatsAppLeg(request.participantId, request.reason ?? 'hangup');
		return this.#ended.get(callId) ?? room.status();
	}

	async callStatus(callId: string): Promise<RoomStatus> {
		const room = this.#rooms.get(callId);
		if (!room) {
			const ended = this.#ended.get(callId);
			if (ended) return ended;
			throw new NotFoundError('Room', callId);
		}
		const status = room.status();
		const samples = await room.stats().catch(() => []);
		for (const participant of status.participants) participant.quality = samples.filter((s) => s.participantId === participant.participantId);
		return status;
	}

	/** The calls this sidecar still knows, for Frappe's reconciliation: whatever is in neither list was lost. */
	listRooms(): RoomList {
		const rooms = [...this.#rooms.values()].map((room) => ({ callId: room.callId, state: room.state, createdAt: room.createdAt.toISOString() }));
		const now = new Date().toISOString();
		for (const callId of this.#creating.keys()) if (!this.#rooms.has(callId)) rooms.push({ callId, state: 'created', createdAt: now });
		return {
			sidecarId: this.config.sidecarId,
			startedAt: new Date(this.startedAt).toISOString(),
			rooms,
			unreportedCallIds: this.reporter.undeliveredCallIds(),
		};
	}

	async health(): Promise<Health> {
		await this.#pool.sampleCpu();
		const workers = this.#pool.slots.map((slot) => ({
			pid: slot.worker.pid,
			alive: !slot.worker.died && !slot.worker.closed,
			rooms: slot.rooms,
			...(slot.cpuPercent !== undefined ? { cpuPercent: Math.round(slot.cpuPercent * 10) / 10 } : {}),
		}));
		let participants = 0;
		for (const room of this.#rooms.values()) participants += room.legs.size;
		return {
			status: this.#draining ? 'draining' : workers.every((w) => w.alive) && workers.length > 0 ? 'ok' : 'degraded',
			version: SIDECAR_VERSION,
			uptimeSec: Math.round((Date.now() - this.startedAt) / 100) / 10,
			workers,
			rooms: this.#rooms.size,
			participants,
			outboxPending: this.reporter.pending,
		};
	}

	/**
	 * Graceful stop: refuse new calls and connections, warn the people on live calls
	 * (call:ending), give those calls up to graceMs to end, end the rest
	 * (sidecar_shutdown), flush the reporter, close.
	 */
	async drain(graceMs = this.config.drainGraceSec * 1000): Promise<void> {
		if (this.#closed) return;
		this.#draining = true;
		this.logger.info({ rooms: this.#rooms.size, graceMs }, 'draining');
		const deadline = Date.now() + graceMs;
		if (graceMs > 0) for (const room of this.#rooms.values()) room.warnEnding('sidecar_shutdown', deadline);
		while (this.#rooms.size > 0 && Date.now() < deadline) await sleep(Math.min(200, Math.max(1, deadline - Date.now())));
		for (const room of [...this.#rooms.values()]) room.close('ended', 'sidecar_shutdown');
		const flushed = await this.reporter.drain(10_000);
		if (!flushed && this.config.frappe) this.logger.warn({ pending: this.reporter.pending }, 'outbox not fully delivered; it is kept on disk for the next start');
		await this.close();
	}

	/** Ends every call (failed/sidecar_shutdown when not drained) and frees all resources. Idempotent. */
	async close(): Promise<void> {
		if (this.#closed) return;
		this.#closed = true;
		this.#draining = true;
		for (const room of [...this.#rooms.values()]) room.close('ended', 'sidecar_shutdown');
		await new Promise<void>((resolve) => {
			if (this.#io) void this.#io.close(() => resolve());
			else this.#http.close(() => resolve());
			this.#http.closeAllConnections();
		});
		this.#pool.close();
		this.reporter.close();
		this.logger.info('sidecar closed');
	}

	async #listen(): Promise<void> {
		this.#io = createSignalingServer({
			httpServer: this.#http,
			secret: this.config.secret,
			logger: this.logger,
			getRoom: (callId) => this.#rooms.get(callId),
			isDraining: () => this.#draining,
		});
		await new Promise<void>((resolve, reject) => {
			this.#http.once('error', reject);
			this.#http.listen(this.config.port, this.config.host, () => {
				this.#http.off('error', reject);
				resolve();
			});
		});
		this.logger.info({ url: this.url, demo: this.config.demo ? `${this.url}/demo/` : undefined }, 'sidecar listening');
	}
}

function createDefaultReporter(config: SidecarConfig, logger: Logger): Promise<CallEventReporterLike> {
	return CallEventReporter.create({
		outboxPath: config.outboxPath,
		frappeUrl: config.frappe?.url,
		apiKey: config.frappe?.apiKey,
		apiSecret: config.frappe?.apiSecret,
		logger,
		sidecarId: config.sidecarId,
	});
}

function sleep(ms: number): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Starts a sidecar (HTTP + socket.io on config.host:config.port, 0 = ephemeral). */
export function createSidecar(config: SidecarConfig, options?: SidecarOptions): Promise<Sidecar> {
	return Sidecar.create(config, options);
}
