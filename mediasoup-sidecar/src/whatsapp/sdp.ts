import * as sdpTransform from 'sdp-transform';
import type { MediaDescription, SessionDescription } from 'sdp-transform';
import { InvalidRequestError } from '../errors.js';

/** Meta's SDP (or ours) could not be used; the message says why, for Frappe's logs. */
export class SdpError extends InvalidRequestError {
	constructor(message: string) {
		super(`sdp: ${message}`);
		this.name = 'SdpError';
	}
}

/** The most Meta's SDP may weigh: a one-audio-line description is about 1 kB. */
export const MAX_SDP_BYTES = 16 * 1024;

export type DtlsSetup = 'actpass' | 'active' | 'passive';

/** What the leg needs of the far end's audio line. */
export interface RemoteAudio {
	/** The m-line's own mid: our track must carry it (§3). */
	mid: string;
	opusPayloadType: number;
	/** The far end's fmtp for Opus, kept for our answer (Meta's: maxaveragebitrate=20000;...). */
	opusFmtp?: string;
	/** Payload type of telephone-event/8000 when offered; we do not answer it (Opus only). */
	telephoneEventPayloadType?: number;
	/** The SSRC the far end announced, when it did. */
	ssrc?: number;
	setup: DtlsSetup;
	iceLite: boolean;
	/** Candidates we keep (UDP over IPv4); the others were removed from `sdp`. */
	candidates: number;
	ignoredCandidates: number;
}

export interface RemoteDescription {
	/** The SDP as the WebRTC stack should get it: ice-lite at session level, only usable candidates. */
	sdp: string;
	audio: RemoteAudio;
}

/**
 * Checks the far end's SDP (Meta's offer or answer) and returns it in the form
 * libdatachannel connects with: a media-level `a=ice-lite` is lifted to the session
 * (full ICE must know the other side is lite to take the controlling role), TCP,
 * IPv6 and mDNS candidates are dropped (the leg gathers UDP IPv4 only), and what the
 * leg needs of the audio line is returned. Anything unusable is an SdpError.
 */
export function parseRemoteSdp(text: unknown, type: 'offer' | 'answer'): RemoteDescription {
	if (typeof text !== 'string' || text.trim() === '') throw new SdpError(`the ${type} is empty`);
	if (Buffer.byteLength(text) > MAX_SDP_BYTES) throw new SdpError(`the ${type} exceeds ${MAX_SDP_BYTES} bytes`);
	const normalized = text.replace(/\r?\n/g, '\r\n').trim() + '\r\n';
	if (!normalized.startsWith('v=0\r\n')) throw new SdpError(`the ${type} is not an SDP (it must start with v=0)`);
	let session: SessionDescription;
	try {
		session = sdpTransform.parse(normalized);
	} catch (err) {
		throw new SdpError(`the ${type} cannot be parsed: ${(err as Error).message}`);
	}
	const audios = (session.media ?? []).filter((m) => m.type === 'audio' && m.port !== 0);
	if (audios.length !== 1) throw new SdpError(`the ${type} must have exactly one active audio line (it has ${audios.length})`);
	const audio = audios[0]!;
	if (!/RTP\/SAVPF?$/.test(audio.protocol)) throw new SdpError(`the audio line's protocol ${JSON.stringify(audio.protocol)} is not DTLS-SRTP`);
	if (audio.mid === undefined || String(audio.mid) === '') throw new SdpError(`the audio line has no a=mid`);
	const mid = String(audio.mid);

	const opus = (audio.rtp ?? []).find((r) => r.codec.toLowerCase() === 'opus' && r.rate === 48000);
	if (!opus) throw new SdpError(`the ${type} offers no opus/48000 codec`);
	const telephoneEvent = (audio.rtp ?? []).find((r) => r.codec.toLowerCase() === 'telephone-event' && r.rate === 8000);
	const opusFmtp = (audio.fmtp ?? []).find((f) => f.payload === opus.payload)?.config;

	const ufrag = audio.iceUfrag ?? session.iceUfrag;
	const pwd = audio.icePwd ?? session.icePwd;
	if (!ufrag || !pwd) throw new SdpError(`the ${type} has no ICE credentials (a=ice-ufrag / a=ice-pwd)`);
	const fingerprint = audio.fingerprint ?? session.fingerprint;
	if (!fingerprint?.hash) throw new SdpError(`the ${type} has no DTLS fingerprint`);
	const setup = (audio.setup ?? session.setup ?? (type === 'offer' ? 'actpass' : 'active')) as string;
	if (setup !== 'actpass' && setup !== 'active' && setup !== 'passive') throw new SdpError(`a=setup:${setup} is not a DTLS role`);
	if (type === 'answer' && setup === 'actpass') throw new SdpError('an answer must choose a DTLS role (a=setup:active or passive), not actpass');

	const mediaIceLite = (audio as MediaDescription & { icelite?: string }).icelite === 'ice-lite';
	const iceLite = session.icelite === 'ice-lite' || mediaIceLite;
	if (iceLite) {
		session.icelite = 'ice-lite';
		delete (audio as MediaDescription & { icelite?: string }).icelite;
	}

	const all = audio.candidates ?? [];
	const usable = all.filter((c) => c.transport.toLowerCase() === 'udp' && isIpv4(c.ip));
	if (all.length > 0 && usable.length === 0) throw new SdpError(`none of the ${all.length} ICE candidates is UDP over IPv4`);
	// No candidate at all is allowed for a full-ICE far end that trickles; Meta never does.
	if (all.length === 0 && iceLite) throw new SdpError(`the ${type} is ICE-lite but has no candidate`);
	audio.candidates = usable;

	return {
		sdp: sdpTransform.write(session),
		audio: {
			mid,
			opusPayloadType: opus.payload,
			...(opusFmtp !== undefined ? { opusFmtp } : {}),
			...(telephoneEvent ? { telephoneEventPayloadType: telephoneEvent.payload } : {}),
			...firstSsrc(audio),
			setup,
			iceLite,
			candidates: usable.length,
			ignoredCandidates: all.length - usable.length,
		},
	};
}

