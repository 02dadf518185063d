export { BrowserLeg, type BrowserConnection, type BrowserLegOptions, type TransportAppData } from './BrowserLeg.js';
export { Leg, type ConsumerAppData, type FarEndReport, type LegEvents, type LegOptions } from './Leg.js';
export { WhatsAppLeg, WHATSAPP_RTP_CAPABILITIES, type WhatsAppLegOptions, type WhatsAppLegTimeouts } from './WhatsAppLeg.js';
