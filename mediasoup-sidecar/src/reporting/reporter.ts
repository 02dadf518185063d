import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { ajv, contractsDir, describeErrors } from '../contracts.js';
import type { CallEventSink, CallEventType, ReporterStats } from '../events.js';
import { FrappeClient, type DeliveryOutcome } from './frappe-client.js';
import { Outbox, type DeadLetter, type OutboxEntry } from './outbox.js';

/** One event as contracts/call-events.schema.json defines it. */
export interface CallEvent {
	eventId: string;
	callId: string;
	sequence: number;
	occurredAt: string;
	sidecarId: string;
	type: CallEventType;
	payload: object;
}

export interface CallEventReporterOptions {
	/** Directory of the outbox database (created when missing). */
	outboxPath: string;
	/** Base URL of the Frappe site; without it events stay in the local outbox. */
	frappeUrl?: string;
	apiKey?: string;
	apiSecret?: string;
	logger: Logger;
	sidecarId: string;
	/** Events per POST, 1–100 (the contract's maximum). */
	batchSize?: number;
	retryBaseDelayMs?: number;
	retryMaxDelayMs?: number;
	requestTimeoutMs?: number;
	fetch?: typeof globalThis.fetch;
}

const MAX_BATCH = 100;
/**
 * Event types older sidecars reported and Frappe now refuses: left in an outbox
 * across an upgrade, one of them would get its whole batch refused, so they are
 * dropped when the outbox is opened.
 */
const RETIRED_EVENT_TYPES = ['quality.sample'] as const;
/** A Retry-After beyond this is treated as this: a typo on Frappe's side must not park reporting for a day. */
const MAX_RETRY_AFTER_MS = 10 * 60 * 1000;

const callEventValidator = (() => {
	const validate = ajv.getSchema('https://voice-agent.local/contracts/call-events.schema.json#/$defs/CallEvent');
	if (!validate) throw new Error('contracts/call-events.schema.json has no $defs/CallEvent');
	return validate;
})();

const reportMethod = (
	JSON.parse(readFileSync(path.join(contractsDir, 'methods.json'), 'utf8')) as { frappe: { reportCallEvents: string } }
).frappe.reportCallEvents;

/**
 * Durable, ordered, at-least-once delivery of call events to Frappe.
 *
 * report() stores the event in the on-disk outbox before it returns; a single
 * delivery loop posts the oldest events in batches and removes them only once
 * Frappe answered 2xx. Each event keeps its eventId across retries and
 * restarts, so Frappe's dedupe on eventId makes delivery exactly-once as Frappe
 * sees it.
 */
export class CallEventReporter implements CallEventSink {
	readonly #outbox: Outbox;
	readonly #client: FrappeClient | null;
	readonly #logger: Logger;
	readonly #sidecarId: string;
	readonly #batchSize: number;
	readonly #retryBaseDelayMs: number;
	readonly #retryMaxDelayMs: number;
	readonly #cancel = new AbortController();
	#stats = { delivered: 0, failedAttempts: 0, deadLettered: 0, invalidDropped: 0 };
	#closed = false;
	#pendingAtClose = 0;
	#deadLettersAtClose = 0;
	#running: Promise<void> | null = null;
	#kickedWhileRunning = false;
	#kickScheduled: NodeJS.Immediate | null = null;
	#retryTimer: NodeJS.Timeout | null = null;
	#consecutiveFailures = 0;
	/** After a multi-event batch was refused, events up to this row go one per POST to find the bad ones. */
	#isolateThroughRowId = 0;
	#settleWaiters = new Set<() => void>();

