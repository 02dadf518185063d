import { EventEmitter } from 'node:events';
import * as mediasoup from 'mediasoup';
import type { types as ms } from 'mediasoup';
import type { Logger } from 'pino';
import type { RtcConfig } from './config.js';
import { SidecarError } from './errors.js';

export interface WorkerSlot {
	readonly index: number;
	readonly worker: ms.Worker;
	/** Present in webrtc-server mode: every WebRtcTransport of this worker shares its port. */
	readonly webRtcServer?: ms.WebRtcServer;
	/** Live rooms placed on this worker (kept by the rooms themselves). */
	rooms: number;
	/** Last CPU sample (percent of one core) from getResourceUsage. */
	cpuPercent?: number;
	cpuSample?: { atMs: number; cpuMs: number };
}

type WorkerPoolEvents = {
	/** A worker died; its replacement (if any) is already in the pool. */
	workerdied: [slot: WorkerSlot, error: Error];
};

export interface WorkerPoolOptions {
	numWorkers: number;
	rtc: RtcConfig;
	workerBin?: string;
	logger: Logger;
}

/**
 * Owns the mediasoup workers. Rooms hold routers on them and learn of a dead
 * worker from their router's 'workerclose'; the pool only replaces the worker.
 */
export class WorkerPool extends EventEmitter<WorkerPoolEvents> {
	readonly #slots: WorkerSlot[] = [];
	readonly #options: WorkerPoolOptions;
	readonly #logger: Logger;
	#closed = false;

	static async create(options: WorkerPoolOptions): Promise<WorkerPool> {
		const pool = new WorkerPool(options);
		try {
			for (let i = 0; i < options.numWorkers; i++) pool.#slots.push(await pool.#createSlot(i));
		} catch (err) {
			pool.close();
			throw err;
		}
		return pool;
	}

	private constructor(options: WorkerPoolOptions) {
		super();
		this.#options = options;
		this.#logger = options.logger.child({ module: 'workers' });
	}

	get slots(): readonly WorkerSlot[] {
		return this.#slots;
	}

	get closed(): boolean {
		return this.#closed;
	}

	/** The alive worker with the fewest rooms (ties: lowest index). */
	leastLoaded(): WorkerSlot {
		let best: WorkerSlot | undefined;
		for (const slot of this.#slots) {
			if (slot.worker.died || slot.worker.closed) continue;
			if (!best || slot.rooms < best.rooms) best = slot;
		}
		if (!best) throw new SidecarError('internal', 'no mediasoup worker is alive', 503, 'no_worker_available');
		return best;
	}

	webRtcTransportOptions(slot: WorkerSlot): ms.WebRtcTransportOptions {
		const { rtc } = this.#options;
		// Consent: without STUN from the browser for this long, ICE goes 'disconnected' (the call 'reconnecting').
		const common = { enableUdp: true, enableTcp: true, preferUdp: true, initialAvailableOutgoingBitrate: 64_000, iceConsentTimeout: rtc.iceConsentTimeoutSec };
		if (slot.webRtcServer) return { ...common, webRtcServer: slot.webRtcServer };
		if (rtc.mode !== 'port-range') throw new Error('webrtc-server mode without a WebRtcServer');
		const base = { ip: rtc.listenIp, announcedAddress: rtc.announcedAddress, portRange: { min: rtc.minPort, max: rtc.maxPort } };
		return { ...common, listenInfos: [{ ...base, protocol: 'udp' }, { ...base, protocol: 'tcp' }] };
	}

	/** CPU percent of each worker since the previous call (for /health and /metrics). */
	async sampleCpu(): Promise<void> {
		await Promise.all(
			this.#slots.map(async (slot) => {
				if (slot.worker.closed) return;
				try {
					const usage = await slot.worker.getResourceUsage();
					const cpuMs = usage.ru_utime + usage.ru_stime;
					const atMs = performance.now();
					if (slot.cpuSample && atMs > slot.cpuSample.atMs) {
						slot.cpuPercent = Math.max(0, (100 * (cpuMs - slot.cpuSample.cpuMs)) / (atMs - slot.cpuSample.atMs));
					}
					slot.cpuSample = { atMs, cpuMs };
				} catch {
					// A worker closing during the sample is reported by 'died'.
				}
			}),
		);
	}

	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		for (const slot of this.#slots) slot.worker.close();
	}

	async #createSlot(index: number): Promise<WorkerSlot> {
		const { rtc, workerBin } = this.#options;
		const worker = await mediasoup.createWorker({
			logLevel: 'warn',
			...(workerBin ? { workerBin } : {}),
			...(rtc.mode === 'port-range' ? { rtcMinPort: rtc.minPort, rtcMaxPort: rtc.maxPort } : {}),
		});
		// mediasoup closes every worker on SIGINT/SIGTERM by itself; the sidecar drains calls
		// first and closes the pool last, so the pool alone decides when a worker ends.
		const onSignal = (worker as unknown as { onSignal?: (...args: unknown[]) => void }).onSignal;
		if (onSignal) {
			process.removeListener('SIGINT', onSignal);
			process.removeListener('SIGTERM', onSignal);
		}
		let webRtcServer: ms.WebRtcServer | undefined;
		if (rtc.mode === 'webrtc-server') {
			// basePort 0: let the worker pick free ports (tests).
			const info = { ip: rtc.listenIp, announcedAddress: rtc.announcedAddress, ...(rtc.basePort ? { port: rtc.basePort + index } : {}) };
			try {
				webRtcServer = await worker.createWebRtcServer({
					listenInfos: [
						{ ...info, protocol: 'udp' },
						{ ...info, protocol: 'tcp' },
					],
				});
			} catch (err) {
				worker.close();
				throw err;
			}
		}
		const slot: WorkerSlot = { index, worker, webRtcServer, rooms: 0 };
		worker.on('died', (error) => this.#onDied(slot, error));
		this.#logger.info({ pid: worker.pid, index, port: rtc.mode === 'webrtc-server' ? rtc.basePort + index : undefined }, 'mediasoup worker started');
		return slot;
	}

	#onDied(slot: WorkerSlot, error: Error): void {
		this.#logger.error({ pid: slot.worker.pid, index: slot.index, err: error }, 'mediasoup worker died');
		if (this.#closed) return;
		// Replace before telling anyone, so a new call placed right away finds a worker.
		const replace = async (attempt: number): Promise<void> => {
			try {
				const fresh = await this.#createSlot(slot.index);
				if (this.#closed) {
					fresh.worker.close();
					return;
				}
				const at = this.#slots.indexOf(slot);
				if (at >= 0) this.#slots[at] = fresh;
				else fresh.worker.close();
			} catch (err) {
				this.#logger.error({ err, index: slot.index, attempt }, 'could not replace the mediasoup worker');
				if (attempt < 5 && !this.#closed) setTimeout(() => void replace(attempt + 1), 500 * attempt).unref();
			}
		};
		void replace(1);
		this.emit('workerdied', slot, error);
	}
}
