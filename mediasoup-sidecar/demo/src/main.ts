// Dev-only demo: two tabs call each other through the sidecar, in the client
// order of docs/sidecar.md (capabilities, transports, join, produce, consume).
import { Device, types } from 'mediasoup-client';
import { io, type Socket } from 'socket.io-client';

import type { Ack, NewConsumer, ParticipantInfo, QualitySample, SignalingRequests, TransportOptions } from '../../../contracts/signaling';

interface DemoCall { callId: string; agent: { token: string }; customer: { token: string } }
export interface SetupTimings {
	connectedAt?: number;
	transportsAt?: number;
	joinedAt?: number;
	producedAt?: number;
	consumerPushedAt?: number;
	consumerResumedAt?: number;
	firstInboundAt?: number;
}
export interface InboundCounters { packetsReceived: number; packetsLost: number; jitterMs: number | null }

function el<T extends HTMLElement>(id: string): T {
	const found = document.getElementById(id);
	if (!found) throw new Error(`#${id} missing from the page`);
	return found as T;
}

class DemoCallView {
	private socket?: Socket;
	private recvTransport?: types.Transport;
	private sendTransport?: types.Transport;
	private producer?: types.Producer;
	private participants = new Map<string, ParticipantInfo>();
	private selfId = '';
	private audioContext?: AudioContext;
	private timers: number[] = [];
	private closed = false;
	/** Epoch ms of each setup step, from the socket connect to the first inbound RTP packet (the benchmark's call setup time). */
	readonly timings: SetupTimings = {};

	constructor(readonly callId: string, private readonly token: string) {}

	get ended(): boolean {
		return this.closed;
	}

	async join(): Promise<void> {
		el('start-card').hidden = true;
		el('call-card').hidden = false;
		el('call-actions').hidden = false;
		el('call-id').textContent = this.callId;
		this.setState('connecting…');
		this.renderParticipants();
		// The microphone first, as the desk does: nothing is signalled for a caller who cannot speak.
		const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
		const track = stream.getAudioTracks()[0];
		if (!track) throw new Error('no microphone track');
		this.meter(stream);
		const socket = io(location.origin, { auth: { token: this.token, callId: this.callId }, transports: ['websocket'], reconnection: false });
		this.socket = socket;
		socket.on('connect_error', (err: Error & { data?: { code?: string } }) => this.fail(`Could not connect: ${err.data?.code ?? err.message}`));
		socket.on('disconnect', () => { if (!this.closed) this.end('disconnected'); });
		socket.on('call:state', (p: { state: string; reason?: string }) => {
			this.setState(p.state, p.reason);
			if (['ended', 'failed', 'missed'].includes(p.state)) this.end();
		});
		socket.on('participant:joined', (p: ParticipantInfo) => { this.participants.set(p.participantId, p); this.renderParticipants(); });
		socket.on('participant:left', (p: { participantId: string }) => { this.participants.delete(p.participantId); this.renderParticipants(); });
		socket.on('participant:muted', (p: { participantId: string; muted: boolean }) => {
			const info = this.participants.get(p.participantId);
			if (info) { info.muted = p.muted; this.renderParticipants(); }
		});
		socket.on('consumer:new', (c: NewConsumer) => void this.consume(c).catch((e: unknown) => this.fail(`Could not receive audio: ${String(e)}`)));
		socket.on('quality:sample', (q: QualitySample) => {
			if (q.participantId !== this.selfId || q.direction !== 'outbound') return;
			el('sfu-quality').textContent = `${q.packetLossPct.toFixed(1)} % loss · ${q.jitterMs.toFixed(0)} ms jitter · ${q.bitrateKbps.toFixed(0)} kbit/s${q.rttMs != null ? ` · ${q.rttMs.toFixed(0)} ms RTT` : ''}`;
		});
		await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
		this.timings.connectedAt = Date.now();

		// Steps 1 and 2 of the client order in one round trip: creating a transport needs no device.
		const [{ rtpCapabilities }, recvOptions, sendOptions] = await Promise.all([
			this.request('router:capabilities', {}),
			this.request('transport:create', { direction: 'recv' }),
			this.request('transport:create', { direction: 'send' }),
		]);
		const device = new Device();
		await device.load({ routerRtpCapabilities: rtpCapabilities as types.RtpCapabilities });
		this.recvTransport = device.createRecvTransport(this.transportOptions(recvOptions));
		this.sendTransport = device.createSendTransport(this.transportOptions(sendOptions));
		this.timings.transportsAt = Date.now();
		for (const transport of [this.recvTransport, this.sendTransport]) {
			transport.on('connect', ({ dtlsParameters }, done, failed) => {
				this.request('transport:connect', { transportId: transport.id, dtlsParameters }).then(() => done(), failed);
			});
		}
		this.sendTransport.on('produce', ({ kind, rtpParameters }, done, failed) => {
			if (kind !== 'audio') return failed(new Error('only audio is sent'));
			this.request('producer:create', { transportId: this.sendTransport!.id, kind, rtpParameters })
				.then(({ producerId }) => done({ id: producerId }), failed);
		});

		const joined = await this.request('call:join', { rtpCapabilities: { ...device.rtpCapabilities, codecs: device.rtpCapabilities.codecs ?? [] } });
		this.timings.joinedAt = Date.now();
		this.selfId = joined.participantId;
		this.participants.set(joined.participantId, { participantId: joined.participantId, role: joined.role, muted: false });
		for (const p of joined.participants) this.participants.set(p.participantId, p);
		this.renderParticipants();
		this.setState(joined.state);

		this.producer = await this.sendTransport.produce({ track, codecOptions: { opusFec: true, opusDtx: false } });
		this.timings.producedAt = Date.now();
		el<HTMLButtonElement>('mute').disabled = false;
		el<HTMLButtonElement>('hangup').disabled = false;
		this.timers.push(window.setInterval(() => void this.showInbound(), 1000));
	}