	static async create(opts: CallEventReporterOptions): Promise<CallEventReporter> {
		const { outboxPath, frappeUrl, apiKey, apiSecret, sidecarId, logger } = opts;
		const batchSize = opts.batchSize ?? MAX_BATCH;
		const retryBaseDelayMs = opts.retryBaseDelayMs ?? 500;
		const retryMaxDelayMs = opts.retryMaxDelayMs ?? 30_000;
		const requestTimeoutMs = opts.requestTimeoutMs ?? 10_000;
		if (!outboxPath) throw new TypeError('outboxPath is required');
		if (!sidecarId || sidecarId.length > 140) throw new TypeError('sidecarId must be 1–140 characters');
		if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH) {
			throw new TypeError(`batchSize must be an integer from 1 to ${MAX_BATCH}`);
		}
		if (!(retryBaseDelayMs > 0 && retryMaxDelayMs >= retryBaseDelayMs)) {
			throw new TypeError('retry delays must be positive, with retryMaxDelayMs >= retryBaseDelayMs');
		}
		if (!(requestTimeoutMs > 0)) throw new TypeError('requestTimeoutMs must be positive');
		let client: FrappeClient | null = null;
		if (frappeUrl) {
			let base: URL;
			try {
				base = new URL(frappeUrl);
			} catch {
				throw new TypeError(`frappeUrl ${JSON.stringify(frappeUrl)} is not a URL`);
			}
			if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new TypeError('frappeUrl must be http(s)');
			if (!apiKey || !apiSecret) throw new TypeError('frappeUrl needs apiKey and apiSecret');
			client = new FrappeClient({
				url: new URL(`api/method/${reportMethod}`, base.href.endsWith('/') ? base : `${base.href}/`).href,
				apiKey,
				apiSecret,
				timeoutMs: requestTimeoutMs,
				fetch: opts.fetch ?? globalThis.fetch,
			});
		}
		const outbox = Outbox.open(outboxPath);
		let retiredDropped: number;
		try {
			retiredDropped = outbox.dropEventsOfTypes(RETIRED_EVENT_TYPES);
		} catch (error) {
			outbox.close();
			throw error;
		}
		return new CallEventReporter({ outbox, client, logger, sidecarId, batchSize, retryBaseDelayMs, retryMaxDelayMs, retiredDropped });
	}

	private constructor(args: {
		outbox: Outbox;
		client: FrappeClient | null;
		logger: Logger;
		sidecarId: string;
		batchSize: number;
		retryBaseDelayMs: number;
		retryMaxDelayMs: number;
		retiredDropped: number;
	}) {
		this.#outbox = args.outbox;
		this.#client = args.client;
		this.#logger = args.logger.child({ module: 'reporting' });
		this.#sidecarId = args.sidecarId;
		this.#batchSize = args.batchSize;
		this.#retryBaseDelayMs = args.retryBaseDelayMs;
		this.#retryMaxDelayMs = args.retryMaxDelayMs;
		if (args.retiredDropped > 0) {
			this.#logger.warn(
				{ dropped: args.retiredDropped, types: RETIRED_EVENT_TYPES, outbox: this.#outbox.file },
				'create() | dropped events of types Frappe no longer accepts (quality.sample, replaced by quality.summary) from the outbox',
			);
		}
		const pending = this.#outbox.pendingCount;
		if (this.#client) {
			this.#logger.info({ url: this.#client.url, outbox: this.#outbox.file, pending }, 'reporting call events to Frappe');
			if (pending > 0) this.#kick();
		} else {
			this.#logger.warn(
				{ outbox: this.#outbox.file, pending },
				'no Frappe URL configured: call events are kept in the local outbox only and delivered once one is set',
			);
		}
	}

	get pending(): number {
		return this.#closed ? this.#pendingAtClose : this.#outbox.pendingCount;
	}

	undeliveredCallIds(): string[] {
		if (this.#closed) throw new Error('undeliveredCallIds() | the reporter is closed');
		return this.#outbox.pendingCallIds();
	}

	stats(): ReporterStats {
		return {
			...this.#stats,
			pending: this.pending,
			deadLetterStored: this.#closed ? this.#deadLettersAtClose : this.#outbox.deadLetterCount,
		};
	}

	/** The events Frappe refused for good, oldest first. */
	deadLetters(): DeadLetter[] {
		if (this.#closed) throw new Error('deadLetters() | the reporter is closed');
		return this.#outbox.deadLetters();
	}

	/**
	 * Stores the event durably before returning. Never throws: the callers are
	 * call-handling paths that must go on; a failure is logged with the event.
	 */
	report(callId: string, type: CallEventType, payload: object): void {
		if (this.#closed) {
			this.#logger.error({ callId, type, payload }, 'report() | reporter already closed, event lost');
			return;
		}
		let stored: { eventId: string } | null;
		try {
			stored = this.#outbox.append(callId, (sequence) => {
				const event: CallEvent = {
					eventId: randomUUID(),
					callId,
					sequence,
					occurredAt: new Date().toISOString(),
					sidecarId: this.#sidecarId,
					type,
					payload,
				};
				// Validate exactly what will be sent: JSON drops undefined and calls toJSON().
				const body = JSON.stringify(event);
				if (callEventValidator(JSON.parse(body))) return { eventId: event.eventId, body };
				this.#stats.invalidDropped++;
				this.#logger.error(
					{ event, errors: describeErrors(callEventValidator.errors) },
					'report() | BUG: event violates contracts/call-events.schema.json, dropped',
				);
				return null;
			});
		} catch (error) {
			this.#logger.error({ err: error, callId, type, payload }, 'report() | could not write the event to the outbox, event lost');
			return;
		}
		if (stored) this.#kick();
	}

	/**
	 * Tries to deliver everything now (skipping the current backoff wait) and
	 * keeps retrying until the outbox is empty or timeoutMs has passed. Resolves
	 * true when nothing is pending; without a Frappe URL nothing is delivered,
	 * so it resolves true only if the outbox is already empty.
	 */
	async drain(timeoutMs: number): Promise<boolean> {
		const deadline = Date.now() + timeoutMs;
		if (this.#retryTimer) {
			clearTimeout(this.#retryTimer);
			this.#retryTimer = null;
		}
		while (!this.#closed && this.#client && this.#outbox.pendingCount > 0) {
			const left = deadline - Date.now();
			if (left <= 0) break;
			if (!this.#running && !this.#retryTimer) this.#startLoop();
			await this.#nextSettle(left);
		}
		return this.pending === 0;
	}

	close(): void {
		if (this.#closed) return;
		this.#pendingAtClose = this.#outbox.pendingCount;
		this.#deadLettersAtClose = this.#outbox.deadLetterCount;
		this.#closed = true;
		if (this.#kickScheduled) clearImmediate(this.#kickScheduled);
		if (this.#retryTimer) clearTimeout(this.#retryTimer);
		this.#cancel.abort();
		this.#outbox.close();
		this.#notifySettled();
		this.#logger.info({ pending: this.#pendingAtClose }, 'reporter closed');
	}

	/** Starts delivery on the next turn of the event loop, so a burst of reports goes out as one batch. */
	#kick(): void {
		if (!this.#client || this.#closed || this.#retryTimer || this.#kickScheduled) return;
		if (this.#running) {
			this.#kickedWhileRunning = true;
			return;
		}
		this.#kickScheduled = setImmediate(() => {
			this.#kickScheduled = null;
			if (!this.#running) this.#startLoop();
		});
	}

	#startLoop(): void {
		this.#running = this.#deliverAll()
			.catch((error: unknown) => {
				// Only the outbox can throw here (disk full, I/O error): try again later.
				this.#logger.error({ err: error }, 'deliver() | outbox error');
				this.#consecutiveFailures++;
				this.#scheduleRetry();
			})
			.finally(() => {
				this.#running = null;
				this.#notifySettled();
				if (this.#kickedWhileRunning) {
					this.#kickedWhileRunning = false;
					this.#kick();
				}
			});
	}

	async #deliverAll(): Promise<void> {
		const client = this.#client;
		if (!client) return;
		while (!this.#closed) {
			const batch = this.#outbox.peek(this.#batchSize);
			const first = batch[0];
			if (!first) return;
			const sent = first.rowId <= this.#isolateThroughRowId ? [first] : batch;
			const outcome = await client.post(
				sent.map((e) => e.body),
				this.#cancel.signal,
			);
			if (this.#closed) return;
			if (!this.#handleOutcome(sent, outcome)) return;
		}
	}

	/** Returns whether to go on with the next batch right away. */
	#handleOutcome(sent: OutboxEntry[], outcome: DeliveryOutcome): boolean {
		switch (outcome.kind) {
			case 'delivered': {
				this.#outbox.remove(sent);
				this.#stats.delivered += sent.length;
				if (this.#consecutiveFailures > 0) {
					this.#logger.info({ afterFailures: this.#consecutiveFailures }, 'deliver() | Frappe accepts events again');
				}
				this.#consecutiveFailures = 0;
				return true;
			}
			case 'retry': {
				this.#stats.failedAttempts++;
				this.#consecutiveFailures++;
				const delayMs = this.#scheduleRetry(outcome.retryAfterMs);
				const fields = { status: outcome.status, reason: outcome.reason, events: sent.length, retryInMs: delayMs, attempt: this.#consecutiveFailures };
				if (outcome.misconfigured) {
					this.#logger.error(fields, 'deliver() | Frappe refused the sidecar (check FRAPPE_URL and the API key/secret); events kept, will retry');
				} else {
					this.#logger.warn(fields, 'deliver() | delivery failed, will retry');
				}
				return false;
			}
			case 'rejected': {
				this.#stats.failedAttempts++;
				const last = sent[sent.length - 1];
				if (sent.length > 1 && last) {
					// One bad event must not take the good ones of its batch down with it.
					this.#isolateThroughRowId = last.rowId;
					this.#logger.warn({ status: outcome.status, reason: outcome.reason, events: sent.length }, 'deliver() | batch refused, resending its events one by one');
					return true;
				}
				this.#outbox.deadLetter(sent, outcome.status, outcome.reason);
				this.#stats.deadLettered += sent.length;
				this.#consecutiveFailures = 0;
				this.#logger.error(
					{ status: outcome.status, reason: outcome.reason, eventIds: sent.map((e) => e.eventId), events: sent.map((e) => e.body) },
					'deliver() | Frappe refused the event for good: moved to the dead-letter table',
				);
				return true;
			}
		}
	}

	/** Exponential backoff with equal jitter, capped; a Retry-After from Frappe wins when longer. */
	#scheduleRetry(retryAfterMs?: number): number {
		const exponent = Math.min(Math.max(this.#consecutiveFailures - 1, 0), 30);
		const ceiling = Math.min(this.#retryMaxDelayMs, this.#retryBaseDelayMs * 2 ** exponent);
		let delayMs = ceiling / 2 + Math.random() * (ceiling / 2);
		if (retryAfterMs !== undefined) delayMs = Math.max(delayMs, Math.min(retryAfterMs, MAX_RETRY_AFTER_MS));
		if (this.#retryTimer) clearTimeout(this.#retryTimer);
		this.#retryTimer = setTimeout(() => {
			this.#retryTimer = null;
			this.#kick();
		}, delayMs);
		this.#retryTimer.unref();
		return Math.round(delayMs);
	}

	/** Resolves when the delivery loop next stops (empty outbox, waiting to retry, or closed), or after ms. */
	#nextSettle(ms: number): Promise<void> {
		return new Promise((resolve) => {
			const done = (): void => {
				clearTimeout(timer);
				this.#settleWaiters.delete(done);
				resolve();
			};
			const timer = setTimeout(done, ms);
			this.#settleWaiters.add(done);
		});
	}

	#notifySettled(): void {
		for (const done of [...this.#settleWaiters]) done();
	}
}
