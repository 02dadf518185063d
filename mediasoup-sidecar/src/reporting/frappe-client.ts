/** What one POST of a batch to Frappe came to. */
export type DeliveryOutcome =
	| { kind: 'delivered'; status: number }
	/** Worth trying again later: the batch itself is not at fault. */
	| { kind: 'retry'; status: number | null; reason: string; retryAfterMs?: number; misconfigured: boolean }
	/** Frappe refused this batch's content: sending it again cannot succeed. */
	| { kind: 'rejected'; status: number; reason: string };

export interface FrappeClientOptions {
	/** Full URL of the whitelisted method. */
	url: string;
	apiKey: string;
	apiSecret: string;
	timeoutMs: number;
	fetch: typeof globalThis.fetch;
}

const MAX_REASON_CHARS = 500;

/**
 * Posts batches of call events to Frappe and classifies the answer. It never
 * throws: every failure becomes an outcome the reporter can act on.
 */
export class FrappeClient {
	readonly url: string;
	readonly #authorization: string;
	readonly #timeoutMs: number;
	readonly #fetch: typeof globalThis.fetch;

	constructor({ url, apiKey, apiSecret, timeoutMs, fetch }: FrappeClientOptions) {
		this.url = url;
		this.#authorization = `token ${apiKey}:${apiSecret}`;
		this.#timeoutMs = timeoutMs;
		this.#fetch = fetch;
	}

	async post(eventBodies: readonly string[], cancel: AbortSignal): Promise<DeliveryOutcome> {
		// The stored bodies are already JSON: splice them instead of re-parsing.
		const body = `{"events":[${eventBodies.join(',')}]}`;
		let response: Response;
		let text: string;
		try {
			response = await this.#fetch(this.url, {
				method: 'POST',
				headers: { authorization: this.#authorization, 'content-type': 'application/json', accept: 'application/json' },
				body,
				// A redirect would turn the POST into a GET (or send the token elsewhere): treat it as a configuration error.
				redirect: 'manual',
				signal: AbortSignal.any([cancel, AbortSignal.timeout(this.#timeoutMs)]),
			});
			// Read the whole answer inside the timeout too, so the connection can be reused.
			text = await response.text();
		} catch (error) {
			const reason =
				error instanceof Error && error.name === 'TimeoutError'
					? `no answer within ${this.#timeoutMs} ms`
					: `network error: ${describeNetworkError(error)}`;
			return { kind: 'retry', status: null, reason, misconfigured: false };
		}
		return classify(response, text);
	}
}

function classify(response: Response, text: string): DeliveryOutcome {
	const { status } = response;
	const reason = `HTTP ${status}: ${text.slice(0, MAX_REASON_CHARS)}`;
	if (status >= 200 && status < 300) return { kind: 'delivered', status };
	if (status === 408 || status === 429 || status >= 500) {
		return { kind: 'retry', status, reason, retryAfterMs: parseRetryAfter(response.headers.get('retry-after')), misconfigured: false };
	}
	// Bad credentials, a missing permission, a wrong URL or a redirect say nothing
	// about the events: dead-lettering them would lose every event until someone
	// fixes the configuration, so keep them and retry.
	if (status === 401 || status === 403 || status === 404 || (status >= 300 && status < 400)) {
		return { kind: 'retry', status, reason, misconfigured: true };
	}
	if (status >= 400 && status < 500) return { kind: 'rejected', status, reason };
	return { kind: 'retry', status, reason: `unexpected ${reason}`, misconfigured: true };
}

/** Retry-After is either delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
	if (value === null) return undefined;
	const trimmed = value.trim();
	if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
	const at = Date.parse(trimmed);
	return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function describeNetworkError(error: unknown): string {
	if (!(error instanceof Error)) return String(error);
	// undici puts the useful part (ECONNREFUSED, ECONNRESET…) in the cause.
	const cause = error.cause instanceof Error ? `${(error.cause as NodeJS.ErrnoException).code ?? error.cause.message}` : '';
	return cause ? `${error.message} (${cause})` : error.message;
}