	private transportOptions(t: TransportOptions): types.TransportOptions {
		// The wire types leave mediasoup's own shapes to mediasoup; the sidecar sends them as mediasoup made them.
		return {
			id: t.transportId,
			iceParameters: t.iceParameters as types.IceParameters,
			iceCandidates: t.iceCandidates as types.IceCandidate[],
			dtlsParameters: t.dtlsParameters as types.DtlsParameters,
			iceServers: (t.iceServers ?? []) as RTCIceServer[],
		};
	}

	private async consume(c: NewConsumer): Promise<void> {
		if (!this.recvTransport) return;
		this.timings.consumerPushedAt ??= Date.now();
		const consumer = await this.recvTransport.consume({ id: c.consumerId, producerId: c.producerId, kind: c.kind, rtpParameters: c.rtpParameters as types.RtpParameters });
		// A remote track unmutes when its first RTP packet arrives.
		consumer.track.addEventListener('unmute', () => { this.timings.firstInboundAt ??= Date.now(); }, { once: true });
		const audio = document.createElement('audio');
		audio.autoplay = true;
		audio.srcObject = new MediaStream([consumer.track]);
		audio.dataset.participant = c.participantId;
		document.body.append(audio);
		consumer.observer.once('close', () => audio.remove());
		this.socket?.on('consumer:closed', (p: { consumerId: string }) => { if (p.consumerId === consumer.id) consumer.close(); });
		await this.request('consumer:resume', { consumerId: consumer.id });
		this.timings.consumerResumedAt ??= Date.now();
	}

	async toggleMute(): Promise<void> {
		if (!this.producer) return;
		const muting = !this.producer.paused;
		await this.request(muting ? 'producer:mute' : 'producer:unmute', { producerId: this.producer.id });
		if (muting) this.producer.pause(); else this.producer.resume();
		const button = el<HTMLButtonElement>('mute');
		button.textContent = muting ? 'Unmute' : 'Mute';
		button.setAttribute('aria-pressed', String(muting));
		const self = this.participants.get(this.selfId);
		if (self) { self.muted = muting; this.renderParticipants(); }
	}

