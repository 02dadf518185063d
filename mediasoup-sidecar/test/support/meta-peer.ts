import { randomBytes, randomInt } from 'node:crypto';
import * as mediasoup from 'mediasoup';
import type { types as ms } from 'mediasoup';
import * as sdpTransform from 'sdp-transform';

/** Meta's Opus line as seen in the field (§3 of WHATSAPP.md). */
export const META_OPUS_FMTP = 'maxaveragebitrate=20000;maxplaybackrate=16000;minptime=20;sprop-maxcapturerate=16000;useinbandfec=1';

/** How the peer's SDP deviates from Meta's usual shape (the SDP edge cases). */
export interface MetaSdpShape {
	/** Where a=ice-lite goes (Meta: session). */
	iceLite?: 'session' | 'media';
	/** The audio line's mid (Meta's own; the leg must answer with it). */
	mid?: string;
	/** Also offer PCMU and G722 before Opus. */
	extraCodecs?: boolean;
	/** Also offer telephone-event/8000 (PT 126). */
	telephoneEvent?: boolean;
	/** Also list an IPv6 UDP and an IPv4 TCP candidate (the leg must ignore them). */
	extraCandidates?: boolean;
}

export interface ReceivedRtp {
	ssrc: number;
	sequenceNumber: number;
	timestamp: number;
	payloadType: number;
	marker: boolean;
	/** Payload bytes (3 for an Opus silence frame). */
	payloadSize: number;
}

export interface MetaPeerOptions {
	/** A worker to run on (the test's own; benchmarks put it on another core). One is started when absent. */
	worker?: ms.Worker;
	listenIp?: string;
}

const OPUS_PT = 111;
const FRAME_MS = 20;

/**
 * A WhatsApp user's end as Meta presents it: ICE-lite, session-level a=ice-lite,
 * a=setup:actpass in its offers, DTLS-SRTP, Opus 111 only with Meta's fmtp,
 * rtcp-mux, one host candidate, no trickle. Built from a mediasoup WebRtcTransport
 * (ICE-lite, as Meta) with a hand-written SDP; it sends Opus-framed RTP at 50
 * packets/s through a DirectTransport producer and records every RTP packet it
 * receives (as its WebRtcTransport's producer sees it after SRTP, so a packet the
 * replay protection refused is not there).
 *
 * As offerer (user-initiated call): offer(), then acceptAnswer(the leg's answer).
 * As answerer (business-initiated call): answer(the leg's offer).
 */
export class MetaPeer {
	readonly received: ReceivedRtp[] = [];
	readonly #ownWorker: boolean;
	readonly #worker: ms.Worker;
	readonly #router: ms.Router;
	readonly #transport: ms.WebRtcTransport;
	readonly #sendProducer: ms.Producer;
	readonly #consumer: ms.Consumer;
	readonly #listenIp: string;
	readonly #sendSsrc: number;
	#recvProducer?: ms.Producer;
	#sendTimer?: NodeJS.Timeout;
	#sequence = randomInt(0, 0xffff);
	#timestamp = randomInt(0, 0x7fffffff);
	#sent = 0;
	#closed = false;
	#offeredMid = '0';

	static async create(options: MetaPeerOptions = {}): Promise<MetaPeer> {
		const worker = options.worker ?? (await mediasoup.createWorker({ logLevel: 'error', ...(process.env.MEDIASOUP_WORKER_BIN ? { workerBin: process.env.MEDIASOUP_WORKER_BIN } : {}) }));
		const listenIp = options.listenIp ?? '127.0.0.1';
		const router = await worker.createRouter({ mediaCodecs: [{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2, preferredPayloadType: OPUS_PT }] });
		const transport = await router.createWebRtcTransport({ listenInfos: [{ protocol: 'udp', ip: listenIp }], enableUdp: true, enableTcp: false });
		const direct = await router.createDirectTransport();
		const sendSsrc = randomInt(1, 0xffffffff);
		const sendProducer = await direct.produce({
			kind: 'audio',
			rtpParameters: { codecs: [{ mimeType: 'audio/opus', payloadType: OPUS_PT, clockRate: 48000, channels: 2 }], encodings: [{ ssrc: sendSsrc }] },
		});
		const consumer = await transport.consume({
			producerId: sendProducer.id,
			rtpCapabilities: { codecs: [{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2, preferredPayloadType: OPUS_PT, rtcpFeedback: [] }], headerExtensions: [] },
		});
		return new MetaPeer(options.worker === undefined, worker, router, transport, sendProducer, consumer, listenIp, sendSsrc);
	}

