import { randomUUID } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { assertValid, ajv } from './contracts.js';
import type { CallTokenClaims, Role } from './types.js';

export const TOKEN_ISSUER = 'voice_agent';
export const TOKEN_AUDIENCE = 'voice-agent-sidecar';
export const TOKEN_LEEWAY_SEC = 5;
export const TOKEN_MAX_LIFETIME_SEC = 3600;

/** Error codes of contracts/vectors/call-tokens.json. */
export type CallTokenErrorCode = 'malformed' | 'bad_signature' | 'expired' | 'invalid_claims' | 'wrong_call';

export class CallTokenError extends Error {
	constructor(
		readonly code: CallTokenErrorCode,
		message: string,
	) {
		super(message);
		this.name = 'CallTokenError';
	}
}

const validateClaims = ajv.getSchema('https://voice-agent.local/contracts/call-token.schema.json');

function secretKey(secret: string): Uint8Array {
	return new TextEncoder().encode(secret);
}

/**
 * Verifies a call token (HS256 only, iss/aud, exp with leeway, lifetime cap,
 * claims against the contract). `expectedCall`, when given, must equal the call claim.
 */
export async function verifyCallToken(
	token: unknown,
	secret: string,
	opts: { expectedCall?: string; now?: Date } = {},
): Promise<CallTokenClaims> {
	if (typeof token !== 'string' || token.split('.').length !== 3) throw new CallTokenError('malformed', 'token is not a JWS compact string');
	let payload: unknown;
	try {
		({ payload } = await jwtVerify(token, secretKey(secret), {
			algorithms: ['HS256'],
			issuer: TOKEN_ISSUER,
			audience: TOKEN_AUDIENCE,
			clockTolerance: TOKEN_LEEWAY_SEC,
			requiredClaims: ['exp', 'iat'],
			currentDate: opts.now,
		}));
	} catch (err) {
		throw mapJoseError(err);
	}
	if (!validateClaims) throw new Error('call-token schema not loaded');
	let claims: CallTokenClaims;
	try {
		claims = assertValid<CallTokenClaims>(validateClaims, payload, 'claims');
	} catch (err) {
		throw new CallTokenError('invalid_claims', (err as Error).message);
	}
	if (claims.exp - claims.iat > TOKEN_MAX_LIFETIME_SEC) throw new CallTokenError('invalid_claims', `token lifetime exceeds ${TOKEN_MAX_LIFETIME_SEC} s`);
	if (opts.expectedCall !== undefined && claims.call !== opts.expectedCall) throw new CallTokenError('wrong_call', 'token is for another call');
	return claims;
}

function mapJoseError(err: unknown): CallTokenError {
	if (err instanceof joseErrors.JWTExpired) return new CallTokenError('expired', 'token expired');
	if (err instanceof joseErrors.JWTClaimValidationFailed) return new CallTokenError('invalid_claims', err.message);
	if (err instanceof joseErrors.JWSSignatureVerificationFailed || err instanceof joseErrors.JOSEAlgNotAllowed || err instanceof joseErrors.JOSENotSupported)
		return new CallTokenError('bad_signature', 'token signature is not valid');
	return new CallTokenError('malformed', err instanceof Error ? err.message : 'malformed token');
}

export interface MintCallTokenOptions {
	secret: string;
	callId: string;
	participantId: string;
	role: Role;
	name?: string;
	listenOnly?: boolean;
	ttlSec?: number;
	/** Unix seconds; tests use it to mint expired tokens. */
	issuedAt?: number;
}

/** Mints a call token as Frappe does (tests, the demo route, the benchmark). */
export async function mintCallToken(o: MintCallTokenOptions): Promise<string> {
	const iat = o.issuedAt ?? Math.floor(Date.now() / 1000);
	const claims: Record<string, unknown> = { call: o.callId, role: o.role, jti: randomUUID().replaceAll('-', '') };
	if (o.name !== undefined) claims.name = o.name;
	if (o.listenOnly !== undefined) claims.listenOnly = o.listenOnly;
	return new SignJWT(claims)
		.setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
		.setIssuer(TOKEN_ISSUER)
		.setAudience(TOKEN_AUDIENCE)
		.setSubject(o.participantId)
		.setIssuedAt(iat)
		.setExpirationTime(iat + (o.ttlSec ?? 600))
		.sign(secretKey(o.secret));
}
