import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import type { types as ms } from 'mediasoup';
import nodeDataChannel from 'node-datachannel';
import type { PeerConnection, Track } from 'node-datachannel';
import { InvalidStateError, SidecarError } from '../errors.js';
import type { ParticipantStatus, SignalingPushes } from '../types.js';
import {
	isRtcp,
	isRtp,
	OPUS_FRAME_MS,
	parseReceptionReports,
	type ReceptionReport,
	roundTripMs,
	RtpStream,
	rtpPayloadType,
	rtpSsrc,
	senderReport,
} from '../whatsapp/rtp.js';
import { finishLocalSdp, parseRemoteSdp, SdpError } from '../whatsapp/sdp.js';
import { type ConsumerAppData, type FarEndReport, Leg, type LegOptions } from './Leg.js';

/** Opus as Meta offers it (§3): what our offer proposes for a business-initiated call. */
export const META_OPUS_PAYLOAD_TYPE = 111;
export const META_OPUS_FMTP = 'maxaveragebitrate=20000;maxplaybackrate=16000;minptime=20;sprop-maxcapturerate=16000;useinbandfec=1';

/** What the leg receives from the room with: Opus only, no header extension, no feedback. */
export const WHATSAPP_RTP_CAPABILITIES: ms.RtpCapabilities = {
	codecs: [{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2, preferredPayloadType: 100, parameters: {}, rtcpFeedback: [] }],
	headerExtensions: [],
};

/** Silence goes out, every 20 ms, once the source has sent nothing for this long (paused, on hold, DTX-quiet, none). */
const SILENCE_AFTER_MS = 3 * OPUS_FRAME_MS;
const SENDER_REPORT_INTERVAL_MS = 5000;
const WATCHDOG_INTERVAL_MS = 500;
const GATHERING_TIMEOUT_MS = 5000;
const BRIDGE_IP = '127.0.0.1';

export interface WhatsAppLegTimeouts {
	/** ICE + DTLS must be up this long after both descriptions are set. */
	connectTimeoutSec: number;
	/** Once Meta has sent audio, this long without any RTP from it means the leg is dead. */
	mediaTimeoutSec: number;
}

export interface WhatsAppLegOptions extends Omit<LegOptions, 'role'> {
	/** Meta's call id (wacid.…); a business-initiated call learns it when Graph answers connect. */
	waCallId?: string;
	router: ms.Router;
	/** The address the leg's WebRTC side binds to (all when a wildcard); the bridge to the router is on loopback. */
	listenIp: string;
	/** Put in our candidates in place of listenIp (1:1 NAT), as mediasoup's announcedAddress. */
	announcedAddress?: string;
	portRange?: { min: number; max: number };
	timeouts: WhatsAppLegTimeouts;
	/** The room resumes (or, on hold, keeps paused) a consumer it made for this leg. */
	resumeConsumer(consumerId: string): Promise<void>;
}

interface ProducerAppData extends ms.AppData {
	participantId: string;
}

type Negotiation = { kind: 'answer'; offer: string } | { kind: 'offer' };

/**
 * A WhatsApp call in the room (§3 of WHATSAPP.md). Meta's end is ICE-lite and so is
 * mediasoup, so the leg is a full-ICE WebRTC peer (libdatachannel) that terminates
 * Meta's DTLS-SRTP and bridges the Opus RTP to the router through one UDP socket and
 * one PlainTransport (comedia off, rtcp-mux), both ways:
 *
 *   Meta ⇄ (SRTP) PeerConnection/track ⇄ leg ⇄ (RTP over loopback UDP) PlainTransport ⇄ router
 *
 * Toward the room the leg produces Meta's audio under a fixed SSRC. Toward Meta it
 * sends one stream (RtpStream) with the SSRC our SDP announced and sequence numbers
 * and timestamps that never restart, fed by one consumer at a time (the rule is in
 * #selectSource) and by Opus silence whenever no room audio flows, from the moment the
 * track opens (Meta ends a call it hears nothing on after about 20 s).
 *
 * It owns the PlainTransport (and so its producer and consumers), the socket, the
 * PeerConnection and its timers; close() frees them all (Leg).
 */
