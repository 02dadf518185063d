import { randomInt } from 'node:crypto';

export const OPUS_CLOCK_RATE = 48000;
export const OPUS_FRAME_MS = 20;
const SAMPLES_PER_FRAME = (OPUS_CLOCK_RATE * OPUS_FRAME_MS) / 1000;
const RTP_HEADER_BYTES = 12;

/**
 * One 20 ms Opus frame of silence (TOC 0xf8: CELT fullband 20 ms, mono, one frame;
 * then the two bytes every Opus decoder reads as digital silence), as WebRTC stacks send.
 */
export const OPUS_SILENCE_FRAME: Readonly<Buffer> = Buffer.from([0xf8, 0xff, 0xfe]);

/** RTP version 2 with a payload type outside the RTCP range (RFC 5761 §4). */
export function isRtp(packet: Buffer): boolean {
	if (packet.length < RTP_HEADER_BYTES || packet[0]! >> 6 !== 2) return false;
	const pt = packet[1]! & 0x7f;
	return pt < 64 || pt > 95;
}

export function isRtcp(packet: Buffer): boolean {
	if (packet.length < 8 || packet[0]! >> 6 !== 2) return false;
	return packet[1]! >= 192 && packet[1]! <= 223;
}

export function rtpPayloadType(packet: Buffer): number {
	return packet[1]! & 0x7f;
}

export function rtpSequence(packet: Buffer): number {
	return packet.readUInt16BE(2);
}

export function rtpTimestamp(packet: Buffer): number {
	return packet.readUInt32BE(4);
}

export function rtpSsrc(packet: Buffer): number {
	return packet.readUInt32BE(8);
}

/** a - b for 16-bit sequence numbers, in -32768..32767. */
export function sequenceDiff(a: number, b: number): number {
	return ((a - b + 0x8000) & 0xffff) - 0x8000;
}

export interface RtpStreamOptions {
	/** The SSRC every packet leaves with (the one our SDP announced). */
	ssrc: number;
	payloadType: number;
	/** Where sequence numbers and timestamps start (random by default, RFC 3550). */
	initialSequence?: number;
	initialTimestamp?: number;
}

interface SourceMapping {
	ssrc: number;
	/** The first input sequence number of this mapping: anything older is dropped. */
	baseSequence: number;
	sequenceOffset: number;
	timestampOffset: number;
}

/**
 * One outgoing RTP stream fed by several sources in turn (a consumer, then another,
 * silence in the gaps): every packet leaves with one SSRC, one payload type and
 * sequence numbers and timestamps that never restart, because the far end's SRTP
 * replay protection silently drops a stream that jumps back (§3). Within a source,
 * gaps and reordering are kept as they are (the far end measures loss from them);
 * at a change of source the new one continues right after the last packet sent,
 * its timestamp advanced by the time that went by.
 */
export class RtpStream {
	readonly ssrc: number;
	readonly payloadType: number;
	#sequence: number;
	#timestamp: number;
	#lastSentAtMs?: number;
	#source?: SourceMapping;
	#packets = 0;
	#octets = 0;

	constructor(options: RtpStreamOptions) {
		this.ssrc = options.ssrc >>> 0;
		this.payloadType = options.payloadType;
		// The "previous" packet, so the first one sent carries exactly the initial values.
		this.#sequence = ((options.initialSequence ?? randomInt(0, 0x8000)) - 1) & 0xffff;
		this.#timestamp = options.initialTimestamp ?? randomInt(0, 0x7fffffff);
	}

	/** Packets and payload bytes sent so far (for RTCP sender reports). */
	get packets(): number {
		return this.#packets;
	}

	get octets(): number {
		return this.#octets;
	}

	/** The last sequence number and timestamp sent (before any packet: the ones before the first). */
	get lastSequence(): number {
		return this.#sequence;
	}

	get lastTimestamp(): number {
		return this.#timestamp;
	}

	get lastSentAtMs(): number | undefined {
		return this.#lastSentAtMs;
	}

