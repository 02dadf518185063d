import { describe, expect, it } from 'vitest';
import { ajv } from '../src/contracts.js';
import { QualitySummary } from '../src/quality.js';
import type { QualitySample } from '../src/types.js';

function sample(overrides: Partial<QualitySample>): QualitySample {
	return { participantId: 'agent-1', role: 'agent', direction: 'inbound', packetLossPct: 0, jitterMs: 0, rttMs: null, bitrateKbps: 0, packets: 0, ...overrides };
}

const validatePayload = (() => {
	const validate = ajv.getSchema('https://voice-agent.local/contracts/call-events.schema.json#/$defs/QualitySummarized');
	if (!validate) throw new Error('contracts/call-events.schema.json has no $defs/QualitySummarized');
	return (type: string, payload: object) =>
		validate({ eventId: crypto.randomUUID(), callId: 'VC-1', sequence: 1, occurredAt: new Date().toISOString(), sidecarId: 's', type, payload });
})();

describe('QualitySummary', () => {
	it('keeps running means over every sample of the call, RTT over the samples that had one', () => {
		const summary = new QualitySummary();
		summary.add(sample({ packetLossPct: 1, jitterMs: 10, rttMs: 40, bitrateKbps: 30 }));
		summary.add(sample({ direction: 'outbound', packetLossPct: 0, jitterMs: 20, rttMs: null, bitrateKbps: 34 }));
		summary.add(sample({ participantId: 'cust-1', role: 'customer', packetLossPct: 2.5, jitterMs: 3, rttMs: 61, bitrateKbps: 20 }));
		expect(summary.take(false)).toMatchObject({ samples: 3, packetLossPct: 1.17, jitterMs: 11, rttMs: 50.5, bitrateKbps: 28, final: false });
		summary.add(sample({ packetLossPct: 0.5, jitterMs: 7, rttMs: 59, bitrateKbps: 36 }));
		expect(summary.take(true)).toMatchObject({ samples: 4, packetLossPct: 1, jitterMs: 10, rttMs: 53.33, bitrateKbps: 30, final: true });
	});

	it('says whether samples came since the last report; RTT is null while no sample had one', () => {
		const summary = new QualitySummary();
		expect(summary.samples).toBe(0);
		expect(summary.hasUnreportedSamples).toBe(false);
		summary.add(sample({ jitterMs: 4.444 }));
		expect(summary.hasUnreportedSamples).toBe(true);
		const payload = summary.take(false);
		expect(payload).toEqual({
			samples: 1,
			packetLossPct: 0,
			jitterMs: 4.44,
			rttMs: null,
			bitrateKbps: 0,
			final: false,
			participants: { 'agent-1': { role: 'agent', samples: 1, packetLossPct: 0, jitterMs: 4.44, rttMs: null, bitrateKbps: 0 } },
		});
		expect(summary.hasUnreportedSamples).toBe(false);
		expect(validatePayload('quality.summary', payload)).toBe(true);
	});

	it('keeps the same means per participant, both directions of their leg, for the whole call', () => {
		const summary = new QualitySummary();
		const wa = { participantId: 'wa-15550100', role: 'whatsapp' } as const;
		// The WhatsApp leg: inbound from its producer (no RTT), outbound from Meta's receiver report (with RTT).
		summary.add(sample({ ...wa, packetLossPct: 2, jitterMs: 8, rttMs: null, bitrateKbps: 30 }));
		summary.add(sample({ ...wa, direction: 'outbound', packetLossPct: 4, jitterMs: 12, rttMs: 90, bitrateKbps: 34 }));
		summary.add(sample({ packetLossPct: 0, jitterMs: 2, rttMs: 20, bitrateKbps: 32 }));
		expect(summary.take(false).participants).toEqual({
			'wa-15550100': { role: 'whatsapp', samples: 2, packetLossPct: 3, jitterMs: 10, rttMs: 90, bitrateKbps: 32 },
			'agent-1': { role: 'agent', samples: 1, packetLossPct: 0, jitterMs: 2, rttMs: 20, bitrateKbps: 32 },
		});
		// The agent's next sample moves their figures and the call's, not the WhatsApp leg's (it left).
		summary.add(sample({ direction: 'outbound', packetLossPct: 1, jitterMs: 4, rttMs: 30, bitrateKbps: 36 }));
		const final = summary.take(true);
		expect(final).toMatchObject({ samples: 4, packetLossPct: 1.75, jitterMs: 6.5, rttMs: 46.67, bitrateKbps: 33 });
		expect(final.participants).toEqual({
			'wa-15550100': { role: 'whatsapp', samples: 2, packetLossPct: 3, jitterMs: 10, rttMs: 90, bitrateKbps: 32 },
			'agent-1': { role: 'agent', samples: 2, packetLossPct: 0.5, jitterMs: 3, rttMs: 25, bitrateKbps: 34 },
		});
		expect(validatePayload('quality.summary', final)).toBe(true);
	});

	it('makes payloads the contract accepts, and the contract refuses a summary of no sample', () => {
		const summary = new QualitySummary();
		summary.add(sample({ packetLossPct: 100, jitterMs: 0.004, rttMs: 0, bitrateKbps: 0 }));
		expect(validatePayload('quality.summary', summary.take(true))).toBe(true);
		expect(validatePayload('quality.summary', { samples: 0, packetLossPct: 0, jitterMs: 0, rttMs: null, bitrateKbps: 0, final: true })).toBe(false);
		expect(validatePayload('quality.summary', { samples: 1, packetLossPct: 0, jitterMs: 0, bitrateKbps: 0, final: true })).toBe(false);
		expect(validatePayload('quality.summary', { samples: 1, packetLossPct: 101, jitterMs: 0, rttMs: null, bitrateKbps: 0, final: true })).toBe(false);
	});

	it('validates the per-participant figures, and still takes a summary without them (a sidecar before them)', () => {
		const base = { samples: 2, packetLossPct: 0, jitterMs: 1, rttMs: null, bitrateKbps: 30, final: false };
		const figures = { role: 'whatsapp', samples: 2, packetLossPct: 0, jitterMs: 1, rttMs: null, bitrateKbps: 30 };
		expect(validatePayload('quality.summary', base)).toBe(true);
		expect(validatePayload('quality.summary', { ...base, participants: {} })).toBe(true);
		expect(validatePayload('quality.summary', { ...base, participants: { 'wa-1': figures } })).toBe(true);
		expect(validatePayload('quality.summary', { ...base, participants: { 'wa-1': { ...figures, role: 'robot' } } })).toBe(false);
		expect(validatePayload('quality.summary', { ...base, participants: { 'wa-1': { ...figures, packetLossPct: 101 } } })).toBe(false);
		expect(validatePayload('quality.summary', { ...base, participants: { 'wa-1': { ...figures, samples: 0 } } })).toBe(false);
		expect(validatePayload('quality.summary', { ...base, participants: { 'wa-1': { ...figures, extra: 1 } } })).toBe(false);
		expect(validatePayload('quality.summary', { ...base, participants: { '../etc': figures } })).toBe(false);
		const { rttMs: _, ...noRtt } = figures;
		expect(validatePayload('quality.summary', { ...base, participants: { 'wa-1': noRtt } })).toBe(false);
	});
});
