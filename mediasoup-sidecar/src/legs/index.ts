export { BrowserLeg, type BrowserConnection, type BrowserLegOptions, type TransportAppData } from './BrowserLeg.js';
export { Leg, type ConsumerAppData, type LegEvents, type LegOptions } from './Leg.js';