	async hangup(): Promise<void> {
		try {
			// The sidecar answers before it ends the call, so the answer arrives before the end is pushed.
			await this.request('call:hangup', {});
		} catch (e) {
			showError(`Hang-up: ${e instanceof Error ? e.message : String(e)}`);
		}
		this.end('hangup');
	}

	/** Inbound audio RTP of this tab, summed over every receiving RTCPeerConnection (also read by the e2e test). */
	async inbound(): Promise<InboundCounters> {
		const totals: InboundCounters = { packetsReceived: 0, packetsLost: 0, jitterMs: null };
		if (!this.recvTransport || this.recvTransport.closed) return totals;
		const report = await this.recvTransport.getStats();
		report.forEach((s: { type: string; kind?: string; packetsReceived?: number; packetsLost?: number; jitter?: number }) => {
			if (s.type !== 'inbound-rtp' || s.kind !== 'audio') return;
			totals.packetsReceived += s.packetsReceived ?? 0;
			totals.packetsLost += s.packetsLost ?? 0;
			if (s.jitter !== undefined) totals.jitterMs = Math.max(totals.jitterMs ?? 0, s.jitter * 1000);
		});
		return totals;
	}

	private async showInbound(): Promise<void> {
		const c = await this.inbound();
		el('in-packets').textContent = c.packetsReceived.toLocaleString('en');
		el('in-lost').textContent = c.packetsLost.toLocaleString('en');
		el('in-jitter').textContent = c.jitterMs === null ? '–' : `${c.jitterMs.toFixed(0)} ms`;
	}

	private meter(stream: MediaStream): void {
		this.audioContext = new AudioContext();
		// Autoplay policy may start it suspended; the meter only reads, so resuming is harmless.
		void this.audioContext.resume();
		const analyser = this.audioContext.createAnalyser();
		analyser.fftSize = 512;
		this.audioContext.createMediaStreamSource(stream).connect(analyser);
		const samples = new Float32Array(analyser.fftSize);
		const bar = el('meter-bar');
		const meter = bar.parentElement!;
		this.timers.push(window.setInterval(() => {
			analyser.getFloatTimeDomainData(samples);
			let sum = 0;
			for (const v of samples) sum += v * v;
			const rms = Math.sqrt(sum / samples.length);
			const level = this.producer?.paused ? 0 : Math.min(100, Math.round(Math.max(0, 20 * Math.log10(rms || 1e-6) + 60) * (100 / 60)));
			bar.style.width = `${level}%`;
			meter.setAttribute('aria-valuenow', String(level));
		}, 100));
	}

	private renderParticipants(): void {
		const list = el('participants');
		list.replaceChildren(...[...this.participants.values()].map((p) => {
			const li = document.createElement('li');
			const name = document.createElement('span');
			name.textContent = p.participantId === this.selfId ? 'You' : (p.name ?? p.participantId);
			const meta = document.createElement('span');
			meta.className = 'role';
			meta.textContent = p.role;
			if (p.muted) {
				const flag = document.createElement('span');
				flag.className = 'muted-flag';
				flag.textContent = ' muted';
				meta.append(flag);
			}
			li.append(name, meta);
			return li;
		}));
	}

	private setState(state: string, reason?: string): void {
		const badge = el('state');
		badge.dataset.state = state;
		badge.textContent = reason ? `${state} (${reason.replaceAll('_', ' ')})` : state;
	}

	private request<E extends keyof SignalingRequests>(event: E, payload: SignalingRequests[E][0]): Promise<SignalingRequests[E][1]> {
		type Answer = SignalingRequests[E][1];
		const socket = this.socket;
		if (!socket) return Promise.reject(new Error('not connected'));
		return new Promise<Answer>((resolve, reject) => {
			socket.timeout(10_000).emit(event, payload, (err: Error | null, ack: Ack<Answer>) => {
				if (err) return reject(new Error(`${event}: no answer`));
				if (ack.ok) resolve(ack.data);
				else reject(new Error(`${event}: ${ack.error.code} – ${ack.error.message}`));
			});
		});
	}