export class WhatsAppLeg extends Leg {
	readonly #plain: ms.PlainTransport;
	readonly #socket: dgram.Socket;
	readonly #pc: PeerConnection;
	readonly #track: Track;
	readonly #options: WhatsAppLegOptions;
	readonly #transports: Map<string, ms.PlainTransport>;
	readonly #toMeta: RtpStream;
	readonly #toRoom: RtpStream;
	readonly #opusPayloadType: number;
	/** Whether our SDP answers Meta's offer (user-initiated) or is the offer (business-initiated). */
	readonly sdpType: 'offer' | 'answer';
	/** Meta's offer as received (a retried request with the same offer gets the same leg). */
	readonly remoteOffer?: string;
	#waCallId?: string;
	readonly #localSdp: string;
	#producer?: ms.Producer<ProducerAppData>;
	#sourceSsrc?: number;
	#sourceParticipantId?: string;
	#lastSourcePacketAt?: number;
	#sendBitrateKbps = 0;
	#connectedAt?: number;
	#firstRemoteRtpAt?: number;
	#lastRemoteRtpAt = 0;
	#lastReport?: { report: ReceptionReport; rttMs: number | null };
	#pcState = 'new';
	#remoteSetAt?: number;
	#sending = false;
	#reportTimer?: NodeJS.Timeout;
	#watchdog?: NodeJS.Timeout;
	readonly #createdAtMs: number;

	/**
	 * Makes the leg and its SDP: the answer to Meta's offer, or our offer. Every resource
	 * made before a failure is freed before the error is thrown (garbage SDP fails first,
	 * before anything exists).
	 */
	static async create(options: WhatsAppLegOptions, negotiation: Negotiation): Promise<WhatsAppLeg> {
		const startedAt = performance.now();
		const remote = negotiation.kind === 'answer' ? parseRemoteSdp(negotiation.offer, 'offer') : undefined;
		const opusPayloadType = remote?.audio.opusPayloadType ?? META_OPUS_PAYLOAD_TYPE;
		const cleanups: (() => void)[] = [];
		const undo = () => {
			for (const fn of cleanups.reverse()) fn();
		};
		try {
			// The bridge never leaves the host, whatever the media listen address.
			const socket = dgram.createSocket('udp4');
			cleanups.push(() => socket.close());
			await new Promise<void>((resolve, reject) => {
				socket.once('error', reject);
				socket.bind(0, BRIDGE_IP, () => {
					socket.off('error', reject);
					resolve();
				});
			});
			const plain = await options.router.createPlainTransport({
				listenInfo: { protocol: 'udp', ip: BRIDGE_IP },
				rtcpMux: true,
				comedia: false,
				appData: { participantId: options.id, kind: 'whatsapp' },
			});
			cleanups.push(() => plain.close());
			const local = socket.address() as AddressInfo;
			await plain.connect({ ip: local.address, port: local.port });
			// Connected: each packet toward the router skips the address lookup and the kernel's route lookup.
			await new Promise<void>((resolve, reject) => {
				socket.once('error', reject);
				socket.connect(plain.tuple.localPort, plain.tuple.localAddress, () => {
					socket.off('error', reject);
					resolve();
				});
			});

			const pc = new nodeDataChannel.PeerConnection(options.id, {
				iceServers: [],
				...(isWildcard(options.listenIp) ? {} : { bindAddress: options.listenIp }),
				enableIceTcp: false,
				disableAutoNegotiation: true,
				forceMediaTransport: true,
				...(options.portRange ? { portRangeBegin: options.portRange.min, portRangeEnd: options.portRange.max } : {}),
			});
			cleanups.push(() => pc.close());
			const ssrc = randomInt(1, 0xffffffff);
			// Our track carries the offer's own mid, added before the offer is applied (§3).
			const audio = new nodeDataChannel.Audio(remote?.audio.mid ?? '0', 'SendRecv');
			audio.addOpusCodec(opusPayloadType, remote?.audio.opusFmtp ?? META_OPUS_FMTP);
			audio.addSSRC(ssrc, `wa-${ssrc.toString(16)}`, 'voice-agent', 'audio');
			const track = pc.addTrack(audio);
			cleanups.push(() => track.close());
			const gathering = waitForGathering(pc);
			cleanups.push(() => gathering.cancel());
			if (remote) {
				try {
					pc.setRemoteDescription(remote.sdp, 'offer');
				} catch (err) {
					throw new SdpError(`the offer was refused: ${(err as Error).message}`);
				}
				pc.setLocalDescription('answer');
			} else {
				pc.setLocalDescription('offer');
			}
			await gathering.done;
			const description = pc.localDescription();
			if (!description) throw new SdpError('the WebRTC stack made no local description');
			const finished = finishLocalSdp(description.sdp, { announcedAddress: options.announcedAddress });
			if (remote && remote.audio.setup === 'actpass' && finished.audio.setup !== 'active') {
				throw new SdpError(`our answer must be a=setup:active (it is ${finished.audio.setup})`);
			}
			return new WhatsAppLeg(options, {
				plain,
				socket,
				pc,
				track,
				opusPayloadType,
				ssrc: finished.audio.ssrc,
				localSdp: finished.sdp,
				startedAt,
				remoteOffer: negotiation.kind === 'answer' ? negotiation.offer : undefined,
			});
		} catch (err) {
			undo();
			throw err;
		}
	}