	private constructor(
		ownWorker: boolean,
		worker: ms.Worker,
		router: ms.Router,
		transport: ms.WebRtcTransport,
		sendProducer: ms.Producer,
		consumer: ms.Consumer,
		listenIp: string,
		sendSsrc: number,
	) {
		this.#ownWorker = ownWorker;
		this.#worker = worker;
		this.#router = router;
		this.#transport = transport;
		this.#sendProducer = sendProducer;
		this.#consumer = consumer;
		this.#listenIp = listenIp;
		this.#sendSsrc = sendSsrc;
	}

	/** RTP packets sent so far. */
	get sent(): number {
		return this.#sent;
	}

	/** The SSRC Meta's audio goes out with (mediasoup's consumer of the peer's own producer). */
	get ssrc(): number {
		return this.#consumer.rtpParameters.encodings![0]!.ssrc!;
	}

	get dtlsState(): ms.DtlsState {
		return this.#transport.dtlsState;
	}

	get iceState(): ms.IceState {
		return this.#transport.iceState;
	}

	/** A Meta-shaped offer (user-initiated call). */
	offer(shape: MetaSdpShape = {}): string {
		this.#offeredMid = shape.mid ?? '0';
		return this.#sdp({ ...shape, setup: 'actpass' });
	}

	/** Connects to the leg's answer to offer(). */
	async acceptAnswer(answer: string): Promise<void> {
		const far = parseFar(answer);
		if (far.mid !== this.#offeredMid) throw new Error(`the answer's mid ${far.mid} is not the offer's ${this.#offeredMid}`);
		if (far.setup !== 'active') throw new Error(`Meta refuses an answer with a=setup:${far.setup} ("Provided SDP is invalid")`);
		await this.#connect(far, 'client');
	}

	/** Meta's answer to the leg's offer (business-initiated call); its DTLS role is active. */
	async answer(offer: string, shape: MetaSdpShape = {}): Promise<string> {
		const far = parseFar(offer);
		if (far.setup !== 'actpass') throw new Error(`an offer must be a=setup:actpass, not ${far.setup}`);
		await this.#connect(far, 'server');
		return this.#sdp({ ...shape, mid: far.mid, setup: 'active' });
	}

	/** Sends 50 Opus-framed RTP packets a second until stopSending(). */
	startSending(): void {
		if (this.#sendTimer || this.#closed) return;
		this.#sendTimer = setInterval(() => this.#sendFrame(), FRAME_MS);
	}

	stopSending(): void {
		clearInterval(this.#sendTimer);
		this.#sendTimer = undefined;
	}

	/** Waits until at least `count` packets were received. */
	async waitForPackets(count: number, timeoutMs = 5000): Promise<void> {
		const deadline = Date.now() + timeoutMs;
		while (this.received.length < count) {
			if (Date.now() > deadline) throw new Error(`the Meta peer received ${this.received.length} RTP packets, expected ${count}`);
			await new Promise((r) => setTimeout(r, 20));
		}
	}

	async close(): Promise<void> {
		if (this.#closed) return;
		this.#closed = true;
		this.stopSending();
		this.#router.close();
		if (this.#ownWorker) this.#worker.close();
	}

	async #connect(far: FarEnd, farRole: 'client' | 'server'): Promise<void> {
		await this.#transport.connect({ dtlsParameters: { role: farRole, fingerprints: [far.fingerprint] } });
		this.#recvProducer = await this.#transport.produce({
			kind: 'audio',
			rtpParameters: {
				codecs: [{ mimeType: 'audio/opus', payloadType: far.opusPayloadType, clockRate: 48000, channels: 2 }],
				encodings: [{ ssrc: far.ssrc }],
			},
		});
		await this.#recvProducer.enableTraceEvent(['rtp']);
		this.#recvProducer.on('trace', (trace) => {
			if (trace.type !== 'rtp' || trace.direction !== 'in') return;
			const packet = (trace.info as { rtpPacket?: { ssrc: number; sequenceNumber: number; timestamp: number; payloadType: number; marker: boolean; payloadSize: bigint } }).rtpPacket;
			if (packet) {
				this.received.push({
					ssrc: packet.ssrc,
					sequenceNumber: packet.sequenceNumber,
					timestamp: Number(packet.timestamp),
					payloadType: packet.payloadType,
					marker: packet.marker,
					payloadSize: Number(packet.payloadSize),
				});
			}
		});
	}

