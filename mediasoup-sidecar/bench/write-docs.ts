// Refreshes the "## mediasoup sidecar" section of docs/benchmarks.md from
// docs/benchmarks/sidecar.json (run by sidecar-bench.ts; also on its own).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const HEADING = '## mediasoup sidecar';

interface Step { calls: number; lossPct: number; workerCpuPct: number; workerRssMb: number; nodeRssMb: number; sendRatePct: number; windows?: number }
interface Ramp { steps: Step[]; maxCalls: number; stoppedBy: string; fit?: { cpuPctPerCall: number; interceptPct: number; plateaus: number; callsAtCpuLimit: number } }
interface Summary { ours: number[]; raw: number[]; oursMean: number; rawMean: number; oursOverRaw?: number }
interface Result {
	startedAt: string;
	machine: { cpus: number; model?: string; loadavgStart: number[]; loadavgEnd: number[]; workerBin: string; cpuLayout?: { workerCpu: string; generatorAndNodeCpus: string } | string };
	load: { packetsPerSecPerDirection: number; payloadBytes: number; step: number; fineStep?: number; fineFromCpuPct?: number; windowSec: number; lossLimitPct: number; cpuLimitPct: number; generatorMinPct: number };
	ours: Ramp;
	raw: Ramp;
	repeats?: Summary;
	fitted?: Summary;
	cpuPerCall?: Summary;
	oursOverRaw: number;
	oursOverRawObserved?: number;
	setup: { samplesMs: number[]; p50Ms: number; p95Ms: number; failures: number; phaseP50Ms?: Record<string, number> };
	targets: { callsPerCore: number; oursOverRaw: number; setupP95Ms: number };
	met: { callsPerCore: boolean; oursOverRaw: boolean; setupP95Ms: boolean };
}

const yes = (ok: boolean) => (ok ? 'met' : '**NOT met**');
const FIT_BELOW = '80 %';
const perCall = (c: Summary | undefined, side: 'ours' | 'raw') => (c ? c[side].join(', ') : '–');

