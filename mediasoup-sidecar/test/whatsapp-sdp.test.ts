import { describe, expect, it } from 'vitest';
import { finishLocalSdp, parseRemoteSdp, SdpError } from '../src/whatsapp/sdp.js';

/** A Meta-shaped offer (WHATSAPP.md §3). */
const META_OFFER = [
	'v=0',
	'o=- 1700000000 2 IN IP4 157.240.1.1',
	's=-',
	't=0 0',
	'a=ice-lite',
	'a=group:BUNDLE 0',
	'm=audio 3480 UDP/TLS/RTP/SAVPF 111 126',
	'c=IN IP4 157.240.1.1',
	'a=candidate:1 1 udp 2122260223 157.240.1.1 3480 typ host generation 0',
	'a=ice-ufrag:AbCd',
	'a=ice-pwd:0123456789abcdefghijklmn',
	'a=fingerprint:sha-256 E5:F5:CA:A7:2D:93:E6:16:AC:21:09:9F:23:51:62:8C:D0:66:E9:0C:22:54:2B:82:0C:DF:E0:C5:2C:7E:CD:53',
	'a=setup:actpass',
	'a=mid:0',
	'a=sendrecv',
	'a=rtcp-mux',
	'a=rtpmap:111 opus/48000/2',
	'a=fmtp:111 maxaveragebitrate=20000;maxplaybackrate=16000;minptime=20;sprop-maxcapturerate=16000;useinbandfec=1',
	'a=rtpmap:126 telephone-event/8000',
	'a=ssrc:123456 cname:meta',
	'',
].join('\r\n');

function refused(sdp: unknown, type: 'offer' | 'answer' = 'offer'): string {
	try {
		parseRemoteSdp(sdp, type);
	} catch (err) {
		expect(err).toBeInstanceOf(SdpError);
		expect((err as SdpError).status).toBe(400);
		return (err as Error).message;
	}
	throw new Error('accepted');
}

describe('parseRemoteSdp', () => {
	it('reads what the leg needs of Meta\'s offer', () => {
		const { audio, sdp } = parseRemoteSdp(META_OFFER, 'offer');
		expect(audio).toEqual({
			mid: '0',
			opusPayloadType: 111,
			opusFmtp: 'maxaveragebitrate=20000;maxplaybackrate=16000;minptime=20;sprop-maxcapturerate=16000;useinbandfec=1',
			telephoneEventPayloadType: 126,
			ssrc: 123456,
			setup: 'actpass',
			iceLite: true,
			candidates: 1,
			ignoredCandidates: 0,
		});
		expect(sdp.split('\r\n').indexOf('a=ice-lite')).toBeLessThan(sdp.split('\r\n').findIndex((l) => l.startsWith('m=')));
	});

	it('lifts a media-level a=ice-lite to the session, and accepts LF line ends', () => {
		const mediaLevel = META_OFFER.replace('a=ice-lite\r\n', '').replace('a=rtcp-mux', 'a=rtcp-mux\r\na=ice-lite').replace(/\r\n/g, '\n');
		const { audio, sdp } = parseRemoteSdp(mediaLevel, 'offer');
		expect(audio.iceLite).toBe(true);
		const lines = sdp.split('\r\n');
		expect(lines.filter((l) => l === 'a=ice-lite')).toHaveLength(1);
		expect(lines.indexOf('a=ice-lite')).toBeLessThan(lines.findIndex((l) => l.startsWith('m=')));
	});

	it('drops IPv6, TCP and mDNS candidates and keeps the UDP IPv4 ones', () => {
		const extra = META_OFFER.replace(
			'a=ice-ufrag',
			'a=candidate:2 1 udp 2122262783 2a03:2880::1 3480 typ host\r\na=candidate:3 1 tcp 1518280447 157.240.1.1 443 typ host tcptype passive\r\na=candidate:4 1 udp 2122194687 abcd.local 3481 typ host\r\na=ice-ufrag',
		);
		const { audio, sdp } = parseRemoteSdp(extra, 'offer');
		expect([audio.candidates, audio.ignoredCandidates]).toEqual([1, 3]);
		expect(sdp.match(/a=candidate/g)).toHaveLength(1);
	});

	it('finds Opus among other codecs and keeps the offer\'s mid', () => {
		const other = META_OFFER.replace('SAVPF 111 126', 'SAVPF 0 8 96 126').replace(/a=rtpmap:111 opus/, 'a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:96 opus').replace('a=fmtp:111', 'a=fmtp:96').replace(/a=mid:0/, 'a=mid:audio');
		expect(parseRemoteSdp(other, 'offer').audio).toMatchObject({ mid: 'audio', opusPayloadType: 96 });
	});

	it('refuses garbage with a message saying what is wrong', () => {
		expect(refused('')).toMatch(/the offer is empty/);
		expect(refused(42)).toMatch(/the offer is empty/);
		expect(refused('<html>')).toMatch(/not an SDP/);
		expect(refused('v=0\r\n' + 'a'.repeat(20_000))).toMatch(/exceeds 16384 bytes/);
		expect(refused('v=0\r\no=- 1 1 IN IP4 1.1.1.1\r\ns=-\r\nt=0 0\r\n')).toMatch(/exactly one active audio line \(it has 0\)/);
		expect(refused(META_OFFER + META_OFFER.slice(META_OFFER.indexOf('m=audio')))).toMatch(/it has 2/);
		expect(refused(META_OFFER.replace('a=mid:0\r\n', ''))).toMatch(/no a=mid/);
		expect(refused(META_OFFER.replace('opus/48000/2', 'opus/16000/1'))).toMatch(/no opus\/48000 codec/);
		expect(refused(META_OFFER.replace(/a=ice-ufrag:.*\r\n/, ''))).toMatch(/no ICE credentials/);
		expect(refused(META_OFFER.replace(/a=fingerprint:.*\r\n/, ''))).toMatch(/no DTLS fingerprint/);
		expect(refused(META_OFFER.replace('a=setup:actpass', 'a=setup:holdconn'))).toMatch(/a=setup:holdconn is not a DTLS role/);
		expect(refused(META_OFFER, 'answer')).toMatch(/an answer must choose a DTLS role/);
		expect(refused(META_OFFER.replace('UDP/TLS/RTP/SAVPF', 'RTP/AVP'))).toMatch(/not DTLS-SRTP/);
		expect(refused(META_OFFER.replace(/a=candidate:.*\r\n/, ''))).toMatch(/ICE-lite but has no candidate/);
		expect(refused(META_OFFER.replace('udp 2122260223 157.240.1.1', 'tcp 2122260223 157.240.1.1'))).toMatch(/none of the 1 ICE candidates is UDP over IPv4/);
	});
});

