/** Codes of the signaling AckError (contracts/signaling.schema.json). */
export type SignalingErrorCode = 'invalid_request' | 'payload_too_large' | 'not_found' | 'invalid_state' | 'forbidden' | 'internal';

/**
 * An error meant for the caller: it carries the signaling code and the HTTP
 * status, so the edge (socket ack or HTTP response) can answer without guessing.
 */
export class SidecarError extends Error {
	constructor(
		readonly code: SignalingErrorCode,
		message: string,
		readonly status: number,
		readonly httpCode: string = code,
	) {
		super(message);
		this.name = 'SidecarError';
	}
}

export class InvalidRequestError extends SidecarError {
	constructor(message: string) {
		super('invalid_request', message, 400);
	}
}

export class NotFoundError extends SidecarError {
	constructor(what: string, id: string) {
		super('not_found', `${what} ${JSON.stringify(id)} not found`, 404, `${what.toLowerCase()}_not_found`);
	}
}

export class InvalidStateError extends SidecarError {
	constructor(message: string) {
		super('invalid_state', message, 409);
	}
}

export class ForbiddenError extends SidecarError {
	constructor(message: string) {
		super('forbidden', message, 403);
	}
}

export class DrainingError extends SidecarError {
	constructor() {
		super('invalid_state', 'the sidecar is draining and takes no new calls', 503, 'draining');
	}
}

export class PayloadTooLargeError extends SidecarError {
	constructor(limit: number) {
		super('payload_too_large', `payload exceeds ${limit} bytes`, 413);
	}
}

/**
 * mediasoup refuses parameters it cannot use with TypeError / UnsupportedError (and
 * worker errors such as a MID already in use): the caller's fault, and nothing was created.
 */
export async function asInvalidRequest<T>(fn: () => Promise<T>): Promise<T> {
	try {
		return await fn();
	} catch (err) {
		if (err instanceof SidecarError || !(err instanceof Error)) throw err;
		if (err.name === 'InvalidStateError') throw new InvalidStateError(err.message);
		throw new InvalidRequestError(err.message);
	}
}