	#sendFrame(): void {
		if (this.#sendProducer.closed) return;
		// An Opus-framed payload (TOC: hybrid fullband 20 ms, mono) with noise for content.
		const packet = Buffer.concat([Buffer.alloc(12), Buffer.from([0x78]), randomBytes(59)]);
		packet[0] = 0x80;
		packet[1] = OPUS_PT;
		packet.writeUInt16BE(this.#sequence, 2);
		packet.writeUInt32BE(this.#timestamp >>> 0, 4);
		packet.writeUInt32BE(this.#sendSsrc, 8);
		this.#sequence = (this.#sequence + 1) & 0xffff;
		this.#timestamp = (this.#timestamp + 960) >>> 0;
		this.#sendProducer.send(packet);
		this.#sent++;
	}

	#sdp(shape: MetaSdpShape & { setup: 'actpass' | 'active' }): string {
		const ice = this.#transport.iceParameters;
		const candidate = this.#transport.iceCandidates.find((c) => c.protocol === 'udp')!;
		const fingerprint = this.#transport.dtlsParameters.fingerprints.find((f) => f.algorithm === 'sha-256')!;
		const payloads = [...(shape.extraCodecs ? [0, 9] : []), OPUS_PT, ...(shape.telephoneEvent ? [126] : [])];
		const candidates = [`a=candidate:1 1 udp 2130706431 ${candidate.address} ${candidate.port} typ host generation 0`];
		if (shape.extraCandidates) {
			candidates.push(`a=candidate:2 1 udp 2130706175 2001:db8::1 ${candidate.port} typ host generation 0`);
			candidates.push(`a=candidate:3 1 tcp 1518280447 ${candidate.address} 9 typ host tcptype passive generation 0`);
		}
		const lines = [
			'v=0',
			`o=- ${randomInt(1, 2 ** 47)} 2 IN IP4 ${this.#listenIp}`,
			's=-',
			't=0 0',
			...(shape.iceLite !== 'media' ? ['a=ice-lite'] : []),
			`a=group:BUNDLE ${shape.mid ?? '0'}`,
			'a=msid-semantic: WMS',
			`m=audio ${candidate.port} UDP/TLS/RTP/SAVPF ${payloads.join(' ')}`,
			`c=IN IP4 ${candidate.address}`,
			...(shape.iceLite === 'media' ? ['a=ice-lite'] : []),
			...candidates,
			'a=end-of-candidates',
			`a=ice-ufrag:${ice.usernameFragment}`,
			`a=ice-pwd:${ice.password}`,
			`a=fingerprint:sha-256 ${fingerprint.value.toUpperCase()}`,
			`a=setup:${shape.setup}`,
			`a=mid:${shape.mid ?? '0'}`,
			'a=sendrecv',
			'a=rtcp-mux',
			...(shape.extraCodecs ? ['a=rtpmap:0 PCMU/8000', 'a=rtpmap:9 G722/8000'] : []),
			`a=rtpmap:${OPUS_PT} opus/48000/2`,
			`a=fmtp:${OPUS_PT} ${META_OPUS_FMTP}`,
			...(shape.telephoneEvent ? ['a=rtpmap:126 telephone-event/8000'] : []),
			`a=ssrc:${this.ssrc} cname:meta-${this.#sendSsrc.toString(16)}`,
		];
		return lines.join('\r\n') + '\r\n';
	}
}

/** What a Meta-like peer needs of the other side's SDP. */
export interface FarEnd {
	mid: string;
	setup: string;
	ssrc: number;
	opusPayloadType: number;
	fingerprint: ms.DtlsFingerprint;
}

export function parseFar(sdp: string): FarEnd {
	const session = sdpTransform.parse(sdp);
	const audio = session.media.find((m) => m.type === 'audio');
	if (!audio) throw new Error('no audio line');
	const fingerprint = audio.fingerprint ?? session.fingerprint;
	const ssrc = audio.ssrcs?.[0]?.id;
	const opus = audio.rtp.find((r) => r.codec.toLowerCase() === 'opus');
	if (!fingerprint || ssrc === undefined || !opus) throw new Error('the SDP lacks a fingerprint, an SSRC or Opus');
	return {
		mid: String(audio.mid),
		setup: audio.setup ?? session.setup ?? '',
		ssrc: Number(ssrc),
		opusPayloadType: opus.payload,
		fingerprint: { algorithm: fingerprint.type.toLowerCase() as ms.FingerprintAlgorithm, value: fingerprint.hash.toUpperCase() },
	};
}
