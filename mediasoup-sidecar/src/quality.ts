import type { types as ms } from 'mediasoup';
import type { CallEventPayloads } from './events.js';

type QualitySummaryPayload = CallEventPayloads['quality.summary'];
import type { Leg } from './legs/index.js';
import type { QualitySample } from './types.js';

/** Running totals for /metrics, fed with the deltas between samples. */
export interface QualityCounters {
	addRtp(direction: 'inbound' | 'outbound', packets: number, bytes: number): void;
}

interface Totals {
	packets: number;
	bytes: number;
	lost: number;
}

const OPUS_CLOCK_RATE = 48000;
const previous = new WeakMap<Leg, Record<'inbound' | 'outbound', Totals>>();

/**
 * One sample per direction the leg has: inbound from its producers'
 * receive streams, outbound from its consumers' send streams (or, for a leg whose
 * far end is outside mediasoup, from its FarEndReport). Loss is over the
 * interval since the previous committed sample; jitter is converted from RTP
 * timestamp units to ms.
 */
export async function sampleLeg(leg: Leg, counters?: QualityCounters, commit = counters !== undefined): Promise<QualitySample[]> {
	const prev = previous.get(leg) ?? { inbound: zero(), outbound: zero() };
	const next = { ...prev };
	const samples: QualitySample[] = [];

	const far = leg.farEndReport();
	const directions: ['inbound' | 'outbound', () => Promise<ms.RtpStreamRecvStats[] | ms.RtpStreamSendStats[]>, number][] = [
		['inbound', () => collect([...leg.producers.values()], 'inbound-rtp'), leg.producers.size],
		['outbound', () => collect([...leg.consumers.values()], 'outbound-rtp'), far ? 1 : leg.consumers.size],
	];
	for (const [direction, read, count] of directions) {
		if (count === 0) continue;
		const external = direction === 'outbound' ? far : undefined;
		const stats = external ? [] : await read();
		const totals: Totals = { packets: external?.packets ?? 0, bytes: external?.bytes ?? 0, lost: 0 };
		let bitrate = external ? external.bitrateKbps * 1000 : 0;
		let jitter = 0;
		const rtts: number[] = [];
		for (const s of stats) {
			totals.packets += s.packetCount;
			totals.bytes += s.byteCount;
			totals.lost += Math.max(0, s.packetsLost);
			bitrate += s.bitrate;
			jitter = Math.max(jitter, s.jitter);
			if (typeof s.roundTripTime === 'number' && s.roundTripTime > 0) rtts.push(s.roundTripTime);
		}
		const before = prev[direction];
		const dPackets = Math.max(0, totals.packets - before.packets);
		const dLost = Math.max(0, totals.lost - before.lost);
		const dBytes = Math.max(0, totals.bytes - before.bytes);
		const rtt = far?.rttMs ?? (rtts.length ? rtts.reduce((a, b) => a + b, 0) / rtts.length : null);
		samples.push({
			participantId: leg.id,
			role: leg.role,
			direction,
			packetLossPct: external ? round(external.packetLossPct ?? 0) : dLost + dPackets > 0 ? round((100 * dLost) / (dLost + dPackets)) : 0,
			jitterMs: external ? round(external.jitterMs ?? 0) : round((1000 * jitter) / OPUS_CLOCK_RATE),
			rttMs: rtt === null ? null : round(rtt),
			bitrateKbps: round(bitrate / 1000),
			packets: totals.packets,
			bytes: totals.bytes,
		});
		next[direction] = totals;
		if (commit) counters?.addRtp(direction, dPackets, dBytes);
	}
	if (commit) previous.set(leg, next);
	return samples;
}

/** Running means of quality samples; RTT over the samples that had one. */
class Means {
	samples = 0;
	#lossSum = 0;
	#jitterSum = 0;
	#bitrateSum = 0;
	#rttSum = 0;
	#rttSamples = 0;

	add(sample: QualitySample): void {
		this.samples++;
		this.#lossSum += sample.packetLossPct;
		this.#jitterSum += sample.jitterMs;
		this.#bitrateSum += sample.bitrateKbps;
		if (typeof sample.rttMs === 'number') {
			this.#rttSum += sample.rttMs;
			this.#rttSamples++;
		}
	}

	figures(): Pick<QualitySummaryPayload, 'samples' | 'packetLossPct' | 'jitterMs' | 'rttMs' | 'bitrateKbps'> {
		const mean = (sum: number) => round(sum / this.samples);
		return {
			samples: this.samples,
			packetLossPct: Math.min(100, mean(this.#lossSum)),
			jitterMs: mean(this.#jitterSum),
			rttMs: this.#rttSamples > 0 ? round(this.#rttSum / this.#rttSamples) : null,
			bitrateKbps: mean(this.#bitrateSum),
		};
	}
}

/**
 * The call's quality for Frappe: running means over every sample of the call
 * (all legs, both directions), and the same per participant (both directions
 * of their leg), kept for the whole call so a participant who left keeps their
 * figures. The room reports it now and then instead of every sample.
 */
export class QualitySummary {
	readonly #call = new Means();
	readonly #participants = new Map<string, { role: QualitySample['role']; means: Means }>();
	#reportedSamples = 0;

	get samples(): number {
		return this.#call.samples;
	}

	/** Samples were added since the last take(). */
	get hasUnreportedSamples(): boolean {
		return this.#call.samples > this.#reportedSamples;
	}

	add(sample: QualitySample): void {
		this.#call.add(sample);
		let participant = this.#participants.get(sample.participantId);
		if (!participant) {
			participant = { role: sample.role, means: new Means() };
			this.#participants.set(sample.participantId, participant);
		}
		participant.means.add(sample);
	}

	/** The summary to report now; only meaningful once there is a sample (the contract wants samples >= 1). */
	take(final: boolean): QualitySummaryPayload {
		this.#reportedSamples = this.#call.samples;
		const participants: NonNullable<QualitySummaryPayload['participants']> = {};
		for (const [id, { role, means }] of this.#participants) participants[id] = { role, ...means.figures() };
		return { ...this.#call.figures(), final, participants };
	}
}

async function collect<T extends ms.RtpStreamRecvStats | ms.RtpStreamSendStats>(
	sources: { getStats(): Promise<unknown[]>; closed: boolean }[],
	type: 'inbound-rtp' | 'outbound-rtp',
): Promise<T[]> {
	const all = await Promise.all(sources.filter((s) => !s.closed).map((s) => s.getStats().catch(() => [])));
	return all.flat().filter((s): s is T => (s as { type?: string }).type === type);
}

function zero(): Totals {
	return { packets: 0, bytes: 0, lost: 0 };
}

function round(n: number): number {
	return Math.round(n * 100) / 100;
}