describe('finishLocalSdp', () => {
	const ours = [
		'v=0',
		'o=rtc 1 0 IN IP4 127.0.0.1',
		's=-',
		't=0 0',
		'a=fingerprint:sha-256 E5:F5:CA:A7:2D:93:E6:16:AC:21:09:9F:23:51:62:8C:D0:66:E9:0C:22:54:2B:82:0C:DF:E0:C5:2C:7E:CD:53',
		'a=ice-options:ice2,trickle',
		'a=group:BUNDLE 0',
		'm=audio 50000 UDP/TLS/RTP/SAVPF 111',
		'c=IN IP4 10.0.0.5',
		'a=mid:0',
		'a=sendrecv',
		'a=ssrc:99 cname:wa',
		'a=rtcp-mux',
		'a=setup:active',
		'a=ice-ufrag:x',
		'a=ice-pwd:yyyyyyyyyyyyyyyyyyyyyyyy',
		'a=rtpmap:111 opus/48000/2',
		'a=candidate:1 1 UDP 2122317823 10.0.0.5 50000 typ host',
		'a=candidate:2 1 UDP 2122317823 fd00::5 50000 typ host',
		'a=end-of-candidates',
		'',
	].join('\r\n');

	it('keeps the UDP IPv4 candidates and reports the SSRC and DTLS role', () => {
		const { sdp, audio } = finishLocalSdp(ours);
		expect(audio).toEqual({ ssrc: 99, setup: 'active', candidates: 1 });
		expect(sdp).not.toContain('fd00::5');
		expect(sdp).toMatch(/^m=audio 50000 /m);
		expect(sdp).toContain('a=end-of-candidates');
	});

	it('announces no trickle and puts the fingerprint on the audio line', () => {
		const lines = finishLocalSdp(ours).sdp.split('\r\n');
		expect(lines.filter((l) => l.startsWith('a=ice-options'))).toEqual(['a=ice-options:ice2']);
		const fingerprint = lines.findIndex((l) => l.startsWith('a=fingerprint:sha-256 E5:F5'));
		expect(fingerprint).toBeGreaterThan(lines.findIndex((l) => l.startsWith('m=audio')));
	});

	it('announces the public address in place of the local one (1:1 NAT)', () => {
		const { sdp } = finishLocalSdp(ours, { announcedAddress: '203.0.113.7' });
		expect(sdp).toContain('a=candidate:1 1 UDP 2122317823 203.0.113.7 50000 typ host');
		expect(sdp).toContain('c=IN IP4 203.0.113.7');
		expect(sdp).not.toContain('10.0.0.5');
		// The same socket gathered on two interfaces is one candidate once announced.
		const twice = ours.replace('a=end-of-candidates', 'a=candidate:3 1 UDP 2122317822 192.168.1.5 50000 typ host\r\na=end-of-candidates');
		expect(finishLocalSdp(twice, { announcedAddress: '203.0.113.7' }).audio.candidates).toBe(1);
	});

	it('refuses a description without a usable candidate or SSRC', () => {
		expect(() => finishLocalSdp(ours.replace(/a=candidate:1 .*\r\n/, ''))).toThrow(/no local UDP IPv4 candidate/);
		expect(() => finishLocalSdp(ours.replace('a=ssrc:99 cname:wa\r\n', ''))).toThrow(/announces no SSRC/);
	});
});
