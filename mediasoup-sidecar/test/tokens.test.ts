import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { contractsDir } from '../src/contracts.js';
import { CallTokenError, mintCallToken, verifyCallToken } from '../src/tokens.js';

interface Vector {
	name: string;
	token: string;
	expectedCall: string;
	valid: boolean;
	error?: string;
	claims?: Record<string, unknown>;
}
const vectors = JSON.parse(readFileSync(path.join(contractsDir, 'vectors', 'call-tokens.json'), 'utf8')) as {
	secret: string;
	now: number;
	cases: Vector[];
};

describe('call token vectors (contracts/vectors/call-tokens.json)', () => {
	for (const v of vectors.cases) {
		it(v.name, async () => {
			const now = new Date(vectors.now * 1000);
			const result = verifyCallToken(v.token, vectors.secret, { expectedCall: v.expectedCall, now });
			if (v.valid) {
				await expect(result).resolves.toEqual(v.claims);
			} else {
				const err = await result.then(
					() => null,
					(e: unknown) => e,
				);
				expect(err).toBeInstanceOf(CallTokenError);
				expect((err as CallTokenError).code).toBe(v.error);
			}
		});
	}
});

describe('mintCallToken', () => {
	it('mints a token the verifier accepts, bound to its call', async () => {
		const token = await mintCallToken({ secret: 's'.repeat(32), callId: 'VC-1', participantId: 'agent@example.com', role: 'agent', name: 'A' });
		const claims = await verifyCallToken(token, 's'.repeat(32), { expectedCall: 'VC-1' });
		expect(claims).toMatchObject({ call: 'VC-1', sub: 'agent@example.com', role: 'agent', name: 'A', iss: 'voice_agent', aud: 'voice-agent-sidecar' });
		await expect(verifyCallToken(token, 's'.repeat(32), { expectedCall: 'VC-2' })).rejects.toMatchObject({ code: 'wrong_call' });
		await expect(verifyCallToken(token, 'x'.repeat(32))).rejects.toMatchObject({ code: 'bad_signature' });
	});

	it('an expired token is refused beyond the leeway', async () => {
		const token = await mintCallToken({ secret: 's'.repeat(32), callId: 'VC-1', participantId: 'a', role: 'agent', issuedAt: Math.floor(Date.now() / 1000) - 700, ttlSec: 600 });
		await expect(verifyCallToken(token, 's'.repeat(32))).rejects.toMatchObject({ code: 'expired' });
	});
});
