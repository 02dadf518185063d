// The far ends of the WhatsApp legs benchmark (whatsapp-legs.ts), in a process of
// their own that the benchmark pins to another core than the sidecar's. Driven over
// the IPC channel of child_process.fork, one role per process:
//
//   meta  Meta-like peers, as test/support/meta-peer.ts builds them (a mediasoup
//         WebRtcTransport in ICE-lite with a hand-built Meta SDP), but made to carry
//         hundreds of calls: each peer's audio comes from the C RTP generator
//         (rtp-load.c) through a PlainTransport and what the leg sends back goes to
//         the generator the same way, so no RTP crosses this Node process.
//   bare  node-datachannel PeerConnections with one audio Track each and nothing else:
//         Opus-sized RTP at 50 packets/s per track, counted on arrival. Two of these
//         processes (one per core), offer and answer, give the bare leg-to-leg figure.
import { randomInt } from 'node:crypto';
import * as mediasoup from 'mediasoup';
import type { types as ms } from 'mediasoup';
import nodeDataChannel from 'node-datachannel';
import type { PeerConnection, Track } from 'node-datachannel';
import * as sdpTransform from 'sdp-transform';
import { parseFar, type FarEnd } from '../test/support/meta-peer.ts';
import { startGenerator, type Generator } from './media-load.ts';

export const META_OPUS_FMTP = 'maxaveragebitrate=20000;maxplaybackrate=16000;minptime=20;sprop-maxcapturerate=16000;useinbandfec=1';
const OPUS_PT = 111;
/** The generator's payload type (rtp-load.c). */
const GENERATOR_PT = 100;
const PAYLOAD_BYTES = 160;
const FRAME_MS = 20;
const SLICES = 20;

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes. */
export const epochMs = () => performance.timeOrigin + performance.now();

export type Request =
	| { cmd: 'init' }
	| { cmd: 'offer'; key: string }
	| { cmd: 'acceptAnswer'; key: string; answer: string }
	| { cmd: 'answer'; key: string; offer: string }
	| { cmd: 'applyAnswer'; key: string; answer: string }
	| { cmd: 'close'; key: string }
	| { cmd: 'connected' }
	| { cmd: 'firstRtp'; key: string }
	| { cmd: 'pause' }
	| { cmd: 'resume' }
	| { cmd: 'stats' };

export interface MetaStats {
	/** The generator's totals (peers' audio out, what came back to them; short = silence frames of the legs). */
	sent: number;
	received: number;
	short: number;
	/** Summed over the peers' WebRtcTransports: RTP sent to the legs and received from them (after SRTP). */
	toLegs: number;
	fromLegs: number;
}

export interface BareStats {
	sent: number;
	received: number;
	open: number;
}

// ---------------------------------------------------------------- meta role

interface MetaPeer {
	router: ms.Router;
	webrtc: ms.WebRtcTransport;
	plain: ms.PlainTransport;
	toLeg: ms.Consumer;
	fromLeg?: ms.Producer;
	offeredMid: string;
	/** Wall-clock time of the first RTP packet from the leg (when watched). */
	firstRtpAt?: number;
	connectedAt?: number;
}

class MetaPeers {
	readonly #peers = new Map<string, MetaPeer>();
	#worker!: ms.Worker;
	#generator!: Generator;

