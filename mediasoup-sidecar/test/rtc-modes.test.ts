import { describe, expect, it } from 'vitest';
import { assertNoLeaks, connect, createRoom, ok, startSidecar, tokenFor } from './helpers.js';

async function candidatesOf(env: Record<string, string>) {
	const { sidecar } = await startSidecar(env);
	try {
		await createRoom(sidecar, 'VC-rtc');
		const socket = await connect(sidecar, await tokenFor('VC-rtc', 'agent', 'agent'));
		const transport = await ok(socket, 'transport:create', { direction: 'recv' });
		socket.close();
		await assertNoLeaks(sidecar);
		return transport.iceCandidates as { address: string; port: number; protocol: string }[];
	} finally {
		await sidecar.close();
	}
}

describe('media ports', () => {
	it('webrtc-server mode: every transport of worker i shares UDP+TCP port SIDECAR_RTC_PORT+i, with the announced address', async () => {
		const candidates = await candidatesOf({ SIDECAR_RTC_MODE: 'webrtc-server', SIDECAR_RTC_PORT: '45123', SIDECAR_RTC_ANNOUNCED_ADDRESS: '203.0.113.7' });
		expect(candidates.map((c) => `${c.protocol} ${c.address}:${c.port}`).sort()).toEqual(['tcp 203.0.113.7:45123', 'udp 203.0.113.7:45123']);
	});

	it('port-range mode: one port per transport from the range', async () => {
		const candidates = await candidatesOf({ SIDECAR_RTC_MODE: 'port-range', SIDECAR_RTC_MIN_PORT: '46000', SIDECAR_RTC_MAX_PORT: '46100' });
		expect(candidates).toHaveLength(2);
		for (const c of candidates) {
			expect(c.address).toBe('127.0.0.1');
			expect(c.port).toBeGreaterThanOrEqual(46000);
			expect(c.port).toBeLessThanOrEqual(46100);
		}
	});
});
