import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';

/** Event names and the arguments their listeners get, as mediasoup declares its events. */
export type EventMap = Record<string, unknown[]>;

/**
 * An EventEmitter whose emit/on/once/off are checked against its event map
 * (mediasoup's EnhancedEventEmitter). safeEmit() is for events sent in the
 * middle of the emitter's own work (a close): a listener that throws is logged
 * and does not leave that work half done.
 */
export class EnhancedEventEmitter<Events extends EventMap> extends EventEmitter {
	readonly #logger: Logger;

	constructor(logger: Logger) {
		super();
		this.#logger = logger;
	}

	override emit<E extends keyof Events & string>(eventName: E, ...args: Events[E]): boolean {
		return super.emit(eventName, ...args);
	}

	safeEmit<E extends keyof Events & string>(eventName: E, ...args: Events[E]): boolean {
		try {
			return super.emit(eventName, ...args);
		} catch (err) {
			this.#logger.error({ err, eventName }, 'safeEmit() | event listener threw an error');
			return this.listenerCount(eventName) > 0;
		}
	}

	override on<E extends keyof Events & string>(eventName: E, listener: (...args: Events[E]) => void): this {
		return super.on(eventName, listener as (...args: unknown[]) => void);
	}

	override once<E extends keyof Events & string>(eventName: E, listener: (...args: Events[E]) => void): this {
		return super.once(eventName, listener as (...args: unknown[]) => void);
	}

	override off<E extends keyof Events & string>(eventName: E, listener: (...args: Events[E]) => void): this {
		return super.off(eventName, listener as (...args: unknown[]) => void);
	}
}
