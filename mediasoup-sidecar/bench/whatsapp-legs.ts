// Benchmark of the sidecar's WhatsApp legs (not a test): legs per core at 0 % loss
// through the real sidecar process against Meta-like peers on the other core, the
// bare node-datachannel leg-to-leg figure in the same run, and call set-up time
// from the answer route to the first RTP both ways. Prints figures, writes
// docs/benchmarks/whatsapp-calls.json, docs/benchmarks/whatsapp-calls.png and the
// "## WhatsApp calls" section of docs/benchmarks.md. See that section.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import type { BareStats, MetaStats, Request } from './whatsapp-peers.ts';
import { epochMs } from './whatsapp-peers.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SIDECAR_DIR = join(ROOT, 'mediasoup-sidecar');
const PEERS_SCRIPT = fileURLToPath(new URL('./whatsapp-peers.ts', import.meta.url));
const SECRET = 'bench-whatsapp-secret-0123456789abcdef';
const list = (v: string | undefined, d: string) => (v ?? d).split(',').map(Number).filter((n) => n > 0);
/** Legs per step (each room holds two legs: see ROOM_LAYOUT). */
const STEPS = list(process.env.BENCH_WA_STEPS, '25,50,75,100,125,150,175,200,225,250,300');
const OUTBOUND_STEPS = list(process.env.BENCH_WA_OUTBOUND_STEPS, '50,100');
const WINDOW_SEC = Number(process.env.BENCH_WA_WINDOW_SEC ?? 20);
/** A ramp stops after the first step past this loss. */
const STOP_LOSS_PCT = Number(process.env.BENCH_WA_STOP_LOSS_PCT ?? 1);
/** …or past this share of late audio (see LegStep.lateSilencePct). */
const STOP_LATE_PCT = Number(process.env.BENCH_WA_STOP_LATE_PCT ?? 2);
/** The "healthy" figure: no loss and at most this share of late audio. */
const LATE_LIMIT_PCT = 0.1;
const SATURATED_CPU_PCT = 90;
const SETUP_CALLS = Number(process.env.BENCH_WA_SETUP_CALLS ?? 100);
const SETUP_BURST = Number(process.env.BENCH_WA_SETUP_BURST ?? 50);
const SETUP_OUTBOUND_CALLS = Number(process.env.BENCH_WA_SETUP_OUTBOUND_CALLS ?? 30);
/** BENCH_WA_ONLY=legs|bare|setup runs one part and prints (writes nothing). */
const ONLY = process.env.BENCH_WA_ONLY;
const OUT_DIR = process.env.BENCH_OUT_DIR ?? join(ROOT, 'docs/benchmarks');
const SIDECAR_CPU = '0';
const PEERS_CPU = '1';
/** A pause lasts at least this: a sidecar that keeps up has delivered a window's packets by then. */
const DRAIN_MS = 400;
/** After a pause, the peers' audio counters are read this often until they stop moving, for at most SETTLE_LIMIT_MS. */
const SETTLE_POLL_MS = 200;
const SETTLE_LIMIT_MS = 15_000;
/** A step whose audio still arrives this long after the senders paused is behind, whatever its loss so far. */
const BACKLOG_LIMIT_MS = 1000;
const LATE_FROM_MS = 300;
const ADD_CONCURRENCY = 8;
const PACKETS_PER_SEC = 50;
const PAYLOAD_BYTES = 160;
const TARGETS = { legsPerCore: 250, setupP95Ms: 500 };
const ROOM_LAYOUT = 'two WhatsApp legs per room (a WhatsApp-to-WhatsApp call): each leg consumes the other\'s producer, so the audio a peer sends reaches the other peer of the room';
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (v: number, digits = 1) => Math.round(v * 10 ** digits) / 10 ** digits;

function pin(pid: number, cpuList: string): void {
	execFileSync('taskset', ['-acp', cpuList, String(pid)], { stdio: 'ignore' });
}

/** utime + stime of a process (all its threads), in ms. */
function cpuMs(pid: number): number {
	const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
	const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
	return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

function rssMb(pid: number): number {
	const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
	return round(kb / 1024);
}

function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = createServer();
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const { port } = server.address() as { port: number };
			server.close(() => resolve(port));
		});
	});
}

function percentile(values: number[], p: number): number {
	const sorted = [...values].sort((a, b) => a - b);
	return round(sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN);
}

/** A whatsapp-peers.ts process on one core, driven over IPC. */
class PeersProcess {
	readonly child: ChildProcess;
	readonly #pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
	#nextId = 0;
	readonly ready: Promise<void>;

	constructor(role: 'meta' | 'bare', cpu: string) {
		// taskset execs node: the process, its mediasoup worker and its generator all stay on `cpu`.
		this.child = spawn('taskset', ['-c', cpu, process.execPath, PEERS_SCRIPT, role], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: process.env });
		this.ready = new Promise((resolve, reject) => {
			this.child.once('exit', (code) => reject(new Error(`${role} peers exited (${code})`)));
			this.child.on('message', (m: { ready?: boolean; id?: number; result?: unknown; error?: string }) => {
				if (m.ready) return resolve();
				const waiter = this.#pending.get(m.id!);
				this.#pending.delete(m.id!);
				if (m.error !== undefined) waiter?.reject(new Error(m.error));
				else waiter?.resolve(m.result);
			});
		});
	}

	get pid(): number {
		return this.child.pid!;
	}

	call<T>(request: Request): Promise<T> {
		const id = ++this.#nextId;
		return new Promise<T>((resolve, reject) => {
			this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
			this.child.send({ id, request });
		});
	}

	stop(): void {
		this.child.kill();
	}
}

/** The sidecar as it runs in production: `node dist/main.js`, one worker, pinned to SIDECAR_CPU. */
class SidecarProcess {
	readonly child: ChildProcess;
	readonly url: string;
	readonly outbox: string;
	workerPid = 0;
	/** participantId -> wall-clock time the leg logged Meta's first RTP, and its own timings. */
	readonly firstRtp = new Map<string, { at: number; connectedAfterMs?: number; firstRemoteRtpAfterMs?: number }>();

	private constructor(child: ChildProcess, url: string, outbox: string) {
		this.child = child;
		this.url = url;
		this.outbox = outbox;
		createInterface({ input: child.stdout! }).on('line', (line) => {
			if (!line.includes('first RTP from Meta')) return;
			const entry = JSON.parse(line) as { time: number; participantId: string; connectedAfterMs?: number; firstRemoteRtpAfterMs?: number };
			this.firstRtp.set(entry.participantId, { at: entry.time, connectedAfterMs: entry.connectedAfterMs, firstRemoteRtpAfterMs: entry.firstRemoteRtpAfterMs });
		});
	}

