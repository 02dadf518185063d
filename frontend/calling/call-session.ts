import { Device } from "mediasoup-client";
import type { Consumer, Producer, Transport } from "mediasoup-client/types";
import { io } from "socket.io-client";
import type {
  Ack,
  CallStatePush,
  EndReason,
  JoinAnswer,
  ParticipantInfo,
  QualitySample,
  Role,
  SidecarCallState,
  SignalingPushes,
  SignalingRequests,
  SignalingSocket,
} from "./signaling-types";

/** What the user sees; the sidecar's states folded into what matters on screen. */
export type CallStatus = "connecting" | "ringing" | "connected" | "on_hold" | "reconnecting" | "ended";

/** Why a call ended, in the words the panel shows. */
export type CallEndCause =
  /** This browser hung up (or, for a supervisor, left). */
  | { kind: "hangup" }
  /** `by` is the role of the participant whose hang-up ended it, when one did. */
  | { kind: "remote_ended"; reason?: EndReason; by?: Role }
  | { kind: "missed" }
  | { kind: "failed"; reason?: EndReason }
  | { kind: "sidecar_unreachable"; detail: string }
  | { kind: "token_refused"; code: string; detail: string }
  | { kind: "microphone_denied"; detail: string }
  | { kind: "error"; detail: string };

/** The call will end without anyone hanging up (the call server is shutting down). */
export interface CallEndingWarning {
  reason: EndReason;
  /** Epoch ms on this browser's clock. */
  endsAt: number;
}

export interface CallSessionEvents {
  status: (status: CallStatus, cause?: CallEndCause) => void;
  ending: (warning: CallEndingWarning) => void;
  participants: (participants: ParticipantInfo[]) => void;
  quality: (sample: QualitySample) => void;
  muted: (muted: boolean) => void;
}

export interface MediaCounters {
  /** inbound-rtp packetsReceived summed over every consumer. */
  packetsReceived: number;
  /** outbound-rtp packetsSent of our producer. */
  packetsSent: number;
  /** consumers whose inbound-rtp has received at least one packet. */
  activeInbound: number;
  /** ICE restarts asked of the sidecar after a transport went disconnected/failed. */
  iceRestartsRequested: number;
  /** ICE restarts done after a transport went disconnected/failed. */
  iceRestarts: number;
}

export interface CallSessionDeps {
  connectSocket(url: string, token: string): SignalingSocket;
  createDevice(): Device;
  getUserMedia(constraints: MediaStreamConstraints): Promise<MediaStream>;
  /** Plays a remote track; returns a function that stops playing it. */
  playTrack(track: MediaStreamTrack): () => void;
  /** How long to wait for the sidecar before calling it unreachable. */
  connectTimeoutMs: number;
}

export const browserDeps: CallSessionDeps = {
  connectSocket: (url, token) =>
    io(url, {
      auth: { token },
      transports: ["websocket"],
      reconnectionAttempts: 5,
      reconnectionDelay: 500,
      timeout: 5000,
    }) as unknown as SignalingSocket,
  createDevice: () => new Device(),
  getUserMedia: (constraints) => navigator.mediaDevices.getUserMedia(constraints),
  playTrack(track) {
    const audio = document.createElement("audio");
    audio.autoplay = true;
    audio.srcObject = new MediaStream([track]);
    audio.hidden = true;
    document.body.append(audio);
    void audio.play().catch(() => undefined);
    return () => {
      audio.srcObject = null;
      audio.remove();
    };
  },
  connectTimeoutMs: 10000,
};

const REQUEST_TIMEOUT_MS = 10_000;

const SIDECAR_TO_STATUS: Record<SidecarCallState, CallStatus> = {
  created: "ringing",
  ringing: "ringing",
  connecting: "connecting",
  connected: "connected",
  on_hold: "on_hold",
  reconnecting: "reconnecting",
  ended: "ended",
  missed: "ended",
  failed: "ended",
};

