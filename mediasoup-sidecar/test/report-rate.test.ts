import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Sidecar } from '../src/Sidecar.js';
import { FrappeReceiver } from './fakes/frappe-receiver.js';
import { createRoom, joinParty, ok, testConfig } from './helpers.js';

/*
 * How much a call costs Frappe: one 2-party call held for SIDECAR_MEASURE_CALL_SEC
 * (default 60) at the default settings, through the real reporter and outbox, to the
 * fake Frappe receiver; prints the HTTP requests and events Frappe got. Opt-in
 * (SIDECAR_MEASURE_REPORTS=1), since it takes a minute:
 *   SIDECAR_MEASURE_REPORTS=1 npx vitest run test/report-rate.test.ts
 */
const callSec = Number(process.env.SIDECAR_MEASURE_CALL_SEC ?? 60);

describe.runIf(process.env.SIDECAR_MEASURE_REPORTS === '1')('call events per call-minute', () => {
	it('a 2-party call at the default settings', { timeout: (callSec + 60) * 1000 }, async () => {
		const receiver = await FrappeReceiver.start();
		const dir = mkdtempSync(path.join(os.tmpdir(), 'report-rate-'));
		const config = testConfig({
			SIDECAR_OUTBOX_PATH: dir,
			FRAPPE_URL: receiver.url,
			FRAPPE_API_KEY: receiver.apiKey,
			FRAPPE_API_SECRET: receiver.apiSecret,
		});
		const sidecar = await Sidecar.create(config, { logger: pino({ level: config.logLevel }) });
		try {
			await createRoom(sidecar, 'VC-rate');
			const agent = await joinParty(sidecar, 'VC-rate', 'agent-rate', 'agent');
			await joinParty(sidecar, 'VC-rate', 'cust-rate', 'customer');
			expect(sidecar.getRoom('VC-rate')?.state).toBe('connected');
			await sidecar.reporter.drain(5_000);
			const setup = { requests: receiver.requests.length, events: receiver.events.size };

			await new Promise((r) => setTimeout(r, callSec * 1000));
			await sidecar.reporter.drain(5_000);
			const during = { requests: receiver.requests.length - setup.requests, events: receiver.events.size - setup.events };

			await ok(agent.socket, 'call:hangup', {});
			await sidecar.reporter.drain(5_000);
			const whole = { requests: receiver.requests.length, events: receiver.events.size };
			const byType: Record<string, number> = {};
			for (const e of receiver.eventsOf('VC-rate')) byType[e.type] = (byType[e.type] ?? 0) + 1;
			const perMinute = (n: number) => Math.round((n * 600) / callSec) / 10;
			console.log(
				JSON.stringify({
					callSec,
					qualityIntervalSec: config.qualityIntervalSec,
					whileConnected: { requests: during.requests, events: during.events, requestsPerMinute: perMinute(during.requests), eventsPerMinute: perMinute(during.events) },
					wholeCall: { ...whole, byType },
				}),
			);
			expect(receiver.violations).toEqual([]);
		} finally {
			await sidecar.close();
			await receiver.stop();
			rmSync(dir, { recursive: true, force: true });
		}
	});
});