	static async start(): Promise<SidecarProcess> {
		const [port, rtcPort] = [await freePort(), await freePort()];
		const outbox = mkdtempSync(join(tmpdir(), 'va-bench-wa-outbox-'));
		const env = {
			PATH: process.env.PATH,
			NODE_ENV: 'production',
			SIDECAR_HOST: '127.0.0.1',
			SIDECAR_PORT: String(port),
			SIDECAR_RTC_PORT: String(rtcPort),
			SIDECAR_RTC_LISTEN_IP: '127.0.0.1',
			SIDECAR_NUM_WORKERS: '1',
			SIDECAR_SECRET: SECRET,
			SIDECAR_OUTBOX_PATH: outbox,
			SIDECAR_LOG_LEVEL: 'info',
			// The generator pauses while another load runs (BENCH_WA_QUIET_PGREP), longer than the 15 s default allows.
			SIDECAR_WHATSAPP_MEDIA_TIMEOUT_SEC: '300',
			...(process.env.MEDIASOUP_WORKER_BIN ? { MEDIASOUP_WORKER_BIN: process.env.MEDIASOUP_WORKER_BIN } : {}),
		};
		// BENCH_WA_SIDECAR_NODE_ARGS: e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the sidecar under load.
		const nodeArgs = (process.env.BENCH_WA_SIDECAR_NODE_ARGS ?? '').split(' ').filter(Boolean);
		const child = spawn('taskset', ['-c', SIDECAR_CPU, process.execPath, ...nodeArgs, 'dist/main.js'], { cwd: SIDECAR_DIR, env, stdio: ['ignore', 'pipe', 'inherit'] });
		const sidecar = new SidecarProcess(child, `http://127.0.0.1:${port}`, outbox);
		const deadline = Date.now() + 20_000;
		for (;;) {
			try {
				const res = await fetch(`${sidecar.url}/health`);
				const health = (await res.json()) as { workers?: { pid: number }[] };
				if (res.ok && health.workers?.[0]) {
					sidecar.workerPid = health.workers[0].pid;
					return sidecar;
				}
			} catch {
				// Not listening yet.
			}
			if (Date.now() > deadline || child.exitCode !== null) throw new Error('the sidecar did not come up');
			await sleep(100);
		}
	}

