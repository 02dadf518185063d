// The 24-hour customer service window: while it is open anything may be sent; once it has closed
// (or when the customer never wrote) only an approved template may be.
import { __ } from "../../shared/i18n";

export interface WindowState {
  open: boolean;
  /** Milliseconds left; 0 when closed. */
  remainingMs: number;
  /** When it closes or closed; null when the customer never wrote. */
  endsAt: number | null;
}

export function windowState(windowEndsAt: string | null, now: number): WindowState {
  const endsAt = windowEndsAt ? Date.parse(windowEndsAt) : NaN;
  if (Number.isNaN(endsAt)) return { open: false, remainingMs: 0, endsAt: null };
  const remainingMs = Math.max(0, endsAt - now);
  return { open: remainingMs > 0, remainingMs, endsAt };
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** "23 h 05 min", "42 min", "less than a minute" (rounded down: never promises time that is not there). */
export function formatDuration(ms: number): string {
  if (ms < MINUTE) return __("less than a minute");
  const hours = Math.floor(ms / HOUR);
  const minutes = Math.floor((ms % HOUR) / MINUTE);
  if (hours === 0) return __("{0} min", [minutes]);
  return __("{0} h {1} min", [hours, String(minutes).padStart(2, "0")]);
}

/** How long ago, coarsely: "12 min", "5 h", "3 days". */
export function formatAgo(ms: number): string {
  if (ms < HOUR) return formatDuration(ms);
  if (ms < 48 * HOUR) return __("{0} h", [Math.floor(ms / HOUR)]);
  return __("{0} days", [Math.floor(ms / (24 * HOUR))]);
}

/** The short line the conversation's header shows about the window. */
export function windowText(state: WindowState, now: number): string {
  if (state.open) return __("Reply window: {0} left", [formatDuration(state.remainingMs)]);
  if (state.endsAt === null) return __("Reply window: not open (the customer has not written)");
  return __("Reply window: closed {0} ago", [formatAgo(now - state.endsAt)]);
}

/** Why the text box is gone, for the notice that replaces it. */
export function closedWindowText(state: WindowState): string {
  if (state.endsAt === null) {
    return __("The customer has not written to this number yet. WhatsApp lets a business start a conversation only with an approved template.");
  }
  return __("More than 24 hours have passed since the customer last wrote: only a template can be sent until they write again.");
}

/** How long until the shown text changes (the next whole minute), for a timer. */
export function nextWindowTick(state: WindowState): number {
  if (!state.open) return MINUTE;
  const into = state.remainingMs % MINUTE;
  return Math.max(250, Math.min(MINUTE, into || MINUTE));
}
