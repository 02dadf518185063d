import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

/*
 * A loopback stand-in for Frappe's report_call_event: it checks the auth
 * header and validates every body against contracts/call-events.schema.json
 * with its own ajv (not the sidecar's), stores events deduplicated by eventId
 * as Frappe does, and can be told to fail, stall or go away.
 */

const contractsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'contracts');
const loadContract = (name: string): Record<string, unknown> => JSON.parse(readFileSync(path.join(contractsDir, name), 'utf8'));
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
const ajv = addFormats(new Ajv2020({ allErrors: true, strict: false }));
ajv.addSchema(loadContract('sidecar-http.schema.json'));
const validateBody = ajv.compile(loadContract('call-events.schema.json'));
export const reportMethodPath = `/api/method/${(loadContract('methods.json') as { frappe: { reportCallEvents: string } }).frappe.reportCallEvents}`;

export interface ReceivedEvent {
	eventId: string;
	callId: string;
	sequence: number;
	occurredAt: string;
	sidecarId: string;
	type: string;
	payload: Record<string, unknown>;
}

/** How to answer one request, after its events have been stored (or not). */
export type PlannedResponse =
	| { status: number; headers?: Record<string, string>; delayMs?: number }
	/** Never answer (until the receiver stops): the sidecar's request times out or the sidecar dies waiting. */
	| { hang: true };

export interface ReceiverRequest {
	at: number;
	eventIds: string[];
	status: number | 'hang' | 'invalid';
}

export interface FrappeReceiverOptions {
	apiKey?: string;
	apiSecret?: string;
	port?: number;
}

export class FrappeReceiver {
	readonly apiKey: string;
	readonly apiSecret: string;
	/** Stored events by eventId, in first-arrival order. */
	readonly events = new Map<string, ReceivedEvent>();
	readonly requests: ReceiverRequest[] = [];
	/** Bodies that broke the contract or the auth: a test fails when this is not empty. */
	readonly violations: string[] = [];
	duplicates = 0;
	/** Answers for the next requests, in order; once empty every request gets `fallback`. */
	readonly plan: PlannedResponse[] = [];
	fallback: PlannedResponse = { status: 200 };
	/** Events for which Frappe would refuse the whole batch (a 4xx the sidecar must dead-letter). */
	rejectEvent: ((event: ReceivedEvent) => boolean) | null = null;
	rejectStatus = 400;
	#server: http.Server;
	#port: number;
	#hanging = new Set<http.ServerResponse>();

	private constructor(server: http.Server, port: number, apiKey: string, apiSecret: string) {
		this.#server = server;
		this.#port = port;
		this.apiKey = apiKey;
		this.apiSecret = apiSecret;
	}

	static async start(opts: FrappeReceiverOptions = {}): Promise<FrappeReceiver> {
		const receiver = new FrappeReceiver(http.createServer(), opts.port ?? 0, opts.apiKey ?? 'sidecar-key', opts.apiSecret ?? 'sidecar-secret');
		await receiver.listen();
		return receiver;
	}

	get port(): number {
		return this.#port;
	}

	get url(): string {
		return `http://127.0.0.1:${this.#port}`;
	}

	get listening(): boolean {
		return this.#server.listening;
	}

	/** (Re)opens the same port, after stop(): Frappe is back. */
	async listen(): Promise<void> {
		this.#server = http.createServer((req, res) => void this.#handle(req, res));
		await new Promise<void>((resolve, reject) => {
			this.#server.once('error', reject);
			this.#server.listen(this.#port, '127.0.0.1', () => resolve());
		});
		this.#port = (this.#server.address() as AddressInfo).port;
	}

	/** Frappe goes away: connections are cut and the port refuses new ones. */
	async stop(): Promise<void> {
		for (const res of this.#hanging) res.destroy();
		this.#hanging.clear();
		this.#server.closeAllConnections();
		await new Promise<void>((resolve) => this.#server.close(() => resolve()));
	}

	/** Stored events of one call, ordered by sequence. */
	eventsOf(callId: string): ReceivedEvent[] {
		return [...this.events.values()].filter((e) => e.callId === callId).sort((a, b) => a.sequence - b.sequence);
	}

	/** Resolves once `count` distinct events have been stored, or rejects after timeoutMs. */
	async waitForEvents(count: number, timeoutMs = 10_000): Promise<void> {
		const deadline = Date.now() + timeoutMs;
		while (this.events.size < count) {
			if (Date.now() > deadline) throw new Error(`receiver has ${this.events.size} events, expected ${count} within ${timeoutMs} ms`);
			await new Promise((r) => setTimeout(r, 10));
		}
	}

	async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
		const chunks: Buffer[] = [];
		for await (const chunk of req) chunks.push(chunk as Buffer);
		const raw = Buffer.concat(chunks).toString('utf8');
		const reply = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
			res.writeHead(status, { 'content-type': 'application/json', ...headers });
			res.end(JSON.stringify(body));
		};

		if (req.method !== 'POST' || req.url !== reportMethodPath) {
			this.violations.push(`${req.method} ${req.url}: not the contract's method`);
			reply(404, { exc_type: 'DoesNotExistError' });
			return;
		}
		if (req.headers.authorization !== `token ${this.apiKey}:${this.apiSecret}`) {
			this.violations.push(`bad authorization header ${JSON.stringify(req.headers.authorization)}`);
			reply(401, { exc_type: 'AuthenticationError' });
			return;
		}
		let body: unknown;
		try {
			body = JSON.parse(raw);
		} catch {
			body = undefined;
		}
		if (!req.headers['content-type']?.startsWith('application/json') || !validateBody(body)) {
			this.violations.push(`invalid body ${raw.slice(0, 300)}: ${ajv.errorsText(validateBody.errors)}`);
			this.requests.push({ at: Date.now(), eventIds: [], status: 'invalid' });
			reply(417, { exc_type: 'ValidationError' });
			return;
		}
		const events = (body as { events: ReceivedEvent[] }).events;
		const eventIds = events.map((e) => e.eventId);

		if (this.rejectEvent && events.some(this.rejectEvent)) {
			this.requests.push({ at: Date.now(), eventIds, status: this.rejectStatus });
			reply(this.rejectStatus, { exc_type: 'ValidationError', exception: 'event refused' });
			return;
		}
		const planned = this.plan.shift() ?? this.fallback;
		const accepted = 'hang' in planned || planned.status < 300;
		if (accepted) {
			// Stored before answering, as Frappe commits before it replies: a lost answer means a redelivery.
			for (const e of events) {
				if (this.events.has(e.eventId)) this.duplicates++;
				else this.events.set(e.eventId, e);
			}
		}
		if ('hang' in planned) {
			this.requests.push({ at: Date.now(), eventIds, status: 'hang' });
			this.#hanging.add(res);
			res.on('close', () => this.#hanging.delete(res));
			return;
		}
		this.requests.push({ at: Date.now(), eventIds, status: planned.status });
		if (planned.delayMs) await new Promise((r) => setTimeout(r, planned.delayMs));
		if (res.destroyed) return;
		reply(planned.status, accepted ? { message: { accepted: events.length } } : { exc_type: 'ServerError' }, planned.headers);
	}
}
