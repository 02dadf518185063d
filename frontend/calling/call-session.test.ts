import { describe, expect, it, vi } from "vitest";
import type { Device } from "mediasoup-client";
import { CallSession, type CallEndCause, type CallSessionDeps, type CallStatus } from "./call-session";
import type { Ack, JoinAnswer, SignalingSocket } from "./signaling-types";

type Handler = (...args: unknown[]) => void;

class Emitter {
  handlers = new Map<string, Handler[]>();
  on(event: string, fn: (...args: never[]) => void) {
    this.handlers.set(event, [...(this.handlers.get(event) ?? []), fn as Handler]);
    return this;
  }
  fire(event: string, ...args: unknown[]) {
    for (const fn of this.handlers.get(event) ?? []) fn(...args);
  }
}

/** A socket.io stand-in: records requests and answers them from `replies`. */
class FakeSocket extends Emitter implements SignalingSocket {
  connected = false;
  disconnects = 0;
  io = new Emitter();
  sent: { event: string; payload: unknown }[] = [];
  replies: Record<string, (payload: unknown) => Ack<unknown> | undefined> = {
    "router:capabilities": () => ({ ok: true, data: { rtpCapabilities: { codecs: [] } } }),
    "transport:create": (p) => ({
      ok: true,
      data: { transportId: `t-${(p as { direction: string }).direction}`, iceParameters: {}, iceCandidates: [], dtlsParameters: {} },
    }),
    "call:join": () => ({ ok: true, data: { participantId: "agent@example.com", role: "agent", state: "ringing", participants: [] } }),
    "producer:create": () => ({ ok: true, data: { producerId: "p-1" } }),
    "transport:restartIce": () => ({ ok: true, data: { iceParameters: { usernameFragment: "new" } } }),
  };
  emit(event: string, payload: unknown, ack: (ack: Ack<unknown>) => void) {
    this.sent.push({ event, payload });
    const answer = this.replies[event];
    const reply = answer ? answer(payload) : { ok: true as const, data: {} };
    if (reply) queueMicrotask(() => ack(reply));
    return this;
  }
  connect() {
    return this;
  }
  disconnect() {
    this.disconnects += 1;
    this.connected = false;
    return this;
  }
  open() {
    this.connected = true;
    this.fire("connect");
  }
  events() {
    return this.sent.map((s) => s.event);
  }
}

class FakeTransport extends Emitter {
  closed = false;
  restartedWith: unknown;
  constructor(
    readonly id: string,
    readonly direction: "send" | "recv",
  ) {
    super();
  }
  async produce() {
    const rtpParameters = { codecs: [] };
    const id = await new Promise<string>((resolve, reject) =>
      this.fire("produce", { kind: "audio", rtpParameters }, ({ id }: { id: string }) => resolve(id), reject),
    );
    return { id, paused: false, pause: vi.fn(), resume: vi.fn(), close: vi.fn(), replaceTrack: vi.fn() };
  }
  async restartIce({ iceParameters }: { iceParameters: unknown }) {
    this.restartedWith = iceParameters;
  }
  async getStats() {
    return new Map();
  }
  close() {
    this.closed = true;
  }
}

function fakeDevice() {
  const transports: FakeTransport[] = [];
  const device = {
    rtpCapabilities: { codecs: [] },
    recvRtpCapabilities: { codecs: [] },
    load: vi.fn(async () => undefined),
    createSendTransport: (o: { id: string }) => {
      const t = new FakeTransport(o.id, "send");
      transports.push(t);
      return t;
    },
    createRecvTransport: (o: { id: string }) => {
      const t = new FakeTransport(o.id, "recv");
      transports.push(t);
      return t;
    },
  };
  return { device: device as unknown as Device, transports };
}

const ANSWER: JoinAnswer = {
  call: "VC-1",
  signaling_url: "http://127.0.0.1:1",
  token: "t",
  expires_at: "2026-01-01T00:00:00Z",
  ice_servers: [],
  role: "agent",
  participant_id: "agent@example.com",
};

function fakeTrack() {
  return { stop: vi.fn(), kind: "audio", getSettings: () => ({ deviceId: "mic-1" }) } as unknown as MediaStreamTrack;
}

function setup(opts: { listenOnly?: boolean; getUserMedia?: CallSessionDeps["getUserMedia"]; autoConnect?: boolean } = {}) {
  const socket = new FakeSocket();
  const { device, transports } = fakeDevice();
  const track = fakeTrack();
  const getUserMedia = vi.fn(
    opts.getUserMedia ?? (async () => ({ getAudioTracks: () => [track], getTracks: () => [track] }) as unknown as MediaStream),
  );
  const connectSocket = vi.fn((): SignalingSocket => {
    if (opts.autoConnect !== false) queueMicrotask(() => socket.open());
    return socket;
  });
  const session = new CallSession(opts.listenOnly ? { ...ANSWER, role: "supervisor" } : ANSWER, {
    listenOnly: opts.listenOnly,
    deps: { connectSocket, createDevice: () => device, getUserMedia, playTrack: () => () => undefined, connectTimeoutMs: 50 },
  });
  const statuses: [CallStatus, CallEndCause | undefined][] = [];
  session.on("status", (s, c) => statuses.push([s, c]));
  return { session, socket, transports, track, getUserMedia, connectSocket, statuses };
}