	/**
	 * Rewrites an RTP packet of a source in place (SSRC, payload type, sequence number,
	 * timestamp). Returns false when the packet must be dropped: older than the start
	 * of its source's mapping, so its number may already have been used.
	 */
	rewrite(packet: Buffer, nowMs: number): boolean {
		if (!isRtp(packet)) return false;
		const inSsrc = rtpSsrc(packet);
		const inSequence = rtpSequence(packet);
		const inTimestamp = rtpTimestamp(packet);
		let source = this.#source;
		let first = false;
		if (!source || source.ssrc !== inSsrc) {
			source = this.#newMapping(inSsrc, inSequence, inTimestamp, nowMs);
			first = true;
		} else if (sequenceDiff(inSequence, source.baseSequence) < 0) {
			return false;
		}
		const sequence = (inSequence + source.sequenceOffset) & 0xffff;
		const timestamp = (inTimestamp + source.timestampOffset) >>> 0;
		// The marker bit starts a talkspurt: the far end's jitter buffer may adapt at it.
		packet[1] = (first ? 0x80 : packet[1]! & 0x80) | this.payloadType;
		packet.writeUInt16BE(sequence, 2);
		packet.writeUInt32BE(timestamp, 4);
		packet.writeUInt32BE(this.ssrc, 8);
		this.#sent(sequence, timestamp, packet.length - RTP_HEADER_BYTES, nowMs);
		return true;
	}