	async init(): Promise<{ workerPid: number; generatorPid: number }> {
		this.#worker = await mediasoup.createWorker({ logLevel: 'error', ...(process.env.MEDIASOUP_WORKER_BIN ? { workerBin: process.env.MEDIASOUP_WORKER_BIN } : {}) });
		this.#generator = startGenerator();
		return { workerPid: this.#worker.pid, generatorPid: this.#generator.pid };
	}

	async #create(key: string): Promise<MetaPeer> {
		if (this.#peers.has(key)) throw new Error(`peer ${key} exists`);
		const router = await this.#worker.createRouter({ mediaCodecs: [{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2, preferredPayloadType: OPUS_PT }] });
		const webrtc = await router.createWebRtcTransport({ listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }], enableUdp: true, enableTcp: false });
		const plain = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: true });
		const ssrc = randomInt(1, 0xffffffff);
		const source = await plain.produce({
			kind: 'audio',
			rtpParameters: { codecs: [{ mimeType: 'audio/opus', payloadType: GENERATOR_PT, clockRate: 48000, channels: 2 }], encodings: [{ ssrc }] },
		});
		const toLeg = await webrtc.consume({
			producerId: source.id,
			rtpCapabilities: { codecs: [{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2, preferredPayloadType: OPUS_PT, rtcpFeedback: [] }], headerExtensions: [] },
		});
		const peer: MetaPeer = { router, webrtc, plain, toLeg, offeredMid: '0' };
		webrtc.on('dtlsstatechange', (state) => {
			if (state === 'connected') peer.connectedAt ??= epochMs();
		});
		this.#peers.set(key, peer);
		// Meta's audio flows from the start; the WebRtcTransport sends it once DTLS is up.
		this.#generator.add({ parties: [{ port: plain.tuple.localPort, ssrc }] });
		return peer;
	}

	#get(key: string): MetaPeer {
		const peer = this.#peers.get(key);
		if (!peer) throw new Error(`no peer ${key}`);
		return peer;
	}

	async offer(key: string): Promise<string> {
		const peer = await this.#create(key);
		return metaSdp(peer, 'actpass', peer.offeredMid);
	}

	async acceptAnswer(key: string, answer: string): Promise<void> {
		const peer = this.#get(key);
		const far = parseFar(answer);
		if (far.mid !== peer.offeredMid) throw new Error(`the answer's mid ${far.mid} is not the offer's ${peer.offeredMid}`);
		if (far.setup !== 'active') throw new Error(`Meta refuses an answer with a=setup:${far.setup}`);
		await this.#connect(peer, far, 'client');
	}

	async answer(key: string, offer: string): Promise<string> {
		const peer = await this.#create(key);
		const far = parseFar(offer);
		if (far.setup !== 'actpass') throw new Error(`an offer must be a=setup:actpass, not ${far.setup}`);
		await this.#connect(peer, far, 'server');
		return metaSdp(peer, 'active', far.mid);
	}

	async #connect(peer: MetaPeer, far: FarEnd, farRole: 'client' | 'server'): Promise<void> {
		await peer.webrtc.connect({ dtlsParameters: { role: farRole, fingerprints: [far.fingerprint] } });
		const fromLeg = await peer.webrtc.produce({
			kind: 'audio',
			rtpParameters: { codecs: [{ mimeType: 'audio/opus', payloadType: far.opusPayloadType, clockRate: 48000, channels: 2 }], encodings: [{ ssrc: far.ssrc }] },
		});
		peer.fromLeg = fromLeg;
		// Back to the generator (comedia: it learned the generator's address from its first packet).
		await peer.plain.consume({ producerId: fromLeg.id, rtpCapabilities: peer.router.rtpCapabilities });
		await fromLeg.enableTraceEvent(['rtp']);
		fromLeg.on('trace', (trace) => {
			if (trace.type !== 'rtp' || trace.direction !== 'in') return;
			peer.firstRtpAt ??= epochMs();
			// One packet is all the set-up figure needs; hundreds of traced legs would load this process.
			void fromLeg.enableTraceEvent([]).catch(() => undefined);
		});
	}

	connected(): number {
		let n = 0;
		for (const peer of this.#peers.values()) if (peer.webrtc.dtlsState === 'connected') n++;
		return n;
	}

	firstRtp(key: string): { firstRtpAt?: number; connectedAt?: number } {
		const peer = this.#get(key);
		return { firstRtpAt: peer.firstRtpAt, connectedAt: peer.connectedAt };
	}

	close(key: string): void {
		const peer = this.#peers.get(key);
		if (!peer) return;
		this.#peers.delete(key);
		this.#generator.drop(peer.plain.tuple.localPort);
		peer.router.close();
	}

	pause(): void {
		this.#generator.pause();
	}

	resume(): void {
		this.#generator.resume();
	}

	async stats(): Promise<MetaStats> {
		const totals = await this.#generator.totals();
		let toLegs = 0;
		let fromLegs = 0;
		await Promise.all(
			[...this.#peers.values()].map(async (peer) => {
				const out = (await peer.toLeg.getStats()).find((s) => s.type === 'outbound-rtp');
				toLegs += out?.packetCount ?? 0;
				const back = peer.fromLeg ? await peer.fromLeg.getStats() : [];
				fromLegs += back.reduce((n, s) => n + s.packetCount, 0);
			}),
		);
		return { ...totals, toLegs, fromLegs };
	}
}