type Listener<E extends keyof CallSessionEvents> = CallSessionEvents[E];

/**
 * One call leg of this browser: the socket to the sidecar, the mediasoup
 * Device, its transports, our producer, the consumers, the microphone and the
 * level meter. It owns them all; close() releases everything and is idempotent.
 */
export class CallSession {
  readonly call: string;
  readonly role: JoinAnswer["role"];
  readonly listenOnly: boolean;

  #answer: JoinAnswer;
  #deps: CallSessionDeps;
  #socket: SignalingSocket | undefined;
  #device: Device | undefined;
  #sendTransport: Transport | undefined;
  #recvTransport: Transport | undefined;
  #producer: Producer | undefined;
  #consumers = new Map<string, { consumer: Consumer; stopPlaying: () => void }>();
  #micStream: MediaStream | undefined;
  #meter: { context: AudioContext; analyser: AnalyserNode; source: MediaStreamAudioSourceNode } | undefined;
  #participants = new Map<string, ParticipantInfo>();
  #listeners: { [E in keyof CallSessionEvents]: Set<Listener<E>> } = {
    status: new Set(),
    ending: new Set(),
    participants: new Set(),
    quality: new Set(),
    muted: new Set(),
  };
  #status: CallStatus = "connecting";
  #sidecarState: SidecarCallState = "created";
  #cause: CallEndCause | undefined;
  #ending: CallEndingWarning | undefined;
  /** Our call:hangup is on its way: an end for "hangup" pushed meanwhile is ours. */
  #hangingUp = false;
  #muted = false;
  #joinedOnce = false;
  #iceRestarting = new Set<string>();
  #iceRestarts = 0;
  #iceRestartsRequested = 0;
  #connectedAt: number | undefined;
  #closed = false;
  #pending = new Set<(reason: Error) => void>();

  constructor(answer: JoinAnswer, options: { listenOnly?: boolean; deps?: Partial<CallSessionDeps> } = {}) {
    this.#answer = answer;
    this.call = answer.call;
    this.role = answer.role;
    this.listenOnly = options.listenOnly ?? false;
    this.#deps = { ...browserDeps, ...options.deps };
  }

  get status(): CallStatus {
    return this.#status;
  }
  get endCause(): CallEndCause | undefined {
    return this.#cause;
  }
  /** Set once the call server has said the call will end (and when). */
  get ending(): CallEndingWarning | undefined {
    return this.#ending;
  }
  get muted(): boolean {
    return this.#muted;
  }
  get participantId(): string {
    return this.#answer.participant_id;
  }
  get participants(): ParticipantInfo[] {
    return [...this.#participants.values()];
  }
  /** ms since the call first reached connected, or 0. */
  get talkTimeMs(): number {
    return this.#connectedAt === undefined ? 0 : Date.now() - this.#connectedAt;
  }
  get microphoneTrack(): MediaStreamTrack | undefined {
    return this.#micStream?.getAudioTracks()[0];
  }

  on<E extends keyof CallSessionEvents>(event: E, listener: CallSessionEvents[E]): () => void {
    (this.#listeners[event] as Set<CallSessionEvents[E]>).add(listener);
    return () => (this.#listeners[event] as Set<CallSessionEvents[E]>).delete(listener);
  }

  /** Gets the microphone (unless listen-only), connects to the sidecar and joins the call. */
  async start(): Promise<void> {
    if (!this.listenOnly) {
      try {
        this.#micStream = await this.#deps.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true } });
      } catch (error) {
        this.#end({ kind: "microphone_denied", detail: errorText(error) });
        return;
      }
      if (this.#closed) return;
      this.#startMeter();
    }
    const socket = this.#deps.connectSocket(this.#answer.signaling_url, this.#answer.token);
    this.#socket = socket;
    this.#wirePushes(socket);
    try {
      await this.#waitConnected(socket);
    } catch (cause) {
      this.#end(cause as CallEndCause);
      return;
    }
    await this.#establish();
  }

  /** Connected sockets of a reconnect need a fresh join: the sidecar dropped our transports with the old socket. */
  async #establish(): Promise<void> {
    try {
      this.#closeMedia();
      // Capabilities and transports in one round trip: creating a transport needs no device.
      const [device, recvOptions, sendOptions] = await Promise.all([
        this.#loadDevice(),
        this.#request("transport:create", { direction: "recv" }),
        this.listenOnly ? null : this.#request("transport:create", { direction: "send" }),
      ]);
      this.#recvTransport = this.#createTransport(device, "recv", recvOptions);
      if (sendOptions) this.#sendTransport = this.#createTransport(device, "send", sendOptions);
      const capabilities = device.recvRtpCapabilities ?? device.rtpCapabilities;
      const joined = await this.#request("call:join", { rtpCapabilities: { ...capabilities, codecs: capabilities.codecs ?? [] } });
      this.#joinedOnce = true;
      const me: ParticipantInfo = { participantId: joined.participantId, role: joined.role, muted: this.#muted, listenOnly: this.listenOnly };
      this.#participants = new Map([me, ...joined.participants].map((p) => [p.participantId, p]));
      this.#emit("participants", this.participants);
      this.#applySidecarState(joined.state);
      const track = this.microphoneTrack;
      if (this.#sendTransport && track) {
        this.#producer = await this.#sendTransport.produce({
          track,
          codecOptions: { opusStereo: false, opusFec: true, opusDtx: true },
          stopTracks: false,
        });
        if (this.#muted) await this.#applyMute(true);
      }
    } catch (error) {
      if (this.#closed) return;
      this.#end({ kind: "error", detail: errorText(error) });
    }
  }

  async #loadDevice(): Promise<Device> {
    if (!this.#device) {
      const { rtpCapabilities } = await this.#request("router:capabilities", {});
      const device = this.#deps.createDevice();
      await device.load({ routerRtpCapabilities: rtpCapabilities as never });
      this.#device = this.#device ?? device;
    }
    return this.#device;
  }

  #createTransport(device: Device, direction: "send" | "recv", options: SignalingRequests["transport:create"][1]): Transport {
    const init = {
      id: options.transportId,
      iceParameters: options.iceParameters as never,
      iceCandidates: options.iceCandidates as never,
      dtlsParameters: options.dtlsParameters as never,
      iceServers: this.#answer.ice_servers,
    };
    const transport = direction === "send" ? device.createSendTransport(init) : device.createRecvTransport(init);
    transport.on("connect", ({ dtlsParameters }, callback, errback) => {
      this.#request("transport:connect", { transportId: transport.id, dtlsParameters }).then(() => callback(), errback);
    });
    if (direction === "send") {
      transport.on("produce", ({ kind, rtpParameters }, callback, errback) => {
        if (kind !== "audio") return errback(new Error("only audio is sent"));
        this.#request("producer:create", { transportId: transport.id, kind, rtpParameters })
          .then(({ producerId }) => callback({ id: producerId }), errback);
      });
    }
    transport.on("connectionstatechange", (state) => this.#onTransportState(transport, state));
    return transport;
  }

  /** A network blip: ask the sidecar for new ICE parameters and restart ICE on that transport. */
  #onTransportState(transport: Transport, state: RTCPeerConnectionState): void {
    if (this.#closed || transport.closed) return;
    if (state === "disconnected" || state === "failed") {
      this.#setStatus("reconnecting");
      if (this.#iceRestarting.has(transport.id)) return;
      this.#iceRestarting.add(transport.id);
      this.#iceRestartsRequested += 1;
      this.#request("transport:restartIce", { transportId: transport.id })
        .then(async ({ iceParameters }) => {
          if (transport.closed) return;
          await transport.restartIce({ iceParameters: iceParameters as never });
          this.#iceRestarts += 1;
        })
        .catch(() => undefined)
        .finally(() => this.#iceRestarting.delete(transport.id));
    } else if (state === "connected") {
      this.#setStatus(SIDECAR_TO_STATUS[this.#sidecarState]);
    }
  }

  #wirePushes(socket: SignalingSocket): void {
    const on = <E extends keyof SignalingPushes>(event: E, handler: (payload: SignalingPushes[E]) => void) =>
      socket.on(event, handler as (...args: never[]) => void);
    on("call:state", (push) => this.#applySidecarState(push.state, push.reason, push.endedBy));
    on("call:ending", ({ reason, endsInMs }) => {
      if (this.#closed) return;
      this.#ending = { reason, endsAt: Date.now() + endsInMs };
      this.#emit("ending", this.#ending);
    });
    on("participant:joined", (p) => {
      this.#participants.set(p.participantId, p);
      this.#emit("participants", this.participants);
    });
    on("participant:left", ({ participantId }) => {
      this.#participants.delete(participantId);
      this.#emit("participants", this.participants);
    });
    on("participant:muted", ({ participantId, muted }) => {
      const p = this.#participants.get(participantId);
      if (p) this.#participants.set(participantId, { ...p, muted });
      this.#emit("participants", this.participants);
    });
    on("consumer:new", (c) => void this.#consume(c));
    on("consumer:closed", ({ consumerId }) => {
      const entry = this.#consumers.get(consumerId);
      entry?.stopPlaying();
      entry?.consumer.close();
      this.#consumers.delete(consumerId);
    });
    on("quality:sample", (sample) => this.#emit("quality", sample));
    socket.on("disconnect", ((reason: string) => {
      if (this.#closed || reason === "io client disconnect") return;
      // A call server that announced its shutdown refuses reconnections: the call is over for us.
      if (this.#ending) return this.#end({ kind: "remote_ended", reason: this.#ending.reason });
      this.#setStatus("reconnecting");
    }) as (...args: never[]) => void);
    socket.on("connect", (() => {
      if (this.#closed || !this.#joinedOnce) return;
      void this.#establish();
    }) as (...args: never[]) => void);
    socket.io.on("reconnect_failed", (() => {
      this.#end({ kind: "sidecar_unreachable", detail: "lost the connection to the call server" });
    }) as (...args: never[]) => void);
  }

  async #consume(c: SignalingPushes["consumer:new"]): Promise<void> {
    const transport = this.#recvTransport;
    if (!transport || this.#closed) return;
    try {
      const consumer = await transport.consume({
        id: c.consumerId,
        producerId: c.producerId,
        kind: c.kind,
        rtpParameters: c.rtpParameters as never,
        appData: { participantId: c.participantId },
      });
      if (this.#closed || transport.closed) return consumer.close();
      const stopPlaying = this.#deps.playTrack(consumer.track);
      this.#consumers.set(consumer.id, { consumer, stopPlaying });
      await this.#request("consumer:resume", { consumerId: consumer.id });
    } catch {
      // A consumer that cannot be set up only loses that party's audio; the sidecar's quality samples show it.
    }
  }

  #waitConnected(socket: SignalingSocket): Promise<void> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (cause?: CallEndCause) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (cause) {
          socket.disconnect();
          reject(cause);
        } else resolve();
      };
      const timer = setTimeout(
        () => finish({ kind: "sidecar_unreachable", detail: "no answer from the call server" }),
        this.#deps.connectTimeoutMs,
      );
      if (socket.connected) return finish();
      socket.on("connect", (() => finish()) as (...args: never[]) => void);
      socket.on("connect_error", ((err: Error & { data?: { code?: string; message?: string } }) => {
        if (err.data?.code) finish({ kind: "token_refused", code: err.data.code, detail: err.data.message ?? err.message });
      }) as (...args: never[]) => void);
      socket.io.on("reconnect_failed", (() =>
        finish({ kind: "sidecar_unreachable", detail: "the call server did not answer" })) as (...args: never[]) => void);
    });
  }

  #applySidecarState(state: SidecarCallState, reason?: EndReason, endedBy?: CallStatePush["endedBy"]): void {
    this.#sidecarState = state;
    if (state === "ended") {
      const ours = reason === "hangup" && (endedBy ? endedBy.participantId === this.participantId : this.#hangingUp);
      this.#end(ours ? { kind: "hangup" } : { kind: "remote_ended", reason, ...(endedBy ? { by: endedBy.role } : {}) });
    } else if (state === "missed") {
      this.#end({ kind: "missed" });
    } else if (state === "failed") {
      this.#end({ kind: "failed", reason });
    } else {
      this.#setStatus(SIDECAR_TO_STATUS[state]);
    }
  }

  async setMuted(muted: boolean): Promise<void> {
    if (this.listenOnly || this.#closed || muted === this.#muted) return;
    this.#muted = muted;
    await this.#applyMute(muted);
    this.#emit("muted", muted);
  }

  async #applyMute(muted: boolean): Promise<void> {
    const producer = this.#producer;
    if (!producer) return;
    if (muted) producer.pause();
    else producer.resume();
    await this.#request(muted ? "producer:mute" : "producer:unmute", { producerId: producer.id });
  }

  /** Agent only: the sidecar pauses every party's audio (supervisors keep listening). */
  async setOnHold(onHold: boolean): Promise<void> {
    await this.#request("call:hold", { onHold });
  }

  async listMicrophones(): Promise<MediaDeviceInfo[]> {
    const devices = await navigator.mediaDevices.enumerateDevices();
    return devices.filter((d) => d.kind === "audioinput");
  }

  /** Swaps the microphone without renegotiating: the producer keeps its id, the other side hears the new one. */
  async switchMicrophone(deviceId: string): Promise<void> {
    if (this.listenOnly || this.#closed) return;
    const stream = await this.#deps.getUserMedia({ audio: { deviceId: { exact: deviceId }, echoCancellation: true, noiseSuppression: true } });
    const track = stream.getAudioTracks()[0];
    if (!track) throw new Error("that microphone gave no audio track");
    if (this.#closed) {
      track.stop();
      return;
    }
    await this.#producer?.replaceTrack({ track });
    this.#stopMic();
    this.#micStream = stream;
    this.#startMeter();
  }

  /** Microphone level 0..1 (RMS of the last analyser frame); 0 when muted or listen-only. */
  micLevel(): number {
    if (!this.#meter || this.#muted) return 0;
    const samples = new Float32Array(this.#meter.analyser.fftSize);
    this.#meter.analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const s of samples) sum += s * s;
    return Math.min(1, Math.sqrt(sum / samples.length) * 4);
  }

  #startMeter(): void {
    this.#stopMeter();
    if (!this.#micStream || typeof AudioContext === "undefined") return;
    const context = new AudioContext();
    const source = context.createMediaStreamSource(this.#micStream);
    const analyser = context.createAnalyser();
    analyser.fftSize = 1024;
    source.connect(analyser);
    this.#meter = { context, analyser, source };
  }

  #stopMeter(): void {
    if (!this.#meter) return;
    this.#meter.source.disconnect();
    void this.#meter.context.close().catch(() => undefined);
    this.#meter = undefined;
  }

  #stopMic(): void {
    for (const track of this.#micStream?.getTracks() ?? []) track.stop();
    this.#micStream = undefined;
  }

  /** Packet counters from the browser's own RTCPeerConnection stats (what the e2e tests read). */
  async mediaCounters(): Promise<MediaCounters> {
    const counters: MediaCounters = { packetsReceived: 0, packetsSent: 0, activeInbound: 0, iceRestartsRequested: this.#iceRestartsRequested, iceRestarts: this.#iceRestarts };
    for (const transport of [this.#recvTransport, this.#sendTransport]) {
      if (!transport || transport.closed) continue;
      const report = await transport.getStats();
      report.forEach((stat: { type: string; kind?: string; packetsReceived?: number; packetsSent?: number }) => {
        if (stat.type === "inbound-rtp" && stat.kind === "audio") {
          counters.packetsReceived += stat.packetsReceived ?? 0;
          if ((stat.packetsReceived ?? 0) > 0) counters.activeInbound += 1;
        } else if (stat.type === "outbound-rtp" && stat.kind === "audio") {
          counters.packetsSent += stat.packetsSent ?? 0;
        }
      });
    }
    return counters;
  }

  /**
   * Our hang-up: the sidecar ends the call for every party (a supervisor only leaves).
   * It answers before it ends the call, so a refused or unanswered hang-up is an error
   * the caller shows; the call is left here either way.
   */
  async hangUp(): Promise<void> {
    if (this.#closed) return;
    this.#hangingUp = true;
    try {
      if (this.#socket?.connected) await this.#request("call:hangup", {});
    } catch (error) {
      // Closed meanwhile (the call ended on its own, or close() was called): nothing was left to hang up.
      const closedMeanwhile = this.#closed;
      this.#end({ kind: "hangup" });
      if (!closedMeanwhile) throw error;
      return;
    }
    this.#end({ kind: "hangup" });
  }

  /**
   * The call is over by another word than the call server's (Frappe's voice_call_update): the
   * session ends with that cause, as when the call server says so, so its status is "ended".
   */
  endWith(cause: CallEndCause): void {
    this.#end(cause);
  }

  /** Releases everything; safe to call any number of times. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const abandon of [...this.#pending]) abandon(new Error("the call is closed"));
    this.#closeMedia();
    this.#stopMeter();
    this.#stopMic();
    this.#socket?.disconnect();
    this.#socket = undefined;
  }

  #closeMedia(): void {
    for (const { consumer, stopPlaying } of this.#consumers.values()) {
      stopPlaying();
      consumer.close();
    }
    this.#consumers.clear();
    this.#producer?.close();
    this.#producer = undefined;
    this.#sendTransport?.close();
    this.#recvTransport?.close();
    this.#sendTransport = undefined;
    this.#recvTransport = undefined;
  }

  #end(cause: CallEndCause): void {
    if (this.#status === "ended") return;
    this.#cause = cause;
    this.close();
    this.#status = "ended";
    this.#emit("status", "ended", cause);
  }

  #setStatus(status: CallStatus): void {
    if (this.#closed || status === this.#status) return;
    if (status === "connected" && this.#connectedAt === undefined) this.#connectedAt = Date.now();
    this.#status = status;
    this.#emit("status", status);
  }

  #emit<E extends keyof CallSessionEvents>(event: E, ...args: Parameters<CallSessionEvents[E]>): void {
    for (const listener of this.#listeners[event]) (listener as (...a: Parameters<CallSessionEvents[E]>) => void)(...args);
  }

  #requireSocket(): SignalingSocket {
    if (!this.#socket) throw new Error("not connected to the call server");
    return this.#socket;
  }

  #request<E extends keyof SignalingRequests>(event: E, payload: SignalingRequests[E][0]): Promise<SignalingRequests[E][1]> {
    const socket = this.#requireSocket();
    return new Promise((resolve, reject) => {
      // An ack can be lost with the socket (the call ended, the network went): never leave a caller waiting.
      const abandon = (reason: Error) => settle(() => reject(reason));
      const timer = setTimeout(() => abandon(new Error(`${event}: no answer from the call server`)), REQUEST_TIMEOUT_MS);
      this.#pending.add(abandon);
      const settle = (fn: () => void) => {
        if (!this.#pending.delete(abandon)) return;
        clearTimeout(timer);
        fn();
      };
      socket.emit(event, payload, (ack: Ack<unknown>) =>
        settle(() => (ack.ok ? resolve(ack.data as SignalingRequests[E][1]) : reject(new Error(`${event}: ${ack.error.code}: ${ack.error.message}`)))),
      );
    });
  }
}

function errorText(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