	async post<T>(path: string, body: unknown, expected: number): Promise<T> {
		const res = await fetch(`${this.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
		const text = await res.text();
		if (res.status !== expected) throw new Error(`POST ${path} answered ${res.status}: ${text}`);
		return JSON.parse(text) as T;
	}

	async stop(): Promise<void> {
		const exited = new Promise((r) => this.child.once('exit', r));
		this.child.kill('SIGTERM');
		// Draining waits for live calls; the benchmark has ended them all, so this is quick.
		await Promise.race([exited, sleep(15_000)]);
		if (this.child.exitCode === null) this.child.kill('SIGKILL');
		rmSync(this.outbox, { recursive: true, force: true });
	}
}

async function inParallel<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
	let next = 0;
	await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
		while (next < items.length) await fn(items[next++]!);
	}));
}

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline) {
		if (await check()) return true;
		await sleep(200);
	}
	console.warn(`warning: ${what} not reached in ${timeoutMs} ms`);
	return false;
}

// ---------------------------------------------------------------- legs per core

interface LegStep {
	legs: number;
	rooms: number;
	/** Legs whose peer had DTLS up when the window started. */
	connected: number;
	/** What the peers sent (generator), sent on to the legs after SRTP, got back from the legs, and the audio part of that (full-size packets; the rest are the legs' silence frames). */
	peersSent: number;
	peersSentToLegs: number;
	peersReceivedFromLegs: number;
	peersReceivedAudio: number;
	silenceReceived: number;
	lossPct: number;
	/**
	 * Silence frames the legs sent while the peers' audio flowed (between the pauses), as a share of the audio
	 * sent: a leg sends one when its source has been quiet for 60 ms, so here each means room audio came late.
	 */
	lateSilence: number;
	lateSilencePct: number;
	/**
	 * How long the peers' audio kept arriving after the generator paused at the end of the window: the
	 * queue the sidecar was behind by. Loss counts that audio too, so a step that is behind shows no loss yet.
	 */
	drainMs: number;
	sidecarCpuPct: number;
	sidecarNodeCpuPct: number;
	sidecarWorkerCpuPct: number;
	peersCpuPct: number;
	sidecarNodeRssMb: number;
	sidecarWorkerRssMb: number;
}

interface BareStep {
	legs: number;
	connected: number;
	/** Side A runs on the sidecar's core, side B (the "peers") on the other. */
	sentA: number;
	receivedA: number;
	sentB: number;
	receivedB: number;
	lossPct: number;
	lossAtoBPct: number;
	lossBtoAPct: number;
	drainMs: number;
	coreCpuPct: number;
	peersCpuPct: number;
	coreRssMb: number;
}

interface Ramp<S> {
	steps: S[];
	/** The highest step with no loss at all, and with at most 0.1 %. */
	maxAtZeroLoss: number;
	maxAtLossLe01: number;
	/** Ours only: the highest step with no loss, late audio ≤ LATE_LIMIT_PCT and nothing queued. */
	maxHealthy?: number;
	stoppedBy: 'loss' | 'late' | 'backlog' | 'steps' | 'connect';
	fit: CpuFit;
}

interface CpuFit {
	/** Core-0 CPU (% of one core) each leg adds: least-squares slope over the steps without loss above 0.1 % and below 85 % CPU. */
	cpuPctPerLeg: number;
	interceptPct: number;
	points: number;
	/** Where that line reaches 100 % of the core. */
	legsAtFullCore: number;
}

function fitCpu(points: { legs: number; cpu: number; loss: number }[]): CpuFit {
	const usable = points.filter((p) => p.loss <= 0.1 && p.cpu < 85);
	const n = usable.length;
	if (n < 2) return { cpuPctPerLeg: NaN, interceptPct: NaN, points: n, legsAtFullCore: NaN };
	const mx = usable.reduce((s, p) => s + p.legs, 0) / n;
	const my = usable.reduce((s, p) => s + p.cpu, 0) / n;
	const slope = usable.reduce((s, p) => s + (p.legs - mx) * (p.cpu - my), 0) / usable.reduce((s, p) => s + (p.legs - mx) ** 2, 0);
	const intercept = my - slope * mx;
	return { cpuPctPerLeg: round(slope, 4), interceptPct: round(intercept, 2), points: n, legsAtFullCore: Math.round((100 - intercept) / slope) };
}

function summarize<S extends { legs: number; lossPct: number; connected: number; drainMs: number }>(steps: S[], stoppedBy: Ramp<S>['stoppedBy'], cpu: (s: S) => number): Ramp<S> {
	const ok = (limit: number) => steps.filter((s) => s.lossPct <= limit && s.connected === s.legs && s.drainMs <= BACKLOG_LIMIT_MS).at(-1)?.legs ?? 0;
	return { steps, maxAtZeroLoss: ok(0), maxAtLossLe01: ok(0.1), stoppedBy, fit: fitCpu(steps.map((s) => ({ legs: s.legs, cpu: cpu(s), loss: s.lossPct }))) };
}

/**
 * BENCH_WA_QUIET_PGREP: a pgrep -f pattern of other loads sharing the machine. Each window waits until none runs,
 * and is measured again when one started during it.
 */
const QUIET_PGREP = process.env.BENCH_WA_QUIET_PGREP;

function othersRunning(): boolean {
	if (!QUIET_PGREP) return false;
	try {
		execFileSync('pgrep', ['-f', QUIET_PGREP], { stdio: 'ignore' });
		return true;
	} catch {
		return false;
	}
}

/** Meanwhile the senders are paused, to weigh on the other load as little as possible. */
async function undisturbed<T>(measure: () => Promise<T>, pause: () => Promise<unknown>, resume: () => Promise<unknown>): Promise<T> {
	for (;;) {
		if (othersRunning()) {
			await pause();
			while (othersRunning()) {
				console.log(`waiting: another load (${QUIET_PGREP}) runs`);
				await sleep(10_000);
			}
			await resume();
			await sleep(2000);
		}
		// Checked all along the window: a short job that starts and ends inside it disturbs it too.
		let seen = false;
		const watch = setInterval(() => {
			seen ||= othersRunning();
		}, 1000);
		const value = await measure().finally(() => clearInterval(watch));
		if (!seen && !othersRunning()) return value;
		console.log('another load started during the window: measuring it again');
	}
}

/**
 * Windows are taken between two pauses of every sender, each lasting until what was in flight has
 * arrived (`delivered`, a count of audio received, stops moving), so every packet is counted in the
 * window it was sent in. drainMs: from the pause to the first of two equal reads.
 */
async function quiesced<T>(pause: () => Promise<unknown>, resume: () => Promise<unknown>, read: () => Promise<T>, delivered: (value: T) => number): Promise<{ value: T; drainMs: number }> {
	await pause();
	const pausedAt = performance.now();
	await sleep(DRAIN_MS);
	let readAt = performance.now();
	let value = await read();
	for (;;) {
		await sleep(SETTLE_POLL_MS);
		const at = performance.now();
		const next = await read();
		if (delivered(next) === delivered(value)) break;
		value = next;
		readAt = at;
		// Still arriving: the step is far behind (BACKLOG_LIMIT_MS ends the ramp), and its loss is a floor.
		if (readAt - pausedAt > SETTLE_LIMIT_MS) break;
	}
	await resume();
	return { value, drainMs: Math.round(readAt - pausedAt) };
}

async function legsRamp(sidecar: SidecarProcess, meta: PeersProcess, direction: 'inbound' | 'outbound', steps: number[], tag: string): Promise<Ramp<LegStep>> {
	const rooms: string[] = [];
	const out: LegStep[] = [];
	let stoppedBy: Ramp<LegStep>['stoppedBy'] = 'steps';
	try {
		for (const legs of steps) {
			const wanted = Math.ceil(legs / 2);
			const fresh = Array.from({ length: wanted - rooms.length }, (_, i) => `wa-${tag}-${rooms.length + i + 1}`);
			await inParallel(fresh, ADD_CONCURRENCY, async (callId) => {
				await sidecar.post(`/api/rooms`, { callId, maxDurationSec: 3600, emptyTimeoutSec: 3600 }, 201);
				for (const side of ['a', 'b']) await addLeg(sidecar, meta, callId, `${callId}-${side}`, direction);
				rooms.push(callId);
			});
			const connected = await waitUntil(`${legs} legs connected`, async () => (await meta.call<number>({ cmd: 'connected' })) >= rooms.length * 2, 60_000);
			await sleep(2000);
			const step = await undisturbed(() => measureLegs(sidecar, meta, [meta.pid, ...metaPids], rooms.length), () => meta.call({ cmd: 'pause' }), () => meta.call({ cmd: 'resume' }));
			out.push(step);
			console.log(`${direction.padEnd(8)} legs=${String(step.legs).padStart(4)} connected=${step.connected} sent=${step.peersSent} toLegs=${step.peersSentToLegs} fromLegs=${step.peersReceivedFromLegs} audio=${step.peersReceivedAudio} silence=${step.silenceReceived} late=${step.lateSilence} (${step.lateSilencePct}%) loss=${step.lossPct}% drain=${step.drainMs} ms sidecarCPU=${step.sidecarCpuPct}% (node ${step.sidecarNodeCpuPct}, worker ${step.sidecarWorkerCpuPct}) peersCPU=${step.peersCpuPct}% RSS node ${step.sidecarNodeRssMb} MB worker ${step.sidecarWorkerRssMb} MB load=${loadavg()[0]!.toFixed(2)}`);
			if (!connected) {
				stoppedBy = 'connect';
				break;
			}
			if (step.lossPct > STOP_LOSS_PCT) {
				stoppedBy = 'loss';
				break;
			}
			if (step.drainMs > BACKLOG_LIMIT_MS) {
				stoppedBy = 'backlog';
				break;
			}
			// Late audio also comes from a busy machine; the ramp ends on it only when the sidecar's core is saturated.
			if (step.lateSilencePct > STOP_LATE_PCT && step.sidecarCpuPct >= SATURATED_CPU_PCT) {
				stoppedBy = 'late';
				break;
			}
		}
	} finally {
		await inParallel([...rooms], ADD_CONCURRENCY, async (callId) => {
			await sidecar.post(`/api/rooms/${callId}/end`, {}, 200).catch(() => undefined);
			for (const side of ['a', 'b']) await meta.call({ cmd: 'close', key: `${callId}-${side}` });
		});
	}
	const ramp = summarize(out, stoppedBy, (s) => s.sidecarCpuPct);
	ramp.maxHealthy = out.filter((s) => s.lossPct === 0 && s.lateSilencePct <= LATE_LIMIT_PCT && s.connected === s.legs && s.drainMs < DRAIN_MS + SETTLE_POLL_MS).at(-1)?.legs ?? 0;
	return ramp;
}

/** The peers' own processes besides their Node: their mediasoup worker and the generator. */
let metaPids: number[] = [];

async function addLeg(sidecar: SidecarProcess, meta: PeersProcess, callId: string, participantId: string, direction: 'inbound' | 'outbound'): Promise<void> {
	const waCallId = `wacid.${participantId}`;
	if (direction === 'inbound') {
		const offer = await meta.call<string>({ cmd: 'offer', key: participantId });
		const session = await sidecar.post<{ sdp: string }>(`/api/rooms/${callId}/whatsapp/answer`, { participantId, waCallId, offer }, 201);
		await meta.call({ cmd: 'acceptAnswer', key: participantId, answer: session.sdp });
	} else {
		const session = await sidecar.post<{ sdp: string }>(`/api/rooms/${callId}/whatsapp/offer`, { participantId }, 201);
		const answer = await meta.call<string>({ cmd: 'answer', key: participantId, offer: session.sdp });
		await sidecar.post(`/api/rooms/${callId}/whatsapp/remote-answer`, { participantId, waCallId, answer }, 200);
	}
}

async function measureLegs(sidecar: SidecarProcess, meta: PeersProcess, metaPids: number[], rooms: number): Promise<LegStep> {
	const pause = () => meta.call({ cmd: 'pause' });
	const resume = () => meta.call({ cmd: 'resume' });
	const stats = () => meta.call<MetaStats>({ cmd: 'stats' });
	const connected = await meta.call<number>({ cmd: 'connected' });
	const audioReceived = (s: MetaStats) => s.received - s.short;
	const { value: before } = await quiesced(pause, resume, stats, audioReceived);
	const cpu0 = [cpuMs(sidecar.child.pid!), cpuMs(sidecar.workerPid), metaPids.reduce((s, p) => s + cpuMs(p), 0)];
	const t0 = performance.now();
	// The silence of the first pause is still arriving for a moment after the resume.
	await sleep(LATE_FROM_MS);
	const flowing0 = await stats();
	await sleep(WINDOW_SEC * 1000 - LATE_FROM_MS);
	const flowing1 = await stats();
	const cpu1 = [cpuMs(sidecar.child.pid!), cpuMs(sidecar.workerPid), metaPids.reduce((s, p) => s + cpuMs(p), 0)];
	const elapsed = performance.now() - t0;
	const { value: after, drainMs } = await quiesced(pause, async () => undefined, stats, audioReceived);
	await resume();
	const pct = (i: number) => round(((cpu1[i]! - cpu0[i]!) / elapsed) * 100);
	const sent = after.sent - before.sent;
	const audio = after.received - after.short - (before.received - before.short);
	return {
		legs: rooms * 2,
		rooms,
		connected,
		peersSent: sent,
		peersSentToLegs: after.toLegs - before.toLegs,
		peersReceivedFromLegs: after.fromLegs - before.fromLegs,
		peersReceivedAudio: audio,
		silenceReceived: after.short - before.short,
		lossPct: round(Math.max(0, 1 - audio / sent) * 100, 3),
		lateSilence: flowing1.short - flowing0.short,
		lateSilencePct: round(((flowing1.short - flowing0.short) / Math.max(1, flowing1.sent - flowing0.sent)) * 100, 3),
		drainMs,
		sidecarCpuPct: round(pct(0) + pct(1)),
		sidecarNodeCpuPct: pct(0),
		sidecarWorkerCpuPct: pct(1),
		peersCpuPct: pct(2),
		sidecarNodeRssMb: rssMb(sidecar.child.pid!),
		sidecarWorkerRssMb: rssMb(sidecar.workerPid),
	};
}

// ---------------------------------------------------------------- bare node-datachannel

async function bareRamp(steps: number[]): Promise<Ramp<BareStep>> {
	const a = new PeersProcess('bare', SIDECAR_CPU);
	const b = new PeersProcess('bare', PEERS_CPU);
	const out: BareStep[] = [];
	let stoppedBy: Ramp<BareStep>['stoppedBy'] = 'steps';
	try {
		await Promise.all([a.ready, b.ready]);
		await Promise.all([a.call({ cmd: 'init' }), b.call({ cmd: 'init' })]);
		let calls = 0;
		for (const legs of steps) {
			const fresh = Array.from({ length: legs - calls }, (_, i) => `bare-${calls + i + 1}`);
			await inParallel(fresh, ADD_CONCURRENCY, async (key) => {
				// libdatachannel now and then refuses an answer ("Got a remote candidate without ICE transport"): a new pair then.
				for (let attempt = 1; ; attempt++) {
					const id = attempt === 1 ? key : `${key}-retry${attempt}`;
					try {
						const offer = await a.call<string>({ cmd: 'offer', key: id });
						const answer = await b.call<string>({ cmd: 'answer', key: id, offer });
						await a.call({ cmd: 'applyAnswer', key: id, answer });
						return;
					} catch (err) {
						await Promise.all([a.call({ cmd: 'close', key: id }), b.call({ cmd: 'close', key: id })]);
						console.warn(`bare call ${id}: ${(err as Error).message}`);
						if (attempt === 3) throw err;
					}
				}
			});
			calls = legs;
			const up = await waitUntil(`${legs} bare calls open`, async () => (await a.call<number>({ cmd: 'connected' })) >= legs && (await b.call<number>({ cmd: 'connected' })) >= legs, 60_000);
			await sleep(2000);
			const pause = () => Promise.all([a.call({ cmd: 'pause' }), b.call({ cmd: 'pause' })]);
			const resume = () => Promise.all([a.call({ cmd: 'resume' }), b.call({ cmd: 'resume' })]);
			const step = await undisturbed(async (): Promise<BareStep> => {
				const both = () => Promise.all([a.call<BareStats>({ cmd: 'stats' }), b.call<BareStats>({ cmd: 'stats' })]);
				const delivered = ([x, y]: BareStats[]) => x!.received + y!.received;
				const [a0, b0] = (await quiesced(pause, resume, both, delivered)).value;
				const cpu0 = [cpuMs(a.pid), cpuMs(b.pid)];
				const t0 = performance.now();
				await sleep(WINDOW_SEC * 1000);
				const cpu1 = [cpuMs(a.pid), cpuMs(b.pid)];
				const elapsed = performance.now() - t0;
				const { value: [a1, b1], drainMs } = await quiesced(pause, async () => undefined, both, delivered);
				await resume();
				const sentA = a1.sent - a0.sent, receivedA = a1.received - a0.received, sentB = b1.sent - b0.sent, receivedB = b1.received - b0.received;
				const loss = (sent: number, received: number) => round(Math.max(0, 1 - received / sent) * 100, 3);
				return {
					legs,
					connected: Math.min(a1.open, b1.open),
					sentA, receivedA, sentB, receivedB,
					lossPct: loss(sentA + sentB, receivedA + receivedB),
					lossAtoBPct: loss(sentA, receivedB),
					lossBtoAPct: loss(sentB, receivedA),
					coreCpuPct: round(((cpu1[0]! - cpu0[0]!) / elapsed) * 100),
					peersCpuPct: round(((cpu1[1]! - cpu0[1]!) / elapsed) * 100),
					drainMs,
					coreRssMb: rssMb(a.pid),
				};
			}, pause, resume);
			out.push(step);
			console.log(`bare     legs=${String(legs).padStart(4)} open=${step.connected} A sent=${step.sentA} recv=${step.receivedA} B sent=${step.sentB} recv=${step.receivedB} loss=${step.lossPct}% (A→B ${step.lossAtoBPct}%, B→A ${step.lossBtoAPct}%) drain=${step.drainMs} ms coreCPU=${step.coreCpuPct}% peersCPU=${step.peersCpuPct}% RSS ${step.coreRssMb} MB load=${loadavg()[0]!.toFixed(2)}`);
			if (!up) {
				stoppedBy = 'connect';
				break;
			}
			if (step.lossPct > STOP_LOSS_PCT) {
				stoppedBy = 'loss';
				break;
			}
			if (step.drainMs > BACKLOG_LIMIT_MS) {
				stoppedBy = 'backlog';
				break;
			}
		}
	} finally {
		a.stop();
		b.stop();
	}
	return summarize(out, stoppedBy, (s) => s.coreCpuPct);
}

// ---------------------------------------------------------------- set-up time

interface SetupSample {
	/** All from the answer (or offer) route's request, ms. */
	totalMs: number;
	/** The route's response (our SDP: leg, PlainTransport, ICE gathering). */
	routeMs: number;
	/** ICE + DTLS up at the peer. */
	connectedMs: number;
	/** The peer got the leg's first RTP (Meta hears us). */
	peerFirstRtpMs: number;
	/** The leg got Meta's first RTP (from the leg's "first RTP from Meta" log line). */
	legFirstRtpMs: number;
}

interface SetupFigures {
	calls: number;
	failures: number;
	p50Ms: number;
	p95Ms: number;
	p99Ms: number;
	maxMs: number;
	/** p50 / p95 of each phase, ms from the request. */
	phases: Record<Exclude<keyof SetupSample, 'totalMs'>, { p50: number; p95: number }>;
	samplesMs: number[];
}

async function setupCall(sidecar: SidecarProcess, meta: PeersProcess, callId: string, direction: 'inbound' | 'outbound'): Promise<SetupSample> {
	const participantId = `${callId}-wa`;
	const waCallId = `wacid.${participantId}`;
	// Frappe creates the call's room when the webhook arrives, before it hands the offer on.
	await sidecar.post('/api/rooms', { callId, maxDurationSec: 3600 }, 201);
	// Meta's offer is in the webhook: made before the clock starts.
	const offer = direction === 'inbound' ? await meta.call<string>({ cmd: 'offer', key: participantId }) : '';
	const t0 = epochMs();
	let routeAt: number;
	if (direction === 'inbound') {
		const session = await sidecar.post<{ sdp: string }>(`/api/rooms/${callId}/whatsapp/answer`, { participantId, waCallId, offer }, 201);
		routeAt = epochMs();
		await meta.call({ cmd: 'acceptAnswer', key: participantId, answer: session.sdp });
	} else {
		const session = await sidecar.post<{ sdp: string }>(`/api/rooms/${callId}/whatsapp/offer`, { participantId }, 201);
		routeAt = epochMs();
		const answer = await meta.call<string>({ cmd: 'answer', key: participantId, offer: session.sdp });
		await sidecar.post(`/api/rooms/${callId}/whatsapp/remote-answer`, { participantId, waCallId, answer }, 200);
	}
	let peer: { firstRtpAt?: number; connectedAt?: number } = {};
	const deadline = Date.now() + 10_000;
	while (Date.now() < deadline) {
		peer = await meta.call({ cmd: 'firstRtp', key: participantId });
		if (peer.firstRtpAt !== undefined && sidecar.firstRtp.has(participantId)) break;
		await sleep(5);
	}
	const leg = sidecar.firstRtp.get(participantId);
	await sidecar.post(`/api/rooms/${callId}/end`, {}, 200).catch(() => undefined);
	await meta.call({ cmd: 'close', key: participantId });
	if (peer.firstRtpAt === undefined || !leg || peer.connectedAt === undefined) throw new Error(`${callId}: no RTP both ways within 10 s`);
	return {
		totalMs: round(Math.max(peer.firstRtpAt, leg.at) - t0),
		routeMs: round(routeAt - t0),
		connectedMs: round(peer.connectedAt - t0),
		peerFirstRtpMs: round(peer.firstRtpAt - t0),
		legFirstRtpMs: round(leg.at - t0),
	};
}

function setupFigures(samples: SetupSample[], failures: number): SetupFigures {
	const totals = samples.map((s) => s.totalMs);
	const phase = (k: keyof SetupSample) => ({ p50: percentile(samples.map((s) => s[k]), 50), p95: percentile(samples.map((s) => s[k]), 95) });
	return {
		calls: samples.length,
		failures,
		p50Ms: percentile(totals, 50),
		p95Ms: percentile(totals, 95),
		p99Ms: percentile(totals, 99),
		maxMs: round(Math.max(...totals)),
		phases: { routeMs: phase('routeMs'), connectedMs: phase('connectedMs'), peerFirstRtpMs: phase('peerFirstRtpMs'), legFirstRtpMs: phase('legFirstRtpMs') },
		samplesMs: totals,
	};
}

async function benchSetup(sidecar: SidecarProcess, meta: PeersProcess): Promise<{ sequential: SetupFigures; burst: SetupFigures; outboundSequential: SetupFigures }> {
	const sequential = async (n: number, direction: 'inbound' | 'outbound', tag: string) => {
		const samples: SetupSample[] = [];
		let failures = 0;
		for (let i = 0; i < n; i++) {
			try {
				samples.push(await setupCall(sidecar, meta, `wa-setup-${tag}-${i + 1}`, direction));
			} catch (err) {
				failures++;
				console.warn(`setup: ${(err as Error).message}`);
			}
		}
		return setupFigures(samples, failures);
	};
	const print = (label: string, f: SetupFigures) => console.log(`setup ${label}: ${f.calls} calls (${f.failures} failed) p50=${f.p50Ms} p95=${f.p95Ms} p99=${f.p99Ms} max=${f.maxMs} ms; phases p50/p95: ${Object.entries(f.phases).map(([k, v]) => `${k} ${v.p50}/${v.p95}`).join(', ')}`);
	while (othersRunning()) await sleep(10_000);
	// One call first, not counted: the first leg of a process loads and warms node-datachannel.
	await setupCall(sidecar, meta, 'wa-setup-warmup', 'inbound');
	const seq = await sequential(SETUP_CALLS, 'inbound', 'seq');
	print('sequential inbound', seq);
	const results = await Promise.allSettled(Array.from({ length: SETUP_BURST }, (_, i) => setupCall(sidecar, meta, `wa-setup-burst-${i + 1}`, 'inbound')));
	const burst = setupFigures(results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : [])), results.filter((r) => r.status === 'rejected').length);
	print(`${SETUP_BURST} at once, inbound`, burst);
	const outbound = await sequential(SETUP_OUTBOUND_CALLS, 'outbound', 'out');
	print('sequential outbound', outbound);
	return { sequential: seq, burst, outboundSequential: outbound };
}

// ---------------------------------------------------------------- output

function plotSvg(inbound: Ramp<LegStep>, outbound: Ramp<LegStep> | undefined, bare: Ramp<BareStep>): string {
	const W = 900, H = 420, padL = 60, padR = 20, padT = 40, padB = 50, gap = 60;
	const panelW = (W - padL - padR - gap) / 2, panelH = H - padT - padB;
	type P = { x: number; y: number };
	const series = (loss: boolean) => [
		{ color: '#9ca3af', label: 'bare node-datachannel', points: bare.steps.map((s): P => ({ x: s.legs, y: loss ? s.lossPct : s.coreCpuPct })) },
		...(outbound ? [{ color: '#16a34a', label: 'ours, outbound', points: outbound.steps.map((s): P => ({ x: s.legs, y: loss ? s.lossPct : s.sidecarCpuPct })) }] : []),
		{ color: '#2563eb', label: 'ours, inbound', points: inbound.steps.map((s): P => ({ x: s.legs, y: loss ? s.lossPct : s.sidecarCpuPct })) },
		...(loss ? [] : [{ color: '#f59e0b', label: 'peers (other core), ours inbound', points: inbound.steps.map((s): P => ({ x: s.legs, y: s.peersCpuPct })) }]),
	];
	const maxX = Math.max(50, ...[...inbound.steps, ...bare.steps].map((s) => s.legs));
	const panel = (x0: number, title: string, yMax: number, yLabel: string, loss: boolean, limit?: number) => {
		const sx = (v: number) => x0 + (v / maxX) * panelW;
		const sy = (v: number) => padT + panelH - (Math.min(v, yMax) / yMax) * panelH;
		const lines = series(loss).map(({ color, points }) => `<polyline fill="none" stroke="${color}" stroke-width="2" points="${points.map((p) => `${sx(p.x)},${sy(p.y)}`).join(' ')}"/>` +
			points.map((p) => `<circle cx="${sx(p.x)}" cy="${sy(p.y)}" r="3" fill="${color}"/>`).join('')).join('');
		const ticksY = [0, 0.25, 0.5, 0.75, 1].map((f) => `<line x1="${x0}" x2="${x0 + panelW}" y1="${sy(f * yMax)}" y2="${sy(f * yMax)}" stroke="#e5e7eb"/><text x="${x0 - 6}" y="${sy(f * yMax) + 4}" text-anchor="end">${round(f * yMax, 2)}</text>`).join('');
		const ticksX = [0, 0.25, 0.5, 0.75, 1].map((f) => `<text x="${sx(f * maxX)}" y="${padT + panelH + 18}" text-anchor="middle">${Math.round(f * maxX)}</text>`).join('');
		const target = `<line x1="${sx(TARGETS.legsPerCore)}" x2="${sx(TARGETS.legsPerCore)}" y1="${padT}" y2="${padT + panelH}" stroke="#dc2626" stroke-dasharray="4 4"/>`;
		const limitLine = limit === undefined ? '' : `<line x1="${x0}" x2="${x0 + panelW}" y1="${sy(limit)}" y2="${sy(limit)}" stroke="#dc2626" stroke-dasharray="2 3"/>`;
		return `<text x="${x0}" y="${padT - 14}" font-weight="600">${title}</text>${ticksY}${ticksX}${target}${limitLine}
<text x="${x0 + panelW / 2}" y="${padT + panelH + 38}" text-anchor="middle">WhatsApp legs on one core (50 packets/s each way per leg)</text>
<text transform="translate(${x0 - 44},${padT + panelH / 2}) rotate(-90)" text-anchor="middle">${yLabel}</text>${lines}`;
	};
	const maxLoss = Math.max(1, ...inbound.steps.map((s) => s.lossPct), ...bare.steps.map((s) => s.lossPct), ...(outbound?.steps.map((s) => s.lossPct) ?? []));
	const legend = series(false).map((s, i) => `<rect x="${i * 210}" width="14" height="4" y="-4" fill="${s.color}"/><text x="${i * 210 + 20}" y="0">${s.label}</text>`).join('');
	return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H + 50}" font-family="sans-serif" font-size="12" fill="#1f272e"><rect width="100%" height="100%" fill="#fff"/>
${panel(padL, 'Packet loss, round trip (%)', Math.min(maxLoss, 10), 'loss %', true, 0.1)}
${panel(padL + panelW + gap, 'CPU of the process(es) on the measured core (% of one core)', 100, 'CPU %', false)}
<g transform="translate(${padL},${H + 12})">${legend}</g><g transform="translate(${padL},${H + 34})"><text fill="#dc2626">dashed: the target (${TARGETS.legsPerCore} legs) and 0.1 % loss</text></g></svg>`;
}

async function renderPng(svg: string, file: string): Promise<void> {
	const browser = await chromium.launch({ executablePath: process.env.VA_CHROMIUM ?? '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
	try {
		const page = await browser.newPage({ viewport: { width: 900, height: 470 } });
		await page.setContent(`<body style="margin:0">${svg}</body>`);
		await page.locator('svg').screenshot({ path: file });
	} finally {
		await browser.close();
	}
}

function versions(): Record<string, string> {
	const pkg = (name: string) => (JSON.parse(readFileSync(join(SIDECAR_DIR, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
	return { node: process.version, mediasoup: pkg('mediasoup'), nodeDatachannel: pkg('node-datachannel'), workerBin: process.env.MEDIASOUP_WORKER_BIN?.replace(/^\/root\//, '~/') ?? 'mediasoup prebuilt (node_modules)' };
}

async function main(): Promise<void> {
	const startedAt = new Date().toISOString();
	const loadStart = loadavg();
	console.log(`WhatsApp legs benchmark: ${cpus().length} CPUs (${cpus()[0]?.model}), load ${loadStart.map((l) => l.toFixed(2)).join(' ')}; sidecar on CPU ${SIDECAR_CPU}, peers on CPU ${PEERS_CPU}`);
	while (othersRunning()) await sleep(10_000);
	// The benchmark's own Node (HTTP requests, IPC) stays off the sidecar's core.
	pin(process.pid, PEERS_CPU);
	const sidecar = await SidecarProcess.start();
	const meta = new PeersProcess('meta', PEERS_CPU);
	let inbound: Ramp<LegStep> | undefined;
	let outbound: Ramp<LegStep> | undefined;
	let bare: Ramp<BareStep> | undefined;
	let setup: Awaited<ReturnType<typeof benchSetup>> | undefined;
	try {
		await meta.ready;
		const { workerPid, generatorPid } = await meta.call<{ workerPid: number; generatorPid: number }>({ cmd: 'init' });
		metaPids = [workerPid, generatorPid];
		if (!ONLY || ONLY === 'legs') {
			inbound = await legsRamp(sidecar, meta, 'inbound', STEPS, 'in');
			console.log(`inbound: max legs at 0 % loss ${inbound.maxAtZeroLoss}, at ≤ 0.1 % ${inbound.maxAtLossLe01}, healthy (0 % loss, late ≤ ${LATE_LIMIT_PCT} %, nothing queued) ${inbound.maxHealthy} (stopped by ${inbound.stoppedBy}); CPU per leg ${inbound.fit.cpuPctPerLeg} % → ${inbound.fit.legsAtFullCore} legs at 100 %`);
			if (OUTBOUND_STEPS.length) {
				outbound = await legsRamp(sidecar, meta, 'outbound', OUTBOUND_STEPS, 'out');
				console.log(`outbound: max legs at 0 % loss ${outbound.maxAtZeroLoss} of the ${OUTBOUND_STEPS.at(-1)} tried`);
			}
		}
		if (!ONLY || ONLY === 'bare') {
			bare = await bareRamp(STEPS);
			console.log(`bare: max legs at 0 % loss ${bare.maxAtZeroLoss}, at ≤ 0.1 % ${bare.maxAtLossLe01} (stopped by ${bare.stoppedBy}); CPU per leg ${bare.fit.cpuPctPerLeg} % → ${bare.fit.legsAtFullCore} legs at 100 %`);
		}
		if (!ONLY || ONLY === 'setup') setup = await benchSetup(sidecar, meta);
	} finally {
		meta.stop();
		await sidecar.stop();
	}
	if (ONLY) return;
	const loadEnd = loadavg();
	const ratio = (a: number, b: number) => (b ? round(a / b, 3) : NaN);
	const result = {
		startedAt,
		finishedAt: new Date().toISOString(),
		machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavgStart: loadStart, loadavgEnd: loadEnd, layout: { sidecarCpu: SIDECAR_CPU, peersAndBenchmarkCpu: PEERS_CPU } },
		versions: versions(),
		commands: {
			run: 'cd mediasoup-sidecar && npm run build && npm run bench:whatsapp',
			sidecar: `taskset -c ${SIDECAR_CPU} node dist/main.js (SIDECAR_NUM_WORKERS=1, SIDECAR_LOG_LEVEL=info, SIDECAR_RTC_LISTEN_IP=127.0.0.1, SIDECAR_WHATSAPP_MEDIA_TIMEOUT_SEC=300)`,
			peers: `taskset -c ${PEERS_CPU} node bench/whatsapp-peers.ts meta (one mediasoup worker, the rtp-load generator)`,
			bare: `taskset -c ${SIDECAR_CPU} node bench/whatsapp-peers.ts bare  +  taskset -c ${PEERS_CPU} node bench/whatsapp-peers.ts bare`,
		},
		load: { packetsPerSecPerDirection: PACKETS_PER_SEC, payloadBytes: PAYLOAD_BYTES, windowSec: WINDOW_SEC, steps: STEPS, outboundSteps: OUTBOUND_STEPS, stopLossPct: STOP_LOSS_PCT, stopLatePct: STOP_LATE_PCT, lateLimitPct: LATE_LIMIT_PCT, drainMinMs: DRAIN_MS, backlogLimitMs: BACKLOG_LIMIT_MS, roomLayout: ROOM_LAYOUT },
		legs: { inbound: inbound!, outbound },
		bare: bare!,
		oursOverBare: {
			atZeroLoss: ratio(inbound!.maxAtZeroLoss, bare!.maxAtZeroLoss),
			atLossLe01: ratio(inbound!.maxAtLossLe01, bare!.maxAtLossLe01),
			cpuPerLeg: ratio(bare!.fit.cpuPctPerLeg, inbound!.fit.cpuPctPerLeg),
		},
		setup: setup!,
		targets: TARGETS,
		met: { legsPerCore: inbound!.maxAtZeroLoss >= TARGETS.legsPerCore, setupP95Ms: setup!.sequential.p95Ms <= TARGETS.setupP95Ms },
	};
	mkdirSync(OUT_DIR, { recursive: true });
	writeFileSync(join(OUT_DIR, 'whatsapp-calls.json'), `${JSON.stringify(result, null, 2)}\n`);
	await renderPng(plotSvg(inbound!, outbound, bare!), join(OUT_DIR, 'whatsapp-calls.png'));
	if (!process.env.BENCH_OUT_DIR) writeSection(result);
	console.log(`ours ÷ bare: ${JSON.stringify(result.oursOverBare)}; targets met: ${JSON.stringify(result.met)}; load ${loadStart[0]!.toFixed(2)} -> ${loadEnd[0]!.toFixed(2)}`);
	console.log(`wrote ${join(OUT_DIR, 'whatsapp-calls.json')}, whatsapp-calls.png and the "WhatsApp calls" section of docs/benchmarks.md`);
}

// ---------------------------------------------------------------- docs/benchmarks.md

const HEADING = '## WhatsApp calls';

type Result = {
	startedAt: string;
	machine: { cpus: number; model?: string; loadavgStart: number[]; loadavgEnd: number[] };
	versions: Record<string, string>;
	load: { windowSec: number; stopLossPct: number; stopLatePct: number; lateLimitPct: number; outboundSteps: number[] };
	legs: { inbound: Ramp<LegStep>; outbound?: Ramp<LegStep> };
	bare: Ramp<BareStep>;
	oursOverBare: { atZeroLoss: number; atLossLe01: number; cpuPerLeg: number };
	setup: { sequential: SetupFigures; burst: SetupFigures; outboundSequential: SetupFigures };
	targets: typeof TARGETS;
	met: { legsPerCore: boolean; setupP95Ms: boolean };
};

export function section(r: Result): string {
	const yes = (ok: boolean) => (ok ? 'met' : '**NOT met**');
	const { inbound, outbound } = r.legs;
	const rows = [...new Set([...inbound.steps, ...r.bare.steps, ...(outbound?.steps ?? [])].map((s) => s.legs))].sort((a, b) => a - b).map((legs) => {
		const o = inbound.steps.find((s) => s.legs === legs);
		const x = outbound?.steps.find((s) => s.legs === legs);
		const b = r.bare.steps.find((s) => s.legs === legs);
		return `| ${legs} | ${o ? `${o.lossPct}` : '–'} | ${o ? o.lateSilencePct : '–'} | ${o ? o.drainMs : '–'} | ${o ? `${o.sidecarCpuPct} (${o.sidecarNodeCpuPct} + ${o.sidecarWorkerCpuPct})` : '–'} | ${o ? o.peersCpuPct : '–'} | ${o ? `${o.sidecarNodeRssMb} / ${o.sidecarWorkerRssMb}` : '–'} | ${o ? `${o.peersSent} / ${o.peersReceivedAudio} (+${o.silenceReceived} silence)` : '–'} | ${x ? `${x.lossPct} / ${x.sidecarCpuPct}` : '–'} | ${b ? b.lossPct : '–'} | ${b ? b.drainMs : '–'} | ${b ? b.coreCpuPct : '–'} | ${b ? b.peersCpuPct : '–'} |`;
	});
	const s = r.setup;
	const phases = (f: SetupFigures) => Object.entries(f.phases).map(([k, v]) => `${k.replace(/Ms$/, '')} ${v.p50}/${v.p95}`).join(', ');
	const lastIn = inbound.steps.at(-1);
	return `${HEADING}

\`cd mediasoup-sidecar && npm run build && npm run bench:whatsapp\` (\`node bench/whatsapp-legs.ts\`, Node 24; with
\`MEDIASOUP_WORKER_BIN\` from \`source scripts/lib.sh && va_ensure_mediasoup_worker\` when there is no prebuilt worker;
playwright-core and Debian chromium only draw the PNG). Not a test; run it with the machine otherwise idle. Knobs:
\`BENCH_WA_STEPS\` (legs per step), \`BENCH_WA_OUTBOUND_STEPS\`, \`BENCH_WA_WINDOW_SEC\` (${r.load.windowSec}), \`BENCH_WA_STOP_LOSS_PCT\`
(${r.load.stopLossPct}), \`BENCH_WA_SETUP_CALLS\`, \`BENCH_WA_SETUP_BURST\`, \`BENCH_WA_SETUP_OUTBOUND_CALLS\`, \`BENCH_WA_ONLY=legs|bare|setup\`
(one part, prints only). It writes \`docs/benchmarks/whatsapp-calls.json\`, \`docs/benchmarks/whatsapp-calls.png\` and this section.

Run ${r.startedAt} on ${r.machine.cpus} CPUs (${r.machine.model ?? 'unknown'}), load average ${r.machine.loadavgStart[0]?.toFixed(2)} at the start and
${r.machine.loadavgEnd[0]?.toFixed(2)} at the end; Node ${r.versions.node}, mediasoup ${r.versions.mediasoup}, node-datachannel ${r.versions.nodeDatachannel},
worker binary \`${r.versions.workerBin}\`.

| | ours (sidecar) | bare node-datachannel | target |
| --- | --- | --- | --- |
| WhatsApp legs on one core at 0 % loss, not behind (highest step) | **${inbound.maxAtZeroLoss}** (stopped by ${inbound.stoppedBy}${lastIn ? ` at ${lastIn.legs}` : ''}) | ${r.bare.maxAtZeroLoss} (stopped by ${r.bare.stoppedBy}) | ≥ ${r.targets.legsPerCore}: ${yes(r.met.legsPerCore)} |
| legs at ≤ 0.1 % loss | ${inbound.maxAtLossLe01} | ${r.bare.maxAtLossLe01} | |
| legs with 0 % loss, late audio ≤ ${r.load.lateLimitPct} % **and** nothing queued (see below) | ${inbound.maxHealthy ?? '–'} | | |
| core CPU per leg (% of one core, slope) → legs at 100 % | ${inbound.fit.cpuPctPerLeg} → ${inbound.fit.legsAtFullCore} | ${r.bare.fit.cpuPctPerLeg} → ${r.bare.fit.legsAtFullCore} | |
| **ours ÷ bare** (at 0 % loss; at ≤ 0.1 %; by CPU per leg) | **${r.oursOverBare.atZeroLoss}**; ${r.oursOverBare.atLossLe01}; ${r.oursOverBare.cpuPerLeg} | | |
| outbound legs (the sidecar offers) at 0 % loss, of ${r.load.outboundSteps.at(-1) ?? '–'} tried | ${outbound?.maxAtZeroLoss ?? '–'} | | |
| set-up, answer route → first RTP both ways, ${s.sequential.calls} sequential calls | p50 ${s.sequential.p50Ms} ms, **p95 ${s.sequential.p95Ms} ms**, p99 ${s.sequential.p99Ms} ms (${s.sequential.failures} failed) | | whole path incl. Frappe p95 ≤ ${r.targets.setupP95Ms} ms: sidecar share ${yes(r.met.setupP95Ms)} (${round((s.sequential.p95Ms / r.targets.setupP95Ms) * 100, 0)} % of the budget) |
| set-up, ${s.burst.calls + s.burst.failures} calls set up at once | p50 ${s.burst.p50Ms} ms, p95 ${s.burst.p95Ms} ms, p99 ${s.burst.p99Ms} ms (${s.burst.failures} failed) | | |
| set-up, outbound: offer route → first RTP both ways, ${s.outboundSequential.calls} sequential calls | p50 ${s.outboundSequential.p50Ms} ms, p95 ${s.outboundSequential.p95Ms} ms, p99 ${s.outboundSequential.p99Ms} ms | | |

Set-up phases, p50/p95 ms from the request: sequential ${phases(s.sequential)}; at once ${phases(s.burst)};
outbound ${phases(s.outboundSequential)}.

![loss and CPU against WhatsApp legs](benchmarks/whatsapp-calls.png)

Per step (each held ${r.load.windowSec} s; packets over the whole window, round trip):

| legs | ours loss % | ours late audio % | ours drain ms | ours sidecar CPU % (Node + worker) | peers CPU % (other core) | sidecar RSS MB (Node / worker) | peers sent / audio received | outbound loss % / CPU % | bare loss % | bare drain ms | bare CPU % (its core) | bare peers CPU % |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

How it is measured:

- **Layout**: the sidecar runs as in production, \`node dist/main.js\` with \`SIDECAR_NUM_WORKERS=1\`, started under
  \`taskset -c 0\` so its Node (and node-datachannel's threads) and its mediasoup worker share CPU 0 (its only
  non-default setting that matters: \`SIDECAR_WHATSAPP_MEDIA_TIMEOUT_SEC=300\`, because the peers' audio pauses while
  another load shares the machine, \`BENCH_WA_QUIET_PGREP\`). The Meta-like peers
  run in another process under \`taskset -c 1\` with their own mediasoup worker and the C RTP generator
  (\`bench/rtp-load.c\`); the benchmark's own Node (HTTP requests, IPC) is pinned to CPU 1 too. "Per core" is CPU 0.
- **Peers**: \`bench/whatsapp-peers.ts meta\` builds each peer as \`test/support/meta-peer.ts\` does (a mediasoup
  WebRtcTransport in ICE-lite with a hand-built Meta SDP: session-level ice-lite, actpass, Opus 111 only, rtcp-mux,
  one host candidate), but its audio comes from the generator (${PACKETS_PER_SEC} packets/s, ${PAYLOAD_BYTES}-byte payloads) through a
  PlainTransport and what the leg sends back goes to the generator the same way, so no RTP crosses the peers' Node.
- **Rooms**: a room with one WhatsApp leg sends nothing back to it (a leg never consumes its own producer), so each
  room holds **two WhatsApp legs**, each made through the HTTP routes exactly as Frappe makes them (inbound: the peer
  offers, \`POST /api/rooms/{callId}/whatsapp/answer\`, the peer applies the answer; outbound: \`…/whatsapp/offer\`, the
  peer answers, \`…/whatsapp/remote-answer\`). Each leg consumes the other's producer, so every leg carries ${PACKETS_PER_SEC} packets/s
  each way (Meta → leg → router → other leg → other peer). N legs = N/2 rooms.
- **Loss**: every step adds legs, waits until every peer has DTLS up and 2 s more, then measures one window of
  ${r.load.windowSec} s between two pauses of the generator. Each pause lasts until the audio in flight has arrived (at least
  ${DRAIN_MS} ms; then the peers' audio count is read every ${SETTLE_POLL_MS} ms until it stops moving), so every packet counts
  in the window it was sent in.
  Loss = 1 − audio received by the peers ÷ audio sent by the peers, round trip through two legs; "audio" excludes the
  3-byte Opus silence frames a leg sends toward Meta when its source is quiet (counted apart: they appear in the
  pauses).
- **Drain**: how long audio kept arriving after the pause at the end of the window, i.e. how far behind the legs were.
  A sidecar that is behind still delivers everything for a while, so it shows no loss yet. A step with more than
  ${BACKLOG_LIMIT_MS} ms of drain does not count as "at 0 % loss". A ramp stops after the first step over ${r.load.stopLossPct} % loss, over
  ${BACKLOG_LIMIT_MS} ms of drain, or over ${r.load.stopLatePct} % late audio with the sidecar's core ≥ ${SATURATED_CPU_PCT} % busy.
- **Late audio**: loss alone does not show a saturated sidecar: its Node falls behind and the sockets buffer, so every
  packet still arrives, late. A leg sends Meta a silence frame when its source has been quiet for 60 ms, so the
  silence frames the peers receive *while the audio flows* (window minus its first ${LATE_FROM_MS} ms) count audio that was
  more than 60 ms late at the leg; "late audio %" is their number ÷ the audio sent. The "healthy" figure is the
  highest step with 0 % loss, late audio ≤ ${r.load.lateLimitPct} % and a drain that ended at the first read.
- **CPU and RSS** from \`/proc/<pid>/stat\` (utime + stime of every thread) and \`/proc/<pid>/status\` over the window:
  the sidecar's Node process and its worker, and (other core) the peers' Node, worker and generator.
- **Bare**: the same steps with node-datachannel alone (\`bench/whatsapp-peers.ts bare\`): per call one PeerConnection in a
  process on CPU 0 and one in a process on CPU 1, configured as the leg configures its own (full ICE, no trickle,
  one sendrecv Opus track, media transport forced), each sending Opus-sized RTP (${12 + PAYLOAD_BYTES} bytes) at ${PACKETS_PER_SEC} packets/s through the
  \`Track\` and counting what arrives. Its CPU 0 process is the whole leg-side cost; ours adds the bridge (one UDP socket
  per leg to a PlainTransport), the RTP rewrite, the room and the mediasoup worker on the same core.
- **Set-up**: one-leg rooms (the state of an inbound call before an agent takes it), one call at a time after one
  uncounted warm-up call, then ${s.burst.calls + s.burst.failures} at once. The room is created first (Frappe does so when the webhook arrives); the
  clock starts when the benchmark sends Meta's offer to the answer route (standing in for the webhook reaching the
  sidecar's edge) and stops when RTP has arrived both ways: the peer's first RTP from the leg (a mediasoup trace event
  of the peer's producer) and the leg's first RTP from Meta (the leg's \`first RTP from Meta\` info log line, whose
  pino \`time\` is the wall clock in ms). Phases: the route's response (our answer SDP, with ICE gathered), DTLS up at
  the peer, each first RTP. The peer applies our answer at once; with Meta, Frappe's Graph \`pre_accept\`/\`accept\` and
  Meta's own network come on top of these figures.
`;
}

export function writeSection(result: Result): void {
	const path = join(ROOT, 'docs/benchmarks.md');
	const text = readFileSync(path, 'utf8');
	const pattern = new RegExp(`^${HEADING}\\n[\\s\\S]*?(?=^## |(?![\\s\\S]))`, 'm');
	const body = section(result);
	writeFileSync(path, pattern.test(text) ? text.replace(pattern, `${body}\n`) : `${text.trimEnd()}\n\n${body}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
	if (process.argv[2] === '--docs') {
		writeSection(JSON.parse(readFileSync(join(OUT_DIR, 'whatsapp-calls.json'), 'utf8')) as Result);
		console.log('docs/benchmarks.md: WhatsApp calls section refreshed');
	} else {
		await main();
		process.exit(0);
	}
}