/** Meta's SDP shape (§3 of WHATSAPP.md): session-level ice-lite, one host candidate, Opus 111 only, rtcp-mux. */
function metaSdp(peer: MetaPeer, setup: 'actpass' | 'active', mid: string): string {
	const ice = peer.webrtc.iceParameters;
	const candidate = peer.webrtc.iceCandidates.find((c) => c.protocol === 'udp')!;
	const fingerprint = peer.webrtc.dtlsParameters.fingerprints.find((f) => f.algorithm === 'sha-256')!;
	const ssrc = peer.toLeg.rtpParameters.encodings![0]!.ssrc!;
	return [
		'v=0',
		`o=- ${randomInt(1, 2 ** 47)} 2 IN IP4 127.0.0.1`,
		's=-',
		't=0 0',
		'a=ice-lite',
		`a=group:BUNDLE ${mid}`,
		'a=msid-semantic: WMS',
		`m=audio ${candidate.port} UDP/TLS/RTP/SAVPF ${OPUS_PT}`,
		`c=IN IP4 ${candidate.address}`,
		`a=candidate:1 1 udp 2130706431 ${candidate.address} ${candidate.port} typ host generation 0`,
		'a=end-of-candidates',
		`a=ice-ufrag:${ice.usernameFragment}`,
		`a=ice-pwd:${ice.password}`,
		`a=fingerprint:sha-256 ${fingerprint.value.toUpperCase()}`,
		`a=setup:${setup}`,
		`a=mid:${mid}`,
		'a=sendrecv',
		'a=rtcp-mux',
		`a=rtpmap:${OPUS_PT} opus/48000/2`,
		`a=fmtp:${OPUS_PT} ${META_OPUS_FMTP}`,
		`a=ssrc:${ssrc} cname:meta-${ssrc.toString(16)}`,
		'',
	].join('\r\n');
}

// ---------------------------------------------------------------- bare role

interface BareCall {
	pc: PeerConnection;
	track: Track;
	ssrc: number;
	sequence: number;
	timestamp: number;
}

/**
 * node-datachannel and nothing else, configured as WhatsAppLeg configures its
 * PeerConnection (no auto negotiation, media transport forced, one sendrecv Opus
 * track, no trickle): the floor a leg built on it cannot go below.
 */
class BarePeers {
	readonly #calls = new Map<string, BareCall>();
	/** Open tracks, spread over SLICES sub-ticks of the 20 ms period as the generator does. */
	readonly #open: BareCall[] = [];
	#sent = 0;
	#received = 0;
	#paused = false;
	#slice = 0;
	#next = performance.now();
	#clock?: NodeJS.Timeout;
	readonly #packet = Buffer.alloc(12 + PAYLOAD_BYTES);

	init(): Record<string, never> {
		this.#clock = setInterval(() => this.#tick(), 1);
		return {};
	}

