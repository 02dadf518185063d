import { createHash, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { SidecarConfig } from './config.js';
import { assertValid, httpDefValidator } from './contracts.js';
import { InvalidRequestError, PayloadTooLargeError, SidecarError } from './errors.js';
import { mintCallToken } from './tokens.js';
import type {
	CreateRoomRequest,
	EndCallRequest,
	EndReason,
	Health,
	RoomList,
	RoomStatus,
	WhatsAppAnswerRequest,
	WhatsAppEndRequest,
	WhatsAppOfferRequest,
	WhatsAppRemoteAnswerRequest,
	WhatsAppSession,
} from './types.js';

export const MAX_BODY_BYTES = 64 * 1024;

const validateCreateRoom = httpDefValidator('CreateRoomRequest');
const validateEndCall = httpDefValidator('EndCallRequest');
const validateWhatsApp = {
	answer: httpDefValidator('WhatsAppAnswerRequest'),
	offer: httpDefValidator('WhatsAppOfferRequest'),
	'remote-answer': httpDefValidator('WhatsAppRemoteAnswerRequest'),
	end: httpDefValidator('WhatsAppEndRequest'),
};

class UnauthorizedError extends SidecarError {
	constructor() {
		super('forbidden', 'missing or wrong bearer token', 401, 'unauthorized');
	}
}

const CONTENT_TYPES: Record<string, string> = {
	'.html': 'text/html; charset=utf-8',
	'.js': 'text/javascript; charset=utf-8',
	'.mjs': 'text/javascript; charset=utf-8',
	'.css': 'text/css; charset=utf-8',
	'.map': 'application/json',
	'.json': 'application/json',
	'.svg': 'image/svg+xml',
	'.png': 'image/png',
	'.ico': 'image/x-icon',
};

/** What the HTTP layer needs from the sidecar (the Sidecar class provides it). */
export interface HttpBackend {
	readonly config: Pick<SidecarConfig, 'secret' | 'demo' | 'demoDir'>;
	readonly metrics: { readonly registry: Registry };
	health(): Promise<Health>;
	createRoom(request: CreateRoomRequest): Promise<{ status: RoomStatus; created: boolean }>;
	endCall(callId: string, reason: EndReason): RoomStatus;
	callStatus(callId: string): Promise<RoomStatus>;
	listRooms(): RoomList;
	answerWhatsApp(callId: string, request: WhatsAppAnswerRequest): Promise<WhatsAppSession>;
	offerWhatsApp(callId: string, request: WhatsAppOfferRequest): Promise<WhatsAppSession>;
	applyWhatsAppAnswer(callId: string, request: WhatsAppRemoteAnswerRequest): RoomStatus;
	endWhatsAppLeg(callId: string, request: WhatsAppEndRequest): RoomStatus;
}

/** The HTTP API (contracts/methods.json sidecarHttp), /health, /metrics and the dev-only demo. */
export function createHttpHandler(sidecar: HttpBackend, logger: Logger): (req: IncomingMessage, res: ServerResponse) => void {
	const log = logger.child({ module: 'http' });
	const secretDigest = createHash('sha256').update(sidecar.config.secret).digest();

	function assertAuthorized(req: IncomingMessage): void {
		const header = req.headers.authorization ?? '';
		const match = /^Bearer (.+)$/.exec(header);
		const given = createHash('sha256')
			.update(match?.[1] ?? '')
			.digest();
		if (!match || !timingSafeEqual(given, secretDigest)) throw new UnauthorizedError();
	}

	async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
		const url = new URL(req.url ?? '/', 'http://sidecar');
		const { pathname } = url;
		const method = req.method ?? 'GET';

		if (pathname === '/health' && method === 'GET') return send(res, 200, await sidecar.health());
		if (pathname === '/metrics' && method === 'GET') {
			const body = await sidecar.metrics.registry.metrics();
			res.writeHead(200, { 'content-type': sidecar.metrics.registry.contentType });
			res.end(body);
			return;
		}

		if (pathname === '/api/rooms') {
			assertAuthorized(req);
			if (method === 'GET') return send(res, 200, sidecar.listRooms());
			if (method !== 'POST') throw new SidecarError('invalid_request', `${method} not allowed here`, 405, 'method_not_allowed');
			const body = assertValid<CreateRoomRequest>(validateCreateRoom, await readJson(req), 'body');
			const { status, created } = await sidecar.createRoom(body);
			return send(res, created ? 201 : 200, status);
		}
		const whatsappMatch = /^\/api\/rooms\/([^/]+)\/whatsapp\/(answer|offer|remote-answer|end)$/.exec(pathname);
		if (whatsappMatch) {
			assertAuthorized(req);
			if (method !== 'POST') throw new SidecarError('invalid_request', `${method} not allowed here`, 405, 'method_not_allowed');
			const callId = decodeURIComponent(whatsappMatch[1] ?? '');
			const action = whatsappMatch[2] as keyof typeof validateWhatsApp;
			const body = await readJson(req);
			switch (action) {
				case 'answer':
					return send(res, 201, await sidecar.answerWhatsApp(callId, assertValid<WhatsAppAnswerRequest>(validateWhatsApp.answer, body, 'body')));
				case 'offer':
					return send(res, 201, await sidecar.offerWhatsApp(callId, assertValid<WhatsAppOfferRequest>(validateWhatsApp.offer, body, 'body')));
				case 'remote-answer':
					return send(res, 200, sidecar.applyWhatsAppAnswer(callId, assertValid<WhatsAppRemoteAnswerRequest>(validateWhatsApp['remote-answer'], body, 'body')));
				case 'end':
					return send(res, 200, sidecar.endWhatsAppLeg(callId, assertValid<WhatsAppEndRequest>(validateWhatsApp.end, body, 'body')));
				default:
					return assertUnreachable(action);
			}
		}
		const roomMatch = /^\/api\/rooms\/([^/]+)(\/end)?$/.exec(pathname);
		if (roomMatch) {
			assertAuthorized(req);
			const callId = decodeURIComponent(roomMatch[1] ?? '');
			if (roomMatch[2] && method === 'POST') {
				const body = assertValid<EndCallRequest>(validateEndCall, await readJson(req, true), 'body');
				return send(res, 200, sidecar.endCall(callId, body.reason ?? 'ended_by_frappe'));
			}
			if (!roomMatch[2] && method === 'GET') return send(res, 200, await sidecar.callStatus(callId));
			throw new SidecarError('invalid_request', `${method} not allowed here`, 405, 'method_not_allowed');
		}

		if (sidecar.config.demo && (pathname === '/demo' || pathname.startsWith('/demo/'))) return demo(req, res, pathname, method);
		throw new SidecarError('not_found', `no route ${method} ${pathname}`, 404);
	}

	async function demo(req: IncomingMessage, res: ServerResponse, pathname: string, method: string): Promise<void> {
		if (pathname === '/demo/api/calls' && method === 'POST') {
			// Dev only: mints tokens the way Frappe would, so two tabs can call each other without Frappe.
			await readJson(req, true);
			const callId = `demo-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
			const { status } = await sidecar.createRoom({ callId });
			const secret = sidecar.config.secret;
			const agent = { participantId: 'agent-demo', role: 'agent' as const, name: 'Agent' };
			const customer = { participantId: 'customer-demo', role: 'customer' as const, name: 'Customer' };
			const [agentToken, customerToken] = await Promise.all([agent, customer].map((p) => mintCallToken({ secret, callId, ...p, ttlSec: 3600 })));
			return send(res, 201, { callId, state: status.state, agent: { ...agent, token: agentToken }, customer: { ...customer, token: customerToken } });
		}
		if (method !== 'GET' && method !== 'HEAD') throw new SidecarError('invalid_request', `${method} not allowed here`, 405, 'method_not_allowed');
		if (pathname === '/demo') {
			res.writeHead(301, { location: '/demo/' });
			res.end();
			return;
		}
		const root = path.resolve(sidecar.config.demoDir);
		const relative = decodeURIComponent(pathname.slice('/demo/'.length)) || 'index.html';
		const file = path.resolve(root, relative);
		if (!file.startsWith(root + path.sep)) throw new SidecarError('not_found', 'not found', 404);
		const info = await stat(file).catch(() => undefined);
		if (!info?.isFile()) throw new SidecarError('not_found', `no demo file ${relative}`, 404);
		res.writeHead(200, { 'content-type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream', 'content-length': info.size, 'cache-control': 'no-store' });
		if (method === 'HEAD') return void res.end();
		createReadStream(file).pipe(res);
	}

	return (req, res) => {
		// socket.io handles its own path on the same server.
		if (req.url?.startsWith('/socket.io/')) return;
		route(req, res).catch((err: unknown) => {
			if (err instanceof SidecarError) {
				if (err.status >= 500) log.warn({ err: err.message }, 'request refused');
				return send(res, err.status, { error: err.httpCode, message: err.message });
			}
			log.error({ err, url: req.url }, 'request failed');
			send(res, 500, { error: 'internal', message: 'internal error' });
		});
	};
}

function assertUnreachable(value: never): never {
	throw new Error(`unexpected ${String(value)}`);
}

function send(res: ServerResponse, status: number, body: unknown): void {
	if (res.headersSent) return void res.end();
	const json = JSON.stringify(body);
	res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(json) });
	res.end(json);
}

/** Reads a JSON body of at most MAX_BODY_BYTES; an empty body is {} when allowed. */
async function readJson(req: IncomingMessage, emptyIsObject = false): Promise<unknown> {
	if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) {
		req.resume();
		throw new PayloadTooLargeError(MAX_BODY_BYTES);
	}
	const text = await new Promise<string>((resolve, reject) => {
		const chunks: Buffer[] = [];
		let size = 0;
		const onData = (chunk: Buffer) => {
			size += chunk.length;
			if (size <= MAX_BODY_BYTES) return void chunks.push(chunk);
			// Keep reading (and dropping) so the refusal can still be sent on this connection.
			req.off('data', onData);
			req.resume();
			reject(new PayloadTooLargeError(MAX_BODY_BYTES));
		};
		req.on('data', onData);
		req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
		req.once('error', reject);
	});
	if (text.trim() === '') {
		if (emptyIsObject) return {};
		throw new InvalidRequestError('body: a JSON object is required');
	}
	try {
		return JSON.parse(text);
	} catch {
		throw new InvalidRequestError('body: not valid JSON');
	}
}
