import { describe, expect, it } from 'vitest';
import {
	isRtcp,
	isRtp,
	ntpMiddle,
	OPUS_SILENCE_FRAME,
	parseReceptionReports,
	roundTripMs,
	RtpStream,
	rtpSequence,
	rtpSsrc,
	rtpTimestamp,
	senderReport,
	sequenceDiff,
} from '../src/whatsapp/rtp.js';

function rtp(ssrc: number, sequence: number, timestamp: number, payloadType = 100, payload = Buffer.from([0x78, 1, 2, 3])): Buffer {
	const packet = Buffer.alloc(12 + payload.length);
	packet[0] = 0x80;
	packet[1] = payloadType;
	packet.writeUInt16BE(sequence & 0xffff, 2);
	packet.writeUInt32BE(timestamp >>> 0, 4);
	packet.writeUInt32BE(ssrc, 8);
	payload.copy(packet, 12);
	return packet;
}

/** Feeds packets of one source every 20 ms from `at`; returns what left. */
function feed(stream: RtpStream, ssrc: number, firstSeq: number, firstTs: number, count: number, at: number): { out: Buffer[]; at: number } {
	const out: Buffer[] = [];
	for (let i = 0; i < count; i++) {
		const packet = rtp(ssrc, firstSeq + i, firstTs + 960 * i);
		if (stream.rewrite(packet, at)) out.push(packet);
		at += 20;
	}
	return { out, at };
}

function expectContinuous(packets: Buffer[], ssrc: number): void {
	for (const p of packets) expect(rtpSsrc(p)).toBe(ssrc);
	for (let i = 1; i < packets.length; i++) {
		expect(sequenceDiff(rtpSequence(packets[i]!), rtpSequence(packets[i - 1]!))).toBe(1);
		const dt = (rtpTimestamp(packets[i]!) - rtpTimestamp(packets[i - 1]!)) >>> 0;
		expect(dt).toBeGreaterThan(0);
		expect(dt).toBeLessThan(48000);
	}
}

describe('RtpStream', () => {
	it('sends with its own SSRC and payload type, from the initial sequence number and timestamp', () => {
		const stream = new RtpStream({ ssrc: 0xdeadbeef, payloadType: 111, initialSequence: 65534, initialTimestamp: 0xffffff00 });
		const { out } = feed(stream, 42, 1000, 5000, 4, 0);
		expect(out.map(rtpSequence)).toEqual([65534, 65535, 0, 1]);
		expect(out.map(rtpTimestamp)).toEqual([0xffffff00, (0xffffff00 + 960) >>> 0, (0xffffff00 + 1920) >>> 0, (0xffffff00 + 2880) >>> 0]);
		expect(out.map((p) => p[1]! & 0x7f)).toEqual([111, 111, 111, 111]);
		expect(out[0]![1]! & 0x80).toBe(0x80);
		expectContinuous(out, 0xdeadbeef);
		expect([stream.packets, stream.octets]).toEqual([4, 16]);
	});

	it('continues right after the last packet when the source changes, never restarting', () => {
		const stream = new RtpStream({ ssrc: 7, payloadType: 111 });
		const first = feed(stream, 1, 30000, 123, 10, 0);
		// The new consumer starts its own numbering far below (a restart is what SRTP replay protection drops).
		const second = feed(stream, 2, 5, 9, 10, first.at + 100);
		const all = [...first.out, ...second.out];
		expectContinuous(all, 7);
		// The gap in time shows in the timestamp: 100 ms later plus one frame.
		expect((rtpTimestamp(second.out[0]!) - rtpTimestamp(first.out.at(-1)!)) >>> 0).toBe(960 * 6);
		// Back to the first source (its numbering went on meanwhile): still continuous.
		const third = feed(stream, 1, 30500, 500 * 960, 5, second.at);
		expectContinuous([...all, ...third.out], 7);
	});

	it('fills gaps with 20 ms Opus silence and continues the stream after it', () => {
		const stream = new RtpStream({ ssrc: 9, payloadType: 111 });
		const silence = [stream.silence(0), stream.silence(20), stream.silence(40)];
		for (const packet of silence) expect(packet.subarray(12)).toEqual(OPUS_SILENCE_FRAME);
		expect(silence.map(rtpTimestamp).map((t) => (t - rtpTimestamp(silence[0]!)) >>> 0)).toEqual([0, 960, 1920]);
		const audio = feed(stream, 3, 100, 0, 5, 60);
		const more = [stream.silence(200)];
		const again = feed(stream, 3, 105, 5 * 960, 3, 220);
		expectContinuous([...silence, ...audio.out, ...more, ...again.out], 9);
	});

	it('keeps loss and reordering within a source, and drops what predates the source\'s start', () => {
		const stream = new RtpStream({ ssrc: 5, payloadType: 111, initialSequence: 10 });
		const a = rtp(1, 500, 0);
		const lostOne = rtp(1, 502, 1920);
		const late = rtp(1, 501, 960);
		const beforeStart = rtp(1, 499, 0);
		expect([stream.rewrite(a, 0), stream.rewrite(lostOne, 40), stream.rewrite(late, 45), stream.rewrite(beforeStart, 46)]).toEqual([true, true, true, false]);
		expect([a, lostOne, late].map(rtpSequence)).toEqual([10, 12, 11]);
		// A late packet does not move the stream back: the next source continues after 12.
		const next = rtp(2, 0, 0);
		stream.rewrite(next, 60);
		expect(rtpSequence(next)).toBe(13);
	});

	it('refuses what is not RTP', () => {
		const stream = new RtpStream({ ssrc: 5, payloadType: 111 });
		expect(stream.rewrite(Buffer.from([0x80, 200, 0, 6, 0, 0, 0, 0]), 0)).toBe(false);
		expect(stream.rewrite(Buffer.alloc(5), 0)).toBe(false);
		expect(stream.packets).toBe(0);
	});
});

