export { ConfigError, describeConfig, loadConfig, type SidecarConfig } from './config.js';
export type { CallEventReporterLike, CallEventSink, CallEventType, ReporterStats } from './events.js';
export { BrowserLeg, Leg, type BrowserConnection, type LegEvents } from './legs/index.js';
export { MEDIA_CODECS, Room } from './Room.js';
export { createSidecar, Sidecar, SIDECAR_VERSION, type SidecarOptions } from './Sidecar.js';
export { MAX_PAYLOAD_BYTES } from './signaling.js';
export { CallTokenError, mintCallToken, verifyCallToken, type MintCallTokenOptions } from './tokens.js';
export type * from './types.js';