describe("CallSession", () => {
  it("joins in the contract's order and produces the microphone", async () => {
    const { session, socket, transports } = setup();
    await session.start();
    expect(socket.events()).toEqual(["router:capabilities", "transport:create", "transport:create", "call:join", "producer:create"]);
    expect(socket.sent[1]?.payload).toEqual({ direction: "recv" });
    expect(socket.sent[4]?.payload).toMatchObject({ transportId: "t-send", kind: "audio" });
    expect(transports.map((t) => t.direction)).toEqual(["recv", "send"]);
    expect(session.status).toBe("ringing");
    expect(session.participants.map((p) => p.participantId)).toEqual(["agent@example.com"]);
    socket.fire("call:state", { state: "connected" });
    expect(session.status).toBe("connected");
    socket.fire("call:state", { state: "on_hold" });
    expect(session.status).toBe("on_hold");
  });

  it("a listen-only supervisor asks for no microphone and creates no send transport", async () => {
    const { session, socket, getUserMedia } = setup({ listenOnly: true });
    await session.start();
    expect(getUserMedia).not.toHaveBeenCalled();
    expect(socket.events()).toEqual(["router:capabilities", "transport:create", "call:join"]);
    await session.setMuted(true);
    expect(socket.events()).not.toContain("producer:mute");
  });

  it("a talking supervisor (not listen-only) sends its microphone", async () => {
    const socket = new FakeSocket();
    const { device } = fakeDevice();
    const track = fakeTrack();
    const session = new CallSession({ ...ANSWER, role: "supervisor", participant_id: "manager@example.com" }, {
      listenOnly: false,
      deps: {
        connectSocket: () => (queueMicrotask(() => socket.open()), socket),
        createDevice: () => device,
        getUserMedia: async () => ({ getAudioTracks: () => [track], getTracks: () => [track] }) as unknown as MediaStream,
        playTrack: () => () => undefined,
        connectTimeoutMs: 50,
      },
    });
    await session.start();
    expect(socket.events()).toContain("producer:create");
    session.close();
  });

  it("a refused microphone ends the call before any connection", async () => {
    const { session, connectSocket, statuses } = setup({
      getUserMedia: async () => {
        throw new DOMException("Permission denied", "NotAllowedError");
      },
    });
    await session.start();
    expect(connectSocket).not.toHaveBeenCalled();
    expect(statuses.at(-1)?.[0]).toBe("ended");
    expect(statuses.at(-1)?.[1]).toMatchObject({ kind: "microphone_denied" });
  });

  it("a refused token ends with its code and the socket closed", async () => {
    const { session, socket, track, connectSocket, statuses } = setup({ autoConnect: false });
    const started = session.start();
    await vi.waitFor(() => expect(connectSocket).toHaveBeenCalled());
    socket.fire("connect_error", Object.assign(new Error("expired"), { data: { code: "expired", message: "token expired" } }));
    await started;
    expect(statuses.at(-1)?.[1]).toEqual({ kind: "token_refused", code: "expired", detail: "token expired" });
    expect(socket.disconnects).toBeGreaterThan(0);
    expect(track.stop).toHaveBeenCalled();
  });

  it("a sidecar that never answers is reported unreachable", async () => {
    const { session, statuses } = setup({ autoConnect: false });
    await session.start();
    expect(statuses.at(-1)?.[1]).toMatchObject({ kind: "sidecar_unreachable" });
  });

  it("a network blip restarts ICE and shows reconnecting until the transport is back", async () => {
    const { session, socket, transports } = setup();
    await session.start();
    socket.fire("call:state", { state: "connected" });
    const send = transports.find((t) => t.direction === "send")!;
    send.fire("connectionstatechange", "disconnected");
    expect(session.status).toBe("reconnecting");
    await vi.waitFor(() => expect(send.restartedWith).toEqual({ usernameFragment: "new" }));
    expect(socket.sent.find((s) => s.event === "transport:restartIce")?.payload).toEqual({ transportId: "t-send" });
    send.fire("connectionstatechange", "connected");
    expect(session.status).toBe("connected");
    expect((await session.mediaCounters()).iceRestarts).toBe(1);
  });

  it("maps the sidecar's end states to causes", async () => {
    for (const [push, cause] of [
      [{ state: "missed", reason: "no_answer" }, { kind: "missed" }],
      [{ state: "ended", reason: "hangup" }, { kind: "remote_ended", reason: "hangup" }],
      [{ state: "ended", reason: "hangup", endedBy: { participantId: "inv-1", role: "customer" } }, { kind: "remote_ended", reason: "hangup", by: "customer" }],
      [{ state: "ended", reason: "hangup", endedBy: { participantId: "agent@example.com", role: "agent" } }, { kind: "hangup" }],
      [{ state: "ended", reason: "sidecar_shutdown" }, { kind: "remote_ended", reason: "sidecar_shutdown" }],
      [{ state: "failed", reason: "worker_died" }, { kind: "failed", reason: "worker_died" }],
    ] as const) {
      const { session, socket, statuses } = setup();
      await session.start();
      socket.fire("call:state", push);
      expect(session.status).toBe("ended");
      expect(statuses.at(-1)?.[1]).toEqual(cause);
    }
  });

  it("our own hang-up reads as ours even when the sidecar's end overtakes its ack", async () => {
    for (const endedBy of [undefined, { participantId: "agent@example.com", role: "agent" }]) {
      const { session, socket, statuses } = setup();
      await session.start();
      socket.replies["call:hangup"] = () => {
        socket.fire("call:state", { state: "ended", reason: "hangup", ...(endedBy ? { endedBy } : {}) });
        return { ok: true, data: {} };
      };
      await session.hangUp();
      expect(statuses.filter(([s]) => s === "ended")).toEqual([["ended", { kind: "hangup" }]]);
    }
  });

  it("a shutdown warning counts down on our clock; a drop after it ends the call (the server takes nobody back)", async () => {
    const { session, socket, statuses } = setup();
    await session.start();
    const warnings: unknown[] = [];
    session.on("ending", (w) => warnings.push(w));
    const before = Date.now();
    socket.fire("call:ending", { reason: "sidecar_shutdown", endsInMs: 30_000 });
    expect(warnings).toHaveLength(1);
    expect(session.ending?.reason).toBe("sidecar_shutdown");
    expect(session.ending!.endsAt - before).toBeGreaterThanOrEqual(30_000);
    expect(session.ending!.endsAt - Date.now()).toBeLessThanOrEqual(30_000);
    expect(session.status).toBe("ringing");
    socket.fire("disconnect", "transport close");
    expect(statuses.at(-1)).toEqual(["ended", { kind: "remote_ended", reason: "sidecar_shutdown" }]);
  });

  it("mute pauses the producer and tells the sidecar", async () => {
    const { session, socket } = setup();
    await session.start();
    const muted: boolean[] = [];
    session.on("muted", (m) => muted.push(m));
    await session.setMuted(true);
    await session.setMuted(true);
    await session.setMuted(false);
    expect(socket.sent.filter((s) => s.event.startsWith("producer:") && s.event !== "producer:create")).toEqual([
      { event: "producer:mute", payload: { producerId: "p-1" } },
      { event: "producer:unmute", payload: { producerId: "p-1" } },
    ]);
    expect(muted).toEqual([true, false]);
  });

  it("ended by Frappe's word, the session is ended with that cause and releases everything", async () => {
    const { session, socket, transports, track, statuses } = setup();
    await session.start();
    session.endWith({ kind: "remote_ended", reason: "remote_hangup" });
    expect(session.status).toBe("ended");
    expect(statuses.at(-1)).toEqual(["ended", { kind: "remote_ended", reason: "remote_hangup" }]);
    expect(socket.disconnects).toBe(1);
    expect(transports.every((t) => t.closed)).toBe(true);
    expect(track.stop).toHaveBeenCalledTimes(1);
    session.endWith({ kind: "missed" });
    expect(session.endCause).toEqual({ kind: "remote_ended", reason: "remote_hangup" });
  });

  it("close is idempotent and releases everything; a request whose ack never comes is abandoned", async () => {
    const { session, socket, transports, track } = setup();
    await session.start();
    socket.replies["call:hangup"] = () => undefined;
    const hangup = session.hangUp();
    session.close();
    session.close();
    await hangup;
    expect(socket.disconnects).toBe(1);
    expect(transports.every((t) => t.closed)).toBe(true);
    expect(track.stop).toHaveBeenCalledTimes(1);
    expect(session.status).toBe("ended");
  });

  it("a socket that comes back after a drop joins again on fresh transports", async () => {
    const { session, socket, transports } = setup();
    await session.start();
    socket.fire("disconnect", "transport close");
    expect(session.status).toBe("reconnecting");
    socket.open();
    await vi.waitFor(() => expect(socket.events().filter((e) => e === "call:join")).toHaveLength(2));
    expect(transports.slice(0, 2).every((t) => t.closed)).toBe(true);
    expect(transports).toHaveLength(4);
  });
});
