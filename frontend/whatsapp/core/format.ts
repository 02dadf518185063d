// Times and sizes as the desk shows them, in the user's time zone (Frappe's boot says which).
import { __ } from "../../shared/i18n";

/** The desk user's time zone, when Frappe's boot info names one; else the browser's. */
export function userTimeZone(): string | undefined {
  const boot = (globalThis as { frappe?: { boot?: { time_zone?: { user?: string } } } }).frappe?.boot;
  const zone = boot?.time_zone?.user;
  if (!zone) return undefined;
  try {
    new Intl.DateTimeFormat(undefined, { timeZone: zone });
    return zone;
  } catch {
    return undefined;
  }
}

function dayKey(ms: number, timeZone: string | undefined): string {
  return new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(ms);
}

/** "14:05" today, "Yesterday", a weekday within the week, else a short date. */
export function formatListTime(iso: string | null, now: number, timeZone = userTimeZone(), locale?: string): string {
  if (!iso) return "";
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return "";
  if (dayKey(at, timeZone) === dayKey(now, timeZone)) {
    return new Intl.DateTimeFormat(locale, { timeZone, hour: "2-digit", minute: "2-digit" }).format(at);
  }
  if (dayKey(at, timeZone) === dayKey(now - 86_400_000, timeZone)) return __("Yesterday");
  if (now - at < 6 * 86_400_000 && at < now) return new Intl.DateTimeFormat(locale, { timeZone, weekday: "short" }).format(at);
  return new Intl.DateTimeFormat(locale, { timeZone, day: "numeric", month: "short", year: "2-digit" }).format(at);
}

/** The time under a message: "14:05", or with the date when it is not today. */
export function formatMessageTime(iso: string, now: number, timeZone = userTimeZone(), locale?: string): string {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return "";
  const time = new Intl.DateTimeFormat(locale, { timeZone, hour: "2-digit", minute: "2-digit" }).format(at);
  if (dayKey(at, timeZone) === dayKey(now, timeZone)) return time;
  const date = new Intl.DateTimeFormat(locale, { timeZone, day: "numeric", month: "short" }).format(at);
  return `${date}, ${time}`;
}

/** The full date and time, for a tooltip. */
export function formatFullTime(iso: string | null | undefined, timeZone = userTimeZone(), locale?: string): string {
  if (!iso) return "";
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return "";
  return new Intl.DateTimeFormat(locale, { timeZone, dateStyle: "medium", timeStyle: "short" }).format(at);
}

/** "820 KB", "4.2 MB" (binary units, as Frappe and WhatsApp's limits count them) */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes) || bytes < 0) return "";
  if (bytes < 1024) return __("{0} B", [bytes]);
  if (bytes < 1024 * 1024) return __("{0} KB", [Math.round(bytes / 1024)]);
  const mb = bytes / (1024 * 1024);
  return __("{0} MB", [mb < 10 ? Math.round(mb * 10) / 10 : Math.round(mb)]);
}