export function section(r: Result): string {
	const at = (ramp: Ramp) => ramp.steps.find((s) => s.calls === ramp.maxCalls);
	const o = at(r.ours);
	const w = at(r.raw);
	const rows = r.ours.steps.map((s) => {
		const raw = r.raw.steps.find((x) => x.calls === s.calls);
		return `| ${s.calls} | ${s.lossPct} | ${s.workerCpuPct} | ${s.sendRatePct} | ${raw ? raw.lossPct : '–'} | ${raw ? raw.workerCpuPct : '–'} | ${raw ? raw.sendRatePct : '–'} | ${s.workerRssMb} | ${s.nodeRssMb} |`;
	});
	// A side that went on after the other stopped has steps of its own.
	for (const s of r.raw.steps) {
		if (!r.ours.steps.some((x) => x.calls === s.calls)) rows.push(`| ${s.calls} | – | – | – | ${s.lossPct} | ${s.workerCpuPct} | ${s.sendRatePct} | – | ${s.nodeRssMb} |`);
	}
	const layout = typeof r.machine.cpuLayout === 'object'
		? `the workers pinned to CPU ${r.machine.cpuLayout.workerCpu}, the generators and Node to CPU ${r.machine.cpuLayout.generatorAndNodeCpus}`
		: 'nothing pinned';
	return `${HEADING}

\`cd mediasoup-sidecar && npm run build && npm run bench\` (with the pinned Node 24 and
\`MEDIASOUP_WORKER_BIN\` from \`source scripts/lib.sh && va_ensure_node && va_ensure_mediasoup_worker\`;
needs \`mediasoup-sidecar/demo/dist\` built (\`cd mediasoup-sidecar/demo && npm ci && npm run build\`) and
playwright-core, a devDependency of the sidecar). Not a test. Knobs: \`BENCH_STEP\` (${r.load.step}), \`BENCH_FINE_STEP\` (${r.load.fineStep ?? '–'}, from
${r.load.fineFromCpuPct ?? '–'} % worker CPU on), \`BENCH_MAX_CALLS\`, \`BENCH_WINDOW_SEC\` (${r.load.windowSec}), \`BENCH_SETUP_CALLS\`,
\`BENCH_REPEATS\` (paired ramps), \`BENCH_ONLY=setup\` (setup alone, prints only). It writes \`docs/benchmarks/sidecar.json\`,
\`docs/benchmarks/sidecar.png\` and this section.

Run ${r.startedAt} on ${r.machine.cpus} CPUs (${r.machine.model ?? 'unknown'}), load average ${r.machine.loadavgStart[0]?.toFixed(2)} at the start and
${r.machine.loadavgEnd[0]?.toFixed(2)} at the end, ${layout}; worker binary \`${r.machine.workerBin.replace(/^\/root\//, '~/')}\`.

| | ours | raw mediasoup | target |
| --- | --- | --- | --- |
${r.fitted ? `| worker CPU per call (% of one core; slope over the plateaus below ${FIT_BELOW}) | ${perCall(r.cpuPerCall, 'ours')} | ${perCall(r.cpuPerCall, 'raw')} | |
| calls per worker core at ${r.load.cpuLimitPct} % CPU, from that line, mean of ${r.fitted.ours.length} paired ramps | ${r.fitted.oursMean} (${r.fitted.ours.join(', ')}) | ${r.fitted.rawMean} (${r.fitted.raw.join(', ')}) | |
| **ours ÷ raw** (fitted capacity) | **${r.oursOverRaw}** | | ≥ ${r.targets.oursOverRaw}: ${yes(r.met.oursOverRaw)} |
` : ''}| max bridged 1:1 calls on one worker (= one core) observed, ${r.repeats ? `mean of ${r.repeats.ours.length} paired ramps` : 'first ramp'} | ${r.repeats ? `${r.repeats.oursMean} (${r.repeats.ours.join(', ')})` : r.ours.maxCalls} | ${r.repeats ? `${r.repeats.rawMean} (${r.repeats.raw.join(', ')})` : r.raw.maxCalls} | ≥ ${r.targets.callsPerCore}: ${yes(r.met.callsPerCore)} |
| ours ÷ raw, observed max | ${r.oursOverRawObserved ?? r.oursOverRaw} | | |
| first ramp: max, and what stopped it | ${r.ours.maxCalls} (${r.ours.stoppedBy}) | ${r.raw.maxCalls} (${r.raw.stoppedBy}) | |
| first ramp: loss at max | ${o?.lossPct ?? '–'} % | ${w?.lossPct ?? '–'} % | ≤ ${r.load.lossLimitPct} % |
| first ramp: worker CPU at max (% of one core) | ${o?.workerCpuPct ?? '–'} | ${w?.workerCpuPct ?? '–'} | < ${r.load.cpuLimitPct} |
| first ramp: worker RSS at max | ${o?.workerRssMb ?? '–'} MB | ${w?.workerRssMb ?? '–'} MB | |
| call setup, socket connect → first RTP both ways | p50 ${r.setup.p50Ms} ms, p95 ${r.setup.p95Ms} ms over ${r.setup.samplesMs.length} calls (${r.setup.failures} failed) | | p95 ≤ ${r.targets.setupP95Ms} ms: ${yes(r.met.setupP95Ms)} |

${r.ours.stoppedBy === 'generator' || r.raw.stoppedBy === 'generator' ? `On this run the RTP generator fell behind before the worker saturated, so the max figures are lower bounds of a
worker's capacity and ours ÷ raw compares lower bounds.
` : ''}${r.setup.phaseP50Ms ? `Setup steps (p50, ms after the first socket connect, the later party): ${Object.entries(r.setup.phaseP50Ms).map(([k, v]) => `${k.replace(/At$/, '')} ${v}`).join(', ')}.
` : ''}
![loss and worker CPU vs calls](benchmarks/sidecar.png)

Per step of the first paired ramp (calls kept up while the next ones are added; each plateau measured over ${r.load.windowSec} s,
or twice that when its first window crossed a limit):

| calls | ours loss % | ours worker CPU % | ours sent % of nominal | raw loss % | raw worker CPU % | raw sent % | ours worker RSS MB | Node RSS MB |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

How it is measured:

- **Load**: each call has two parties; each sends RTP at the Opus packet rate (${r.load.packetsPerSecPerDirection} packets/s, ${r.load.payloadBytes}-byte payloads,
  PT 100, its own SSRC) and receives the other party's stream back from the SFU. Loss = 1 − received ÷ sent over the plateau;
  worker CPU = the worker's \`getResourceUsage()\` (user + system) over the plateau; RSS from \`/proc/<pid>/status\`.
  A ramp stops at the first plateau with loss > ${r.load.lossLimitPct} % or worker CPU ≥ ${r.load.cpuLimitPct} %, or when the
  generator no longer sends ${r.load.generatorMinPct} % of the nominal packets (then the generator, not the worker, is the limit and
  the figure is a lower bound of the worker's capacity), or at \`BENCH_MAX_CALLS\`; "max" is the last plateau within all limits.
  A plateau whose first window crosses a limit is measured again and judged on both windows together, so one noisy
  window does not end a ramp.
- **Fitted capacity**: near saturation the worker's CPU flattens at 93–95 % on this VM while loss stays
  low, so a ramp's observed max turns on whether one plateau there reads just above or just
  below ${r.load.cpuLimitPct} % (one step of ${r.load.fineStep ?? r.load.step} calls is ~2 % of the figure). The ratio is therefore taken from a least-squares
  line of worker CPU against calls through every plateau below ${FIT_BELOW} CPU of the same ramp: its slope is the worker CPU
  one call costs, and where it meets ${r.load.cpuLimitPct} % is the capacity. The observed max is shown beside it.
- **Paired ramps**: ours and raw run side by side in one ramp. At each call count both have all their calls up and
  take turns carrying the RTP (the other's generator paused), in alternating order, so every pair of plateaus is
  measured seconds apart. This VM's speed drifts by up to ±10 % over minutes (it has steal time), and ramps run one
  after the other compared that drift more than the code: raw mediasoup alone used 90 % and 82 % of a core for the
  same 550 calls four minutes apart. Steps are ${r.load.step} calls, ${r.load.fineStep ?? r.load.step} once either worker passes ${r.load.fineFromCpuPct ?? '–'} % CPU.
- **Generator**: \`bench/rtp-load.c\`, built with \`cc\` into \`~/.cache/voice_agent/\` on first use: one UDP socket,
  \`sendmmsg\`/\`recvmmsg\`, every party's packets spread over 1 ms sub-ticks of the 20 ms period, and what comes back
  drained once per sub-tick (about 30 % of a core at 550 calls; it took a whole core when it woke for every packet,
  and then competed with the worker for the machine). It replaced a Node generator that ran out of its own core at
  ~450 calls (45k packets/s each way), before the worker did.
- **Ours**: the sidecar (\`createSidecar\`, one worker) in the benchmark's process; each call is created with \`POST /api/rooms\`
  (shared-secret auth, schema validation), both parties connect over socket.io with minted call tokens and do
  \`router:capabilities\` + \`call:join\`, so the room, the router per call, token checks, presence, state machine,
  quality timers and event reporting (local outbox) are ours. Media then rides **PlainTransports** the benchmark adds
  to the room's own router: a Node process cannot run hundreds of ICE + DTLS-SRTP WebRTC peers, and a light RTP
  generator on loopback is enough to load the worker's forwarding path. This leaves SRTP encryption out, so a real
  WebRTC call costs the worker somewhat more per packet than shown here (the setup figure below uses real WebRTC).
- **Raw**: in the same run, a worker created with mediasoup's API directly (same binary, same codecs), one router
  per call, the same PlainTransports and the same generator; no signaling, no rooms.
- **Setup**: two Chromiums (fake microphones), each with the demo page loaded once and kept across calls (as a desk
  page is), one call at a time: \`POST /demo/api/calls\`, then both pages get their invite link at once; each page takes
  its microphone, connects, asks for capabilities and both transports in one round trip, joins and produces;
  setup = last first-inbound-RTP (a remote track's \`unmute\`) − first socket connect.
- Node RSS is the benchmark process, which hosts the sidecar. The ramps pin the workers to the last CPU and the
  generators and Node to the others (\`taskset\`); the setup runs unpinned. Run it with nothing else busy (a Frappe dev server's file watcher
  alone took a fifth of a core and pushed setup p95 past 300 ms in an earlier run).

The worker used is the offline build (\`mediasoup-sidecar/worker-offline/\`) when the prebuilt download was not
reachable: it uses \`std::unordered_map\`/\`std::unordered_set\` (std hash maps) in place of unordered_dense and
libsrtp2 behind a compat layer in place of libsrtp3, which may cost it some throughput against the prebuilt worker.
`;
}

export function writeSection(result: Result): void {
	const path = join(ROOT, 'docs/benchmarks.md');
	let text: string;
	try {
		text = readFileSync(path, 'utf8');
	} catch {
		text = '# Benchmarks\n';
	}
	const pattern = new RegExp(`^${HEADING}\\n[\\s\\S]*?(?=^## |(?![\\s\\S]))`, 'm');
	const body = section(result);
	text = pattern.test(text) ? text.replace(pattern, `${body}\n`) : `${text.trimEnd()}\n\n${body}`;
	writeFileSync(path, text);
}

if (import.meta.url === `file://${process.argv[1]}`) {
	writeSection(JSON.parse(readFileSync(join(ROOT, 'docs/benchmarks/sidecar.json'), 'utf8')) as Result);
	console.log('docs/benchmarks.md: sidecar section refreshed');
}
