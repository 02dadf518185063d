import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const flag = z
	.enum(['0', '1', 'true', 'false', 'yes', 'no', ''])
	.transform((v) => v === '1' || v === 'true' || v === 'yes');

const port = z.coerce.number().int().min(0).max(65535);

const envSchema = z
	.object({
		SIDECAR_HOST: z.string().min(1).default('127.0.0.1'),
		SIDECAR_PORT: port.default(3210),
		SIDECAR_SECRET: z.string().min(16, 'SIDECAR_SECRET must be at least 16 characters').optional(),
		SIDECAR_NUM_WORKERS: z.coerce.number().int().min(1).max(256).default(os.availableParallelism()),
		SIDECAR_RTC_MODE: z.enum(['webrtc-server', 'port-range']).default('webrtc-server'),
		SIDECAR_RTC_PORT: port.default(40000),
		SIDECAR_RTC_MIN_PORT: port.default(40000),
		SIDECAR_RTC_MAX_PORT: port.default(49999),
		SIDECAR_RTC_LISTEN_IP: z.string().min(1).default('127.0.0.1'),
		SIDECAR_RTC_ANNOUNCED_ADDRESS: z.string().min(1).optional(),
		SIDECAR_ICE_CONSENT_TIMEOUT_SEC: z.coerce.number().int().min(10).max(255).default(30),
		SIDECAR_EMPTY_ROOM_TIMEOUT_SEC: z.coerce.number().int().min(1).max(3600).default(60),
		SIDECAR_RING_TIMEOUT_SEC: z.coerce.number().int().min(1).max(600).default(60),
		SIDECAR_MAX_CALL_DURATION_SEC: z.coerce.number().int().min(30).max(86400).default(4 * 3600),
		SIDECAR_QUALITY_INTERVAL_SEC: z.coerce.number().min(0.2).max(3600).default(10),
		SIDECAR_QUALITY_REPORT_SEC: z.coerce.number().min(10).max(3600).default(60),
		SIDECAR_WHATSAPP_MIN_PORT: port.optional(),
		SIDECAR_WHATSAPP_MAX_PORT: port.optional(),
		SIDECAR_WHATSAPP_CONNECT_TIMEOUT_SEC: z.coerce.number().min(1).max(300).default(30),
		SIDECAR_WHATSAPP_MEDIA_TIMEOUT_SEC: z.coerce.number().min(1).max(300).default(15),
		SIDECAR_DRAIN_GRACE_SEC: z.coerce.number().min(0).max(3600).default(30),
		FRAPPE_URL: z.url().optional(),
		FRAPPE_API_KEY: z.string().min(1).optional(),
		FRAPPE_API_SECRET: z.string().min(1).optional(),
		SIDECAR_OUTBOX_PATH: z.string().min(1).default(path.join(packageRoot, 'var', 'outbox')),
		SIDECAR_ID: z.string().min(1).max(140).default(os.hostname()),
		SIDECAR_DEMO: flag.optional(),
		SIDECAR_DEMO_DIR: z.string().min(1).default(path.join(packageRoot, 'demo', 'dist')),
		SIDECAR_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
		MEDIASOUP_WORKER_BIN: z.string().min(1).optional(),
	})
	.superRefine((env, ctx) => {
		if (env.SIDECAR_RTC_MIN_PORT > env.SIDECAR_RTC_MAX_PORT) {
			ctx.addIssue({ code: 'custom', path: ['SIDECAR_RTC_MIN_PORT'], message: 'must not exceed SIDECAR_RTC_MAX_PORT' });
		}
		if (env.SIDECAR_RTC_MODE === 'webrtc-server' && env.SIDECAR_RTC_PORT + env.SIDECAR_NUM_WORKERS - 1 > 65535) {
			ctx.addIssue({ code: 'custom', path: ['SIDECAR_RTC_PORT'], message: 'one port per worker must fit below 65536' });
		}
		if ((env.SIDECAR_WHATSAPP_MIN_PORT === undefined) !== (env.SIDECAR_WHATSAPP_MAX_PORT === undefined)) {
			ctx.addIssue({ code: 'custom', path: ['SIDECAR_WHATSAPP_MIN_PORT'], message: 'set both SIDECAR_WHATSAPP_MIN_PORT and SIDECAR_WHATSAPP_MAX_PORT, or neither' });
		} else if (env.SIDECAR_WHATSAPP_MIN_PORT !== undefined && env.SIDECAR_WHATSAPP_MIN_PORT > (env.SIDECAR_WHATSAPP_MAX_PORT ?? 0)) {
			ctx.addIssue({ code: 'custom', path: ['SIDECAR_WHATSAPP_MIN_PORT'], message: 'must not exceed SIDECAR_WHATSAPP_MAX_PORT' });
		}
		if (env.FRAPPE_URL && !(env.FRAPPE_API_KEY && env.FRAPPE_API_SECRET)) {
			ctx.addIssue({ code: 'custom', path: ['FRAPPE_API_KEY'], message: 'FRAPPE_URL needs FRAPPE_API_KEY and FRAPPE_API_SECRET' });
		}
	});

export type RtcConfig =
	| { mode: 'webrtc-server'; listenIp: string; announcedAddress?: string; iceConsentTimeoutSec: number; basePort: number }
	| { mode: 'port-range'; listenIp: string; announcedAddress?: string; iceConsentTimeoutSec: number; minPort: number; maxPort: number };

