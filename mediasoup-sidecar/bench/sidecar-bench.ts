// Benchmark of the sidecar (not a test): calls per worker core through our
// room code and signaling vs straight through mediasoup, and call setup time
// with real WebRTC peers. Prints figures, writes docs/benchmarks/sidecar.json
// and docs/benchmarks/sidecar.png. See docs/benchmarks.md.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as mediasoup from 'mediasoup';
import type { types as ms } from 'mediasoup';
import { chromium, type Browser, type Page } from 'playwright-core';
import { io, type Socket } from 'socket.io-client';
import { createSidecar, loadConfig, MEDIA_CODECS, mintCallToken, type Sidecar } from '../dist/index.js';
import { bridgeCall, PACKETS_PER_SEC, PAYLOAD_BYTES, startGenerator, type BridgedCall } from './media-load.ts';
import { writeSection } from './write-docs.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SECRET = 'bench-sidecar-secret-0123456789abcdef';
const STEP = Number(process.env.BENCH_STEP ?? 25);
const MAX_CALLS = Number(process.env.BENCH_MAX_CALLS ?? 2000);
const WINDOW_SEC = Number(process.env.BENCH_WINDOW_SEC ?? 6);
const SETUP_CALLS = Number(process.env.BENCH_SETUP_CALLS ?? 50);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 2);
const LOSS_LIMIT_PCT = 0.5;
const CPU_LIMIT_PCT = 95;
const GENERATOR_MIN_PCT = 97;
const OUT_DIR = process.env.BENCH_OUT_DIR ?? join(ROOT, 'docs/benchmarks');
/** BENCH_ONLY=setup measures call setup alone (prints, writes nothing): for working on setup time. */
const ONLY = process.env.BENCH_ONLY;

interface Step {
	calls: number;
	lossPct: number;
	workerCpuPct: number;
	workerRssMb: number;
	nodeRssMb: number;
	packetsSent: number;
	/** Packets the generator actually sent, % of the nominal 50/s per party. */
	sendRatePct: number;
}