	async #create(key: string): Promise<BareCall> {
		if (this.#calls.has(key)) throw new Error(`call ${key} exists`);
		const pc = new nodeDataChannel.PeerConnection(key, {
			iceServers: [],
			bindAddress: '127.0.0.1',
			enableIceTcp: false,
			disableAutoNegotiation: true,
			forceMediaTransport: true,
		});
		const ssrc = randomInt(1, 0xffffffff);
		const audio = new nodeDataChannel.Audio('0', 'SendRecv');
		audio.addOpusCodec(OPUS_PT, META_OPUS_FMTP);
		audio.addSSRC(ssrc, `bare-${ssrc.toString(16)}`, 'bench', 'audio');
		const track = pc.addTrack(audio);
		const call: BareCall = { pc, track, ssrc, sequence: randomInt(0, 0xffff), timestamp: randomInt(0, 0x7fffffff) };
		track.onOpen(() => this.#open.push(call));
		track.onMessage((msg) => {
			const packet = msg as Buffer;
			// RTP only (RTCP shares the track: RFC 5761).
			if (packet.length >= 12 && (packet[1]! < 192 || packet[1]! > 223)) this.#received++;
		});
		this.#calls.set(key, call);
		return call;
	}

	async offer(key: string): Promise<string> {
		const call = await this.#create(key);
		const gathered = gathering(call.pc);
		call.pc.setLocalDescription('offer');
		await gathered;
		return call.pc.localDescription()!.sdp;
	}

	async answer(key: string, offer: string): Promise<string> {
		const call = await this.#create(key);
		const gathered = gathering(call.pc);
		call.pc.setRemoteDescription(offer, 'offer');
		call.pc.setLocalDescription('answer');
		await gathered;
		return call.pc.localDescription()!.sdp;
	}

	applyAnswer(key: string, answer: string): void {
		const call = this.#calls.get(key);
		if (!call) throw new Error(`no call ${key}`);
		call.pc.setRemoteDescription(answer, 'answer');
	}

	connected(): number {
		return this.#open.length;
	}

	close(key: string): void {
		const call = this.#calls.get(key);
		if (!call) return;
		this.#calls.delete(key);
		const at = this.#open.indexOf(call);
		if (at >= 0) this.#open.splice(at, 1);
		call.track.close();
		call.pc.close();
	}

	pause(): void {
		this.#paused = true;
	}

	resume(): void {
		if (this.#paused) this.#next = performance.now();
		this.#paused = false;
	}

	stats(): BareStats {
		return { sent: this.#sent, received: this.#received, open: this.#open.length };
	}

	#tick(): void {
		const now = performance.now();
		while (now >= this.#next) {
			if (!this.#paused) this.#sendSlice(this.#slice);
			this.#slice = (this.#slice + 1) % SLICES;
			this.#next += FRAME_MS / SLICES;
		}
	}

	#sendSlice(slice: number): void {
		const b = this.#packet;
		for (let i = slice; i < this.#open.length; i += SLICES) {
			const call = this.#open[i]!;
			b[0] = 0x80;
			b[1] = OPUS_PT;
			b.writeUInt16BE(call.sequence, 2);
			b.writeUInt32BE(call.timestamp, 4);
			b.writeUInt32BE(call.ssrc, 8);
			call.sequence = (call.sequence + 1) & 0xffff;
			call.timestamp = (call.timestamp + 960) >>> 0;
			try {
				call.track.sendMessageBinary(b);
				this.#sent++;
			} catch {
				// A closing track: not counted as sent.
			}
		}
	}
}

function gathering(pc: PeerConnection): Promise<void> {
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error('ICE gathering did not complete in 5 s')), 5000);
		pc.onGatheringStateChange((state) => {
			if (state !== 'complete') return;
			clearTimeout(timer);
			resolve();
		});
	});
}

// ---------------------------------------------------------------- IPC

async function serve(role: string): Promise<void> {
	const meta = role === 'meta' ? new MetaPeers() : undefined;
	const bare = role === 'bare' ? new BarePeers() : undefined;
	if (!meta && !bare) throw new Error(`unknown role ${role}`);
	const handle = async (r: Request): Promise<unknown> => {
		switch (r.cmd) {
			case 'init': return meta ? meta.init() : bare!.init();
			case 'offer': return meta ? meta.offer(r.key) : bare!.offer(r.key);
			case 'acceptAnswer': return meta!.acceptAnswer(r.key, r.answer);
			case 'answer': return meta ? meta.answer(r.key, r.offer) : bare!.answer(r.key, r.offer);
			case 'applyAnswer': return bare!.applyAnswer(r.key, r.answer);
			case 'close': return meta ? meta.close(r.key) : bare!.close(r.key);
			case 'connected': return meta ? meta.connected() : bare!.connected();
			case 'firstRtp': return meta!.firstRtp(r.key);
			case 'pause': return meta ? meta.pause() : bare!.pause();
			case 'resume': return meta ? meta.resume() : bare!.resume();
			case 'stats': return meta ? meta.stats() : bare!.stats();
		}
	};
	process.on('message', (message: { id: number; request: Request }) => {
		handle(message.request).then(
			(result) => process.send!({ id: message.id, result }),
			(err: unknown) => process.send!({ id: message.id, error: (err as Error).message ?? String(err) }),
		);
	});
	process.on('disconnect', () => process.exit(0));
	process.send!({ ready: true });
}

if (import.meta.url === `file://${process.argv[1]}`) await serve(process.argv[2] ?? '');
