// Bridged 1:1 audio calls over PlainTransports, fed by the RTP generator in
// rtp-load.c on loopback: each party sends Opus-rate RTP (50 packets/s,
// 160-byte payloads) and receives the other party's stream back from the SFU.
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { types as ms } from 'mediasoup';

export const PACKETS_PER_SEC = 50;
export const PAYLOAD_BYTES = 160;
const OPUS = { mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2, parameters: { useinbandfec: 1 } } as const;
const SOURCE = fileURLToPath(new URL('./rtp-load.c', import.meta.url));

export interface BridgedCall {
	/** Where the generator sends each party's stream: its PlainTransport's port, with its producer's SSRC. */
	parties: { port: number; ssrc: number }[];
}

let nextSsrc = 1000;

async function party(router: ms.Router): Promise<{ transport: ms.PlainTransport; producer: ms.Producer; ssrc: number }> {
	// comedia: the transport learns the generator's address from its first packet.
	const transport = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: true });
	const ssrc = nextSsrc++;
	const producer = await transport.produce({ kind: 'audio', rtpParameters: { codecs: [OPUS], encodings: [{ ssrc }] } });
	return { transport, producer, ssrc };
}

/** Two parties on `router` (one router per call), each consuming the other. */
export async function bridgeCall(router: ms.Router): Promise<BridgedCall> {
	const a = await party(router);
	const b = await party(router);
	for (const [me, other] of [[a, b], [b, a]] as const) {
		await me.transport.consume({ producerId: other.producer.id, rtpCapabilities: router.rtpCapabilities });
	}
	return { parties: [a, b].map((p) => ({ port: p.transport.tuple.localPort, ssrc: p.ssrc })) as BridgedCall['parties'] };
}

/** Builds rtp-load.c once into the cache (or reuses the build when the source has not changed). */
function generatorBinary(): string {
	const dir = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'voice_agent');
	const bin = join(dir, 'rtp-load');
	if (!existsSync(bin) || statSync(bin).mtimeMs < statSync(SOURCE).mtimeMs) {
		mkdirSync(dir, { recursive: true });
		execFileSync(process.env.CC ?? 'cc', ['-O2', '-Wall', '-o', bin, SOURCE], { stdio: 'inherit' });
	}
	return bin;
}

export interface Generator {
	readonly pid: number;
	add(call: BridgedCall): void;
	/** Stops sending to a port (its transport closed). */
	drop(port: number): void;
	/** Stops sending (still receives): two generators take turns on one machine. */
	pause(): void;
	resume(): void;
	/** Packets sent and received since the generator started; `short`: received ones smaller than those sent (silence frames). */
	totals(): Promise<{ sent: number; received: number; short: number }>;
	stop(): void;
}

/** `cpus`: a taskset CPU list to run the generator on (off the worker's core). */
export function startGenerator(cpus?: string): Generator {
	const [command, args] = cpus ? ['taskset', ['-c', cpus, generatorBinary()]] : [generatorBinary(), []];
	const child: ChildProcessWithoutNullStreams = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
	child.stderr.on('data', (d: Buffer) => process.stderr.write(d));
	const replies: ((line: string) => void)[] = [];
	createInterface({ input: child.stdout }).on('line', (line) => replies.shift()?.(line));
	return {
		pid: child.pid!,
		add(call) {
			for (const { port, ssrc } of call.parties) child.stdin.write(`add ${port} ${ssrc}\n`);
		},
		drop(port) {
			child.stdin.write(`drop ${port}\n`);
		},
		pause() {
			child.stdin.write('pause\n');
		},
		resume() {
			child.stdin.write('resume\n');
		},
		totals() {
			return new Promise((resolve) => {
				replies.push((line) => {
					const [sent, received, short] = line.split(' ').map(Number);
					resolve({ sent: sent!, received: received!, short: short ?? 0 });
				});
				child.stdin.write('stats\n');
			});
		},
		stop() {
			child.stdin.end();
			child.kill();
		},
	};
}