interface Ramp {
	steps: Step[];
	maxCalls: number;
	stoppedBy: 'loss' | 'cpu' | 'generator' | 'max_calls';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rssMb(pid: number): number {
	const status = readFileSync(`/proc/${pid}/status`, 'utf8');
	const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
	return Math.round(kb / 102.4) / 10;
}

async function cpuMs(worker: ms.Worker): Promise<number> {
	const u = await worker.getResourceUsage();
	return u.ru_utime + u.ru_stime;
}

/** Adds calls in steps of STEP and measures each plateau until loss or CPU passes its limit. */
async function ramp(label: string, worker: ms.Worker, addCall: () => Promise<BridgedCall>): Promise<Ramp> {
	const generator = startGenerator();
	const steps: Step[] = [];
	let calls = 0;
	let stoppedBy: Ramp['stoppedBy'] = 'max_calls';
	try {
		for (let target = STEP; target <= MAX_CALLS; target += STEP) {
			while (calls < target) {
				generator.add(await addCall());
				calls++;
			}
			await sleep(1000);
			const before = await generator.totals();
			const cpuBefore = await cpuMs(worker);
			const t0 = performance.now();
			await sleep(WINDOW_SEC * 1000);
			const after = await generator.totals();
			const cpuAfter = await cpuMs(worker);
			const elapsed = performance.now() - t0;
			const sent = after.sent - before.sent;
			const received = after.received - before.received;
			const step: Step = {
				calls: target,
				lossPct: round(Math.max(0, 1 - received / sent) * 100, 3),
				workerCpuPct: round(((cpuAfter - cpuBefore) / elapsed) * 100, 1),
				workerRssMb: rssMb(worker.pid),
				nodeRssMb: rssMb(process.pid),
				packetsSent: sent,
				sendRatePct: round((sent / ((elapsed / 1000) * target * 2 * PACKETS_PER_SEC)) * 100, 1),
			};
			steps.push(step);
			console.log(`${label.padEnd(5)} calls=${String(target).padStart(5)} loss=${step.lossPct.toFixed(3)}% workerCPU=${step.workerCpuPct}% workerRSS=${step.workerRssMb}MB nodeRSS=${step.nodeRssMb}MB sendRate=${step.sendRatePct}% load=${loadavg()[0]!.toFixed(2)}`);
			if (step.lossPct > LOSS_LIMIT_PCT) { stoppedBy = 'loss'; break; }
			if (step.workerCpuPct >= CPU_LIMIT_PCT) { stoppedBy = 'cpu'; break; }
			// Below this the generator, not the worker, is the bottleneck: the offered load is no longer what it says.
			if (step.sendRatePct < GENERATOR_MIN_PCT) { stoppedBy = 'generator'; break; }
		}
	} finally {
		generator.stop();
	}
	const passing = steps.filter((s) => s.lossPct <= LOSS_LIMIT_PCT && s.workerCpuPct < CPU_LIMIT_PCT && s.sendRatePct >= GENERATOR_MIN_PCT);
	return { steps, maxCalls: passing.at(-1)?.calls ?? 0, stoppedBy };
}

function round(v: number, digits: number): number {
	const f = 10 ** digits;
	return Math.round(v * f) / f;
}

function percentile(sorted: number[], p: number): number {
	return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function startOurs(demo: boolean): Promise<{ sidecar: Sidecar; outbox: string }> {
	const outbox = mkdtempSync(join(tmpdir(), 'va-bench-outbox-'));
	const sidecar = await createSidecar(loadConfig({
		SIDECAR_HOST: '127.0.0.1', SIDECAR_PORT: '0', SIDECAR_RTC_PORT: '0', SIDECAR_NUM_WORKERS: '1',
		SIDECAR_SECRET: SECRET, SIDECAR_OUTBOX_PATH: outbox, SIDECAR_LOG_LEVEL: 'error',
		...(demo ? { SIDECAR_DEMO: '1', SIDECAR_DEMO_DIR: join(ROOT, 'mediasoup-sidecar/demo/dist') } : {}),
		MEDIASOUP_WORKER_BIN: process.env.MEDIASOUP_WORKER_BIN,
	}));
	return { sidecar, outbox };
}

function request<T>(socket: Socket, event: string, payload: object): Promise<T> {
	return new Promise((resolve, reject) => {
		socket.timeout(10_000).emit(event, payload, (err: Error | null, ack: { ok: boolean; data?: T; error?: { code: string; message: string } }) => {
			if (err) return reject(err);
			if (!ack.ok) return reject(new Error(`${event}: ${ack.error?.code} ${ack.error?.message}`));
			resolve(ack.data as T);
		});
	});
}

/** (a) our sidecar: room by the HTTP API, both parties through token-checked socket.io and call:join, media on the room's router. */
async function benchOurs(): Promise<Ramp> {
	const { sidecar, outbox } = await startOurs(false);
	const sockets: Socket[] = [];
	let n = 0;
	try {
		const addCall = async (): Promise<BridgedCall> => {
			const callId = `bench-${++n}`;
			const res = await fetch(`${sidecar.url}/api/rooms`, {
				method: 'POST',
				headers: { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' },
				body: JSON.stringify({ callId, maxDurationSec: 3600 }),
			});
			if (res.status !== 201) throw new Error(`POST /api/rooms answered ${res.status}: ${await res.text()}`);
			for (const [participantId, role] of [[`agent-${n}`, 'agent'], [`customer-${n}`, 'customer']] as const) {
				const token = await mintCallToken({ secret: SECRET, callId, participantId, role });
				const socket = io(sidecar.url, { auth: { token }, transports: ['websocket'], reconnection: false });
				sockets.push(socket);
				await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('connect_error', reject); });
				const { rtpCapabilities } = await request<{ rtpCapabilities: object }>(socket, 'router:capabilities', {});
				await request(socket, 'call:join', { rtpCapabilities });
			}
			const room = sidecar.getRoom(callId);
			if (!room) throw new Error(`no room for ${callId}`);
			return bridgeCall(room.router);
		};
		return await ramp('ours', sidecar.pool.slots[0]!.worker, addCall);
	} finally {
		for (const s of sockets) s.disconnect();
		await sidecar.close();
		rmSync(outbox, { recursive: true, force: true });
	}
}

/** (b) the same media load straight through mediasoup's API: one worker, a router per call, no signaling. */
async function benchRaw(): Promise<Ramp> {
	const worker = await mediasoup.createWorker({ logLevel: 'error' });
	try {
		return await ramp('raw', worker, async () => bridgeCall(await worker.createRouter({ mediaCodecs: MEDIA_CODECS })));
	} finally {
		worker.close();
	}
}

interface Timings { callId?: string; ended?: boolean; connectedAt?: number; transportsAt?: number; joinedAt?: number; producedAt?: number; consumerPushedAt?: number; consumerResumedAt?: number; firstInboundAt?: number }
const PHASES = ['transportsAt', 'joinedAt', 'producedAt', 'consumerPushedAt', 'consumerResumedAt', 'firstInboundAt'] as const;
type Phase = typeof PHASES[number];

/** (c) call setup with real WebRTC peers: two Chromiums on the demo page, socket connect -> first RTP both ways. */
async function benchSetup(): Promise<{ samplesMs: number[]; p50Ms: number; p95Ms: number; failures: number; phaseP50Ms: Record<Phase, number> }> {
	const { sidecar, outbox } = await startOurs(true);
	const browsers: Browser[] = [];
	const samples: number[] = [];
	const phases: Record<Phase, number[]> = Object.fromEntries(PHASES.map((p) => [p, []])) as unknown as Record<Phase, number[]>;
	let failures = 0;
	try {
		const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
			'--disable-component-update', '--disable-sync', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', '--autoplay-policy=no-user-gesture-required'];
		const pages: Page[] = [];
		for (let i = 0; i < 2; i++) {
			const browser = await chromium.launch({ executablePath: process.env.VA_CHROMIUM ?? '/usr/bin/chromium', args });
			browsers.push(browser);
			pages.push(await (await browser.newContext()).newPage());
		}
		// Each page stays loaded across calls, as a desk does; both join at once when their links arrive,
		// so page loading is not counted and neither party waits for the other's browser.
		await Promise.all(pages.map((page) => page.goto(`${sidecar.url}/demo/`)));
		const readTimings = (page: Page) => page.evaluate(() => (window as unknown as { sidecarDemo: { timings: () => Timings | null } }).sidecarDemo.timings());
		for (let i = 0; i < SETUP_CALLS; i++) {
			const res = await fetch(`${sidecar.url}/demo/api/calls`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
			const call = (await res.json()) as { callId: string; agent: { token: string }; customer: { token: string } };
			const hashes = [call.agent.token, call.customer.token].map((token) => `#${new URLSearchParams({ call: call.callId, token })}`);
			await Promise.all(pages.map((page, k) => page.evaluate((hash) => { location.hash = hash; }, hashes[k]!)));
			const deadline = Date.now() + 10_000;
			let timings: (Timings | null)[] = [];
			while (Date.now() < deadline) {
				timings = await Promise.all(pages.map(readTimings));
				if (timings.every((t) => t?.callId === call.callId && t.firstInboundAt)) break;
				await sleep(50);
			}
			if (timings.every((t) => t?.callId === call.callId && t.firstInboundAt && t.connectedAt)) {
				const start = Math.min(...timings.map((t) => t!.connectedAt!));
				const end = Math.max(...timings.map((t) => t!.firstInboundAt!));
				samples.push(end - start);
				// Each step's time from the earlier socket connect, the later of the two parties.
				for (const p of PHASES) phases[p].push(Math.max(...timings.map((t) => t![p]! - start)));
			} else failures++;
			await fetch(`${sidecar.url}/api/rooms/${call.callId}/end`, { method: 'POST', headers: { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' }, body: '{}' });
			while (Date.now() < deadline + 5_000 && !(await Promise.all(pages.map(readTimings))).every((t) => t?.ended)) await sleep(50);
		}
	} finally {
		for (const b of browsers) await b.close();
		await sidecar.close();
		rmSync(outbox, { recursive: true, force: true });
	}
	const sorted = [...samples].sort((x, y) => x - y);
	const p50Ms = sorted.length ? percentile(sorted, 50) : NaN;
	const p95Ms = sorted.length ? percentile(sorted, 95) : NaN;
	const phaseP50Ms = Object.fromEntries(PHASES.map((p) => [p, percentile([...phases[p]].sort((x, y) => x - y), 50)])) as Record<Phase, number>;
	console.log(`setup: ${samples.length} calls, p50=${p50Ms} ms p95=${p95Ms} ms failures=${failures}`);
	console.log(`setup steps, p50 ms after the first socket connect: ${PHASES.map((p) => `${p}=${phaseP50Ms[p]}`).join(' ')}`);
	return { samplesMs: samples, p50Ms, p95Ms, failures, phaseP50Ms };
}

function plotSvg(ours: Ramp, raw: Ramp): string {
	const W = 900, H = 420, padL = 60, padR = 20, padT = 40, padB = 50, gap = 60;
	const panelW = (W - padL - padR - gap) / 2, panelH = H - padT - padB;
	const maxX = Math.max(...[...ours.steps, ...raw.steps].map((s) => s.calls), STEP);
	const panel = (x0: number, title: string, yMax: number, yLabel: string, pick: (s: Step) => number, limit: number) => {
		const sx = (v: number) => x0 + (v / maxX) * panelW;
		const sy = (v: number) => padT + panelH - (Math.min(v, yMax) / yMax) * panelH;
		const line = (r: Ramp, color: string) => `<polyline fill="none" stroke="${color}" stroke-width="2" points="${r.steps.map((s) => `${sx(s.calls)},${sy(pick(s))}`).join(' ')}"/>` +
			r.steps.map((s) => `<circle cx="${sx(s.calls)}" cy="${sy(pick(s))}" r="3" fill="${color}"/>`).join('');
		const ticksY = [0, 0.25, 0.5, 0.75, 1].map((f) => `<line x1="${x0}" x2="${x0 + panelW}" y1="${sy(f * yMax)}" y2="${sy(f * yMax)}" stroke="#e5e7eb"/><text x="${x0 - 6}" y="${sy(f * yMax) + 4}" text-anchor="end">${round(f * yMax, 2)}</text>`).join('');
		const ticksX = [0, 0.25, 0.5, 0.75, 1].map((f) => `<text x="${sx(f * maxX)}" y="${padT + panelH + 18}" text-anchor="middle">${Math.round(f * maxX)}</text>`).join('');
		return `<text x="${x0}" y="${padT - 14}" font-weight="600">${title}</text>${ticksY}${ticksX}
<line x1="${x0}" x2="${x0 + panelW}" y1="${sy(limit)}" y2="${sy(limit)}" stroke="#dc2626" stroke-dasharray="4 4"/>
<text x="${x0 + panelW / 2}" y="${padT + panelH + 38}" text-anchor="middle">bridged 1:1 calls on one worker</text>
<text transform="translate(${x0 - 44},${padT + panelH / 2}) rotate(-90)" text-anchor="middle">${yLabel}</text>${line(raw, '#9ca3af')}${line(ours, '#2563eb')}`;
	};
	const maxLoss = Math.max(1, ...[...ours.steps, ...raw.steps].map((s) => s.lossPct));
	return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H + 30}" font-family="sans-serif" font-size="12" fill="#1f272e"><rect width="100%" height="100%" fill="#fff"/>
${panel(padL, 'Packet loss (%)', maxLoss, 'loss %', (s) => s.lossPct, LOSS_LIMIT_PCT)}
${panel(padL + panelW + gap, 'Worker CPU (% of one core)', 100, 'CPU %', (s) => s.workerCpuPct, CPU_LIMIT_PCT)}
<g transform="translate(${padL},${H + 12})"><rect width="14" height="4" y="-4" fill="#2563eb"/><text x="20" y="0">ours (room code + signaling)</text><rect x="230" width="14" height="4" y="-4" fill="#9ca3af"/><text x="250" y="0">raw mediasoup API</text><text x="420" y="0" fill="#dc2626">dashed: stop limit</text></g></svg>`;
}

async function renderPng(svg: string, file: string): Promise<void> {
	const browser = await chromium.launch({ executablePath: process.env.VA_CHROMIUM ?? '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
	try {
		const page = await browser.newPage({ viewport: { width: 900, height: 450 } });
		await page.setContent(`<body style="margin:0">${svg}</body>`);
		await page.locator('svg').screenshot({ path: file });
	} finally {
		await browser.close();
	}
}

async function main(): Promise<void> {
	const loadStart = loadavg();
	const startedAt = new Date().toISOString();
	console.log(`sidecar benchmark: ${cpus().length} CPUs (${cpus()[0]?.model}), load ${loadStart.map((l) => l.toFixed(2)).join(' ')}`);
	if (ONLY === 'setup') {
		await benchSetup();
		return;
	}
	// Ramps alternate (ours, raw, raw, ours, ...) so neither always runs on a fresher machine; the
	// figures compared are the means over the repeats, the table and plot show the first of each.
	const oursRamps: Ramp[] = [];
	const rawRamps: Ramp[] = [];
	for (let i = 0; i < REPEATS; i++) {
		const order = i % 2 === 0 ? [benchOurs, benchRaw] : [benchRaw, benchOurs];
		for (const bench of order) (bench === benchOurs ? oursRamps : rawRamps).push(await bench());
	}
	const ours = oursRamps[0]!;
	const raw = rawRamps[0]!;
	const mean = (ramps: Ramp[]) => round(ramps.reduce((sum, r) => sum + r.maxCalls, 0) / ramps.length, 1);
	const repeats = { ours: oursRamps.map((r) => r.maxCalls), raw: rawRamps.map((r) => r.maxCalls), oursMean: mean(oursRamps), rawMean: mean(rawRamps) };
	const setup = await benchSetup();
	const loadEnd = loadavg();
	const ratio = repeats.rawMean ? round(repeats.oursMean / repeats.rawMean, 3) : NaN;
	const result = {
		startedAt,
		finishedAt: new Date().toISOString(),
		machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavgStart: loadStart, loadavgEnd: loadEnd, workerBin: process.env.MEDIASOUP_WORKER_BIN ?? 'mediasoup prebuilt' },
		load: { packetsPerSecPerDirection: PACKETS_PER_SEC, payloadBytes: PAYLOAD_BYTES, step: STEP, windowSec: WINDOW_SEC, lossLimitPct: LOSS_LIMIT_PCT, cpuLimitPct: CPU_LIMIT_PCT, generatorMinPct: GENERATOR_MIN_PCT },
		ours,
		raw,
		repeats,
		oursOverRaw: ratio,
		setup,
		targets: { callsPerCore: 400, oursOverRaw: 0.95, setupP95Ms: 300 },
		met: { callsPerCore: repeats.oursMean >= 400, oursOverRaw: ratio >= 0.95, setupP95Ms: setup.p95Ms <= 300 },
	};
	mkdirSync(OUT_DIR, { recursive: true });
	writeFileSync(join(OUT_DIR, 'sidecar.json'), `${JSON.stringify(result, null, 2)}\n`);
	await renderPng(plotSvg(ours, raw), join(OUT_DIR, 'sidecar.png'));
	if (!process.env.BENCH_OUT_DIR) writeSection(result);
	console.log(`\ncalls per worker core: ours ${repeats.ours.join(', ')} (mean ${repeats.oursMean}), raw ${repeats.raw.join(', ')} (mean ${repeats.rawMean}), ours/raw ${ratio}`);
	console.log(`call setup: p50 ${setup.p50Ms} ms, p95 ${setup.p95Ms} ms over ${setup.samplesMs.length} calls (${setup.failures} failed)`);
	console.log(`targets met: ${JSON.stringify(result.met)}; load ${loadStart[0]!.toFixed(2)} -> ${loadEnd[0]!.toFixed(2)}`);
	console.log(`wrote ${join(OUT_DIR, 'sidecar.json')} and sidecar.png`);
}

await main();
process.exit(0);