export interface LocalAudio {
	ssrc: number;
	setup: DtlsSetup;
	candidates: number;
}

/**
 * Our SDP as it leaves for Meta: only UDP IPv4 candidates, all of them (no trickle),
 * the announced address in place of the local one when the sidecar is behind a 1:1
 * NAT, the fingerprint on the audio line. Returns the SDP and what it announces.
 */
export function finishLocalSdp(text: string, options: { announcedAddress?: string } = {}): { sdp: string; audio: LocalAudio } {
	const session = sdpTransform.parse(text);
	const audio = session.media.find((m) => m.type === 'audio');
	if (!audio) throw new SdpError('our description has no audio line');
	let candidates = (audio.candidates ?? []).filter((c) => c.transport.toLowerCase() === 'udp' && isIpv4(c.ip));
	if (candidates.length === 0) throw new SdpError('no local UDP IPv4 candidate was gathered');
	if (options.announcedAddress) {
		for (const c of candidates) c.ip = options.announcedAddress;
		// One socket gathered on several interfaces: once announced they are the same candidate.
		candidates = candidates.filter((c, i) => candidates.findIndex((o) => o.ip === c.ip && o.port === c.port) === i);
		audio.connection = { version: 4, ip: options.announcedAddress };
	}
	audio.candidates = candidates;
	audio.endOfCandidates = 'end-of-candidates';
	audio.port = candidates[0]!.port;
	// Every candidate is in the SDP: announcing trickle would have Meta wait for more.
	for (const holder of [session, audio] as { iceOptions?: string }[]) {
		const options = holder.iceOptions?.split(/[ ,]+/).filter((o) => o !== 'trickle' && o !== '');
		if (options?.length) holder.iceOptions = options.join(' ');
		else delete holder.iceOptions;
	}
	// The fingerprint where every parser looks for it: on the audio line.
	if (!audio.fingerprint && session.fingerprint) audio.fingerprint = session.fingerprint;
	delete session.fingerprint;
	if (audio.connection?.ip === '0.0.0.0' || !audio.connection) audio.connection = { version: 4, ip: candidates[0]!.ip };
	const ssrc = firstSsrc(audio).ssrc;
	if (ssrc === undefined) throw new SdpError('our description announces no SSRC');
	const setup = (audio.setup ?? session.setup) as DtlsSetup | undefined;
	if (!setup) throw new SdpError('our description has no a=setup');
	return { sdp: sdpTransform.write(session), audio: { ssrc, setup, candidates: candidates.length } };
}

function firstSsrc(media: MediaDescription): { ssrc?: number } {
	const ssrc = media.ssrcs?.[0]?.id;
	return ssrc === undefined ? {} : { ssrc: Number(ssrc) };
}

function isIpv4(ip: string): boolean {
	return /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(ip);
}