	private constructor(
		options: WhatsAppLegOptions,
		parts: {
			plain: ms.PlainTransport;
			socket: dgram.Socket;
			pc: PeerConnection;
			track: Track;
			opusPayloadType: number;
			ssrc: number;
			localSdp: string;
			startedAt: number;
			remoteOffer?: string;
		},
	) {
		super({ ...options, role: 'whatsapp' });
		this.#options = options;
		this.#waCallId = options.waCallId;
		this.#plain = parts.plain;
		this.#socket = parts.socket;
		this.#pc = parts.pc;
		this.#track = parts.track;
		this.#opusPayloadType = parts.opusPayloadType;
		this.#localSdp = parts.localSdp;
		this.sdpType = parts.remoteOffer !== undefined ? 'answer' : 'offer';
		this.remoteOffer = parts.remoteOffer;
		this.#createdAtMs = parts.startedAt;
		this.#transports = new Map([[parts.plain.id, parts.plain]]);
		this.#toMeta = new RtpStream({ ssrc: parts.ssrc, payloadType: parts.opusPayloadType });
		this.#toRoom = new RtpStream({ ssrc: randomInt(1, 0xffffffff), payloadType: parts.opusPayloadType });
		if (parts.remoteOffer !== undefined) this.#remoteSetAt = performance.now();

		parts.plain.observer.on('close', () => {
			this.#transports.delete(parts.plain.id);
			this.close('connection_failed');
		});
		parts.socket.on('message', (packet) => this.#fromRoom(packet));
		parts.socket.on('error', (err) => {
			this.logger.warn({ err }, 'bridge socket error');
			this.close('connection_failed');
		});
		parts.pc.onStateChange((state) => this.#onPeerState(state));
		// A state reached while the SDP was being made is not replayed to a callback set afterwards.
		if (parts.pc.state() !== 'new') this.#onPeerState(parts.pc.state());
		parts.track.onOpen(() => this.#startSending());
		if (parts.track.isOpen()) this.#startSending();
		parts.track.onMessage((packet) => this.#fromMeta(packet));
		this.#watchdog = setInterval(() => this.#checkAlive(), WATCHDOG_INTERVAL_MS);
		this.logger.info({ waCallId: this.#waCallId, negotiation: this.sdpType }, 'WhatsApp leg created');
	}

	/** Meta's call id, once known. */
	get waCallId(): string | undefined {
		return this.#waCallId;
	}

	/** Our SDP as sent to Meta (the answer, or the offer). */
	get localSdp(): string {
		return this.#localSdp;
	}

	/** The SSRC Meta gets our audio with (the one our SDP announces). */
	get ssrcTowardMeta(): number {
		return this.#toMeta.ssrc;
	}

	/** Whose audio Meta hears now (see #selectSource), if anyone's. */
	get sourceParticipantId(): string | undefined {
		return this.#sourceParticipantId;
	}

	/** The PeerConnection's state (new, connecting, connected, disconnected, failed, closed). */
	get connectionState(): string {
		return this.#pcState;
	}

	override get transports(): ReadonlyMap<string, ms.PlainTransport> {
		return this.#transports;
	}

	override get consumerTransport(): ms.PlainTransport | undefined {
		return this.#plain.closed ? undefined : this.#plain;
	}

	override get mediaDown(): boolean {
		return this.#pcState === 'disconnected';
	}

	/** Applies Meta's answer to our offer (business-initiated call). */
	applyAnswer(answer: unknown, waCallId?: string): void {
		if (this.closed) throw new InvalidStateError('the WhatsApp leg is closed');
		if (this.#remoteSetAt !== undefined) throw new InvalidStateError('the WhatsApp leg already has the far end\'s description');
		const remote = parseRemoteSdp(answer, 'answer');
		if (remote.audio.mid !== this.#track.mid()) throw new SdpError(`the answer's audio mid ${JSON.stringify(remote.audio.mid)} is not our offer's ${JSON.stringify(this.#track.mid())}`);
		if (remote.audio.opusPayloadType !== this.#opusPayloadType) throw new SdpError(`the answer's opus payload type ${remote.audio.opusPayloadType} is not our offer's ${this.#opusPayloadType}`);
		try {
			this.#pc.setRemoteDescription(remote.sdp, 'answer');
		} catch (err) {
			throw new SdpError(`the answer was refused: ${(err as Error).message}`);
		}
		this.#remoteSetAt = performance.now();
		if (waCallId) this.#waCallId = waCallId;
		this.logger.info({ waCallId: this.#waCallId }, 'applyAnswer() | Meta\'s answer applied');
	}

	override notify<E extends keyof SignalingPushes>(event: E, payload: SignalingPushes[E]): void {
		if (this.closed) return;
		if (event === 'consumer:new') {
			const { consumerId } = payload as SignalingPushes['consumer:new'];
			this.#options.resumeConsumer(consumerId).catch((err: unknown) => this.logger.debug({ err, consumerId }, 'notify() | could not resume a consumer'));
			this.#selectSource();
		} else if (event === 'consumer:closed') {
			this.#selectSource();
		}
	}

	override status(): ParticipantStatus {
		return { ...super.status(), ...(this.#waCallId ? { waCallId: this.#waCallId } : {}) };
	}

	override farEndReport(): FarEndReport {
		const report = this.#lastReport;
		return {
			packets: this.#toMeta.packets,
			bytes: this.#toMeta.octets + 12 * this.#toMeta.packets,
			bitrateKbps: this.#sendBitrateKbps,
			...(report ? { packetLossPct: report.report.fractionLost * 100, jitterMs: (report.report.jitter * 1000) / 48000 } : {}),
			rttMs: report?.rttMs ?? null,
		};
	}

	/** Leg set-up figures since the request that made it (tests and benchmarks). */
	get timings(): { connectedAfterMs?: number; firstRemoteRtpAfterMs?: number } {
		return {
			...(this.#connectedAt !== undefined ? { connectedAfterMs: this.#connectedAt - this.#createdAtMs } : {}),
			...(this.#firstRemoteRtpAt !== undefined ? { firstRemoteRtpAfterMs: this.#firstRemoteRtpAt - this.#createdAtMs } : {}),
		};
	}

	protected override disconnect(): void {
		frameClock.delete(this.#onFrame);
		clearInterval(this.#reportTimer);
		clearInterval(this.#watchdog);
		try {
			this.#track.close();
		} catch {
			// Already closed with its PeerConnection.
		}
		this.#pc.close();
		this.#socket.close();
	}

	#onPeerState(state: string): void {
		if (this.closed) return;
		const before = this.#pcState;
		this.#pcState = state;
		this.logger.debug({ from: before, to: state }, 'peer connection state');
		if (state === 'connected') {
			this.#connectedAt ??= performance.now();
			void this.#produce();
		}
		if (state === 'failed' || state === 'closed') {
			this.close('connection_failed');
			return;
		}
		if (before === 'disconnected' || state === 'disconnected') this.safeEmit('mediastatechange');
	}

	/** Meta's audio becomes a producer once the media path is up: the room then counts this party as sending. */
	async #produce(): Promise<void> {
		if (this.#producer || this.closed) return;
		try {
			const producer = await this.#plain.produce<ProducerAppData>({
				kind: 'audio',
				rtpParameters: {
					codecs: [{ mimeType: 'audio/opus', payloadType: this.#opusPayloadType, clockRate: 48000, channels: 2, parameters: { useinbandfec: 1 }, rtcpFeedback: [] }],
					headerExtensions: [],
					encodings: [{ ssrc: this.#toRoom.ssrc }],
					rtcp: { cname: `wa-${this.id}`.slice(0, 64), reducedSize: true },
				},
				appData: { participantId: this.id },
			});
			if (this.closed) return void producer.close();
			this.#producer = producer;
			this.addProducer(producer);
		} catch (err) {
			if (!this.closed) this.logger.error({ err }, '#produce() | could not produce Meta\'s audio');
		}
	}

	#startSending(): void {
		if (this.closed || this.#sending) return;
		this.#sending = true;
		this.#sendSilenceIfQuiet();
		frameClock.add(this.#onFrame);
		let octets = 0;
		this.#reportTimer = setInterval(() => {
			this.#sendToMeta(senderReport(this.#toMeta, Date.now(), performance.now()));
			const sent = this.#toMeta.octets + 12 * this.#toMeta.packets;
			this.#sendBitrateKbps = ((sent - octets) * 8) / SENDER_REPORT_INTERVAL_MS;
			octets = sent;
		}, SENDER_REPORT_INTERVAL_MS);
	}

	readonly #onFrame = (now: number): void => this.#sendSilenceIfQuiet(now);

	/** Every 20 ms tick: a silence frame unless the source sent something lately. */
	#sendSilenceIfQuiet(now = performance.now()): void {
		if (this.#lastSourcePacketAt !== undefined && now - this.#lastSourcePacketAt < SILENCE_AFTER_MS) return;
		this.#sendToMeta(this.#toMeta.silence(now));
	}

	#sendToMeta(packet: Buffer): void {
		if (this.closed || !this.#track.isOpen()) return;
		try {
			this.#track.sendMessageBinary(packet);
		} catch (err) {
			this.logger.debug({ err }, '#sendToMeta() | send failed');
		}
	}

	/** RTP from the room (one of the leg's consumers) toward Meta: only the selected source goes on. */
	#fromRoom(packet: Buffer): void {
		if (!isRtp(packet) || this.#sourceSsrc === undefined || rtpSsrc(packet) !== this.#sourceSsrc) return;
		if (!this.#track.isOpen()) return;
		const now = performance.now();
		if (!this.#toMeta.rewrite(packet, now)) return;
		this.#lastSourcePacketAt = now;
		this.#sendToMeta(packet);
	}

	/** SRTP-decrypted RTP and RTCP from Meta. */
	#fromMeta(packet: Buffer): void {
		if (this.closed) return;
		if (isRtcp(packet)) return this.#onRtcp(packet);
		if (!isRtp(packet) || rtpPayloadType(packet) !== this.#opusPayloadType) return;
		const now = performance.now();
		if (this.#firstRemoteRtpAt === undefined) {
			this.#firstRemoteRtpAt = now;
			this.logger.info({ waCallId: this.#waCallId, ...this.timings }, 'first RTP from Meta');
		}
		this.#lastRemoteRtpAt = now;
		if (!this.#producer) return;
		if (this.#toRoom.rewrite(packet, now)) this.#socket.send(packet);
	}

	#onRtcp(packet: Buffer): void {
		const report = parseReceptionReports(packet).find((r) => r.ssrc === this.#toMeta.ssrc);
		if (report) this.#lastReport = { report, rttMs: roundTripMs(report, Date.now()) ?? this.#lastReport?.rttMs ?? null };
	}

	/**
	 * Which consumer Meta hears (mediasoup forwards, it does not mix): the newest
	 * consumer of an agent's producer; without one, the newest of another party's; a
	 * supervisor's only when nothing else is there. It changes when consumers come and go.
	 */
	#selectSource(): void {
		const rank = (c: ms.Consumer<ConsumerAppData>) => (c.appData.role === 'agent' ? 2 : c.appData.role === 'supervisor' ? 0 : 1);
		let best: ms.Consumer<ConsumerAppData> | undefined;
		for (const consumer of this.consumers.values()) {
			if (consumer.closed) continue;
			if (!best || rank(consumer) >= rank(best)) best = consumer;
		}
		const ssrc = best?.rtpParameters.encodings?.[0]?.ssrc;
		if (ssrc === this.#sourceSsrc) return;
		this.#sourceSsrc = ssrc;
		this.#sourceParticipantId = best?.appData.participantId;
		this.#toMeta.rebase();
		this.logger.debug({ consumerId: best?.id, participantId: best?.appData.participantId }, '#selectSource() | Meta hears another source');
	}

	#checkAlive(): void {
		if (this.closed) return;
		const now = performance.now();
		const { connectTimeoutSec, mediaTimeoutSec } = this.#options.timeouts;
		if (this.#connectedAt === undefined && this.#remoteSetAt !== undefined && now - this.#remoteSetAt > connectTimeoutSec * 1000) {
			this.logger.warn({ connectTimeoutSec, state: this.#pcState }, 'WhatsApp leg did not connect in time');
			this.close('connection_failed');
			return;
		}
		if (this.#firstRemoteRtpAt !== undefined && now - this.#lastRemoteRtpAt > mediaTimeoutSec * 1000) {
			this.logger.warn({ mediaTimeoutSec }, 'no RTP from Meta: the WhatsApp leg is dead');
			this.close('media_timeout');
		}
	}
}

/**
 * One 20 ms timer for every leg's silence instead of one per leg: with hundreds of
 * legs, thousands of timers a second would cost more than the frames they send.
 */
class FrameClock {
	readonly #listeners = new Set<(now: number) => void>();
	#timer?: NodeJS.Timeout;

	add(listener: (now: number) => void): void {
		this.#listeners.add(listener);
		this.#timer ??= setInterval(() => {
			const now = performance.now();
			for (const fn of this.#listeners) fn(now);
		}, OPUS_FRAME_MS);
	}

	delete(listener: (now: number) => void): void {
		this.#listeners.delete(listener);
		if (this.#listeners.size === 0 && this.#timer) {
			clearInterval(this.#timer);
			this.#timer = undefined;
		}
	}
}

const frameClock = new FrameClock();

function isWildcard(ip: string): boolean {
	return ip === '0.0.0.0' || ip === '::';
}

/** Resolves when ICE gathering is complete (no trickle: the SDP carries every candidate). */
function waitForGathering(pc: PeerConnection): { done: Promise<void>; cancel(): void } {
	let timer: NodeJS.Timeout | undefined;
	const done = new Promise<void>((resolve, reject) => {
		timer = setTimeout(() => reject(new SidecarError('internal', `ICE gathering did not complete within ${GATHERING_TIMEOUT_MS} ms`, 500, 'gathering_timeout')), GATHERING_TIMEOUT_MS);
		pc.onGatheringStateChange((state) => {
			if (state !== 'complete') return;
			clearTimeout(timer);
			resolve();
		});
	});
	return { done, cancel: () => clearTimeout(timer) };
}