export interface SidecarConfig {
	host: string;
	port: number;
	secret: string;
	/** True when the secret was generated at start (dev only: Frappe cannot know it). */
	secretGenerated: boolean;
	numWorkers: number;
	workerBin?: string;
	rtc: RtcConfig;
	emptyRoomTimeoutSec: number;
	ringTimeoutSec: number;
	maxCallDurationSec: number;
	qualityIntervalSec: number;
	qualityReportSec: number;
	drainGraceSec: number;
	/** UDP ports the WhatsApp legs' WebRTC side binds in (default: the RTC port range in port-range mode, else any). */
	whatsappPortRange?: { min: number; max: number };
	/** A WhatsApp leg's ICE + DTLS must be up this long after both SDPs are set. */
	whatsappConnectTimeoutSec: number;
	/** A WhatsApp leg that heard Meta's audio and then nothing for this long is dead. */
	whatsappMediaTimeoutSec: number;
	frappe?: { url: string; apiKey: string; apiSecret: string };
	outboxPath: string;
	sidecarId: string;
	demo: boolean;
	demoDir: string;
	logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

export class ConfigError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'ConfigError';
	}
}

/** Reads and validates the environment; defaults are the dev defaults of scripts/start.sh. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): SidecarConfig {
	// An empty variable (FOO= in a unit file) means "not set".
	const set = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
	const parsed = envSchema.safeParse(set);
	if (!parsed.success) {
		const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(env)'}: ${i.message}`);
		throw new ConfigError(`invalid sidecar configuration:\n${lines.join('\n')}`);
	}
	const e = parsed.data;
	const frappe =
		e.FRAPPE_URL && e.FRAPPE_API_KEY && e.FRAPPE_API_SECRET
			? { url: e.FRAPPE_URL, apiKey: e.FRAPPE_API_KEY, apiSecret: e.FRAPPE_API_SECRET }
			: undefined;
	const rtc: RtcConfig =
		e.SIDECAR_RTC_MODE === 'webrtc-server'
			? {
					mode: 'webrtc-server',
					listenIp: e.SIDECAR_RTC_LISTEN_IP,
					announcedAddress: e.SIDECAR_RTC_ANNOUNCED_ADDRESS,
					iceConsentTimeoutSec: e.SIDECAR_ICE_CONSENT_TIMEOUT_SEC,
					basePort: e.SIDECAR_RTC_PORT,
				}
			: {
					mode: 'port-range',
					listenIp: e.SIDECAR_RTC_LISTEN_IP,
					announcedAddress: e.SIDECAR_RTC_ANNOUNCED_ADDRESS,
					iceConsentTimeoutSec: e.SIDECAR_ICE_CONSENT_TIMEOUT_SEC,
					minPort: e.SIDECAR_RTC_MIN_PORT,
					maxPort: e.SIDECAR_RTC_MAX_PORT,
				};
	return {
		host: e.SIDECAR_HOST,
		port: e.SIDECAR_PORT,
		secret: e.SIDECAR_SECRET ?? randomBytes(32).toString('base64url'),
		secretGenerated: e.SIDECAR_SECRET === undefined,
		numWorkers: e.SIDECAR_NUM_WORKERS,
		workerBin: e.MEDIASOUP_WORKER_BIN,
		rtc,
		emptyRoomTimeoutSec: e.SIDECAR_EMPTY_ROOM_TIMEOUT_SEC,
		ringTimeoutSec: e.SIDECAR_RING_TIMEOUT_SEC,
		maxCallDurationSec: e.SIDECAR_MAX_CALL_DURATION_SEC,
		qualityIntervalSec: e.SIDECAR_QUALITY_INTERVAL_SEC,
		qualityReportSec: e.SIDECAR_QUALITY_REPORT_SEC,
		drainGraceSec: e.SIDECAR_DRAIN_GRACE_SEC,
		...(e.SIDECAR_WHATSAPP_MIN_PORT !== undefined && e.SIDECAR_WHATSAPP_MAX_PORT !== undefined
			? { whatsappPortRange: { min: e.SIDECAR_WHATSAPP_MIN_PORT, max: e.SIDECAR_WHATSAPP_MAX_PORT } }
			: rtc.mode === 'port-range'
				? { whatsappPortRange: { min: rtc.minPort, max: rtc.maxPort } }
				: {}),
		whatsappConnectTimeoutSec: e.SIDECAR_WHATSAPP_CONNECT_TIMEOUT_SEC,
		whatsappMediaTimeoutSec: e.SIDECAR_WHATSAPP_MEDIA_TIMEOUT_SEC,
		frappe,
		outboxPath: e.SIDECAR_OUTBOX_PATH,
		sidecarId: e.SIDECAR_ID,
		// The demo mints tokens without Frappe: off unless asked for.
		demo: e.SIDECAR_DEMO ?? false,
		demoDir: e.SIDECAR_DEMO_DIR,
		logLevel: e.SIDECAR_LOG_LEVEL,
	};
}

export function maskSecret(secret: string): string {
	return secret.length <= 8 ? '****' : `${secret.slice(0, 3)}…${secret.slice(-2)} (${secret.length} chars)`;
}

/** The configuration as printed at start: secrets masked. */
export function describeConfig(config: SidecarConfig): Record<string, unknown> {
	return {
		...config,
		secret: `${maskSecret(config.secret)}${config.secretGenerated ? ' (generated for this run)' : ''}`,
		frappe: config.frappe && { url: config.frappe.url, apiKey: config.frappe.apiKey, apiSecret: maskSecret(config.frappe.apiSecret) },
	};
}
