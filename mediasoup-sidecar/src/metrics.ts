import client from 'prom-client';
import type { QualityCounters } from './quality.js';
import type { Room } from './Room.js';
import type { WorkerPool } from './WorkerPool.js';

/** Prometheus metrics on a registry of this sidecar instance (tests run several in one process). */
export class SidecarMetrics implements QualityCounters {
	readonly registry = new client.Registry();
	readonly #packets: client.Counter<'direction'>;
	readonly #bytes: client.Counter<'direction'>;
	readonly workerDeaths: client.Counter;

	constructor(source: { rooms: () => Iterable<Room>; pool: () => WorkerPool | undefined }) {
		const registers = [this.registry];
		client.collectDefaultMetrics({ register: this.registry, prefix: 'sidecar_' });
		const count = (pick: (room: Room) => number) => () => {
			let n = 0;
			for (const room of source.rooms()) n += pick(room);
			return n;
		};
		const legs = (room: Room) => [...room.legs.values()];
		const gauges: [string, string, () => number][] = [
			['sidecar_rooms', 'Live call rooms', count(() => 1)],
			['sidecar_participants', 'Connected participants', count((r) => r.legs.size)],
			['sidecar_transports', 'Transports of the legs (WebRtcTransports of browsers)', count((r) => legs(r).reduce((n, leg) => n + leg.transports.size, 0))],
			['sidecar_producers', 'Producers', count((r) => legs(r).reduce((n, leg) => n + leg.producers.size, 0))],
			['sidecar_consumers', 'Consumers', count((r) => legs(r).reduce((n, leg) => n + leg.consumers.size, 0))],
		];
		for (const [name, help, read] of gauges) {
			new client.Gauge({
				name,
				help,
				registers,
				collect() {
					this.set(read());
				},
			});
		}
		this.#packets = new client.Counter({ name: 'sidecar_rtp_packets_total', help: 'RTP packets through the SFU (sampled per quality interval)', labelNames: ['direction'], registers });
		this.#bytes = new client.Counter({ name: 'sidecar_rtp_bytes_total', help: 'RTP bytes through the SFU (sampled per quality interval)', labelNames: ['direction'], registers });
		for (const direction of ['inbound', 'outbound']) {
			this.#packets.inc({ direction }, 0);
			this.#bytes.inc({ direction }, 0);
		}
		this.workerDeaths = new client.Counter({ name: 'sidecar_worker_deaths_total', help: 'mediasoup workers that died', registers });
		new client.Gauge({
			name: 'sidecar_worker_cpu_seconds',
			help: 'CPU time used by each mediasoup worker (user + system)',
			labelNames: ['pid'],
			registers,
			async collect() {
				this.reset();
				const pool = source.pool();
				if (!pool) return;
				await Promise.all(
					pool.slots.map(async (slot) => {
						if (slot.worker.closed) return;
						const usage = await slot.worker.getResourceUsage().catch(() => undefined);
						if (usage) this.set({ pid: String(slot.worker.pid) }, (usage.ru_utime + usage.ru_stime) / 1000);
					}),
				);
			},
		});
		new client.Gauge({
			name: 'sidecar_worker_rooms',
			help: 'Rooms placed on each mediasoup worker',
			labelNames: ['pid'],
			registers,
			collect() {
				this.reset();
				for (const slot of source.pool()?.slots ?? []) this.set({ pid: String(slot.worker.pid) }, slot.rooms);
			},
		});
	}

	addRtp(direction: 'inbound' | 'outbound', packets: number, bytes: number): void {
		this.#packets.inc({ direction }, packets);
		this.#bytes.inc({ direction }, bytes);
	}
}
