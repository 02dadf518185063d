import { describe, expect, it } from 'vitest';
import { callStates, httpSchema, signalingSchema } from '../src/contracts.js';
import { CALL_STATES, END_REASONS, ROLES } from '../src/types.js';
import { loadConfig, describeConfig, ConfigError } from '../src/config.js';

const defs = (httpSchema as { $defs: Record<string, { enum?: string[] }> }).$defs;

describe('hand-typed mirror of contracts/', () => {
	it('roles, states and end reasons match the schemas and the state machine', () => {
		expect([...ROLES]).toEqual(defs.Role?.enum);
		expect([...CALL_STATES]).toEqual(defs.CallState?.enum);
		expect([...END_REASONS]).toEqual(defs.EndReason?.enum);
		expect(Object.keys(callStates.states)).toEqual([...CALL_STATES]);
		expect(callStates.endReasons).toEqual([...END_REASONS]);
	});

	it('every signaling request of the contract has a handler, and no more', async () => {
		const source = await import('node:fs').then((fs) => fs.readFileSync(new URL('../src/signaling.ts', import.meta.url), 'utf8'));
		const handled = [...source.matchAll(/^\t'([a-z]+:[A-Za-z]+)': /gm)].map((m) => m[1]).sort();
		expect(handled).toEqual(Object.keys(signalingSchema.requests).sort());
	});
});

describe('config', () => {
	it('has embedded defaults and masks secrets when printed', () => {
		const config = loadConfig({ SIDECAR_SECRET: 'a-very-secret-value-123', FRAPPE_URL: 'http://127.0.0.1:8000', FRAPPE_API_KEY: 'k', FRAPPE_API_SECRET: 'another-secret-value' });
		expect(config).toMatchObject({ host: '127.0.0.1', port: 3210, rtc: { mode: 'webrtc-server', listenIp: '127.0.0.1', basePort: 40000, iceConsentTimeoutSec: 30 }, demo: false, secretGenerated: false });
		expect(config).toMatchObject({ qualityIntervalSec: 10, qualityReportSec: 60 });
		const printed = JSON.stringify(describeConfig(config));
		expect(printed).not.toContain('a-very-secret-value-123');
		expect(printed).not.toContain('another-secret-value');
	});

	it('gives the WhatsApp legs their own UDP port range, or the RTC range in port-range mode', () => {
		expect(loadConfig({}).whatsappPortRange).toBeUndefined();
		expect(loadConfig({ SIDECAR_RTC_MODE: 'port-range', SIDECAR_RTC_MIN_PORT: '41000', SIDECAR_RTC_MAX_PORT: '42000' }).whatsappPortRange).toEqual({ min: 41000, max: 42000 });
		expect(loadConfig({ SIDECAR_WHATSAPP_MIN_PORT: '50000', SIDECAR_WHATSAPP_MAX_PORT: '50999' }).whatsappPortRange).toEqual({ min: 50000, max: 50999 });
		expect(loadConfig({}).whatsappMediaTimeoutSec).toBe(15);
	});

	it('generates a dev secret when none is set', () => {
		const a = loadConfig({});
		expect(a.secretGenerated).toBe(true);
		expect(a.secret.length).toBeGreaterThanOrEqual(32);
		expect(loadConfig({}).secret).not.toBe(a.secret);
	});

	it('refuses invalid settings with a message naming them', () => {
		const bad: Record<string, string>[] = [
			{ SIDECAR_PORT: 'http' },
			{ SIDECAR_RTC_MODE: 'magic' },
			{ SIDECAR_SECRET: 'short' },
			{ SIDECAR_RTC_MODE: 'port-range', SIDECAR_RTC_MIN_PORT: '50000', SIDECAR_RTC_MAX_PORT: '40000' },
			{ FRAPPE_URL: 'http://x' },
			{ SIDECAR_DEMO: 'maybe' },
			{ SIDECAR_QUALITY_REPORT_SEC: '5' },
			{ SIDECAR_WHATSAPP_MIN_PORT: '50000' },
			{ SIDECAR_WHATSAPP_MIN_PORT: '50010', SIDECAR_WHATSAPP_MAX_PORT: '50000' },
			{ SIDECAR_WHATSAPP_MEDIA_TIMEOUT_SEC: '0' },
		];
		for (const env of bad) {
			const key = Object.keys(env).at(-1)!;
			expect(() => loadConfig(env), key).toThrow(ConfigError);
		}
	});
});