	/** A 20 ms Opus silence packet continuing the stream; the next source packet starts a new mapping. */
	silence(nowMs: number): Buffer {
		const sequence = (this.#sequence + 1) & 0xffff;
		const timestamp = (this.#timestamp + this.#advance(nowMs)) >>> 0;
		const packet = Buffer.alloc(RTP_HEADER_BYTES + OPUS_SILENCE_FRAME.length);
		packet[0] = 0x80;
		packet[1] = this.payloadType;
		packet.writeUInt16BE(sequence, 2);
		packet.writeUInt32BE(timestamp, 4);
		packet.writeUInt32BE(this.ssrc, 8);
		OPUS_SILENCE_FRAME.copy(packet, RTP_HEADER_BYTES);
		this.#source = undefined;
		this.#sent(sequence, timestamp, OPUS_SILENCE_FRAME.length, nowMs);
		return packet;
	}

	/** The source changed (another consumer): its next packet continues the stream. */
	rebase(): void {
		this.#source = undefined;
	}

	#newMapping(ssrc: number, inSequence: number, inTimestamp: number, nowMs: number): SourceMapping {
		const sequence = (this.#sequence + 1) & 0xffff;
		const timestamp = (this.#timestamp + this.#advance(nowMs)) >>> 0;
		this.#source = {
			ssrc,
			baseSequence: inSequence,
			sequenceOffset: (sequence - inSequence) & 0xffff,
			timestampOffset: (timestamp - inTimestamp) >>> 0,
		};
		return this.#source;
	}

	/** Timestamp units since the last packet sent: whole frames of wall time, at least one (none before the first). */
	#advance(nowMs: number): number {
		if (this.#lastSentAtMs === undefined) return 0;
		return Math.max(1, Math.round((nowMs - this.#lastSentAtMs) / OPUS_FRAME_MS)) * SAMPLES_PER_FRAME;
	}

	#sent(sequence: number, timestamp: number, payloadBytes: number, nowMs: number): void {
		// A late packet of the current source does not move the stream back.
		if (this.#packets === 0 || sequenceDiff(sequence, this.#sequence) > 0) {
			this.#sequence = sequence;
			this.#timestamp = timestamp;
		}
		this.#lastSentAtMs = nowMs;
		this.#packets++;
		this.#octets += payloadBytes;
	}
}

/** A reception report block of an RTCP SR or RR (RFC 3550 §6.4.1). */
export interface ReceptionReport {
	/** The SSRC the report is about. */
	ssrc: number;
	/** Fraction lost since the previous report, 0..1. */
	fractionLost: number;
	cumulativeLost: number;
	/** Interarrival jitter in timestamp units. */
	jitter: number;
	/** Middle 32 bits of the NTP time of the last SR received, 0 if none. */
	lastSenderReport: number;
	/** Delay since that SR, in 1/65536 s. */
	delaySinceLastSenderReport: number;
}

/** The reception report blocks in a (compound) RTCP packet; malformed parts end the walk. */
export function parseReceptionReports(packet: Buffer): ReceptionReport[] {
	const reports: ReceptionReport[] = [];
	let offset = 0;
	while (offset + 8 <= packet.length) {
		const count = packet[offset]! & 0x1f;
		const type = packet[offset + 1]!;
		const length = (packet.readUInt16BE(offset + 2) + 1) * 4;
		if (packet[offset]! >> 6 !== 2 || offset + length > packet.length) break;
		const first = type === 200 ? offset + 28 : type === 201 ? offset + 8 : -1;
		if (first >= 0) {
			for (let i = 0; i < count && first + (i + 1) * 24 <= offset + length; i++) {
				const at = first + i * 24;
				const lost = packet.readUIntBE(at + 5, 3);
				reports.push({
					ssrc: packet.readUInt32BE(at),
					fractionLost: packet[at + 4]! / 256,
					cumulativeLost: lost & 0x800000 ? lost - 0x1000000 : lost,
					jitter: packet.readUInt32BE(at + 12),
					lastSenderReport: packet.readUInt32BE(at + 16),
					delaySinceLastSenderReport: packet.readUInt32BE(at + 20),
				});
			}
		}
		offset += length;
	}
	return reports;
}

const NTP_EPOCH_OFFSET_SEC = 2_208_988_800;

/** NTP time of a Unix time in ms: [seconds, fraction] (RFC 3550 §4). */
export function ntpTime(unixMs: number): [number, number] {
	const seconds = Math.floor(unixMs / 1000);
	const fraction = Math.floor(((unixMs - seconds * 1000) / 1000) * 0x1_0000_0000);
	return [(seconds + NTP_EPOCH_OFFSET_SEC) >>> 0, fraction >>> 0];
}

/** The middle 32 bits of the NTP time, as LSR carries it. */
export function ntpMiddle(unixMs: number): number {
	const [seconds, fraction] = ntpTime(unixMs);
	return (((seconds & 0xffff) << 16) | (fraction >>> 16)) >>> 0;
}

/**
 * An RTCP sender report without report blocks for the stream (RFC 3550 §6.4.1): its
 * RTP timestamp is the last one sent, advanced by the time since (`nowMs` on the
 * stream's clock), so the far end can map it to `unixMs`.
 */
export function senderReport(stream: RtpStream, unixMs: number, nowMs: number): Buffer {
	const packet = Buffer.alloc(28);
	packet[0] = 0x80;
	packet[1] = 200;
	packet.writeUInt16BE(28 / 4 - 1, 2);
	packet.writeUInt32BE(stream.ssrc, 4);
	const [seconds, fraction] = ntpTime(unixMs);
	packet.writeUInt32BE(seconds, 8);
	packet.writeUInt32BE(fraction, 12);
	const since = stream.lastSentAtMs === undefined ? 0 : Math.max(0, Math.round(((nowMs - stream.lastSentAtMs) * OPUS_CLOCK_RATE) / 1000));
	packet.writeUInt32BE((stream.lastTimestamp + since) >>> 0, 16);
	packet.writeUInt32BE(stream.packets >>> 0, 20);
	packet.writeUInt32BE(stream.octets >>> 0, 24);
	return packet;
}

/** Round-trip time in ms from a report about our stream (null when it carries no SR echo). */
export function roundTripMs(report: ReceptionReport, unixMs: number): number | null {
	if (report.lastSenderReport === 0) return null;
	const rtt = (ntpMiddle(unixMs) - report.lastSenderReport - report.delaySinceLastSenderReport) >>> 0;
	// Anything above a minute is a wrapped or bogus echo.
	const ms = (rtt / 65536) * 1000;
	return ms > 60_000 ? null : ms;
}