	fail(message: string): void {
		const box = el('error');
		box.textContent = message;
		box.hidden = false;
		this.end();
	}

	private end(reason?: string): void {
		if (this.closed) return;
		this.closed = true;
		if (reason) this.setState('ended', reason);
		for (const t of this.timers) clearInterval(t);
		el('meter-bar').style.width = '0%';
		this.producer?.track?.stop();
		this.sendTransport?.close();
		this.recvTransport?.close();
		void this.audioContext?.close();
		this.socket?.disconnect();
		el<HTMLButtonElement>('mute').disabled = true;
		el<HTMLButtonElement>('hangup').disabled = true;
		// Nobody is on the call any more and its link no longer lets anyone in.
		this.participants.clear();
		this.renderParticipants();
		el('invite').hidden = true;
		el('call-actions').hidden = true;
		// The call card stays to show how the call ended; another call can start from here.
		el('start-card').hidden = false;
		el<HTMLButtonElement>('start').disabled = false;
	}
}

let current: DemoCallView | undefined;

function showError(message: string): void {
	const box = el('error');
	box.textContent = message;
	box.hidden = false;
}

async function startCall(): Promise<void> {
	const button = el<HTMLButtonElement>('start');
	button.disabled = true;
	try {
		const res = await fetch('api/calls', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
		if (!res.ok) throw new Error(`the sidecar answered ${res.status}`);
		const call = (await res.json()) as DemoCall;
		const link = new URL(location.href);
		link.hash = new URLSearchParams({ call: call.callId, token: call.customer.token }).toString();
		await run(call.callId, call.agent.token, link.toString());
	} catch (e) {
		button.disabled = false;
		showError(`Could not start a call: ${e instanceof Error ? e.message : String(e)}`);
	}
}

/** Starts a call view in a card cleared of the previous call. */
async function run(callId: string, token: string, inviteLink?: string): Promise<void> {
	el('error').hidden = true;
	el<HTMLInputElement>('invite-link').value = inviteLink ?? '';
	el('invite').hidden = inviteLink === undefined;
	el<HTMLButtonElement>('mute').textContent = 'Mute';
	el('mute').setAttribute('aria-pressed', 'false');
	for (const id of ['in-packets', 'in-lost']) el(id).textContent = '0';
	for (const id of ['in-jitter', 'sfu-quality']) el(id).textContent = '–';
	current = new DemoCallView(callId, token);
	await current.join().catch((e: unknown) => current?.fail(e instanceof Error ? e.message : String(e)));
}

function init(): void {
	el('start').addEventListener('click', () => void startCall());
	el('mute').addEventListener('click', () => void current?.toggleMute().catch((e: unknown) => showError(String(e))));
	el('hangup').addEventListener('click', () => void current?.hangup());
	el('copy').addEventListener('click', () => {
		const input = el<HTMLInputElement>('invite-link');
		input.select();
		void navigator.clipboard?.writeText(input.value).catch(() => undefined);
	});
	(window as unknown as { sidecarDemo: object }).sidecarDemo = {
		inbound: () => current?.inbound() ?? null,
		timings: () => (current ? { callId: current.callId, ended: current.ended, ...current.timings } : null),
	};
	joinFromLink();
	// A new invite link pasted into a tab whose call is over joins that call.
	window.addEventListener('hashchange', () => { if (!current || current.ended) joinFromLink(); });
}

/** The second tab's link carries its token in the fragment, which never reaches a server log. */
function joinFromLink(): void {
	const params = new URLSearchParams(location.hash.slice(1));
	const callId = params.get('call');
	const token = params.get('token');
	if (callId && token) {
		history.replaceState(null, '', location.pathname);
		void run(callId, token);
	}
}

init();
