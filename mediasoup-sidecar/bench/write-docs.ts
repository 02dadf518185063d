// Refreshes the "## mediasoup sidecar" section of docs/benchmarks.md from
// docs/benchmarks/sidecar.json (run by sidecar-bench.ts; also on its own).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const HEADING = '## mediasoup sidecar';

interface Step { calls: number; lossPct: number; workerCpuPct: number; workerRssMb: number; nodeRssMb: number; sendRatePct: number }
interface Ramp { steps: Step[]; maxCalls: number; stoppedBy: string }
interface Result {
	startedAt: string;
	machine: { cpus: number; model?: string; loadavgStart: number[]; loadavgEnd: number[]; workerBin: string };
	load: { packetsPerSecPerDirection: number; payloadBytes: number; step: number; windowSec: number; lossLimitPct: number; cpuLimitPct: number; generatorMinPct: number };
	ours: Ramp;
	raw: Ramp;
	repeats?: { ours: number[]; raw: number[]; oursMean: number; rawMean: number };
	oursOverRaw: number;
	setup: { samplesMs: number[]; p50Ms: number; p95Ms: number; failures: number; phaseP50Ms?: Record<string, number> };
	targets: { callsPerCore: number; oursOverRaw: number; setupP95Ms: number };
	met: { callsPerCore: boolean; oursOverRaw: boolean; setupP95Ms: boolean };
}

const yes = (ok: boolean) => (ok ? 'met' : '**NOT met**');

export function section(r: Result): string {
	const at = (ramp: Ramp) => ramp.steps.find((s) => s.calls === ramp.maxCalls);
	const o = at(r.ours);
	const w = at(r.raw);
	const rows = r.ours.steps.map((s) => {
		const raw = r.raw.steps.find((x) => x.calls === s.calls);
		return `| ${s.calls} | ${s.lossPct} | ${s.workerCpuPct} | ${s.sendRatePct} | ${raw ? raw.lossPct : '–'} | ${raw ? raw.workerCpuPct : '–'} | ${raw ? raw.sendRatePct : '–'} | ${s.workerRssMb} | ${s.nodeRssMb} |`;
	});
	return `${HEADING}

\`cd mediasoup-sidecar && npm run build && npm run bench\` (with the pinned Node 24 and
\`MEDIASOUP_WORKER_BIN\` from \`source scripts/lib.sh && va_ensure_node && va_ensure_mediasoup_worker\`;
needs \`mediasoup-sidecar/demo/dist\` built (\`cd mediasoup-sidecar/demo && npm ci && npm run build\`) and
the root \`npm ci\` for playwright-core). Not a test. Knobs: \`BENCH_STEP\` (${r.load.step}), \`BENCH_MAX_CALLS\`,
\`BENCH_WINDOW_SEC\` (${r.load.windowSec}), \`BENCH_SETUP_CALLS\`, \`BENCH_REPEATS\` (ramps of each; they alternate ours, raw, raw, ours…
so neither always runs first), \`BENCH_ONLY=setup\` (setup alone, prints only). It writes \`docs/benchmarks/sidecar.json\`,
\`docs/benchmarks/sidecar.png\` and this section.

Run ${r.startedAt} on ${r.machine.cpus} CPUs (${r.machine.model ?? 'unknown'}), load average ${r.machine.loadavgStart[0]?.toFixed(2)} at the start and
${r.machine.loadavgEnd[0]?.toFixed(2)} at the end; worker binary \`${r.machine.workerBin.replace(/^\/root\//, '~/')}\`.

| | ours | raw mediasoup | target |
| --- | --- | --- | --- |
| max bridged 1:1 calls on one worker (= one core)${r.repeats ? `, mean of ${r.repeats.ours.length} ramps` : ''} | ${r.repeats ? `${r.repeats.oursMean} (${r.repeats.ours.join(', ')})` : r.ours.maxCalls} | ${r.repeats ? `${r.repeats.rawMean} (${r.repeats.raw.join(', ')})` : r.raw.maxCalls} | ≥ ${r.targets.callsPerCore}: ${yes(r.met.callsPerCore)} |
| ours ÷ raw | ${r.oursOverRaw} | | ≥ ${r.targets.oursOverRaw}: ${yes(r.met.oursOverRaw)} |
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

Per step (calls kept up while the next ones are added; each plateau measured over ${r.load.windowSec} s):

| calls | ours loss % | ours worker CPU % | ours sent % of nominal | raw loss % | raw worker CPU % | raw sent % | ours worker RSS MB | Node RSS MB |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

How it is measured:

- **Load**: each call has two parties; each sends RTP at the Opus packet rate (${r.load.packetsPerSecPerDirection} packets/s, ${r.load.payloadBytes}-byte payloads,
  PT 100, its own SSRC) and receives the other party's stream back from the SFU. Loss = 1 − received ÷ sent over the plateau;
  worker CPU = the worker's \`getResourceUsage()\` (user + system) over the plateau; RSS from \`/proc/<pid>/status\`.
  The ramp stops at the first plateau with loss > ${r.load.lossLimitPct} % or worker CPU ≥ ${r.load.cpuLimitPct} %, or when the
  generator no longer sends ${r.load.generatorMinPct} % of the nominal packets (then the generator, not the worker, is the limit and
  the figure is a lower bound of the worker's capacity), or at \`BENCH_MAX_CALLS\`; "max" is the last plateau within all limits.
- **Generator**: \`bench/rtp-load.c\`, built with \`cc\` into \`~/.cache/voice_agent/\` on first use: one UDP socket,
  \`sendmmsg\`/\`recvmmsg\`, every party's packets spread over 1 ms sub-ticks of the 20 ms period. It replaced a Node
  generator that ran out of its own core at ~450 calls (45k packets/s each way), before the worker did.
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
- Node RSS is the benchmark process, which hosts the sidecar. On this 2-CPU machine the worker has one core and the
  generator, Node and Chromium share the other; run it with nothing else busy (a Frappe dev server's file watcher
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