describe('RTCP', () => {
	it('tells RTP from RTCP (RFC 5761)', () => {
		expect(isRtp(rtp(1, 1, 1, 111))).toBe(true);
		const rr = Buffer.from([0x80, 201, 0, 1, 0, 0, 0, 1]);
		expect([isRtp(rr), isRtcp(rr)]).toEqual([false, true]);
	});

	it('reads the report blocks of a compound SR + RR and computes the RTT from our sender report', () => {
		const stream = new RtpStream({ ssrc: 0xabcdef01, payloadType: 111 });
		feed(stream, 1, 0, 0, 50, 0);
		const sentAt = 1_800_000_000_000;
		const sr = senderReport(stream, sentAt, 1000);
		expect(sr.readUInt32BE(4)).toBe(0xabcdef01);
		expect(sr.readUInt32BE(20)).toBe(50);
		// The far end answers 250 ms later after holding our SR for 200 ms: RTT 50 ms.
		const block = (ssrc: number) => {
			const b = Buffer.alloc(24);
			b.writeUInt32BE(ssrc, 0);
			b[4] = 64; // 25 %
			b.writeUIntBE(7, 5, 3);
			b.writeUInt32BE(480, 12);
			b.writeUInt32BE(ntpMiddle(sentAt), 16);
			b.writeUInt32BE(Math.round(0.2 * 65536), 20);
			return b;
		};
		const senderPart = Buffer.concat([Buffer.from([0x81, 200, 0, 12]), Buffer.alloc(24), block(0x1111)]);
		const receiverPart = Buffer.concat([Buffer.from([0x81, 201, 0, 7]), Buffer.alloc(4), block(0xabcdef01)]);
		const reports = parseReceptionReports(Buffer.concat([senderPart, receiverPart]));
		expect(reports.map((r) => r.ssrc)).toEqual([0x1111, 0xabcdef01]);
		const ours = reports[1]!;
		expect(ours).toMatchObject({ fractionLost: 0.25, cumulativeLost: 7, jitter: 480 });
		expect(roundTripMs(ours, sentAt + 250)).toBeCloseTo(50, 0);
		expect(roundTripMs({ ...ours, lastSenderReport: 0 }, sentAt)).toBeNull();
	});

	it('stops at a malformed packet', () => {
		expect(parseReceptionReports(Buffer.from([0x81, 201, 0, 40, 0, 0, 0, 1]))).toEqual([]);
	});
});
